// The packed packages as a new user gets them: dist/trimtab-core-<v>.tgz and dist/trimtab-web-<v>.tgz
// (`npm run pack`) installed with npm into an empty folder under the system temp directory, with
// no Rust and no repository around it, then
//   - Deno imports npm:@trimtab/core (and /flags) from that folder and evaluates the shared vectors;
//   - deno check passes for a TypeScript consumer (FlagEngine, createFlagClient with getToken, the
//     OpenFeature web provider given to the web SDK) and fails, with the expected TS codes, for one
//     that passes wrong options;
//   - Vite (a real bundler) bundles a browser entry; Chromium loads the bundle from a static server,
//     fetches the .wasm Vite copied, evaluates the vectors and resolves a flag through OpenFeature.
//
//   npm run pack && node --test tests/browser/packages.test.mjs
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHmac } from "node:crypto";
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { build } from "vite";
import { serveStatic } from "../../scripts/static-server.mjs";
import { launch, open } from "./chromium.mjs";

const run = promisify(execFile);
const ROOT = new URL("../..", import.meta.url).pathname;
const DENO = `${ROOT}node_modules/@deno/linux-x64-glibc/deno`;
const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, "utf8"));
const TARBALLS = [`trimtab-core-${pkg.version}.tgz`, `trimtab-web-${pkg.version}.tgz`];
const evaluation = JSON.parse(readFileSync(`${ROOT}tests/vectors/evaluation.json`, "utf8"));
const bucketing = JSON.parse(readFileSync(`${ROOT}tests/vectors/bucketing.json`, "utf8"));
const VECTORS = { snapshot: evaluation.snapshot, cases: evaluation.cases, buckets: bucketing.cases };

// The check both consumers run: every evaluation and bucketing vector; prints/returns mismatches.
const CHECK = `
export function check(FlagEngine, bucket, v) {
  const engine = new FlagEngine(v.snapshot);
  const bad = [];
  for (const c of v.cases) {
    const got = engine.evaluate(c.flag, c.context);
    for (const [k, want] of Object.entries(c.expected)) if (got[k] !== want) bad.push(c.name + ": " + k);
  }
  for (const c of v.buckets) if (bucket(c.salt, c.unit) !== c.bucket) bad.push("bucket " + c.salt + "/" + c.unit);
  engine.free();
  return { checked: v.cases.length + v.buckets.length, bad };
}`;

let dir;
const env = { ...process.env, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" };

before(async () => {
  for (const t of TARBALLS) {
    assert.ok(existsSync(`${ROOT}dist/${t}`), `dist/${t} is missing: run \`npm run pack\` first`);
  }
  dir = mkdtempSync(join(tmpdir(), "trimtab-consumer-"));
  for (const t of TARBALLS) copyFileSync(`${ROOT}dist/${t}`, join(dir, t));
  writeFileSync(
    join(dir, "package.json"),
    JSON.stringify({
      name: "consumer",
      private: true,
      type: "module",
      dependencies: {
        "@trimtab/core": `file:./${TARBALLS[0]}`,
        "@trimtab/web": `file:./${TARBALLS[1]}`,
        "@openfeature/web-sdk": pkg.devDependencies["@openfeature/web-sdk"],
        "@openfeature/core": pkg.devDependencies["@openfeature/core"],
      },
    }),
  );
  writeFileSync(join(dir, "vectors.json"), JSON.stringify(VECTORS));
  writeFileSync(join(dir, "check.js"), CHECK);
  await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts"], {
    cwd: dir,
    env,
  });
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("the tarballs hold the builds and types, no Rust; @trimtab/web depends on the same core", async () => {
  const list = async (t) => (await run("tar", ["-tzf", `${ROOT}dist/${t}`])).stdout.trim().split("\n");
  const core = await list(TARBALLS[0]);
  for (const f of ["js/trimtab.js", "js/trimtab.d.ts", "js/trimtab-flags.d.ts", "js/openfeature.js"]) {
    assert.ok(core.includes(`package/${f}`), f);
  }
  assert.ok(core.includes("package/pkg/trimtab_bg.wasm") && core.includes("package/pkg/trimtab_flags_bg.wasm"));
  const web = await list(TARBALLS[1]);
  assert.deepEqual(web.sort(), [
    "package/README.md",
    "package/openfeature-web.d.ts",
    "package/openfeature-web.js",
    "package/package.json",
    "package/trimtab-flags.d.ts",
    "package/trimtab-flags.js",
  ]);
  for (const f of [...core, ...web]) assert.doesNotMatch(f, /\.rs$|Cargo|src\//, f);
  const webPkg = JSON.parse(readFileSync(join(dir, "node_modules/@trimtab/web/package.json"), "utf8"));
  assert.equal(webPkg.dependencies["@trimtab/core"], pkg.version);
  assert.ok(webPkg.peerDependencies["@openfeature/web-sdk"]);
  assert.ok(!existsSync(join(dir, "node_modules/@trimtab/web/node_modules")), "one @trimtab/core");
});

test("Deno: npm:@trimtab/core from the install folder evaluates every vector", async () => {
  writeFileSync(
    join(dir, "edge.js"),
    `import { FlagEngine, bucket, hmacSha256Hex, TrimtabError } from "npm:@trimtab/core";
import * as flags from "npm:@trimtab/core/flags";
import { check } from "./check.js";
const v = JSON.parse(await Deno.readTextFile("./vectors.json"));
const full = check(FlagEngine, bucket, v), small = check(flags.FlagEngine, flags.bucket, v);
let code = null;
try { new flags.FlagEngine({ version: "1", flags: [{ key: "" }] }); } catch (e) { code = e instanceof TrimtabError && e.code; }
console.log(JSON.stringify({ full, small, hmac: hmacSha256Hex("k", "m"), code }));`,
  );
  const { stdout } = await run(DENO, ["run", "--node-modules-dir=manual", "--allow-read", "edge.js"], {
    cwd: dir,
    env,
  });
  const r = JSON.parse(stdout);
  assert.equal(r.full.checked, VECTORS.cases.length + VECTORS.buckets.length);
  assert.deepEqual([r.full.bad, r.small.bad], [[], []]);
  assert.equal(r.hmac, createHmac("sha256", "k").update("m").digest("hex"), "the full build's HMAC");
  assert.equal(r.code, "INVALID_SNAPSHOT", "one TrimtabError class across both builds");
});

const CONSUMER_TS = `import { FlagEngine, type Evaluation } from "@trimtab/core/flags";
import { contextFromClaims } from "@trimtab/core/claims";
import { createFlagClient, type FlagClient } from "@trimtab/web";
import { TrimtabWebProvider } from "@trimtab/web/openfeature";
import { OpenFeature, type Provider } from "@openfeature/web-sdk";

const engine = new FlagEngine({ version: "1", flags: [{ key: "a", enabled: true, rollout: 100 }] });
const e: Evaluation = engine.evaluate("a", { userId: "u", ...contextFromClaims({ sub: "u" }) });
const on: boolean = e.enabled;
const client: FlagClient = createFlagClient({
  url: "https://example.supabase.co",
  publishableKey: "sb_publishable_x",
  getToken: async () => null,
  retry: { baseMs: 100 },
});
client.on("stale", (d) => console.log(d.stale, on));
const provider: Provider = new TrimtabWebProvider(client);
await OpenFeature.setProviderAndWait(provider);
const v: boolean = OpenFeature.getClient().getBooleanValue("a", false);
console.log(v);
`;

test("deno check: a TypeScript consumer type-checks; wrong options are refused", async () => {
  writeFileSync(join(dir, "consumer.ts"), CONSUMER_TS);
  const ok = await run(DENO, ["check", "--node-modules-dir=manual", "consumer.ts"], { cwd: dir, env }).then(
    () => "",
    (e) => e.stderr,
  );
  assert.equal(ok, "", ok);
  writeFileSync(
    join(dir, "wrong.ts"),
    `import { createFlagClient } from "@trimtab/web";
createFlagClient({ url: 1, refreshMs: "30s" });
createFlagClient({ url: "x", pollEvery: 5 });`,
  );
  const bad = await run(DENO, ["check", "--node-modules-dir=manual", "wrong.ts"], { cwd: dir, env }).then(
    () => "",
    (e) => e.stderr,
  );
  assert.match(bad, /TS2322/, bad);
  assert.match(bad, /TS2353/, bad);
});

test("Vite bundles a browser entry; Chromium loads it, fetches the copied .wasm and evaluates", async () => {
  writeFileSync(
    join(dir, "index.html"),
    `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><pre id="out"></pre>
<script type="module" src="./main.js"></script>`,
  );
  writeFileSync(
    join(dir, "main.js"),
    `import { FlagEngine, bucket } from "@trimtab/core/flags";
import { createFlagClient } from "@trimtab/web";
import { TrimtabWebProvider } from "@trimtab/web/openfeature";
import { OpenFeature } from "@openfeature/web-sdk";
import v from "./vectors.json";
import { check } from "./check.js";
const result = check(FlagEngine, bucket, v);
const snapshot = { version: "3", flags: [{ key: "kill", enabled: true, rollout: 100, adminOverride: "off" }] };
const fetch = () => Promise.resolve(new Response(JSON.stringify(snapshot), { headers: { etag: '"3-x"' } }));
const client = createFlagClient({ url: "https://example.invalid", fetch, storage: null, refreshMs: 0 });
await OpenFeature.setProviderAndWait(new TrimtabWebProvider(client));
const d = OpenFeature.getClient().getBooleanDetails("kill", true);
document.getElementById("out").textContent = JSON.stringify({ ...result, kill: [d.value, d.reason] });`,
  );
  await build({
    root: dir,
    configFile: false,
    logLevel: "warn",
    build: { outDir: join(dir, "dist"), target: "es2022" },
  });
  const assets = readdirSync(join(dir, "dist/assets"));
  assert.ok(assets.some((f) => /^trimtab_flags_bg-.*\.wasm$/.test(f)), `Vite copied the flag build: ${assets}`);
  assert.ok(!assets.some((f) => /^trimtab_bg-.*\.wasm$/.test(f)), "the full build is not in the browser bundle");
  const server = await serveStatic(join(dir, "dist"));
  const browser = await launch();
  try {
    const { page, errors } = await open(browser, `${server.url}/`);
    await page.waitForFunction(() => document.getElementById("out").textContent !== "", null, { timeout: 30_000 });
    const r = JSON.parse(await page.textContent("#out"));
    assert.equal(r.checked, VECTORS.cases.length + VECTORS.buckets.length);
    assert.deepEqual(r.bad, []);
    assert.deepEqual(r.kill, [false, "DISABLED"]);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await server.close();
  }
});
