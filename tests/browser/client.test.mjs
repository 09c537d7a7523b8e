// Client-side flags (www/trimtab-flags.js) and the OpenFeature web provider (www/openfeature-web.js)
// in real headless Chromium against the local edge stack (scripts/serve.ts as a subprocess with
// its own data dir under .data/ and its own JWT secret):
//   - the client starts with a user token and its local evaluations equal the server's GET /flags;
//   - the background refresh sends If-None-Match and gets 304;
//   - the real @openfeature/web-sdk over TrimtabWebProvider (values, reasons, metadata, events);
//   - PARITY: 10,000 unit ids. The server evaluates them with the FULL snapshot (service-role POST
//     /functions/v1/flags, batches of 1000); the page builds a Wasm FlagEngine from the
//     client-visible snapshot (GET ?snapshot=1, the same one the client uses) and evaluates the
//     same ids; every client-visible flag must agree in enabled, variant, reason, bucket, ruleIndex;
//   - OFFLINE START: stop the stack, reload: the client starts from localStorage, evaluations are
//     unchanged, client.stale is true and the page says so.
// No console errors, except Chromium's own "net::ERR_CONNECTION_REFUSED" lines once the stack is
// stopped (the browser logs every failed fetch; they are expected there and only there).
//
//   node --test --test-concurrency=1 tests/browser/client.test.mjs
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync } from "node:fs";
import { serveStatic } from "../../scripts/static-server.mjs";
import { launch, open } from "./chromium.mjs";
import { userToken as mintUserToken } from "./tokens.mjs";

const ROOT = new URL("../..", import.meta.url).pathname;
const DENO = `${ROOT}node_modules/@deno/linux-x64-glibc/deno`;
const DATA = `${ROOT}.data/client-test-${randomBytes(6).toString("hex")}`;
const UNITS = 10_000;

const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>trimtab client test</title>
<script type="importmap">{"imports": {
  "@openfeature/web-sdk": "/node_modules/@openfeature/web-sdk/dist/esm/index.js",
  "@openfeature/core": "/node_modules/@openfeature/core/dist/esm/index.js"}}</script>
<p id="status">loading</p>
<script type="module">
  import { createFlagClient } from "/www/trimtab-flags.js";
  import { TrimtabWebProvider } from "/www/openfeature-web.js";
  import { FlagEngine } from "/js/trimtab-flags.js";
  import { OpenFeature } from "@openfeature/web-sdk";
  const status = document.getElementById("status");
  const q = new URLSearchParams(location.search);
  globalThis.__mods = { createFlagClient, TrimtabWebProvider, FlagEngine, OpenFeature };
  const client = createFlagClient({ url: q.get("url"), token: q.get("token"), refreshMs: 0 });
  const show = () => { status.textContent = client.stale ? "stale: offline copy (" + client.source + ")" : "live"; };
  client.on("stale", show);
  client.on("change", show);
  globalThis.__client = client;
  globalThis.__ready = client.ready.then(() => { show(); return "ok"; }, (e) => { status.textContent = "error: " + e.message; return "error"; });
</script>`;

const userToken = (sub, extra) => mintUserToken(DATA, sub, extra);

let stack, stackUrl, serviceKey, server, browser;
let page, errors, pageUrl;
let before7; // user-7's evaluations before the stack stops

function startStack() {
  mkdirSync(DATA, { recursive: true });
  const child = spawn(DENO, ["run", "--allow-all", "--node-modules-dir=manual", "scripts/serve.ts"], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      PORT: "0",
      TRIMTAB_DATA_DIR: DATA,
      TRIMTAB_PGLITE_DIR: `${DATA}/pglite`,
      NO_COLOR: "1",
      DENO_NO_UPDATE_CHECK: "1",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "", err = "";
  child.stderr.on("data", (c) => {
    err += c;
  });
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`stack did not start:\n${out}\n${err}`)), 60_000);
    child.on("exit", (code) => reject(new Error(`stack exited ${code}:\n${out}\n${err}`)));
    child.stdout.on("data", (c) => {
      out += c;
      if (/demo admin token[^\n]*\n/.test(out)) {
        clearTimeout(t);
        resolve({
          child,
          url: out.match(/trimtab edge stack: (\S+)/)[1],
          service: out.match(/secret key[^:]*: (\S+)/)[1],
        });
      }
    });
  });
}

async function stopStack() {
  if (!stack || stack.exitCode !== null) return;
  const gone = new Promise((r) => stack.once("exit", r));
  stack.kill("SIGTERM");
  await gone;
}

before(async () => {
  const s = await startStack();
  stack = s.child;
  stackUrl = s.url;
  serviceKey = s.service;
  server = await serveStatic(ROOT, {
    extra: {
      "/client-test.html": { type: "text/html; charset=utf-8", body: PAGE },
      "/favicon.ico": { type: "image/svg+xml", body: "<svg xmlns='http://www.w3.org/2000/svg'/>" },
    },
  });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.close();
  await stopStack();
  rmSync(DATA, { recursive: true, force: true });
});

async function serverFlags(token) {
  const r = await fetch(`${stackUrl}/functions/v1/flags`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(r.status, 200);
  return (await r.json()).flags;
}

const pick = (e) => ({
  enabled: e.enabled,
  variant: e.variant,
  reason: e.reason,
  bucket: e.bucket,
  ruleIndex: e.ruleIndex,
  version: String(e.version),
});

test("the client evaluates locally what the server evaluates; refresh is a 304", async () => {
  pageUrl = `${server.url}/client-test.html?url=${encodeURIComponent(stackUrl)}&token=${
    encodeURIComponent(await userToken("user-7"))
  }`;
  ({ page, errors } = await open(browser, pageUrl));
  const snapshotRequests = [];
  page.on("request", (r) => {
    if (r.url().includes("snapshot=1")) snapshotRequests.push(r.headers()["if-none-match"] ?? null);
  });
  await page.waitForFunction(() => globalThis.__ready !== undefined, null, { timeout: 30_000 });
  assert.equal(await page.evaluate(() => globalThis.__ready), "ok");
  const local = await page.evaluate(() => ({
    all: globalThis.__client.evaluateAll(),
    stale: globalThis.__client.stale,
    source: globalThis.__client.source,
    status: document.getElementById("status").textContent,
  }));
  assert.equal(local.stale, false);
  assert.equal(local.source, "network");
  assert.equal(local.status, "live");
  const keys = Object.keys(local.all).sort();
  assert.deepEqual(
    keys,
    ["FEATURE_AGENT_CHAT", "USE_OPTIMIZED_PROMPTS", "phoenix_pipeline_enabled"],
    "client-visible flags only",
  );
  const remote = await serverFlags(await userToken("user-7"));
  for (const k of keys) assert.deepEqual(pick(local.all[k]), pick(remote[k]), k);
  before7 = local.all;

  // user-42's own override reaches its snapshot (and nobody else's).
  const o = await page.evaluate(async ({ url, token }) => {
    const c = globalThis.__mods.createFlagClient({ url, token, refreshMs: 0, storage: null });
    await c.ready;
    const e = c.evaluate("phoenix_pipeline_enabled");
    c.close();
    return e;
  }, { url: stackUrl, token: await userToken("user-42") });
  assert.deepEqual([o.enabled, o.reason], [false, "USER_OVERRIDE"]);

  // Second fetch: If-None-Match with the stored ETag, answered 304, nothing changes.
  snapshotRequests.length = 0;
  const etag = await page.evaluate(() => globalThis.__client.etag);
  assert.match(etag, /^"\d+-[0-9a-f]{24}"$/);
  await page.evaluate(() => globalThis.__client.refresh());
  assert.equal(await page.evaluate(() => globalThis.__client.lastStatus), 304);
  assert.deepEqual(snapshotRequests, [etag], "the refresh sent If-None-Match");
  assert.deepEqual(await page.evaluate(() => globalThis.__client.evaluateAll()), before7);
  assert.deepEqual(errors, []);
});

test("OpenFeature web SDK over TrimtabWebProvider", async () => {
  const r = await page.evaluate(async () => {
    const { OpenFeature, TrimtabWebProvider } = globalThis.__mods;
    const events = [];
    const provider = new TrimtabWebProvider(globalThis.__client);
    OpenFeature.addHandler("PROVIDER_CONFIGURATION_CHANGED", (d) => events.push(d.flagsChanged));
    await OpenFeature.setProviderAndWait(provider);
    const of = OpenFeature.getClient();
    const out = {
      status: of.providerStatus,
      name: of.metadata.providerMetadata.name,
      chat: of.getBooleanDetails("FEATURE_AGENT_CHAT", false),
      prompts: of.getStringDetails("USE_OPTIMIZED_PROMPTS", "none"),
      obj: of.getObjectValue("USE_OPTIMIZED_PROMPTS", {}),
      missing: of.getBooleanDetails("NO_SUCH_FLAG", true),
      num: of.getNumberDetails("FEATURE_AGENT_CHAT", 3),
    };
    // A context change re-evaluates: an @trimtab.dev email matches phoenix's rule.
    await OpenFeature.setContext({ targetingKey: "user-7", email: "ana@trimtab.dev" });
    out.staff = of.getBooleanDetails("phoenix_pipeline_enabled", false);
    await OpenFeature.setContext({ targetingKey: "user-7" });
    out.events = events;
    await OpenFeature.close();
    return out;
  });
  assert.equal(r.status, "READY");
  assert.equal(r.name, "trimtab");
  assert.equal(r.chat.value, before7.FEATURE_AGENT_CHAT.enabled);
  assert.equal(r.chat.reason, "SPLIT");
  assert.equal(r.chat.flagMetadata.trimtabReason, "ROLLOUT");
  assert.equal(r.chat.flagMetadata.bucket, before7.FEATURE_AGENT_CHAT.bucket);
  const p = before7.USE_OPTIMIZED_PROMPTS;
  assert.equal(r.prompts.value, p.variant ?? "none", "the variant, or the caller's default when none is served");
  assert.equal(r.prompts.variant, p.variant);
  assert.equal(r.obj.reason, p.reason);
  assert.deepEqual([r.missing.value, r.missing.errorCode], [true, "FLAG_NOT_FOUND"]);
  assert.deepEqual([r.num.value, r.num.errorCode], [3, "TYPE_MISMATCH"]);
  assert.deepEqual([r.staff.value, r.staff.reason, r.staff.flagMetadata.trimtabReason], [
    true,
    "TARGETING_MATCH",
    "RULE_MATCH",
  ]);
  assert.ok(
    r.events.some((c) => c.includes("phoenix_pipeline_enabled")),
    `ConfigurationChanged: ${JSON.stringify(r.events)}`,
  );
  assert.deepEqual(await page.evaluate(() => globalThis.__client.evaluateAll()), before7, "context restored");
  assert.deepEqual(errors, []);
});

test("x-trimtab-stale, change and error events, background refresh (scripted fetch)", async () => {
  const r = await page.evaluate(async (snapshot) => {
    const { createFlagClient } = globalThis.__mods;
    const store = new Map();
    const storage = { getItem: (k) => store.get(k) ?? null, setItem: (k, v) => store.set(k, v) };
    const answers = [];
    const seen = [];
    const fetch = (_url, init) => {
      seen.push(init.headers["if-none-match"] ?? null);
      const a = answers.shift() ?? { status: 304, stale: false };
      if (a.throw) return Promise.reject(new TypeError("Failed to fetch"));
      const headers = new Headers({ "x-trimtab-stale": String(a.stale), etag: a.etag ?? '"1-a"' });
      return Promise.resolve(
        new Response(a.status === 304 ? null : JSON.stringify(a.body), { status: a.status, headers }),
      );
    };
    const off = {
      ...snapshot,
      version: "2",
      flags: snapshot.flags.map((f) => f.key === "FEATURE_AGENT_CHAT" ? { ...f, enabled: false } : f),
    };
    answers.push({ status: 200, stale: false, body: snapshot, etag: '"1-a"' });
    const events = [];
    const c = createFlagClient({
      url: "http://trimtab.invalid",
      token: "x.eyJzdWIiOiJ1c2VyLTcifQ.y",
      storage,
      fetch,
      refreshMs: 40,
    });
    for (const e of ["change", "stale", "error"]) {
      c.on(e, (d) => events.push([e, d.changed ?? d.stale ?? d.error?.message]));
    }
    await c.ready;
    const first = c.evaluate("FEATURE_AGENT_CHAT").enabled;
    answers.push({ status: 304, stale: true });
    await c.refresh();
    const staleAfter304 = c.stale;
    answers.push({ status: 200, stale: false, body: off, etag: '"2-b"' });
    await c.refresh();
    const afterChange = c.evaluate("FEATURE_AGENT_CHAT").enabled;
    answers.push({ throw: true });
    await c.refresh();
    const staleOffline = c.stale;
    // The background refresh (every 40 ms) picks up a 304 on its own and clears stale.
    await new Promise((res) => setTimeout(res, 200));
    c.close();
    return {
      first,
      staleAfter304,
      afterChange,
      staleOffline,
      staleEnd: c.stale,
      events,
      seen,
      stored: JSON.parse(store.get("trimtab-flags:v1:http://trimtab.invalid:user-7")).etag,
    };
  }, await page.evaluate(() => globalThis.__client.snapshot));
  assert.equal(r.first, true);
  assert.equal(r.staleAfter304, true, "x-trimtab-stale: true on a 304 marks the client stale");
  assert.equal(r.afterChange, false);
  assert.equal(r.staleOffline, true);
  assert.equal(r.staleEnd, false);
  assert.deepEqual(r.events, [
    ["change", ["FEATURE_AGENT_CHAT", "USE_OPTIMIZED_PROMPTS", "phoenix_pipeline_enabled"]], // first snapshot
    ["stale", true], // 304 with x-trimtab-stale: true
    // a new snapshot from a fresh server: phoenix follows through its prerequisite
    ["change", ["FEATURE_AGENT_CHAT", "phoenix_pipeline_enabled"]],
    ["stale", false],
    ["stale", true],
    ["error", "Failed to fetch"], // unreachable
    ["stale", false], // the background refresh reached the server again
  ]);
  assert.deepEqual(r.seen.slice(0, 4), [null, '"1-a"', '"1-a"', '"2-b"']);
  assert.ok(r.seen.length >= 5, "background refreshes ran");
  assert.equal(r.stored, '"2-b"', "the last good snapshot and ETag are stored per url + user");
  assert.deepEqual(errors, []);
});

test(`parity: ${UNITS} units, the server's full snapshot vs the page's Wasm over the client snapshot`, async () => {
  const ids = Array.from({ length: UNITS }, (_, i) => `parity-${i}`);
  const server = [];
  for (let i = 0; i < UNITS; i += 1000) {
    const r = await fetch(`${stackUrl}/functions/v1/flags`, {
      method: "POST",
      headers: { authorization: `Bearer ${serviceKey}`, "content-type": "application/json" },
      body: JSON.stringify({ contexts: ids.slice(i, i + 1000).map((userId) => ({ userId })) }),
    });
    assert.equal(r.status, 200);
    server.push(...(await r.json()).results);
  }
  const local = await page.evaluate(async ({ url, token, ids }) => {
    const res = await fetch(`${url}/functions/v1/flags?snapshot=1`, { headers: { authorization: `Bearer ${token}` } });
    const snapshot = await res.json();
    const engine = new globalThis.__mods.FlagEngine(snapshot);
    const out = ids.map((userId) => engine.evaluateAll({ userId }));
    engine.free();
    return { keys: snapshot.flags.map((f) => f.key), out };
  }, { url: stackUrl, token: serviceKey, ids });
  assert.equal(local.keys.length, 3);
  assert.ok(Object.keys(server[0]).length > local.keys.length, "the server's snapshot has hidden flags too");
  let checked = 0;
  const mismatches = [];
  for (let i = 0; i < UNITS; i++) {
    for (const k of local.keys) {
      const a = pick(server[i][k]), b = pick(local.out[i][k]);
      if (JSON.stringify(a) !== JSON.stringify(b)) mismatches.push({ id: ids[i], k, server: a, page: b });
      checked++;
    }
  }
  assert.deepEqual(mismatches.slice(0, 5), []);
  assert.equal(checked, UNITS * 3);
  // The split is real: both outcomes and both variants occur.
  const e = new Set(local.out.map((o) => `${o.USE_OPTIMIZED_PROMPTS.enabled}/${o.USE_OPTIMIZED_PROMPTS.variant}`));
  assert.ok(e.size >= 3, [...e].join(" "));
  assert.deepEqual(errors, []);
});

test("offline start: the stack stops, the reloaded page starts from localStorage and says stale", async () => {
  await stopStack();
  await page.reload();
  await page.waitForFunction(() => globalThis.__ready !== undefined, null, { timeout: 30_000 });
  assert.equal(await page.evaluate(() => globalThis.__ready), "ok");
  const r = await page.evaluate(() => ({
    all: globalThis.__client.evaluateAll(),
    stale: globalThis.__client.stale,
    source: globalThis.__client.source,
    status: document.getElementById("status").textContent,
  }));
  assert.equal(r.stale, true);
  assert.equal(r.source, "storage");
  assert.match(r.status, /stale/);
  assert.ok(await page.getByText(/stale: offline copy/).isVisible(), "status text visible");
  assert.deepEqual(r.all, before7, "evaluations unchanged");
  const unexpected = errors.filter((m) => !/net::ERR_CONNECTION_REFUSED/.test(m));
  assert.deepEqual(unexpected, []);
});
