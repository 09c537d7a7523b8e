//! Dev-only keys of the local stack, made the way a Supabase project has them: an ES256 JWT
//! signing key pair (WebCrypto; the private key never leaves `.data/`), a publishable key
//! (sb_publishable_...) and a secret key (sb_secret_...). They live in `<data dir>/auth-keys.json`
//! (mode 0600; TRIMTAB_DATA_DIR, else .data/), are created on first use, and can be rotated
//! (a new current key; the previous one stays published until revoked) from the command line:
//!
//!   deno run --allow-read --allow-write=.data --allow-env scripts/dev/keys.ts rotate
//!   deno run --allow-read --allow-write=.data --allow-env scripts/dev/keys.ts revoke <kid>
//!
//! Tokens are minted here with `jose` (user access tokens with Supabase Auth's claims). No edge
//! function imports this module (tests/deno/bundle_test.ts).
import { type JWK, SignJWT } from "jose";

/** One signing key: the private JWK stays in the data directory; `publicJwk` is published. */
export interface SigningKey {
  kid: string;
  privateJwk: JWK;
  publicJwk: JWK;
  createdAt: string;
}

/** The local project's keys. `signing[0]` signs; every entry is in the JWKS. */
export interface LocalKeys {
  signing: SigningKey[];
  publishable: string;
  secret: string;
}

const FILE = "auth-keys.json";

/** The `iss` of the local project's tokens (what Supabase's CLI uses for a local project). */
export const LOCAL_ISSUER = "http://127.0.0.1:54321/auth/v1";

function b64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

const random = (n: number) => b64url(crypto.getRandomValues(new Uint8Array(n)));

/** Where the local stack keeps its state: TRIMTAB_DATA_DIR, else `<repo>/.data`. */
export function dataDir(): string {
  let fromEnv: string | undefined;
  try {
    fromEnv = Deno.env.get("TRIMTAB_DATA_DIR") || undefined;
  } catch { /* no env access */ }
  return fromEnv ?? decodeURIComponent(new URL("../../.data", import.meta.url).pathname);
}

/** A new ES256 key pair with a random kid. */
export async function newSigningKey(): Promise<SigningKey> {
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
  const kid = random(12);
  const priv = await crypto.subtle.exportKey("jwk", pair.privateKey) as JWK;
  const pub = await crypto.subtle.exportKey("jwk", pair.publicKey) as JWK;
  const meta = { kid, alg: "ES256", use: "sig" };
  return {
    kid,
    privateJwk: { ...priv, ...meta, key_ops: undefined, ext: undefined },
    publicJwk: { kty: pub.kty, crv: pub.crv, x: pub.x, y: pub.y, ...meta },
    createdAt: new Date().toISOString(),
  };
}

/** Fresh keys (not written anywhere): tests that need a project of their own. */
export async function newLocalKeys(): Promise<LocalKeys> {
  return {
    signing: [await newSigningKey()],
    publishable: `sb_publishable_${random(24)}`,
    secret: `sb_secret_${random(32)}`,
  };
}

async function write(dir: string, keys: LocalKeys, createNew: boolean): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const path = `${dir}/${FILE}`;
  const text = JSON.stringify(keys, null, 2) + "\n";
  if (createNew) {
    await Deno.writeTextFile(path, text, { mode: 0o600, createNew: true });
    return;
  }
  // Replace atomically, keeping mode 0600.
  const tmp = `${path}.${random(6)}.tmp`;
  await Deno.writeTextFile(tmp, text, { mode: 0o600 });
  await Deno.rename(tmp, path);
}

/** Writes `keys` as the keys of `dir` (mode 0600), replacing what is there. */
export function saveLocalKeys(dir: string, keys: LocalKeys): Promise<void> {
  return write(dir, keys, false);
}

/** The keys of `dir`: read, or created (mode 0600) on first use. Concurrent first uses agree. */
export async function localKeys(dir: string = dataDir()): Promise<LocalKeys> {
  const path = `${dir}/${FILE}`;
  try {
    return JSON.parse(await Deno.readTextFile(path)) as LocalKeys;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const keys = await newLocalKeys();
  try {
    await write(dir, keys, true);
    return keys;
  } catch (e) {
    if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
    return JSON.parse(await Deno.readTextFile(path)) as LocalKeys;
  }
}

/** Makes a new signing key current; the previous ones stay published (tokens they signed still
 *  verify) until revoked. */
export async function rotateSigningKey(dir: string = dataDir()): Promise<LocalKeys> {
  const keys = await localKeys(dir);
  const next = { ...keys, signing: [await newSigningKey(), ...keys.signing] };
  await write(dir, next, false);
  return next;
}

/** Removes a key from the set: tokens it signed are refused from then on. The current key stays. */
export async function revokeSigningKey(kid: string, dir: string = dataDir()): Promise<LocalKeys> {
  const keys = await localKeys(dir);
  if (keys.signing[0]?.kid === kid) throw new Error("the current signing key cannot be revoked: rotate first");
  const next = { ...keys, signing: keys.signing.filter((k) => k.kid !== kid) };
  await write(dir, next, false);
  return next;
}

/** The public key set, as served at /auth/v1/.well-known/jwks.json. */
export function jwks(keys: LocalKeys): { keys: JWK[] } {
  return { keys: keys.signing.map((k) => k.publicJwk) };
}

/** The environment Supabase gives functions, for these keys (SUPABASE_JWKS and the API keys). */
export function functionEnv(keys: LocalKeys): Record<string, string> {
  return {
    SUPABASE_JWKS: JSON.stringify(jwks(keys)),
    SUPABASE_PUBLISHABLE_KEYS: JSON.stringify({ default: keys.publishable }),
    SUPABASE_SECRET_KEYS: JSON.stringify({ default: keys.secret }),
  };
}

/** Signs `claims` with `key` (ES256, kid in the header). `iat` is now; pass `exp`. */
export async function signToken(key: SigningKey, claims: Record<string, unknown>): Promise<string> {
  return await new SignJWT({ iat: Math.floor(Date.now() / 1000), ...claims })
    .setProtectedHeader({ alg: "ES256", kid: key.kid, typ: "JWT" })
    .sign(
      await crypto.subtle.importKey(
        "jwk",
        { ...key.privateJwk, key_ops: ["sign"] } as JsonWebKey,
        { name: "ECDSA", namedCurve: "P-256" },
        false,
        ["sign"],
      ),
    );
}

/** Options of `userToken`. */
export interface UserTokenOptions {
  /** `iss`: the stack's <url>/auth/v1 (omit only where the verifier checks no issuer). */
  issuer?: string;
  /** app_metadata.role = "admin". */
  admin?: boolean;
  ttlSeconds?: number;
  email?: string;
  extra?: Record<string, unknown>;
}

/** A user access token as Supabase Auth issues them, signed with the current key (or `key`). */
export function userToken(
  keys: LocalKeys | SigningKey,
  sub: string,
  opts: UserTokenOptions = {},
): Promise<string> {
  const key = "signing" in keys ? keys.signing[0] : keys;
  const now = Math.floor(Date.now() / 1000);
  return signToken(key, {
    ...(opts.issuer ? { iss: opts.issuer } : {}),
    aud: "authenticated",
    role: "authenticated",
    sub,
    iat: now,
    exp: now + (opts.ttlSeconds ?? 3600),
    ...(opts.email ? { email: opts.email } : {}),
    app_metadata: { provider: "email", ...(opts.admin ? { role: "admin" } : {}) },
    user_metadata: {},
    ...opts.extra,
  });
}

/** An HS256 token signed with a legacy JWT secret (what projects issued before signing keys). */
export async function legacyToken(secret: string, claims: Record<string, unknown>): Promise<string> {
  return await new SignJWT({ iat: Math.floor(Date.now() / 1000), ...claims })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .sign(new TextEncoder().encode(secret));
}

if (import.meta.main) {
  const [cmd, arg] = Deno.args;
  if (cmd === "rotate") {
    const k = await rotateSigningKey();
    console.log(
      `current signing key: ${k.signing[0].kid}; still published: ${k.signing.slice(1).map((s) => s.kid).join(", ")}`,
    );
  } else if (cmd === "revoke" && arg) {
    const k = await revokeSigningKey(arg);
    console.log(`published keys: ${k.signing.map((s) => s.kid).join(", ")}`);
  } else if (cmd === "jwks") {
    console.log(JSON.stringify(jwks(await localKeys()), null, 2));
  } else {
    console.error("usage: scripts/dev/keys.ts rotate | revoke <kid> | jwks");
    Deno.exit(2);
  }
}
