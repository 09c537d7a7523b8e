// The dashboard's project settings and sign-in, as a Supabase app has them: the project URL and
// publishable key (a settings form, kept in localStorage; defaults: this origin, no key), then
//   - email and password through supabase-js (Supabase Auth): supabase-js keeps the session in
//     localStorage and refreshes it; every API call reads the current access token;
//   - or a pasted admin token (the local stack prints one), kept in this tab's sessionStorage.
// Nothing secret is part of the page: the publishable key is public, tokens come from sign-in.
// supabase-js is loaded from /admin/vendor/supabase.js (its UMD build, copied from node_modules by
// scripts/build.sh) only when the password sign-in is used.
const SETTINGS = "trimtab.admin.settings";
const TOKEN = "trimtab.admin.token";
const MODE = "trimtab.admin.mode";

let sb = null;
let sbFor = null;
const outListeners = new Set();

/** { url, publishableKey } of the project (defaults: this origin, none). */
export function settings() {
  let s = {};
  try {
    s = JSON.parse(localStorage.getItem(SETTINGS) ?? "{}") ?? {};
  } catch { /* corrupt: defaults */ }
  const url = typeof s.url === "string" && /^https?:\/\//.test(s.url) ? s.url.replace(/\/+$/, "") : location.origin;
  return { url, publishableKey: typeof s.publishableKey === "string" ? s.publishableKey : "" };
}

/** Saves the settings; throws a TypeError naming what is wrong. */
export function saveSettings({ url, publishableKey }) {
  const u = String(url ?? "").trim();
  if (u && !/^https?:\/\/[^/\s]+/.test(u)) throw new TypeError("The project URL must start with http:// or https://");
  const k = String(publishableKey ?? "").trim();
  if (k.startsWith("sb_secret_")) throw new TypeError("That is a secret key: it must never be in a browser");
  localStorage.setItem(SETTINGS, JSON.stringify({ url: u || undefined, publishableKey: k || undefined }));
  sb = null;
}

/** The base URL of the project's functions. */
export const apiBase = () => `${settings().url}/functions/v1`;

function loadSupabase() {
  if (globalThis.supabase?.createClient) return Promise.resolve(globalThis.supabase);
  return new Promise((resolve, reject) => {
    const s = document.createElement("script");
    s.src = "/admin/vendor/supabase.js";
    s.onload = () => resolve(globalThis.supabase);
    s.onerror = () => reject(new Error("supabase-js could not be loaded (/admin/vendor/supabase.js)"));
    document.head.append(s);
  });
}

async function client() {
  const { url, publishableKey } = settings();
  if (!publishableKey) throw new Error("Set the project's publishable key first (Project settings)");
  const key = `${url} ${publishableKey}`;
  if (!sb || sbFor !== key) {
    const { createClient } = await loadSupabase();
    sb = createClient(url, publishableKey, { auth: { storageKey: "trimtab.admin.auth" } });
    sbFor = key;
    sb.auth.onAuthStateChange((event) => {
      if (event === "SIGNED_OUT" && sessionStorage.getItem(MODE) === "supabase") {
        for (const fn of outListeners) setTimeout(fn);
      }
    });
  }
  return sb;
}

/** Signs in through Supabase Auth (supabase-js). Throws with the server's message. */
export async function signInWithPassword(email, password) {
  const { error } = await (await client()).auth.signInWithPassword({ email, password });
  if (error) throw error;
  sessionStorage.setItem(MODE, "supabase");
}

/** Uses a pasted admin token (local stack). */
export function signInWithToken(t) {
  sessionStorage.setItem(TOKEN, t);
  sessionStorage.setItem(MODE, "token");
}

/** The access token for the next request (a refreshed one after supabase-js refreshed). */
export async function accessToken() {
  if (sessionStorage.getItem(MODE) === "supabase") {
    return (await (await client()).auth.getSession()).data.session?.access_token ?? null;
  }
  return sessionStorage.getItem(TOKEN);
}

/** Headers of an API call: the bearer and, when set, the publishable key as apikey. */
export async function authHeaders() {
  const h = { authorization: `Bearer ${(await accessToken()) ?? ""}` };
  const { publishableKey } = settings();
  if (publishableKey) h.apikey = publishableKey;
  return h;
}

/** True when a sign-in is kept (this tab's token, or a supabase-js session). */
export async function restore() {
  const mode = sessionStorage.getItem(MODE);
  if (mode === "token") return !!sessionStorage.getItem(TOKEN);
  if (mode === "supabase" || localStorage.getItem("trimtab.admin.auth")) {
    try {
      if ((await (await client()).auth.getSession()).data.session) {
        sessionStorage.setItem(MODE, "supabase");
        return true;
      }
    } catch { /* no key or no supabase-js: sign in again */ }
  }
  return false;
}

export const signedIn = () => sessionStorage.getItem(MODE) !== null;

export async function signOut() {
  const mode = sessionStorage.getItem(MODE);
  sessionStorage.removeItem(TOKEN);
  sessionStorage.removeItem(MODE);
  if (mode === "supabase") await (await client()).auth.signOut().catch(() => {});
}

/** Called when supabase-js ends the session by itself (refresh refused). */
export function onSignedOut(fn) {
  outListeners.add(fn);
}
