//! Who is calling, as Supabase projects authenticate today, and the authorisation helpers every
//! function uses (`requireCaller`, `requireAdmin`).
//!
//! Credentials, in this order:
//! - `Authorization: Bearer <JWT>`: a user access token signed with one of the project's JWT
//!   signing keys (ES256 or RS256), verified with `jose` against the project's key set: the key is
//!   looked up by `kid`, the algorithm is the key's (a token naming another is refused), and `exp`
//!   (required), `nbf` and `iss` (<SUPABASE_URL>/auth/v1, or TRIMTAB_JWT_ISSUER) are checked.
//!   HS256 tokens are accepted only when TRIMTAB_LEGACY_JWT_SECRET holds the project's legacy JWT
//!   secret; `alg: none` never. The legacy anon and service_role keys (JWTs Supabase hands every
//!   function as SUPABASE_ANON_KEY / SUPABASE_SERVICE_ROLE_KEY) are recognised verbatim.
//! - an API key, in `apikey` or as the bearer (supabase-js sends the client's key in both when
//!   nobody is signed in): a publishable key (sb_publishable_...) is anon; a secret key
//!   (sb_secret_...) is the service role when it equals one of SUPABASE_SECRET_KEYS or
//!   TRIMTAB_SECRET_KEYS, compared in constant time (WebCrypto HMAC verify, see timingSafeEqual).
//! - nothing: anon.
//!
//! The key set: SUPABASE_JWKS when Supabase provides it (no fetch at start), else fetched from
//! <SUPABASE_URL>/auth/v1/.well-known/jwks.json (or TRIMTAB_JWKS_URL). It is cached; a token whose
//! `kid` is not in it makes one refetch (at most every TRIMTAB_JWKS_COOLDOWN_MS), which replaces
//! the whole set, so a rotated-in key is accepted and a removed key is refused; a set older than
//! TRIMTAB_JWKS_MAX_AGE_MS is refetched too. Failures are typed results whose message says what
//! was wrong and what to do; nothing here logs a token or a key.
import { decodeProtectedHeader, importJWK, type JWK, jwtVerify } from "jose";
import { env, envPositive } from "./env.ts";
import { HttpError } from "./http.ts";

export type Claims = {
  sub?: string;
  role?: string;
  exp?: number;
  iat?: number;
  nbf?: number;
  iss?: string;
  aud?: string | string[];
  email?: string;
  app_metadata?: { role?: string; [k: string]: unknown };
  user_metadata?: Record<string, unknown>;
  [k: string]: unknown;
};

export type AuthErrorCode =
  | "MALFORMED_TOKEN"
  | "UNSUPPORTED_ALG"
  | "LEGACY_JWT_NOT_ACCEPTED"
  | "UNKNOWN_SIGNING_KEY"
  | "BAD_SIGNATURE"
  | "TOKEN_EXPIRED"
  | "TOKEN_NOT_YET_VALID"
  | "WRONG_ISSUER"
  | "INVALID_CLAIMS"
  | "MALFORMED_API_KEY"
  | "UNKNOWN_API_KEY"
  | "AUTH_NOT_CONFIGURED"
  | "JWKS_UNAVAILABLE";

/** A refusal: 401 for the caller's credentials, 503 when the server cannot check them. */
export type AuthError = { code: AuthErrorCode; message: string; status: 401 | 503 };
export type Result<T> = { ok: true; value: T } | { ok: false; error: AuthError };

export type Identity = {
  kind: "anon" | "user" | "admin" | "service";
  /** The user id (`sub`) for users and admins; for service callers when the token has one. */
  sub?: string;
  claims: Claims;
  /** What identified the caller. */
  via: "none" | "jwt" | "publishable_key" | "secret_key" | "legacy_key";
  /** The name of the API key (a key of SUPABASE_SECRET_KEYS, e.g. "default"). */
  keyName?: string;
};

const fail = (code: AuthErrorCode, message: string, status: 401 | 503 = 401): { ok: false; error: AuthError } => ({
  ok: false,
  error: { code, message, status },
});

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

// ---------------------------------------------------------------- settings

interface AuthConfig {
  issuer?: string;
  jwksUrl?: string;
  inlineJwks: JWK[] | null;
  legacySecret?: Uint8Array;
  publishable: [string, string][];
  secret: [string, string][];
  legacyAnon?: string;
  legacyService?: string;
}

/** Keys as Supabase passes them ({"default": "sb_..."}), or a comma-separated list. */
function keyList(raw: string | undefined, prefix: string): [string, string][] {
  if (!raw) return [];
  try {
    const v = JSON.parse(raw);
    if (isObject(v)) return Object.entries(v).filter((e): e is [string, string] => typeof e[1] === "string");
  } catch { /* not JSON: a list */ }
  return raw.split(",").map((s) => s.trim()).filter((s) => s.startsWith(prefix)).map((s, i) => [`key${i + 1}`, s]);
}

function jwksList(raw: string | undefined): JWK[] | null {
  if (!raw) return null;
  try {
    const v = JSON.parse(raw);
    const keys = Array.isArray(v) ? v : isObject(v) && Array.isArray(v.keys) ? v.keys : null;
    return keys ? keys.filter(isObject) as JWK[] : null;
  } catch {
    return null;
  }
}

let configMemo: { fingerprint: string; config: AuthConfig } | null = null;

function authConfig(): AuthConfig {
  const names = [
    "SUPABASE_URL",
    "SUPABASE_JWKS",
    "SUPABASE_PUBLISHABLE_KEYS",
    "SUPABASE_SECRET_KEYS",
    "SUPABASE_ANON_KEY",
    "SUPABASE_SERVICE_ROLE_KEY",
    "TRIMTAB_JWKS_URL",
    "TRIMTAB_JWT_ISSUER",
    "TRIMTAB_LEGACY_JWT_SECRET",
    "TRIMTAB_PUBLISHABLE_KEYS",
    "TRIMTAB_SECRET_KEYS",
  ] as const;
  const values = names.map((n) => env(n));
  const fingerprint = JSON.stringify(values);
  if (configMemo?.fingerprint === fingerprint) return configMemo.config;
  const [url, jwks, pub, sec, anon, service, jwksUrl, issuer, legacy, morePub, moreSec] = values;
  const base = url?.replace(/\/+$/, "");
  const config: AuthConfig = {
    issuer: issuer ?? (base ? `${base}/auth/v1` : undefined),
    jwksUrl: jwksUrl ?? (base ? `${base}/auth/v1/.well-known/jwks.json` : undefined),
    inlineJwks: jwksList(jwks),
    legacySecret: legacy ? new TextEncoder().encode(legacy) : undefined,
    publishable: [...keyList(pub, "sb_publishable_"), ...keyList(morePub, "sb_publishable_")],
    secret: [...keyList(sec, "sb_secret_"), ...keyList(moreSec, "sb_secret_")],
    legacyAnon: anon,
    legacyService: service,
  };
  configMemo = { fingerprint, config };
  return config;
}

// ---------------------------------------------------------------- the key set

let keySet: { source: string; keys: JWK[]; at: number } | null = null;
let lastFetch = -Infinity;
let fetching: Promise<void> | null = null;
const imported = new Map<string, Promise<CryptoKey | Uint8Array>>();

/** Forgets the cached key set and settings (tests; a rotated SUPABASE_JWKS is noticed anyway). */
export function resetAuth(): void {
  keySet = null;
  lastFetch = -Infinity;
  fetching = null;
  configMemo = null;
  imported.clear();
  verified.clear();
}

async function fetchKeys(url: string, source: string): Promise<void> {
  lastFetch = Date.now();
  const res = await fetch(url, {
    headers: { accept: "application/json" },
    signal: AbortSignal.timeout(envPositive("TRIMTAB_JWKS_TIMEOUT_MS")),
  });
  if (!res.ok) {
    await res.body?.cancel();
    throw new Error(`HTTP ${res.status}`);
  }
  const keys = jwksList(await res.text());
  if (!keys) throw new Error("not a JSON Web Key Set");
  keySet = { source, keys, at: Date.now() };
}

/** Fetches the remote set once at a time; false when it failed (the old set stays). */
async function refetch(url: string, source: string): Promise<boolean> {
  fetching ??= fetchKeys(url, source).finally(() => (fetching = null));
  try {
    await fetching;
    return true;
  } catch {
    return false;
  }
}

/** The JWK of `kid` from the cached set, refetched as the module comment says. */
async function keyFor(kid: string, cfg: AuthConfig): Promise<Result<JWK>> {
  const inline = cfg.inlineJwks ? JSON.stringify(cfg.inlineJwks) : "";
  const source = `${cfg.jwksUrl ?? ""}|${inline}`;
  if (keySet?.source !== source) {
    keySet = cfg.inlineJwks ? { source, keys: cfg.inlineJwks, at: Date.now() } : null;
    lastFetch = -Infinity;
  }
  if (!keySet && !cfg.jwksUrl) {
    return fail(
      "AUTH_NOT_CONFIGURED",
      "the server has no signing keys to check the token: set SUPABASE_URL (the JWKS is fetched from it) or SUPABASE_JWKS",
      503,
    );
  }
  const now = Date.now();
  const cooledDown = now - lastFetch >= envPositive("TRIMTAB_JWKS_COOLDOWN_MS");
  const find = () => keySet?.keys.find((k) => k.kid === kid);
  const refresh = () => refetch(cfg.jwksUrl!, source);
  if (cfg.jwksUrl && cooledDown && (!keySet || now - keySet.at > envPositive("TRIMTAB_JWKS_MAX_AGE_MS"))) {
    await refresh();
  } else if (cfg.jwksUrl && cooledDown && !find()) {
    await refresh();
  }
  if (!keySet) {
    return fail(
      "JWKS_UNAVAILABLE",
      `the project's signing keys could not be fetched from ${cfg.jwksUrl}: try again shortly`,
      503,
    );
  }
  const jwk = find();
  if (!jwk) {
    return fail(
      "UNKNOWN_SIGNING_KEY",
      `unknown signing key (kid ${kid.slice(0, 64)}): the project's keys were rotated, or the token ` +
        "comes from another project; sign in again / refresh the session",
    );
  }
  return { ok: true, value: jwk };
}

/** The algorithm a JWK is for (its `alg`, else from its type): the only one its tokens may use. */
function algOf(jwk: JWK): "ES256" | "RS256" | null {
  if (jwk.alg === "ES256" || jwk.alg === "RS256") return jwk.alg as "ES256" | "RS256";
  if (jwk.alg !== undefined) return null;
  if (jwk.kty === "EC" && jwk.crv === "P-256") return "ES256";
  if (jwk.kty === "RSA") return "RS256";
  return null;
}

function importKey(jwk: JWK, alg: "ES256" | "RS256"): Promise<CryptoKey | Uint8Array> {
  const id = JSON.stringify([alg, jwk.kid, jwk.x, jwk.y, jwk.n, jwk.e]);
  let k = imported.get(id);
  if (!k) {
    k = importJWK({ ...jwk, alg, key_ops: undefined, use: undefined }, alg);
    k.catch(() => imported.delete(id));
    if (imported.size > 32) imported.clear();
    imported.set(id, k);
  }
  return k;
}

// ---------------------------------------------------------------- verification

function joseFailure(e: unknown, cfg: AuthConfig, claims: () => Claims | null): { ok: false; error: AuthError } {
  const code = (e as { code?: string })?.code;
  const claim = (e as { claim?: string })?.claim;
  switch (code) {
    case "ERR_JWT_EXPIRED":
      return fail("TOKEN_EXPIRED", "token expired: sign in again / refresh the session");
    case "ERR_JWS_SIGNATURE_VERIFICATION_FAILED":
      return fail(
        "BAD_SIGNATURE",
        "token signature does not verify with the project's key: it was not issued by this project's Auth; sign in again",
      );
    case "ERR_JOSE_ALG_NOT_ALLOWED":
      return fail("UNSUPPORTED_ALG", "token algorithm does not match its signing key");
    case "ERR_JWT_CLAIM_VALIDATION_FAILED":
      if (claim === "nbf") return fail("TOKEN_NOT_YET_VALID", "token not valid yet (nbf): check the clocks");
      if (claim === "iss") {
        const iss = String(claims()?.iss ?? "(none)").slice(0, 200);
        return fail(
          "WRONG_ISSUER",
          `token issued by ${iss}, expected ${cfg.issuer}: it comes from another project (or set TRIMTAB_JWT_ISSUER)`,
        );
      }
      if (claim === "exp") return fail("INVALID_CLAIMS", "token has no exp: user tokens from Supabase Auth always do");
      return fail("INVALID_CLAIMS", `token claim ${String(claim).slice(0, 40)} is invalid`);
    default:
      return fail("MALFORMED_TOKEN", "malformed token: send the session's access_token as 'Bearer <token>'");
  }
}

/**
 * Verifies a JWT (signing keys, or HS256 with the legacy secret; `algorithms` narrows that, e.g.
 * ["HS256"] for the local gateway's verify_jwt) and returns its claims or a typed error.
 */
export async function verifyJwt(token: string, opts: { algorithms?: string[] } = {}): Promise<Result<Claims>> {
  const cfg = authConfig();
  if (typeof token !== "string" || token.length > 8192 || token.split(".").length !== 3) {
    return fail("MALFORMED_TOKEN", "not a JWT (three base64url parts): send the session's access_token");
  }
  let header: { alg?: unknown; kid?: unknown; crit?: unknown };
  try {
    header = decodeProtectedHeader(token);
  } catch {
    return fail("MALFORMED_TOKEN", "malformed token header: send the session's access_token");
  }
  const alg = typeof header.alg === "string" ? header.alg : "";
  if (alg === "" || alg.toLowerCase() === "none") {
    return fail("UNSUPPORTED_ALG", "unsigned tokens (alg none) are never accepted");
  }
  if (header.crit !== undefined) {
    return fail("UNSUPPORTED_ALG", "tokens with critical header extensions are not accepted");
  }
  if (opts.algorithms && !opts.algorithms.includes(alg)) {
    return fail(
      "UNSUPPORTED_ALG",
      `${alg.slice(0, 20)} tokens are not accepted here (only ${opts.algorithms.join(", ")})`,
    );
  }
  let key: CryptoKey | Uint8Array;
  let keyAlg: string;
  let keyRef: object; // what verified it: the legacy secret, or the JWK of the current key set
  if (alg === "HS256") {
    if (!cfg.legacySecret) {
      return fail(
        "LEGACY_JWT_NOT_ACCEPTED",
        "HS256 tokens need TRIMTAB_LEGACY_JWT_SECRET (the project's legacy JWT secret); " +
          "projects on JWT signing keys issue ES256/RS256 tokens: sign in again",
      );
    }
    [key, keyAlg, keyRef] = [cfg.legacySecret, "HS256", cfg.legacySecret];
  } else if (alg === "ES256" || alg === "RS256") {
    if (typeof header.kid !== "string" || header.kid === "") {
      return fail("UNKNOWN_SIGNING_KEY", "token names no signing key (kid): it was not issued by Supabase Auth");
    }
    const jwk = await keyFor(header.kid, cfg);
    if (!jwk.ok) return jwk;
    const own = algOf(jwk.value);
    if (own !== alg) {
      return fail(
        "UNSUPPORTED_ALG",
        `token says ${alg} but its key (kid ${header.kid.slice(0, 64)}) is ${own ?? "unusable"}`,
      );
    }
    try {
      [key, keyAlg, keyRef] = [await importKey(jwk.value, own), own, jwk.value];
    } catch {
      return fail("JWKS_UNAVAILABLE", "the project's signing key could not be read: check SUPABASE_JWKS", 503);
    }
  } else {
    return fail(
      "UNSUPPORTED_ALG",
      `${
        alg.slice(0, 20)
      } tokens are not accepted: Supabase signs with ES256 or RS256 (HS256 only with the legacy secret)`,
    );
  }
  const known = verifiedClaims(token, keyRef, cfg.issuer);
  if (known) return { ok: true, value: known };
  let payload: Claims;
  try {
    const r = await jwtVerify(token, key, {
      algorithms: [keyAlg],
      issuer: cfg.issuer,
      requiredClaims: ["exp"],
      clockTolerance: 0,
    });
    payload = r.payload as Claims;
  } catch (e) {
    return joseFailure(e, cfg, () => {
      try {
        return JSON.parse(new TextDecoder().decode(base64url(token.split(".")[1])));
      } catch {
        return null;
      }
    });
  }
  if (payload.sub !== undefined && typeof payload.sub !== "string") {
    return fail("INVALID_CLAIMS", "token sub is not a string");
  }
  if (payload.role !== undefined && typeof payload.role !== "string") {
    return fail("INVALID_CLAIMS", "token role is not a string");
  }
  remember(token, keyRef, cfg.issuer, payload);
  return { ok: true, value: payload };
}

// ---------------------------------------------------------------- verified tokens

// A signature check (ES256 through WebCrypto) costs ~0.2 ms of CPU, most of a signed-in user's
// GET /flags. A token this isolate verified is remembered, bounded (TOKEN_CACHE entries, oldest
// dropped first), by its exact text and the key object that verified it: a refetched key set
// holds new key objects, so a rotated or revoked key is noticed exactly when it would be without
// the cache. `exp` and `nbf` are checked again on every use (no clock tolerance, as jwtVerify).
const TOKEN_CACHE = 2048;
const verified = new Map<string, { keyRef: object; issuer: string | undefined; claims: Claims }>();
function verifiedClaims(token: string, keyRef: object, issuer: string | undefined): Claims | null {
  const hit = verified.get(token);
  if (!hit || hit.keyRef !== keyRef || hit.issuer !== issuer) return null;
  const now = Date.now() / 1000;
  const { exp, nbf } = hit.claims as { exp?: unknown; nbf?: unknown };
  if (typeof exp !== "number" || now >= exp || (typeof nbf === "number" && nbf > now)) {
    verified.delete(token);
    return null;
  }
  return structuredClone(hit.claims); // a caller's copy: the remembered claims stay as verified
}

function remember(token: string, keyRef: object, issuer: string | undefined, claims: Claims): void {
  if (verified.size >= TOKEN_CACHE) verified.delete(verified.keys().next().value!);
  verified.set(token, { keyRef, issuer, claims: structuredClone(claims) });
}

function base64url(s: string): Uint8Array {
  const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (s.length % 4)) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

// ---------------------------------------------------------------- constant-time compare

// A random HMAC key per isolate: equality of two strings is checked as HMAC(k, a) verified against
// b by WebCrypto, whose verify compares in constant time; neither length nor the position of the
// first difference shows in the timing.
let compareKey: Promise<CryptoKey> | null = null;
const enc = new TextEncoder();

/** Whether two secrets are equal, in time independent of where they differ (and of length). */
export async function timingSafeEqual(a: string, b: string): Promise<boolean> {
  compareKey ??= crypto.subtle.generateKey({ name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
  const k = await compareKey;
  const mac = await crypto.subtle.sign("HMAC", k, enc.encode(a));
  return await crypto.subtle.verify("HMAC", k, mac, enc.encode(b));
}

/** The name of the key in `keys` equal to `given` (every key is compared), else null. */
async function matchKey(given: string, keys: [string, string][]): Promise<string | null> {
  let found: string | null = null;
  for (const [name, key] of keys) {
    if (await timingSafeEqual(given, key) && found === null) found = name;
  }
  return found;
}

// ---------------------------------------------------------------- identify

const isApiKey = (s: string) => s.startsWith("sb_");
const ANON: Identity = { kind: "anon", claims: { role: "anon" }, via: "none" };

async function fromApiKey(key: string, cfg: AuthConfig): Promise<Result<Identity>> {
  if (key.startsWith("sb_secret_")) {
    const name = await matchKey(key, cfg.secret);
    if (name === null) {
      return fail(
        "UNKNOWN_API_KEY",
        "secret key not recognised: check SUPABASE_SECRET_KEYS / TRIMTAB_SECRET_KEYS (was the key rotated?)",
      );
    }
    return { ok: true, value: { kind: "service", claims: { role: "service_role" }, via: "secret_key", keyName: name } };
  }
  if (key.startsWith("sb_publishable_")) {
    if (cfg.publishable.length > 0 && (await matchKey(key, cfg.publishable)) === null) {
      return fail(
        "UNKNOWN_API_KEY",
        "publishable key not recognised: use this project's key (SUPABASE_PUBLISHABLE_KEYS / TRIMTAB_PUBLISHABLE_KEYS)",
      );
    }
    return { ok: true, value: { ...ANON, via: "publishable_key" } };
  }
  return fail("MALFORMED_API_KEY", "apikey must be a publishable (sb_publishable_...) or secret (sb_secret_...) key");
}

async function fromJwt(token: string, cfg: AuthConfig): Promise<Result<Identity>> {
  if (cfg.legacyService && await timingSafeEqual(token, cfg.legacyService)) {
    return { ok: true, value: { kind: "service", claims: { role: "service_role" }, via: "legacy_key" } };
  }
  if (cfg.legacyAnon && await timingSafeEqual(token, cfg.legacyAnon)) {
    return { ok: true, value: { kind: "anon", claims: { role: "anon" }, via: "legacy_key" } };
  }
  const r = await verifyJwt(token);
  return r.ok ? classify(r.value) : r;
}

/**
 * Who is calling (see the module comment). A bearer API key wins over the `apikey` header
 * (supabase-js sends the same key in both); a bearer JWT wins over any apikey (the key only says
 * which client app calls).
 */
export function identify(req: Request): Promise<Result<Identity>> {
  const cfg = authConfig();
  const authorization = req.headers.get("authorization");
  const apikey = req.headers.get("apikey")?.trim() || null;
  if (authorization !== null) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!m) return Promise.resolve(fail("MALFORMED_TOKEN", "Authorization must be 'Bearer <token>'"));
    return isApiKey(m[1]) ? fromApiKey(m[1], cfg) : fromJwt(m[1], cfg);
  }
  if (apikey !== null) return isApiKey(apikey) ? fromApiKey(apikey, cfg) : fromJwt(apikey, cfg);
  return Promise.resolve({ ok: true, value: ANON });
}

/** Maps verified claims to an identity. */
export function classify(c: Claims): Result<Identity> {
  switch (c.role) {
    case "service_role":
      return { ok: true, value: { kind: "service", sub: c.sub || undefined, claims: c, via: "jwt" } };
    case "anon":
      return { ok: true, value: { kind: "anon", claims: c, via: "jwt" } };
    case "authenticated": {
      if (typeof c.sub !== "string" || c.sub === "") return fail("INVALID_CLAIMS", "token has no sub");
      const admin = isObject(c.app_metadata) && c.app_metadata.role === "admin";
      return { ok: true, value: { kind: admin ? "admin" : "user", sub: c.sub, claims: c, via: "jwt" } };
    }
    default:
      return fail(
        "INVALID_CLAIMS",
        `unknown role ${String(c.role).slice(0, 40)}: expected authenticated, anon or service_role`,
      );
  }
}

// ---------------------------------------------------------------- authorisation

/** True for callers allowed to change flags (admins and the service role). */
export function isAdmin(id: Identity): boolean {
  return id.kind === "admin" || id.kind === "service";
}

/** An auth refusal as the HttpError to answer with (401, or 503 when keys are unavailable). */
export function authError(e: AuthError): HttpError {
  return new HttpError(e.status, e.code, e.message);
}

/** The caller, or a thrown 401 / 503 when the credentials sent do not check out. */
export async function requireCaller(req: Request): Promise<Identity> {
  const r = await identify(req);
  if (!r.ok) throw authError(r.error);
  return r.value;
}

/** An admin or service caller: the claims a transaction runs with, the audit actor, and who
 *  exactly is calling (`user:<sub>`, `key:<name>` for a secret key, `service:<sub>` for a
 *  service-role JWT or legacy key): what per-caller state (idempotency keys) is scoped to. */
export interface Caller {
  claims: Claims;
  actor: string;
  identity: string;
}

/** 401 / 403 unless the request carries an admin JWT or the service role (a secret key). */
export async function requireAdmin(req: Request): Promise<Caller> {
  const id = await requireCaller(req);
  if (id.kind === "anon") {
    throw new HttpError(401, "UNAUTHORIZED", "an admin access token or a secret key (apikey) is required");
  }
  if (!isAdmin(id)) throw new HttpError(403, "FORBIDDEN", "admin role required (app_metadata.role = admin)");
  if (id.kind === "service") {
    const identity = id.via === "secret_key" ? `key:${id.keyName ?? "default"}` : `service:${id.sub ?? id.via}`;
    return { claims: { ...id.claims, role: "service_role" }, actor: id.sub ?? "service_role", identity };
  }
  return { claims: id.claims, actor: id.sub!, identity: `user:${id.sub}` };
}
