// User access tokens for the browser tests, as Supabase Auth issues them: ES256, signed with the
// local stack's current signing key (read from its data directory, <dir>/auth-keys.json, which
// scripts/dev/keys.ts writes), with its kid and the local issuer. Minted with jose in Node.
import { readFileSync } from "node:fs";
import { importJWK, SignJWT } from "jose";

export const LOCAL_ISSUER = "http://127.0.0.1:54321/auth/v1";

/** The stack's keys: { signing: [{ kid, privateJwk, publicJwk }], publishable, secret }. */
export function stackKeys(dataDir) {
  return JSON.parse(readFileSync(`${dataDir}/auth-keys.json`, "utf8"));
}

/** A user access token for `sub` signed with the stack's current key. */
export async function userToken(dataDir, sub, extra = {}) {
  const key = stackKeys(dataDir).signing[0];
  const now = Math.floor(Date.now() / 1000);
  return await new SignJWT({
    iss: LOCAL_ISSUER,
    aud: "authenticated",
    role: "authenticated",
    sub,
    iat: now,
    exp: now + 3600,
    app_metadata: { provider: "email" },
    ...extra,
  }).setProtectedHeader({ alg: "ES256", kid: key.kid, typ: "JWT" }).sign(await importJWK(key.privateJwk, "ES256"));
}
