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
import { createClient } from "@supabase/supabase-js";
import {
  legacyToken,
  LOCAL_ISSUER,
  localKeys,
  revokeSigningKey,
  rotateSigningKey,
  userToken,
} from "../../scripts/dev/keys.ts";
import { assert, eq, ROOT } from "./support.ts";
import { type HttpStack, spawnStack } from "./http_stack.ts";

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

Deno.test("deploy layout: edge code imports the Wasm only through _shared/platform/trimtab.ts", async () => {
  const functions = new URL("supabase/functions/", ROOT);
  const offenders: string[] = [];
  const walk = async (dir: URL, rel: string) => {
    for await (const e of Deno.readDir(dir)) {
      const path = rel + e.name;
      if (e.isDirectory) {
        if (path !== "_shared/wasm") await walk(new URL(`${e.name}/`, dir), `${path}/`);
      } else if (/\.(ts|js|mjs|tsx)$/.test(e.name) && path !== "_shared/platform/trimtab.ts") {
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
  const shared = await Deno.readTextFile(new URL("_shared/platform/trimtab.ts", functions));
  assert(shared.includes(`from "../wasm/js/trimtab.js"`), "_shared/platform/trimtab.ts re-exports the wrapper");
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
  // Every function verifies its caller itself (signing keys, API keys): the gateway's legacy-only
  // check stays off for all of them.
  for (const name of dirs) eq(settings.get(name)?.verifyJwt, false, `${name} verify_jwt`);
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
  eq(verifiesJwt("flags"), false);
  eq(verifiesJwt("flags-admin"), false);
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

/** scripts/serve.ts as its own process (http_stack.ts), with the settings' own defaults for the
 *  log level and the guard timer (start.sh sets neither). */
function startStackProcess(dataDir: string, more: Record<string, string> = {}): Promise<HttpStack> {
  return spawnStack({ dataDir, env: { LOG_LEVEL: "info", TRIMTAB_GUARD_INTERVAL_MS: "60000", ...more } });
}

const b64json = (part: string) => JSON.parse(atob(part.replace(/-/g, "+").replace(/_/g, "/")));

Deno.test({
  name: "stack: serve.ts with start.sh's permissions: page, Wasm, JWKS, functions that verify callers themselves",
  // The child's pipes are read to the end in stop(); PGlite's first start takes a few seconds.
  async fn(t) {
    const dataDir = `.data/stack-test-${crypto.randomUUID().slice(0, 8)}`;
    let stack: HttpStack | null = null;
    try {
      // Every verification looks at the key set again, so a revoked key is refused at once here.
      stack = await startStackProcess(dataDir, { TRIMTAB_JWKS_MAX_AGE_MS: "1", TRIMTAB_JWKS_COOLDOWN_MS: "1" });
      const { base, publishable, secret, admin } = stack;
      const get = (path: string, init: RequestInit = {}) => fetch(base + path, init);
      const keys = await localKeys(`${root}${dataDir}`);

      await t.step("banner: URL, database, publishable and secret keys, an ES256 admin token with kid", () => {
        const out = stack!.out();
        assert(out.includes(`database:  PGlite ${dataDir}/pglite`), `database line in:\n${out}`);
        eq([publishable, secret], [keys.publishable, keys.secret], "the data directory's keys");
        assert(publishable.startsWith("sb_publishable_") && secret.startsWith("sb_secret_"), "Supabase's key formats");
        const [h, p] = admin.split(".");
        eq(b64json(h), { alg: "ES256", kid: keys.signing[0].kid, typ: "JWT" }, "admin token header");
        eq([b64json(p).role, b64json(p).app_metadata.role, b64json(p).iss], ["authenticated", "admin", LOCAL_ISSUER]);
      });

      await t.step("/auth/v1/.well-known/jwks.json publishes the public key only", async () => {
        const r = await get("/auth/v1/.well-known/jwks.json");
        const body = await r.json();
        eq(r.status, 200);
        eq(body.keys.map((k: Record<string, unknown>) => [k.kid, k.kty, k.crv, k.alg]), [
          [keys.signing[0].kid, "EC", "P-256", "ES256"],
        ]);
        assert(!JSON.stringify(body).includes(String(keys.signing[0].privateJwk.d)), "no private part");
      });

      await t.step("/ serves www/index.html", async () => {
        const r = await get("/");
        eq(r.status, 200);
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

      await t.step("health needs no credentials", async () => {
        const r = await get("/functions/v1/health");
        const body = await r.json();
        eq(r.status, 200, JSON.stringify(body));
        eq(body.ok, true);
      });

      await t.step("functions refuse bad credentials themselves, with a 401 that says what to do", async () => {
        const [h, p] = admin.split(".");
        const legacy = await legacyToken("some-legacy-secret", { role: "authenticated", sub: "u", exp: 9e9 });
        const cases: [string, Record<string, string>, string][] = [
          ["/functions/v1/flags-admin/flags", {}, "UNAUTHORIZED"],
          ["/functions/v1/flags-admin/flags", { authorization: "Bearer not-a-jwt" }, "MALFORMED_TOKEN"],
          ["/functions/v1/flags", { authorization: `Bearer ${h}.${p}.${"A".repeat(86)}` }, "BAD_SIGNATURE"],
          [
            "/functions/v1/flags",
            { authorization: "Bearer eyJhbGciOiJub25lIn0.eyJyb2xlIjoiYW5vbiJ9." },
            "UNSUPPORTED_ALG",
          ],
          ["/functions/v1/flags", { authorization: `Bearer ${legacy}` }, "LEGACY_JWT_NOT_ACCEPTED"],
          ["/functions/v1/flags", { apikey: secret.slice(0, -3) + "xyz" }, "UNKNOWN_API_KEY"],
        ];
        for (const [path, headers, code] of cases) {
          const r = await get(path, { headers: { ...headers, origin: base } });
          const body = await r.json();
          eq([r.status, body.error.code], [401, code], `${path} ${JSON.stringify(headers).slice(0, 40)}`);
          assert(body.error.message.length > 10, `a message: ${body.error.message}`);
          eq(r.headers.get("x-trimtab-verify-jwt"), null, "no gateway refusal: the function answered");
          // Public functions answer any origin; the admin API its own (the dashboard's) only.
          const allowed = path.includes("flags-admin") ? base : "*";
          eq(r.headers.get("access-control-allow-origin"), allowed, "browsers can read the 401");
        }
      });

      await t.step("supabase-js functions.invoke: publishable key, user token, secret key", async () => {
        const anon = createClient(base, publishable, { auth: { persistSession: false } });
        const a = await anon.functions.invoke("flags", { method: "GET" });
        eq([a.error, a.data.flags.FEATURE_AGENT_CHAT.reason], [null, "MISSING_UNIT"], "anon: no unit");
        const userTok = await userToken(keys, "user-42", { issuer: LOCAL_ISSUER });
        const asUser = createClient(base, publishable, {
          auth: { persistSession: false },
          global: { headers: { Authorization: `Bearer ${userTok}` } },
        });
        const u = await asUser.functions.invoke("flags?flags=phoenix_pipeline_enabled", { method: "GET" });
        eq([u.error, u.data.flags.phoenix_pipeline_enabled.reason], [null, "USER_OVERRIDE"], "user-42's override");
        const denied = await asUser.functions.invoke("flags-admin/flags", { method: "GET" });
        eq(denied.error?.context?.status, 403, "a user is not an admin");
        const asAdmin = createClient(base, publishable, {
          auth: { persistSession: false },
          global: { headers: { Authorization: `Bearer ${admin}` } },
        });
        const list = await asAdmin.functions.invoke("flags-admin/flags", { method: "GET" });
        assert(list.error === null && list.data.flags.length >= 9, `admin lists flags: ${list.error}`);
        const service = createClient(base, secret, { auth: { persistSession: false } });
        const s = await service.functions.invoke("flags", { body: { context: { userId: "user-7", country: "RW" } } });
        eq([s.error, s.data.flags.USE_RESPONSE_CACHE.reason], [null, "RULE_MATCH"], "service POST");
        const expired = createClient(base, publishable, {
          auth: { persistSession: false },
          global: {
            headers: {
              Authorization: `Bearer ${await userToken(keys, "u", { issuer: LOCAL_ISSUER, ttlSeconds: -5 })}`,
            },
          },
        });
        const e = await expired.functions.invoke("flags", { method: "GET" });
        const body = await e.error?.context?.json();
        eq([e.error?.context?.status, body.error.code], [401, "TOKEN_EXPIRED"], "expired");
        assert(/refresh the session/.test(body.error.message), body.error.message);
      });

      await t.step("a preflight with every header supabase-js sends passes", async () => {
        const { corsHeaders } = await import("@supabase/supabase-js/cors");
        const sent = corsHeaders["Access-Control-Allow-Headers"].split(",").map((s: string) => s.trim());
        const r = await get("/functions/v1/flags", {
          method: "OPTIONS",
          headers: {
            origin: "http://app.example.test",
            "access-control-request-method": "POST",
            "access-control-request-headers": [...sent, "x-region"].join(", "),
          },
        });
        await r.body?.cancel();
        assert(r.status < 300, `preflight ${r.status}`);
        const allowed = r.headers.get("access-control-allow-headers")!.split(",").map((s) => s.trim());
        for (const h of [...sent, "x-region"]) assert(allowed.includes(h), `${h} allowed`);
        eq(r.headers.get("access-control-allow-origin"), "*");
      });

      await t.step("key rotation: the new kid is accepted; a revoked key is refused", async () => {
        const oldTok = await userToken(keys, "rot-1", { issuer: LOCAL_ISSUER });
        const rotated = await rotateSigningKey(`${root}${dataDir}`);
        const newTok = await userToken(rotated, "rot-2", { issuer: LOCAL_ISSUER });
        const flagsWith = (tok: string) => get("/functions/v1/flags", { headers: { authorization: `Bearer ${tok}` } });
        let r = await flagsWith(newTok);
        eq(r.status, 200, `new key: ${await r.text()}`);
        r = await flagsWith(oldTok);
        eq(r.status, 200, `old key, still published: ${await r.text()}`);
        await revokeSigningKey(keys.signing[0].kid, `${root}${dataDir}`);
        await new Promise((ok) => setTimeout(ok, 5));
        r = await flagsWith(oldTok);
        const body = await r.json();
        eq([r.status, body.error.code], [401, "UNKNOWN_SIGNING_KEY"], "revoked key");
      });

      await t.step("unknown functions, _shared and dotfiles are JSON 404s", async () => {
        for (
          const p of [
            "/functions/v1/nope",
            "/functions/v1/_shared/platform/auth.ts",
            "/.data/auth-keys.json",
            "/functions/v1/../.data/auth-keys.json",
          ]
        ) {
          const r = await get(p);
          eq(r.status, 404, p);
          eq((await r.json()).error.code, "NOT_FOUND", p);
        }
      });

      await t.step("no private signing key ever reaches stdout or stderr", async () => {
        const all = (await localKeys(`${root}${dataDir}`)).signing.map((k) => String(k.privateJwk.d));
        const mode = (await Deno.stat(`${root}${dataDir}/auth-keys.json`)).mode! & 0o777;
        eq(mode, 0o600, "auth-keys.json mode");
        await stack!.stop();
        const out = stack!.out();
        stack = null;
        for (const d of [...all, String(keys.signing[0].privateJwk.d)]) {
          assert(!out.includes(d), "a private key was printed");
        }
      });
    } finally {
      await stack?.stop();
      await Deno.remove(`${root}${dataDir}`, { recursive: true }).catch(() => {});
    }
  },
});
