// Supabase-style JWTs: HS256 sign/verify with WebCrypto, and caller identification.
//
// Tokens carry Supabase's claims: `sub` (user id), `role` ("anon" | "authenticated" |
// "service_role"), `app_metadata.role` ("admin" for admins), `exp` (seconds). Only HS256 is
// accepted (never "none", never another alg named by the token); the signature is checked with
// crypto.subtle.verify, which compares in constant time. Failures are returned as typed results,
// never thrown. Secrets and tokens are never logged.
//
// Which secret: TRIMTAB_JWT_SECRET, else SUPABASE_JWT_SECRET, else JWT_SECRET, else
// LOCAL_JWT_SECRET; when none is set and we are not on hosted Supabase (no SB_EXECUTION_ID), the
// local secret generated once per `.data/` directory (`.data/jwt-secret`, mode 0600; the directory
// is TRIMTAB_DATA_DIR when set) — the embedded stack's equivalent of a project's JWT secret. The service-role key is a JWT with role "service_role" signed by the same
// secret, as Supabase's legacy keys are; a raw SUPABASE_SERVICE_ROLE_KEY (e.g. sb_secret_...) in
// the environment is also accepted when presented verbatim.

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
  | "MISSING_TOKEN"
  | "MALFORMED_TOKEN"
  | "UNSUPPORTED_ALG"
  | "BAD_SIGNATURE"
  | "TOKEN_EXPIRED"
  | "TOKEN_NOT_YET_VALID"
  | "INVALID_CLAIMS"
  | "NO_SECRET";

export type AuthError = { code: AuthErrorCode; message: string };
export type Result<T> = { ok: true; value: T } | { ok: false; error: AuthError };

export type Identity = {
  kind: "anon" | "user" | "admin" | "service";
  /** The user id (`sub`) for users and admins; for service callers when the token has one. */
  sub?: string;
  claims: Claims;
};

export type AuthEnv = {
  /** HS256 secret (the project's JWT secret, or the local one). */
  jwtSecret?: string;
  /** A raw service-role key accepted verbatim (SUPABASE_SERVICE_ROLE_KEY), besides signed JWTs. */
  serviceRoleKey?: string;
  /** Clock override, seconds since the epoch (tests). */
  now?: number;
  /** Allowed clock skew for nbf/iat in seconds (default 30). `exp` gets none. */
  leeway?: number;
};

const enc = new TextEncoder();
const dec = new TextDecoder();

// ---------------------------------------------------------------- base64url

export function b64urlEncode(bytes: Uint8Array | string): string {
  const b = typeof bytes === "string" ? enc.encode(bytes) : bytes;
  let bin = "";
  for (let i = 0; i < b.length; i += 0x8000) bin += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function b64urlDecode(s: string): Uint8Array<ArrayBuffer> | null {
  if (!/^[A-Za-z0-9_-]*$/.test(s) || s.length % 4 === 1) return null;
  const pad = s.length % 4 === 0 ? "" : "=".repeat(4 - (s.length % 4));
  try {
    const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/") + pad);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------- keys

const keyCache = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string): Promise<CryptoKey> {
  let k = keyCache.get(secret);
  if (!k) {
    k = crypto.subtle.importKey("raw", enc.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
      "sign",
      "verify",
    ]);
    if (keyCache.size > 16) keyCache.clear();
    keyCache.set(secret, k);
  }
  return k;
}

// ---------------------------------------------------------------- sign / verify

const HEADER = b64urlEncode(JSON.stringify({ alg: "HS256", typ: "JWT" }));

/** Signs `claims` as an HS256 JWT. `iat` defaults to now; `exp` is not added (pass one). */
export async function signJwt(claims: Claims, secret: string): Promise<string> {
  if (!secret) throw new Error("signJwt: empty secret");
  const body = { iat: Math.floor(Date.now() / 1000), ...claims };
  const input = `${HEADER}.${b64urlEncode(JSON.stringify(body))}`;
  const sig = await crypto.subtle.sign("HMAC", await hmacKey(secret), enc.encode(input));
  return `${input}.${b64urlEncode(new Uint8Array(sig))}`;
}

const fail = (code: AuthErrorCode, message: string): { ok: false; error: AuthError } => ({
  ok: false,
  error: { code, message },
});

/** Verifies an HS256 JWT and its time claims; returns its claims or a typed error. */
export async function verifyJwt(
  token: string,
  secret: string | undefined,
  opts: { now?: number; leeway?: number } = {},
): Promise<Result<Claims>> {
  if (!secret) return fail("NO_SECRET", "server has no JWT secret configured");
  if (typeof token !== "string" || token.length > 8192) return fail("MALFORMED_TOKEN", "malformed token");
  const parts = token.split(".");
  if (parts.length !== 3) return fail("MALFORMED_TOKEN", "malformed token");
  const [h, p, s] = parts;
  const hb = b64urlDecode(h), pb = b64urlDecode(p), sb = b64urlDecode(s);
  if (!hb || !pb || !sb) return fail("MALFORMED_TOKEN", "malformed token");
  let header: unknown, claims: unknown;
  try {
    header = JSON.parse(dec.decode(hb));
    claims = JSON.parse(dec.decode(pb));
  } catch {
    return fail("MALFORMED_TOKEN", "malformed token");
  }
  if (!isObject(header) || !isObject(claims)) return fail("MALFORMED_TOKEN", "malformed token");
  // Only HS256, whatever the token says (no "none", no RS/ES confusion, no crit extensions).
  if (header.alg !== "HS256") return fail("UNSUPPORTED_ALG", "only HS256 tokens are accepted");
  if (header.crit !== undefined) return fail("UNSUPPORTED_ALG", "unsupported critical header");
  if (sb.length !== 32) return fail("BAD_SIGNATURE", "bad signature");
  const ok = await crypto.subtle.verify("HMAC", await hmacKey(secret), sb, enc.encode(`${h}.${p}`));
  if (!ok) return fail("BAD_SIGNATURE", "bad signature");

  const c = claims as Claims;
  const now = opts.now ?? Math.floor(Date.now() / 1000);
  const leeway = opts.leeway ?? 30;
  if (typeof c.exp !== "number" || !Number.isFinite(c.exp)) return fail("INVALID_CLAIMS", "token has no exp");
  if (now >= c.exp) return fail("TOKEN_EXPIRED", "token expired");
  if (c.nbf !== undefined && (typeof c.nbf !== "number" || now + leeway < c.nbf)) {
    return fail("TOKEN_NOT_YET_VALID", "token not yet valid");
  }
  if (c.iat !== undefined && typeof c.iat !== "number") return fail("INVALID_CLAIMS", "bad iat");
  if (c.sub !== undefined && typeof c.sub !== "string") return fail("INVALID_CLAIMS", "bad sub");
  if (c.role !== undefined && typeof c.role !== "string") return fail("INVALID_CLAIMS", "bad role");
  return { ok: true, value: c };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Constant-time string comparison (for raw API keys). */
export function timingSafeEqual(a: string, b: string): boolean {
  const x = enc.encode(a), y = enc.encode(b);
  let diff = x.length ^ y.length;
  const n = Math.max(x.length, y.length);
  for (let i = 0; i < n; i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

// ---------------------------------------------------------------- identify

/** The bearer token of a request, or null. */
export function bearer(req: Request): string | null {
  const h = req.headers.get("authorization");
  if (!h) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m ? m[1] : "";
}

/**
 * Who is calling. No Authorization header: anon. A token that fails verification: an error
 * (callers answer 401). role "service_role" (or the raw service-role key): service.
 * role "authenticated" with a `sub`: admin when app_metadata.role is "admin", else user.
 * role "anon": anon.
 */
export async function identify(req: Request, env: AuthEnv): Promise<Result<Identity>> {
  const token = bearer(req);
  if (token === null) return { ok: true, value: { kind: "anon", claims: { role: "anon" } } };
  if (token === "") return fail("MALFORMED_TOKEN", "Authorization must be 'Bearer <token>'");
  if (env.serviceRoleKey && !token.startsWith("eyJ") && timingSafeEqual(token, env.serviceRoleKey)) {
    return { ok: true, value: { kind: "service", claims: { role: "service_role" } } };
  }
  const r = await verifyJwt(token, env.jwtSecret, { now: env.now, leeway: env.leeway });
  if (!r.ok) return r;
  return classify(r.value);
}

/** Maps verified claims to an identity. */
export function classify(c: Claims): Result<Identity> {
  switch (c.role) {
    case "service_role":
      return { ok: true, value: { kind: "service", sub: c.sub || undefined, claims: c } };
    case "anon":
      return { ok: true, value: { kind: "anon", claims: c } };
    case "authenticated": {
      if (typeof c.sub !== "string" || c.sub === "") return fail("INVALID_CLAIMS", "token has no sub");
      const admin = isObject(c.app_metadata) && c.app_metadata.role === "admin";
      return { ok: true, value: { kind: admin ? "admin" : "user", sub: c.sub, claims: c } };
    }
    default:
      return fail("INVALID_CLAIMS", "unknown role");
  }
}

/** True for callers allowed to change flags (admins and the service role). */
export function isAdmin(id: Identity): boolean {
  return id.kind === "admin" || id.kind === "service";
}

// ---------------------------------------------------------------- environment

const SECRET_FILE = "jwt-secret";

/** Where the embedded stack keeps its state: TRIMTAB_DATA_DIR, else `<repo>/.data`. */
export function dataDir(): string {
  const fromEnv = safeEnv("TRIMTAB_DATA_DIR");
  if (fromEnv) return fromEnv;
  return new URL("../../../../.data", import.meta.url).pathname;
}

/**
 * The local JWT secret of a `.data/` directory: read, or generated (48 random bytes, base64url)
 * and written with mode 0600 on first use. Never logged.
 */
export async function localJwtSecret(dir: string = dataDir()): Promise<string> {
  const path = `${dir.replace(/\/+$/, "")}/${SECRET_FILE}`;
  try {
    const s = (await Deno.readTextFile(path)).trim();
    if (s.length >= 32) return s;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  await Deno.mkdir(dir, { recursive: true });
  const secret = b64urlEncode(crypto.getRandomValues(new Uint8Array(48)));
  try {
    // createNew: if two processes race, the second one reads the first one's secret.
    await Deno.writeTextFile(path, secret + "\n", { mode: 0o600, createNew: true });
    return secret;
  } catch (e) {
    if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
    return (await Deno.readTextFile(path)).trim();
  }
}

function safeEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined;
  }
}

let envPromise: Promise<AuthEnv> | null = null;

/** The auth settings of this isolate (resolved once): see the header comment for the order. */
export function authEnv(): Promise<AuthEnv> {
  return envPromise ??= (async () => {
    const explicit = safeEnv("TRIMTAB_JWT_SECRET") ?? safeEnv("SUPABASE_JWT_SECRET") ?? safeEnv("JWT_SECRET") ??
      safeEnv("LOCAL_JWT_SECRET");
    const hosted = safeEnv("SB_EXECUTION_ID") !== undefined;
    const jwtSecret = explicit ?? (hosted ? undefined : await localJwtSecret());
    return { jwtSecret, serviceRoleKey: safeEnv("SUPABASE_SERVICE_ROLE_KEY") };
  })().catch((e) => {
    envPromise = null;
    throw e;
  });
}

/** Forgets the cached settings (tests). */
export function resetAuthEnv(): void {
  envPromise = null;
}

// ---------------------------------------------------------------- tokens for the local stack

const YEAR = 365 * 24 * 3600;

/** A service-role key (JWT, role service_role), as Supabase's legacy service_role key. */
export function makeServiceRoleKey(secret: string, ttlSeconds = 10 * YEAR): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return signJwt({ iss: "trimtab-local", role: "service_role", iat: now, exp: now + ttlSeconds }, secret);
}

/** An anon key (JWT, role anon), as Supabase's legacy anon key. */
export function makeAnonKey(secret: string, ttlSeconds = 10 * YEAR): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return signJwt({ iss: "trimtab-local", role: "anon", iat: now, exp: now + ttlSeconds }, secret);
}

/** A user access token as Supabase Auth issues them; `admin` sets app_metadata.role = "admin". */
export function makeUserToken(
  secret: string,
  sub: string,
  opts: { admin?: boolean; ttlSeconds?: number; email?: string; extra?: Claims } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return signJwt({
    iss: "trimtab-local",
    aud: "authenticated",
    role: "authenticated",
    sub,
    iat: now,
    exp: now + (opts.ttlSeconds ?? 3600),
    ...(opts.email ? { email: opts.email } : {}),
    app_metadata: { provider: "email", ...(opts.admin ? { role: "admin" } : {}) },
    ...opts.extra,
  }, secret);
}
