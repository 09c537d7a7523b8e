//! Dev only: a minimal stand-in for Supabase Auth (GoTrue) in the local stack, so supabase-js signs
//! in and refreshes its session against it exactly as against a hosted project:
//!
//!   POST /auth/v1/token?grant_type=password       { email, password } -> a session
//!   POST /auth/v1/token?grant_type=refresh_token  { refresh_token }   -> a new session (the
//!                                                 refresh token is single use, as GoTrue's)
//!   GET  /auth/v1/user                            the bearer's user (token verified)
//!   POST /auth/v1/logout                          revokes the bearer's refresh tokens; 204
//!
//! Two demo users, one password (random, created with the data directory, in
//! <data dir>/auth-users.json, printed by the stack): admin@trimtab.local (app_metadata.role
//! admin) and user-42@trimtab.local (sub "user-42", the seeded override's unit). Access tokens are
//! ES256, signed with the stack's current signing key, TRIMTAB_AUTH_TTL_S seconds long (default
//! 3600). Refresh tokens live in memory. Sign-up, OTP, OAuth and the rest of GoTrue are not here.
import { verifyJwt } from "../../supabase/functions/_shared/platform/auth.ts";
import { dataDir, type LocalKeys, userToken } from "./keys.ts";

interface DemoUser {
  id: string;
  email: string;
  admin: boolean;
}

export const DEMO_USERS: DemoUser[] = [
  { id: "00000000-0000-4000-8000-00000000ad01", email: "admin@trimtab.local", admin: true },
  { id: "user-42", email: "user-42@trimtab.local", admin: false },
];

const refreshTokens = new Map<string, DemoUser>();

/** The demo users' password (created on first use, mode 0600). */
export async function demoPassword(dir = dataDir()): Promise<string> {
  const path = `${dir}/auth-users.json`;
  try {
    return JSON.parse(await Deno.readTextFile(path)).password;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const password = Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, "0"))
    .join("");
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(path, JSON.stringify({ password }) + "\n", { mode: 0o600, createNew: true });
  return password;
}

function cors(req: Request): Record<string, string> {
  return {
    "access-control-allow-origin": "*",
    "access-control-allow-methods": "GET, POST, PUT, OPTIONS",
    "access-control-allow-headers": req.headers.get("access-control-request-headers") ??
      "authorization, apikey, content-type, x-client-info, x-supabase-api-version",
  };
}

function answer(req: Request, status: number, body: unknown): Response {
  const headers = { ...cors(req), "content-type": "application/json", "cache-control": "no-store" };
  return new Response(status === 204 ? null : JSON.stringify(body), { status, headers });
}

/** GoTrue's error shape. */
const refuse = (req: Request, status: number, code: string, msg: string) =>
  answer(req, status, { code: status, error_code: code, msg });

function userJson(u: DemoUser) {
  return {
    id: u.id,
    aud: "authenticated",
    role: "authenticated",
    email: u.email,
    app_metadata: { provider: "email", providers: ["email"], ...(u.admin ? { role: "admin" } : {}) },
    user_metadata: {},
    created_at: "2026-01-01T00:00:00Z",
  };
}

async function session(u: DemoUser, keys: LocalKeys, issuer: string) {
  const ttl = Number(Deno.env.get("TRIMTAB_AUTH_TTL_S") ?? 3600);
  const expiresIn = Number.isFinite(ttl) && ttl > 0 ? Math.floor(ttl) : 3600;
  const refresh = crypto.randomUUID();
  refreshTokens.set(refresh, u);
  const access = await userToken(keys, u.id, { admin: u.admin, email: u.email, ttlSeconds: expiresIn, issuer });
  return {
    access_token: access,
    token_type: "bearer",
    expires_in: expiresIn,
    expires_at: Math.floor(Date.now() / 1000) + expiresIn,
    refresh_token: refresh,
    user: userJson(u),
  };
}

async function body(req: Request): Promise<Record<string, unknown>> {
  try {
    const v = await req.json();
    return v && typeof v === "object" ? v : {};
  } catch {
    return {};
  }
}

/** Answers /auth/v1/* except the JWKS (served by the stack), or null for another path. */
export async function authRoute(req: Request, url: URL, keys: LocalKeys, issuer: string): Promise<Response | null> {
  const path = url.pathname.replace(/\/+$/, "");
  if (!["/auth/v1/token", "/auth/v1/user", "/auth/v1/logout"].includes(path)) return null;
  if (req.method === "OPTIONS") return new Response(null, { status: 204, headers: cors(req) });
  if (path === "/auth/v1/token" && req.method === "POST") {
    const b = await body(req);
    const grant = url.searchParams.get("grant_type");
    if (grant === "password") {
      const u = DEMO_USERS.find((x) => x.email === String(b.email ?? "").toLowerCase());
      if (!u || b.password !== await demoPassword()) {
        return refuse(req, 400, "invalid_credentials", "Invalid login credentials");
      }
      return answer(req, 200, await session(u, keys, issuer));
    }
    if (grant === "refresh_token") {
      const token = String(b.refresh_token ?? "");
      const u = refreshTokens.get(token);
      if (!u) return refuse(req, 400, "refresh_token_not_found", "Invalid Refresh Token: Refresh Token Not Found");
      refreshTokens.delete(token);
      return answer(req, 200, await session(u, keys, issuer));
    }
    return refuse(req, 400, "unsupported_grant_type", "grant_type must be password or refresh_token");
  }
  const m = /^Bearer\s+(\S+)$/i.exec(req.headers.get("authorization") ?? "");
  const verified = m ? await verifyJwt(m[1]) : null;
  const u = verified?.ok ? DEMO_USERS.find((x) => x.id === verified.value.sub) : undefined;
  if (!u) return refuse(req, 401, "bad_jwt", "invalid or expired access token");
  if (path === "/auth/v1/user" && req.method === "GET") return answer(req, 200, userJson(u));
  if (path === "/auth/v1/logout" && req.method === "POST") {
    for (const [t, x] of refreshTokens) if (x.id === u.id) refreshTokens.delete(t);
    return answer(req, 204, null);
  }
  return refuse(req, 405, "method_not_allowed", `${req.method} is not allowed here`);
}
