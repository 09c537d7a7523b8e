// The local edge stack (scripts/serve.ts) as `npm start` runs it: a subprocess with start.sh's
// permissions (read, write .data only, env, net 127.0.0.1 only), its own data directory under
// .data/stack-test-<random>, and the checks a deploy depends on (the Wasm copy under
// supabase/functions/_shared/wasm/, supabase/config.toml).
//
//   deno test --allow-read --allow-run --allow-env --allow-net=127.0.0.1,localhost \
//     --allow-write=tests/artifacts,.data tests/deno/stack_test.ts
import {
  describeDatabase,
  functionSettings,
  parseFunctionSettings,
  verifiesJwt,
  WASM_COPY as WASM_FILES,
} from "../../scripts/serve.ts";
import { assert, eq, ROOT } from "./support.ts";

const root = decodeURIComponent(ROOT.pathname);
const STATIC_WASM = "./functions/_shared/wasm/pkg/trimtab_bg.wasm";

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

// ---------------------------------------------------------------- deploy layout

Deno.test("deploy layout: supabase/functions/_shared/wasm/ is byte-identical to js/ + pkg/", async () => {
  const copy = new URL("supabase/functions/_shared/wasm/", ROOT);
  for (const f of WASM_FILES) {
    let mine: Uint8Array;
    try {
      mine = await Deno.readFile(new URL(f, copy));
    } catch {
      throw new Error(`supabase/functions/_shared/wasm/${f} is missing: run scripts/build.sh`);
    }
    assert(
      sameBytes(mine, await Deno.readFile(new URL(f, ROOT))),
      `_shared/wasm/${f} differs from ${f}: run scripts/build.sh`,
    );
  }
  // Nothing else in the copy (wasm-pack's pkg/.gitignore, stale files).
  const present: string[] = [];
  for (const dir of ["js", "pkg"]) {
    for await (const e of Deno.readDir(new URL(`${dir}/`, copy))) present.push(`${dir}/${e.name}`);
  }
  eq(present.sort(), [...WASM_FILES].sort(), "files in _shared/wasm/:");
});

Deno.test("deploy layout: edge code imports the Wasm only through _shared/trimtab.ts", async () => {
  const functions = new URL("supabase/functions/", ROOT);
  const offenders: string[] = [];
  const walk = async (dir: URL, rel: string) => {
    for await (const e of Deno.readDir(dir)) {
      const path = rel + e.name;
      if (e.isDirectory) {
        if (path !== "_shared/wasm") await walk(new URL(`${e.name}/`, dir), `${path}/`);
      } else if (/\.(ts|js|mjs|tsx)$/.test(e.name) && path !== "_shared/trimtab.ts") {
        const text = await Deno.readTextFile(new URL(e.name, dir));
        if (
          /from\s+["'][^"']*(\/pkg\/|\/js\/trimtab|wasm\/js\/|trimtab_bg\.wasm|\/trimtab\.js)["']/.test(text) ||
          /import\(\s*["'][^"']*(\/pkg\/|trimtab\.js)/.test(text)
        ) offenders.push(path);
      }
    }
  };
  await walk(functions, "");
  eq(offenders, [], "files importing the Wasm directly:");
  const shared = await Deno.readTextFile(new URL("_shared/trimtab.ts", functions));
  assert(shared.includes(`from "./wasm/js/trimtab.js"`), "_shared/trimtab.ts re-exports ./wasm/js/trimtab.js");
});

Deno.test("deploy layout: every function is in supabase/config.toml with the .wasm as a static file", async () => {
  const text = await Deno.readTextFile(new URL("supabase/config.toml", ROOT));
  const settings = parseFunctionSettings(text);
  const dirs: string[] = [];
  for await (const e of Deno.readDir(new URL("supabase/functions/", ROOT))) {
    if (e.isDirectory && !e.name.startsWith("_") && !e.name.startsWith(".")) dirs.push(e.name);
  }
  for (const name of dirs) {
    assert(settings.has(name), `supabase/config.toml has no [functions.${name}]`);
    // The table's static_files line (the reader above only keeps booleans).
    const table = text.split(/^\[/m).find((t) => new RegExp(`^functions\\.${name.replace(/[-]/g, "\\-")}\\]`).test(t));
    assert(table && table.includes(`"${STATIC_WASM}"`), `[functions.${name}] lists ${STATIC_WASM} in static_files`);
  }
  eq(settings.get("flags")?.verifyJwt, true, "flags verify_jwt");
  eq(settings.get("flags-admin")?.verifyJwt, true, "flags-admin verify_jwt");
  eq(settings.get("health")?.verifyJwt, false, "health verify_jwt");
  await Deno.stat(new URL("supabase/functions/_shared/wasm/pkg/trimtab_bg.wasm", ROOT)); // the static file exists
});

Deno.test("config reader: verify_jwt and enabled per function; unlisted functions verify JWTs", () => {
  const s = parseFunctionSettings(`
project_id = "x" # [functions.fake]
[api]
verify_jwt = false
[functions.a]
verify_jwt = false   # comment
static_files = [ "./functions/a/#not-a-comment.wasm",
  "./functions/a/b.wasm" ]
[functions."b-c"]
enabled = false
[functions.d]
[functions.d.inner]
verify_jwt = false
`);
  eq([...s.keys()], ["a", "b-c", "d"]);
  eq(s.get("a"), { verifyJwt: false });
  eq(s.get("b-c"), { enabled: false });
  eq(s.get("d"), {});
  let threw = false;
  try {
    parseFunctionSettings(`[functions.x]\nverify_jwt = "false"\n`);
  } catch {
    threw = true;
  }
  assert(threw, "a non-boolean verify_jwt is refused");
  // The real config: health is open, the rest (and anything unlisted) needs a JWT.
  assert(functionSettings().has("health"));
  eq(verifiesJwt("health"), false);
  eq(verifiesJwt("flags"), true);
  eq(verifiesJwt("flags-admin"), true);
  eq(verifiesJwt("not-in-config"), true);
});

Deno.test("database banner: the Postgres URL without its password, or the PGlite directory", () => {
  const saved = Object.fromEntries(["SUPABASE_DB_URL", "TRIMTAB_PGLITE_DIR"].map((k) => [k, Deno.env.get(k)]));
  try {
    Deno.env.set(
      "SUPABASE_DB_URL",
      "postgresql://postgres.abc:s3cr%40t@db.example.test:6543/postgres?sslmode=require&password=x",
    );
    const d = describeDatabase();
    eq(d, "postgresql://postgres.abc@db.example.test:6543/postgres");
    assert(!d.includes("s3cr") && !d.includes("password"), d);
    Deno.env.delete("SUPABASE_DB_URL");
    Deno.env.set("TRIMTAB_PGLITE_DIR", "/tmp/x/pglite");
    eq(describeDatabase(), "PGlite /tmp/x/pglite");
  } finally {
    for (const [k, v] of Object.entries(saved)) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
  }
});

// ---------------------------------------------------------------- the stack as a subprocess

type Started = {
  base: string;
  anon: string;
  admin: string;
  out: () => string;
  stop: () => Promise<void>;
};

async function startStackProcess(dataDir: string): Promise<Started> {
  const env: Record<string, string> = {
    PORT: "0",
    TRIMTAB_DATA_DIR: dataDir,
    TRIMTAB_PGLITE_DIR: `${dataDir}/pglite`,
    NO_COLOR: "1",
    DENO_NO_UPDATE_CHECK: "1",
  };
  // A clean environment, so no JWT secret or database URL leaks in from the caller.
  for (const k of ["PATH", "HOME", "DENO_DIR", "TMPDIR", "XDG_CACHE_HOME"]) {
    const v = Deno.env.get(k);
    if (v) env[k] = v;
  }
  const child = new Deno.Command(Deno.execPath(), {
    // The permissions scripts/start.sh gives the stack.
    args: [
      "run",
      "--allow-read",
      "--allow-write=.data",
      "--allow-env",
      "--allow-net=127.0.0.1",
      "--node-modules-dir=manual",
      "scripts/serve.ts",
    ],
    cwd: root,
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  let err = "";
  const errDone = child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({ write: (c) => void (err += c) }),
  ).catch(() => {});
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* gone */ }
    await child.status;
    await outDone;
    await errDone;
  };
  let outDone: Promise<void> = Promise.resolve();
  try {
    const deadline = Date.now() + 60_000;
    // The last line of the banner is the demo admin token.
    while (!/demo admin token[^\n]*\n/.test(out)) {
      if (Date.now() > deadline) throw new Error(`stack did not start:\n${out}\n${err}`);
      const { done, value } = await reader.read();
      if (done) throw new Error(`stack exited:\n${out}\n${err}`);
      out += value;
    }
  } catch (e) {
    await stop();
    throw e;
  }
  // Keep draining stdout (function logs) so the child never blocks on a full pipe.
  outDone = (async () => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      out += value;
    }
  })().catch(() => {});
  const base = /^trimtab edge stack: (http:\/\/127\.0\.0\.1:\d+)$/m.exec(out)?.[1];
  const anon = /anon key[^:]*: (\S+)/.exec(out)?.[1];
  const admin = /demo admin token[^:]*: (\S+)/.exec(out)?.[1];
  if (!base || !anon || !admin) {
    await stop();
    throw new Error(`unexpected banner:\n${out}`);
  }
  return { base, anon, admin, out: () => out + err, stop };
}

Deno.test({
  name: "stack: serve.ts with start.sh's permissions serves the page, the Wasm and verify_jwt-gated functions",
  // The child's pipes are read to the end in stop(); PGlite's first start takes a few seconds.
  async fn(t) {
    const dataDir = `.data/stack-test-${crypto.randomUUID().slice(0, 8)}`;
    let stack: Started | null = null;
    try {
      stack = await startStackProcess(dataDir);
      const { base, anon, admin } = stack;
      const get = (path: string, init: RequestInit = {}) => fetch(base + path, init);

      await t.step("banner: URL, database, anon key, admin token; never the JWT secret", () => {
        const out = stack!.out();
        assert(out.includes(`database:  PGlite ${dataDir}/pglite`), `database line in:\n${out}`);
        assert(anon.split(".").length === 3 && admin.split(".").length === 3, "keys are JWTs");
        const claims = JSON.parse(atob(anon.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
        eq(claims.role, "anon");
      });

      await t.step("/ serves www/index.html", async () => {
        const r = await get("/");
        eq(r.status, 200);
        assert(r.headers.get("content-type")!.startsWith("text/html"));
        eq(await r.text(), await Deno.readTextFile(new URL("www/index.html", ROOT)));
      });

      await t.step("/pkg/*.wasm (the flag build the page loads, the full build) are application/wasm", async () => {
        for (const wasm of ["pkg/trimtab_flags_bg.wasm", "pkg/trimtab_bg.wasm"]) {
          const r = await get(`/${wasm}`);
          eq(r.status, 200);
          eq(r.headers.get("content-type"), "application/wasm");
          assert(sameBytes(new Uint8Array(await r.arrayBuffer()), await Deno.readFile(new URL(wasm, ROOT))), wasm);
        }
      });

      await t.step("health needs no token (verify_jwt = false)", async () => {
        const r = await get("/functions/v1/health");
        eq(r.headers.get("x-trimtab-verify-jwt"), null);
        const body = await r.json();
        eq(r.status, 200, JSON.stringify(body));
        eq(body.ok, true);
      });

      await t.step("flags-admin without a token: 401 from the verify_jwt layer", async () => {
        const r = await get("/functions/v1/flags-admin/flags");
        const body = await r.json();
        eq(r.status, 401, JSON.stringify(body));
        eq(r.headers.get("x-trimtab-verify-jwt"), "refused");
        eq(body.error.code, "UNAUTHORIZED");
        assert(typeof body.error.message === "string" && body.error.message.length > 0);
        eq(r.headers.get("access-control-allow-origin"), "*", "browsers can read the 401");
      });

      await t.step("flags-admin and flags with bad tokens: 401 from the verify_jwt layer", async () => {
        const [h, p] = anon.split(".");
        const cases: [string, string, string][] = [
          ["/functions/v1/flags-admin/flags", "Bearer not-a-jwt", "MALFORMED_TOKEN"],
          ["/functions/v1/flags-admin/flags", "Basic dXNlcjpwYXNz", "MALFORMED_TOKEN"],
          ["/functions/v1/flags", `Bearer ${h}.${p}.${"A".repeat(43)}`, "BAD_SIGNATURE"],
          ["/functions/v1/flags", "Bearer eyJhbGciOiJub25lIn0.eyJyb2xlIjoiYW5vbiJ9.", "UNSUPPORTED_ALG"],
        ];
        for (const [path, authorization, code] of cases) {
          const r = await get(path, { headers: { authorization } });
          const body = await r.json();
          eq(r.status, 401, `${path} ${authorization}: ${JSON.stringify(body)}`);
          eq(r.headers.get("x-trimtab-verify-jwt"), "refused", path);
          eq(body.error.code, code, authorization);
        }
      });

      await t.step("OPTIONS preflights pass the verify_jwt layer", async () => {
        const r = await get("/functions/v1/flags-admin/flags", {
          method: "OPTIONS",
          headers: { origin: "http://example.test", "access-control-request-method": "GET" },
        });
        await r.body?.cancel();
        eq(r.headers.get("x-trimtab-verify-jwt"), null);
        assert(r.status < 300, `preflight status ${r.status}`);
      });

      await t.step("the anon key and the admin token pass the verify_jwt layer", async () => {
        const f = await get("/functions/v1/flags", { headers: { authorization: `Bearer ${anon}` } });
        await f.body?.cancel();
        eq(f.headers.get("x-trimtab-verify-jwt"), null);
        assert(f.status < 500, `flags with the anon key: ${f.status}`);
        const a = await get("/functions/v1/flags-admin/flags", { headers: { authorization: `Bearer ${admin}` } });
        const body = await a.json();
        eq(a.status, 200, JSON.stringify(body));
      });

      await t.step("unknown functions, _shared and dotfiles are JSON 404s", async () => {
        for (
          const p of [
            "/functions/v1/nope",
            "/functions/v1/_shared/auth.ts",
            "/.data/jwt-secret",
            "/functions/v1/../.data/jwt-secret",
          ]
        ) {
          const r = await get(p);
          eq(r.status, 404, p);
          eq((await r.json()).error.code, "NOT_FOUND", p);
        }
      });

      await t.step("the JWT secret never reaches stdout or stderr", async () => {
        const secret = (await Deno.readTextFile(`${root}${dataDir}/jwt-secret`)).trim();
        assert(secret.length >= 32, "the stack created its secret in TRIMTAB_DATA_DIR");
        await stack!.stop();
        const all = stack!.out();
        stack = null;
        assert(!all.includes(secret), "the JWT secret was printed");
      });
    } finally {
      await stack?.stop();
      await Deno.remove(`${root}${dataDir}`, { recursive: true }).catch(() => {});
    }
  },
});
