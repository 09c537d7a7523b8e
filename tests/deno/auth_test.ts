// Auth as Supabase projects do it today (platform/auth.ts): user tokens from JWT signing keys
// (ES256, RS256) checked against the project's JWKS, publishable and secret API keys, the legacy
// HS256 path only with TRIMTAB_LEGACY_JWT_SECRET, and every refusal a 401 that says what to do.
// In-process against the environment Supabase gives a function, then key rotation against a JWKS
// served over HTTP (as <SUPABASE_URL>/auth/v1/.well-known/jwks.json is).
import {
  type AuthError,
  identify,
  resetAuth,
  timingSafeEqual,
} from "../../supabase/functions/_shared/platform/auth.ts";
import {
  functionEnv,
  legacyToken,
  LOCAL_ISSUER,
  type LocalKeys,
  newLocalKeys,
  newSigningKey,
  type SigningKey,
  signToken,
  userToken,
} from "../../scripts/dev/keys.ts";
import { assert, authEnvFor, envScope, eq } from "./support.ts";

const now = () => Math.floor(Date.now() / 1000);
const LEGACY = "legacy-jwt-secret-of-the-project-0123456789abcdef";

type Headers = Record<string, string>;
type Who = { kind?: string; via?: string; sub?: string; error?: AuthError };
const who = async (headers: Headers): Promise<Who> => {
  const r = await identify(new Request("http://x/fn", { headers }));
  return r.ok ? { kind: r.value.kind, via: r.value.via, sub: r.value.sub } : { error: r.error };
};
const bearer = (t: string): Headers => ({ authorization: `Bearer ${t}` });

/** Refused with `code` (401 unless `status`), and a message matching `hint`. */
async function refused(headers: Headers, code: string, hint: RegExp, status = 401) {
  const r = await who(headers);
  assert("error" in r, `expected ${code}, got ${JSON.stringify(r)}`);
  eq([r.error!.code, r.error!.status], [code, status], "refusal");
  assert(hint.test(r.error!.message), `message says what to do: ${r.error!.message}`);
}

async function withProject(fn: (keys: LocalKeys, env: ReturnType<typeof envScope>) => Promise<void>) {
  const keys = await newLocalKeys();
  const env = envScope();
  try {
    env.set(await authEnvFor(keys));
    resetAuth();
    await fn(keys, env);
  } finally {
    env.restore();
    resetAuth();
  }
}

const user = (keys: LocalKeys | SigningKey, sub: string, o: Parameters<typeof userToken>[2] = {}) =>
  userToken(keys, sub, { issuer: LOCAL_ISSUER, ...o });

Deno.test("auth: user tokens from the project's signing key (ES256, with kid)", async () => {
  await withProject(async (keys) => {
    eq(await who(bearer(await user(keys, "user-1"))), { kind: "user", via: "jwt", sub: "user-1" }, "user");
    eq((await who(bearer(await user(keys, "boss", { admin: true })))).kind, "admin", "app_metadata.role admin");
    const sneaky = await user(keys, "user-2", { extra: { user_metadata: { role: "admin" } } });
    eq((await who(bearer(sneaky))).kind, "user", "user_metadata never makes an admin");
    // A user token in Authorization wins over the client's publishable key in apikey.
    eq((await who({ ...bearer(await user(keys, "u3")), apikey: keys.publishable })).sub, "u3", "with apikey");
    eq(await who({}), { kind: "anon", via: "none" }, "no credentials");
  });
});

Deno.test("auth: RS256 keys work too; the algorithm is the key's, never the token's alone", async () => {
  await withProject(async (keys, env) => {
    const pair = await crypto.subtle.generateKey(
      { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
      true,
      ["sign", "verify"],
    );
    const pub = await crypto.subtle.exportKey("jwk", pair.publicKey);
    const rsaJwk = { kty: "RSA", n: pub.n, e: pub.e, kid: "rsa-1", alg: "RS256", use: "sig" };
    env.set({ SUPABASE_JWKS: JSON.stringify({ keys: [...JSON.parse(functionEnv(keys).SUPABASE_JWKS).keys, rsaJwk] }) });
    const { SignJWT } = await import("jose");
    const rs = await new SignJWT({ sub: "rsa-user", role: "authenticated", iss: LOCAL_ISSUER, exp: now() + 60 })
      .setProtectedHeader({ alg: "RS256", kid: "rsa-1" }).sign(pair.privateKey);
    eq((await who(bearer(rs))).sub, "rsa-user", "RS256 accepted");
    // The ES256 key's kid on a token claiming RS256: refused, whatever the signature.
    const es = keys.signing[0];
    const confused = await new SignJWT({ sub: "x", role: "authenticated", iss: LOCAL_ISSUER, exp: now() + 60 })
      .setProtectedHeader({ alg: "RS256", kid: es.kid }).sign(pair.privateKey);
    await refused(bearer(confused), "UNSUPPORTED_ALG", /says RS256 but its key .* is ES256/);
    // HS256 keyed with the public key's bytes (the classic confusion): no legacy secret, refused.
    const hs = await legacyToken(JSON.stringify(es.publicJwk), { sub: "x", role: "authenticated", exp: now() + 60 });
    await refused(bearer(hs), "LEGACY_JWT_NOT_ACCEPTED", /TRIMTAB_LEGACY_JWT_SECRET/);
  });
});

Deno.test("auth: forged, none, expired, early, foreign and claim-less tokens get a 401 saying what to do", async () => {
  await withProject(async (keys) => {
    const kid = keys.signing[0].kid;
    const stranger = await newSigningKey();
    await refused(bearer(await user({ ...stranger, kid }, "u")), "BAD_SIGNATURE", /not issued by this project/);
    await refused(bearer(await user(stranger, "u")), "UNKNOWN_SIGNING_KEY", /rotated.*refresh the session/);
    const b64 = (o: unknown) => btoa(JSON.stringify(o)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
    const none = `${b64({ alg: "none", typ: "JWT" })}.${b64({ sub: "u", role: "service_role", exp: now() + 60 })}.`;
    await refused(bearer(none), "UNSUPPORTED_ALG", /alg none/);
    const noneWithKid = `${b64({ alg: "none", kid })}.${b64({ sub: "u", role: "service_role", exp: now() + 60 })}.`;
    await refused(bearer(noneWithKid), "UNSUPPORTED_ALG", /never accepted/);
    await refused(bearer(await user(keys, "u", { ttlSeconds: -60 })), "TOKEN_EXPIRED", /sign in again \/ refresh/);
    const early = await signToken(keys.signing[0], {
      sub: "u",
      role: "authenticated",
      iss: LOCAL_ISSUER,
      exp: now() + 600,
      nbf: now() + 300,
    });
    await refused(bearer(early), "TOKEN_NOT_YET_VALID", /nbf/);
    const noExp = await signToken(keys.signing[0], { sub: "u", role: "authenticated", iss: LOCAL_ISSUER });
    await refused(bearer(noExp), "INVALID_CLAIMS", /no exp/);
    const foreign = await userToken(keys, "u", { issuer: "https://other.supabase.co/auth/v1" });
    await refused(bearer(foreign), "WRONG_ISSUER", /other\.supabase\.co.*another project/);
    const badRole = await signToken(keys.signing[0], { sub: "u", role: "admin", iss: LOCAL_ISSUER, exp: now() + 60 });
    await refused(bearer(badRole), "INVALID_CLAIMS", /unknown role/);
    const mine = await user(keys, "u");
    const [h, p, sig] = mine.split(".");
    const tampered = `${h}.${
      b64({ ...JSON.parse(atob(p.replace(/-/g, "+").replace(/_/g, "/"))), sub: "admin" })
    }.${sig}`;
    await refused(bearer(tampered), "BAD_SIGNATURE", /signature/);
    await refused(bearer("not-a-jwt"), "MALFORMED_TOKEN", /access_token/);
    await refused({ authorization: "Basic dTpw" }, "MALFORMED_TOKEN", /Bearer <token>/);
  });
});

Deno.test("auth: publishable key is anon, secret key is the service role (apikey or bearer)", async () => {
  await withProject(async (keys, env) => {
    eq(await who({ apikey: keys.publishable }), { kind: "anon", via: "publishable_key" }, "publishable in apikey");
    eq(await who(bearer(keys.publishable)), { kind: "anon", via: "publishable_key" }, "publishable as bearer");
    eq((await who({ apikey: keys.secret })).kind, "service", "secret in apikey");
    eq((await who({ ...bearer(keys.secret), apikey: keys.secret })).kind, "service", "as supabase-js sends it");
    await refused(
      { apikey: keys.secret.slice(0, -2) + "xx" },
      "UNKNOWN_API_KEY",
      /SUPABASE_SECRET_KEYS \/ TRIMTAB_SECRET_KEYS/,
    );
    await refused({ apikey: "sb_publishable_someone-elses" }, "UNKNOWN_API_KEY", /this project's key/);
    await refused({ apikey: "sb_temp_abc" }, "MALFORMED_API_KEY", /sb_publishable_.*sb_secret_/);
    // TRIMTAB_SECRET_KEYS adds keys (a JSON object, or a comma-separated list).
    env.set({ TRIMTAB_SECRET_KEYS: "sb_secret_rotated-in-0123456789" });
    eq((await who({ apikey: "sb_secret_rotated-in-0123456789" })).kind, "service", "TRIMTAB_SECRET_KEYS");
    eq((await who({ apikey: keys.secret })).kind, "service", "SUPABASE_SECRET_KEYS still");
    assert(await timingSafeEqual("abc", "abc") && !(await timingSafeEqual("abc", "abd")), "compare");
    assert(!(await timingSafeEqual("abc", "abcd")), "lengths differ");
  });
});

Deno.test("auth: legacy HS256 tokens only with TRIMTAB_LEGACY_JWT_SECRET; legacy keys verbatim", async () => {
  await withProject(async (_keys, env) => {
    const claims = { sub: "old-user", role: "authenticated", iss: LOCAL_ISSUER, exp: now() + 600 };
    const old = await legacyToken(LEGACY, claims);
    await refused(bearer(old), "LEGACY_JWT_NOT_ACCEPTED", /TRIMTAB_LEGACY_JWT_SECRET/);
    env.set({ TRIMTAB_LEGACY_JWT_SECRET: LEGACY });
    eq((await who(bearer(old))).sub, "old-user", "accepted with the legacy secret");
    await refused(bearer(await legacyToken(LEGACY + "x", claims)), "BAD_SIGNATURE", /signature/);
    env.set({ TRIMTAB_LEGACY_JWT_SECRET: undefined });
    // The legacy anon and service_role keys Supabase still hands functions, recognised as sent.
    const anonKey = await legacyToken("unknown", { role: "anon", iss: "supabase", exp: now() + 3600 });
    const serviceKey = await legacyToken("unknown", { role: "service_role", iss: "supabase", exp: now() + 3600 });
    env.set({ SUPABASE_ANON_KEY: anonKey, SUPABASE_SERVICE_ROLE_KEY: serviceKey });
    eq(await who(bearer(serviceKey)), { kind: "service", via: "legacy_key" }, "legacy service_role key");
    eq(await who({ apikey: anonKey }), { kind: "anon", via: "legacy_key" }, "legacy anon key in apikey");
  });
});

Deno.test("auth: without SUPABASE_URL or SUPABASE_JWKS the server says it cannot check tokens (503)", async () => {
  await withProject(async (keys, env) => {
    env.set({ SUPABASE_JWKS: undefined });
    await refused(bearer(await user(keys, "u")), "AUTH_NOT_CONFIGURED", /SUPABASE_URL.*SUPABASE_JWKS/, 503);
    eq((await who({ apikey: keys.secret })).kind, "service", "API keys need no key set");
  });
});

// ---------------------------------------------------------------- rotation

/** A JWKS endpoint on 127.0.0.1 serving whatever `published` holds; counts fetches. */
function jwksServer() {
  const state = { published: [] as SigningKey[], fetches: 0 };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => {
    state.fetches++;
    return Response.json({ keys: state.published.map((k) => k.publicJwk) });
  });
  return {
    state,
    url: `http://127.0.0.1:${server.addr.port}/auth/v1/.well-known/jwks.json`,
    stop: () => server.shutdown(),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("auth: key rotation: a new kid is fetched and accepted, a removed key is refused", async () => {
  const srv = jwksServer();
  await withProject(async (_keys, env) => {
    const [a, b] = [await newSigningKey(), await newSigningKey()];
    srv.state.published = [a];
    env.set({ SUPABASE_JWKS: undefined, TRIMTAB_JWKS_URL: srv.url, TRIMTAB_JWKS_COOLDOWN_MS: "1" });
    resetAuth();
    eq((await who(bearer(await user(a, "u-a")))).sub, "u-a", "key A, fetched");
    eq((await who(bearer(await user(a, "u-a2")))).sub, "u-a2", "key A again, from the cache");
    eq(srv.state.fetches, 1, "one fetch for two tokens");
    srv.state.published = [b]; // rotated, and A revoked
    await sleep(5);
    eq((await who(bearer(await user(b, "u-b")))).sub, "u-b", "key B after a refetch");
    eq(srv.state.fetches, 2, "the unknown kid made one refetch");
    await sleep(5);
    await refused(bearer(await user(a, "u-a")), "UNKNOWN_SIGNING_KEY", /rotated/);
    // Within the cooldown, unknown kids do not make the server fetch again.
    env.set({ TRIMTAB_JWKS_COOLDOWN_MS: "60000" });
    const before = srv.state.fetches;
    for (let i = 0; i < 5; i++) {
      await refused(bearer(await user(await newSigningKey(), "x")), "UNKNOWN_SIGNING_KEY", /kid/);
    }
    eq(srv.state.fetches, before, "no fetch per forged kid");
  });
  await srv.stop();
});

Deno.test("auth: SUPABASE_JWKS serves without a fetch; a rotated-in kid refetches and replaces it", async () => {
  const srv = jwksServer();
  await withProject(async (keys, env) => {
    const old = keys.signing[0];
    const next = await newSigningKey();
    srv.state.published = [old];
    env.set({ TRIMTAB_JWKS_URL: srv.url, TRIMTAB_JWKS_COOLDOWN_MS: "1" });
    resetAuth();
    eq((await who(bearer(await user(old, "u1")))).sub, "u1", "inline key set");
    eq(srv.state.fetches, 0, "no fetch while SUPABASE_JWKS has the kid");
    srv.state.published = [next]; // SUPABASE_JWKS of this isolate is now stale
    eq((await who(bearer(await user(next, "u2")))).sub, "u2", "rotated-in key");
    eq(srv.state.fetches, 1, "fetched once");
    await sleep(5);
    await refused(bearer(await user(old, "u3")), "UNKNOWN_SIGNING_KEY", /rotated/);
  });
  await srv.stop();
});

Deno.test("auth: a JWKS endpoint that fails is a 503 saying so (no key set at all)", async () => {
  await withProject(async (keys, env) => {
    env.set({ SUPABASE_JWKS: undefined, TRIMTAB_JWKS_URL: "http://127.0.0.1:9/auth/v1/.well-known/jwks.json" });
    resetAuth();
    await refused(bearer(await user(keys, "u")), "JWKS_UNAVAILABLE", /could not be fetched/, 503);
  });
});

Deno.test("auth: a verified token is remembered, never past its exp nor its key's removal", async () => {
  const srv = jwksServer();
  await withProject(async (_keys, env) => {
    const [a, b] = [await newSigningKey(), await newSigningKey()];
    srv.state.published = [a];
    env.set({ SUPABASE_JWKS: undefined, TRIMTAB_JWKS_URL: srv.url, TRIMTAB_JWKS_COOLDOWN_MS: "1" });
    resetAuth();
    // The same token text, twice: the second answer comes from the isolate's memory, the same.
    const t = await user(a, "u-a");
    eq((await who(bearer(t))).sub, "u-a", "verified");
    eq((await who(bearer(t))).sub, "u-a", "remembered");
    // A token whose text differs in its signature only is checked, not taken from memory.
    const [h, p, sig] = t.split(".");
    const flipped = `${h}.${p}.${sig.slice(0, -2)}${sig.endsWith("AA") ? "BA" : "AA"}`;
    await refused(bearer(flipped), "BAD_SIGNATURE", /not issued by this project/);
    // Key A removed from the project's set: the remembered token is refused like any other.
    srv.state.published = [b];
    await sleep(5);
    eq((await who(bearer(await user(b, "u-b")))).sub, "u-b", "key B, after a refetch");
    await sleep(5);
    await refused(bearer(t), "UNKNOWN_SIGNING_KEY", /rotated/);
    // A token remembered a moment before its exp is refused once exp has passed (real time passes).
    const short = await user(b, "u-short", { ttlSeconds: 1 });
    eq((await who(bearer(short))).sub, "u-short", "verified while valid");
    await sleep(2100);
    await refused(bearer(short), "TOKEN_EXPIRED", /sign in again/);
  });
  await srv.stop();
});
