// @ts-self-types="./trimtab-flags.d.ts"
// trimtab client-side flags (published as @trimtab/web): fetches the browser snapshot from the
// `flags` function (GET /functions/v1/flags?snapshot=1: client-visible flags + the caller's own
// overrides, ETag), evaluates locally with the same Wasm FlagEngine as the edge, keeps the last
// good snapshot and its ETag in storage for offline starts, and refreshes in the background.
//
//   import { createFlagClient } from "@trimtab/web";
//   const flags = createFlagClient({ url: SUPABASE_URL, publishableKey, supabase });
//   await flags.ready;
//   if (flags.evaluate("FEATURE_AGENT_CHAT").enabled) { ... }
//   flags.on("change", ({ changed }) => rerender(changed));
//
// The caller's token is read for every fetch (supabase-js session, getToken(), or a fixed token),
// so a refreshed access token is used without a reload; signing out drops the user's overrides
// and their stored snapshot. A failed first fetch is retried with exponential backoff and jitter
// until the server answers.
import { FlagEngine } from "../js/trimtab-flags.js";
import { contextFromClaims } from "../js/claims.js";

const STORAGE_PREFIX = "trimtab-flags:v1:";
const FETCH_TIMEOUT_MS = 10_000;
const EVENTS = ["ready", "change", "stale", "error", "auth"];

/** The JWT payload (not verified: only used to key storage and seed the context). */
export function claimsOf(token) {
  try {
    const part = String(token ?? "").split(".")[1];
    if (!part) return {};
    const b64 = part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "=");
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const v = JSON.parse(new TextDecoder().decode(bytes));
    return v && typeof v === "object" ? v : {};
  } catch {
    return {};
  }
}

const isObject = (v) => typeof v === "object" && v !== null && !Array.isArray(v);
const subOf = (claims) => (typeof claims.sub === "string" && claims.sub ? claims.sub : "anon");

function sameEvaluation(a, b) {
  return !!a && !!b && a.enabled === b.enabled && a.variant === b.variant && a.reason === b.reason;
}

/** Where the token of the next request comes from: getToken(), a supabase-js client, or fixed. */
function tokenSource({ token, getToken, supabase }) {
  if (typeof getToken === "function") return async () => (await getToken()) ?? null;
  if (supabase?.auth && typeof supabase.auth.getSession === "function") {
    return async () => (await supabase.auth.getSession())?.data?.session?.access_token ?? null;
  }
  return () => Promise.resolve(typeof token === "string" && token ? token : null);
}

/** Exponential backoff with jitter: attempt 0 waits ~base, doubling up to max. */
export function backoffMs(attempt, { baseMs = 500, maxMs = 30_000 } = {}, random = Math.random) {
  const cap = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(cap / 2 + random() * (cap / 2));
}

/**
 * Creates a flag client. `ready` resolves once a snapshot is usable: the server answered, or a
 * stored snapshot was loaded and the server could not be reached (then `stale` is true). It does
 * not reject: while the server cannot be reached and nothing is stored, the client keeps retrying
 * (backoff with jitter) and emits "error"; `status` is "error" meanwhile.
 */
export function createFlagClient({
  url,
  publishableKey,
  supabase,
  getToken,
  token,
  context = {},
  storage = globalThis.localStorage,
  refreshMs = 30_000,
  retry = {},
  fetch: fetchFn = globalThis.fetch?.bind(globalThis),
} = {}) {
  if (typeof url !== "string" || !url) throw new TypeError("createFlagClient: url is required");
  if (typeof fetchFn !== "function") throw new TypeError("createFlagClient: no fetch available");
  const base = url.replace(/\/+$/, "");
  const endpoint = `${base}/functions/v1/flags?snapshot=1`;
  const eventsEndpoint = `${base}/functions/v1/flags/events`;
  const readToken = tokenSource({ token, getToken, supabase });
  const listeners = new Map(EVENTS.map((e) => [e, new Set()]));

  let engine = null;
  let snapshot = null;
  let etag = null;
  let claims = claimsOf(token);
  let userContext = isObject(context) ? { ...context } : {};
  let stale = false;
  let status = "loading"; // "loading" | "ready" | "error"
  let closed = false;
  let timer = null;
  let retryTimer = null;
  let attempt = 0;
  let inflight = null;
  let lastStatus = null;
  let source = null; // "network" | "storage"
  let resolveReady;
  const ready = new Promise((r) => (resolveReady = r));
  let firstSettled;
  const settled = new Promise((r) => (firstSettled = r));

  const storageKey = (c = claims) => `${STORAGE_PREFIX}${base}:${subOf(c)}`;
  const fullContext = () => ({ ...contextFromClaims(claims), ...userContext });

  function emit(event, detail) {
    for (const fn of [...listeners.get(event)]) {
      try {
        fn(detail);
      } catch (e) {
        // A listener's bug must not break the client; surface it asynchronously.
        setTimeout(() => {
          throw e;
        });
      }
    }
  }

  function setStale(next, why) {
    if (stale === next) return;
    stale = next;
    emit("stale", { stale, reason: why });
  }

  function becomeReady() {
    if (status === "ready") return;
    status = "ready";
    attempt = 0;
    resolveReady();
    emit("ready", { version: engine?.version ?? null, source });
    if (!closed && refreshMs > 0 && !timer) timer = setInterval(() => void refresh(), refreshMs);
  }

  function allNow() {
    return engine ? engine.evaluateAll(fullContext()) : {};
  }

  function emitChanges(before, extra = {}) {
    const after = allNow();
    const changed = Object.keys({ ...before, ...after }).filter((k) => !sameEvaluation(before[k], after[k]));
    if (changed.length || extra.context) emit("change", { changed, version: engine?.version ?? null, ...extra });
  }

  /** Installs a snapshot; emits "change" with the keys whose evaluation changed. */
  function install(nextSnapshot, nextEtag, from) {
    const next = new FlagEngine(nextSnapshot); // throws INVALID_SNAPSHOT before anything changes
    const before = allNow();
    const old = engine;
    engine = next;
    snapshot = nextSnapshot;
    etag = nextEtag;
    source = from;
    old?.free();
    emitChanges(before);
  }

  function loadStored() {
    try {
      const raw = storage?.getItem(storageKey());
      if (!raw) return false;
      const saved = JSON.parse(raw);
      if (!isObject(saved) || !isObject(saved.snapshot)) return false;
      install(saved.snapshot, typeof saved.etag === "string" ? saved.etag : null, "storage");
      return true;
    } catch {
      return false; // corrupt or unreadable storage: start from the network
    }
  }

  function save(body, tag) {
    try {
      storage?.setItem(storageKey(), JSON.stringify({ etag: tag, snapshot: body, savedAt: Date.now() }));
    } catch { /* storage full or disabled: the client still works online */ }
  }

  /** The signed-in user changed (or signed out): forget the previous user's overrides, now. */
  function switchUser(nextClaims) {
    const was = subOf(claims);
    claims = nextClaims;
    if (subOf(nextClaims) === was) return false;
    if (subOf(nextClaims) === "anon" && was !== "anon") {
      try {
        storage?.removeItem?.(`${STORAGE_PREFIX}${base}:${was}`);
      } catch { /* storage disabled */ }
    }
    etag = null;
    if (snapshot) install({ ...snapshot, overrides: [] }, null, source ?? "network");
    emit("auth", { userId: subOf(nextClaims) === "anon" ? null : nextClaims.sub });
    return true;
  }

  async function headersFor() {
    const t = await readToken();
    const headers = {};
    if (publishableKey) headers.apikey = publishableKey;
    const bearer = t ?? publishableKey;
    if (bearer) headers.authorization = `Bearer ${bearer}`;
    return { headers, token: t };
  }

  async function fetchOnce() {
    const { headers, token: t } = await headersFor();
    switchUser(claimsOf(t));
    if (etag && engine) headers["if-none-match"] = etag;
    const ctl = typeof AbortController === "function" ? new AbortController() : null;
    const timeout = ctl ? setTimeout(() => ctl.abort(), FETCH_TIMEOUT_MS) : null;
    let res;
    try {
      res = await fetchFn(endpoint, { headers, signal: ctl?.signal, cache: "no-store" });
    } finally {
      if (timeout) clearTimeout(timeout);
    }
    lastStatus = res.status;
    const serverStale = res.headers.get("x-trimtab-stale") === "true";
    if (res.status === 304) {
      if (source === "storage") source = "network";
      setStale(serverStale, serverStale ? "server" : null);
      return;
    }
    if (!res.ok) {
      let code = `HTTP_${res.status}`;
      try {
        code = (await res.json())?.error?.code ?? code;
      } catch { /* not JSON */ }
      throw Object.assign(new Error(`flags snapshot: ${res.status} ${code}`), { code, status: res.status });
    }
    const body = await res.json();
    const tag = res.headers.get("etag");
    install(body, tag, "network");
    save(body, tag);
    setStale(serverStale, serverStale ? "server" : null);
  }

  function scheduleRetry() {
    if (closed || retryTimer) return;
    retryTimer = setTimeout(() => {
      retryTimer = null;
      void refresh();
    }, backoffMs(attempt++, retry));
  }

  /** Fetches the snapshot now (deduplicated). Never rejects: failures are "error" events. */
  function refresh() {
    if (closed) return Promise.resolve();
    if (inflight) return inflight;
    const p = fetchOnce().then(() => null, (error) => ({ error })).then((failed) => {
      inflight = null; // before any event: a listener may call refresh() again
      if (failed === null) becomeReady();
      else {
        setStale(true, "unreachable");
        if (engine) becomeReady(); // the stored snapshot serves, marked stale
        else status = "error";
        emit("error", { error: failed.error });
        if (status !== "ready") scheduleRetry();
      }
      firstSettled();
    });
    inflight = p;
    return inflight;
  }

  let unsubscribe = null;
  if (supabase?.auth && typeof supabase.auth.onAuthStateChange === "function" && typeof getToken !== "function") {
    // supabase-js calls this inside its own lock: never call back into auth from here directly.
    const r = supabase.auth.onAuthStateChange((event, session) => {
      setTimeout(() => {
        if (closed) return;
        const changed = switchUser(claimsOf(session?.access_token));
        if (event === "SIGNED_OUT" || event === "SIGNED_IN" || changed) void refresh();
      });
    });
    unsubscribe = () => r?.data?.subscription?.unsubscribe?.();
  }

  // A fixed token is known now: the stored snapshot serves at once. Otherwise the session is read
  // first, so the stored snapshot is the signed-in user's.
  if (typeof getToken !== "function" && !supabase?.auth) {
    loadStored();
    void refresh();
  } else {
    readToken().catch(() => null).then((t) => {
      if (closed) return;
      claims = claimsOf(t);
      loadStored();
      void refresh();
    });
  }

  const missing = (key) => ({ flag: key, enabled: false, reason: "NOT_FOUND", version: "0" });

  // Tracking events, batched (OpenFeature track() lands here; see docs/design.md "Tracking").
  const queue = [];
  let flushTimer = null;
  async function flushEvents() {
    clearTimeout(flushTimer);
    flushTimer = null;
    const batch = queue.splice(0, 20);
    if (!batch.length) return { sent: 0 };
    const { headers } = await headersFor();
    headers["content-type"] = "application/json";
    const res = await fetchFn(eventsEndpoint, {
      method: "POST",
      headers,
      body: JSON.stringify({ events: batch }),
      keepalive: true,
    });
    if (!res.ok) {
      const code = (await res.json().catch(() => null))?.error?.code ?? `HTTP_${res.status}`;
      const error = Object.assign(new Error(`flag events: ${res.status} ${code}`), { code, status: res.status });
      emit("error", { error });
      throw error;
    }
    const more = queue.length ? await flushEvents() : { sent: 0 };
    return { sent: batch.length + more.sent };
  }

  return {
    ready,
    /** Settles after the first fetch attempt, whatever its outcome (see `status`). */
    settled,
    /** Evaluates one flag for the current context (NOT_FOUND before any snapshot). */
    evaluate(key) {
      return engine ? engine.evaluate(key, fullContext()) : missing(key);
    },
    /** Every client-visible flag for the current context. */
    evaluateAll() {
      return allNow();
    },
    /** Replaces the caller-supplied context (merged over the token's); emits "change". */
    setContext(ctx) {
      const before = allNow();
      userContext = isObject(ctx) ? { ...ctx } : {};
      emitChanges(before, { context: true });
    },
    get context() {
      return fullContext();
    },
    /** Subscribes to "ready" | "change" | "stale" | "error" | "auth"; returns an unsubscribe function. */
    on(event, fn) {
      const set = listeners.get(event);
      if (!set) throw new TypeError(`unknown event: ${event}`);
      set.add(fn);
      return () => set.delete(fn);
    },
    off(event, fn) {
      listeners.get(event)?.delete(fn);
    },
    /** Queues a tracking event for POST /functions/v1/flags/events (sent within a second). */
    track(name, details) {
      queue.push({ name, ...(details === undefined ? {} : { details }) });
      if (queue.length >= 20) void flushEvents().catch(() => {});
      else if (!flushTimer) flushTimer = setTimeout(() => void flushEvents().catch(() => {}), 1000);
    },
    /** Sends queued tracking events now. */
    flushEvents,
    get stale() {
      return stale;
    },
    get status() {
      return status;
    },
    get version() {
      return engine?.version ?? null;
    },
    get etag() {
      return etag;
    },
    /** HTTP status of the last snapshot fetch (200, 304, …) or null. */
    get lastStatus() {
      return lastStatus;
    },
    /** Where the current snapshot came from: "network", "storage" or null. */
    get source() {
      return source;
    },
    get snapshot() {
      return snapshot;
    },
    /** The user the snapshot is for (the token's `sub`), or null when anonymous. */
    get userId() {
      return subOf(claims) === "anon" ? null : claims.sub;
    },
    refresh,
    close() {
      closed = true;
      if (timer) clearInterval(timer);
      clearTimeout(retryTimer);
      clearTimeout(flushTimer);
      timer = retryTimer = flushTimer = null;
      unsubscribe?.();
      for (const s of listeners.values()) s.clear();
      engine?.free();
      engine = null;
    },
  };
}
