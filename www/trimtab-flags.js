// trimtab client-side flags: fetches the browser snapshot from the `flags` function
// (GET /functions/v1/flags?snapshot=1: client-visible flags + the caller's own overrides, ETag),
// evaluates locally with the same Wasm FlagEngine as the edge, keeps the last good snapshot and
// its ETag in storage for offline starts, and refreshes in the background.
//
//   import { createFlagClient } from "/trimtab-flags.js";
//   const flags = createFlagClient({ url: "http://127.0.0.1:54321", token: session.access_token });
//   await flags.ready;
//   if (flags.evaluate("FEATURE_AGENT_CHAT").enabled) { ... }
//   flags.on("change", ({ changed }) => rerender(changed));
//   flags.on("stale", ({ stale }) => banner(stale));
import { FlagEngine } from "../js/trimtab-flags.js";
import { contextFromClaims } from "../js/claims.js";

const STORAGE_PREFIX = "trimtab-flags:v1:";
const FETCH_TIMEOUT_MS = 10_000;
const EVENTS = ["change", "stale", "error"];

/** The JWT payload (not verified: only used to key storage and seed the context). */
function claimsOf(token) {
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

function sameEvaluation(a, b) {
  return !!a && !!b && a.enabled === b.enabled && a.variant === b.variant && a.reason === b.reason;
}

/**
 * Creates a flag client. `ready` resolves once a snapshot is usable (from the network, or from
 * storage when the server is unreachable: then `stale` is true); it rejects only when neither is
 * available.
 */
export function createFlagClient({
  url,
  token,
  context = {},
  storage = globalThis.localStorage,
  refreshMs = 30_000,
  fetch: fetchFn = globalThis.fetch?.bind(globalThis),
} = {}) {
  if (typeof url !== "string" || !url) throw new TypeError("createFlagClient: url is required");
  if (typeof fetchFn !== "function") throw new TypeError("createFlagClient: no fetch available");
  const base = url.replace(/\/+$/, "");
  const endpoint = `${base}/functions/v1/flags?snapshot=1`;
  const claims = claimsOf(token);
  const storageKey = `${STORAGE_PREFIX}${base}:${typeof claims.sub === "string" && claims.sub ? claims.sub : "anon"}`;
  const listeners = new Map(EVENTS.map((e) => [e, new Set()]));

  let engine = null;
  let snapshot = null;
  let etag = null;
  let userContext = isObject(context) ? { ...context } : {};
  let stale = false;
  let closed = false;
  let timer = null;
  let inflight = null;
  let lastStatus = null;
  let source = null; // "network" | "storage"

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

  function allNow() {
    return engine ? engine.evaluateAll(fullContext()) : {};
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
    const after = allNow();
    const changed = Object.keys({ ...before, ...after }).filter((k) => !sameEvaluation(before[k], after[k]));
    if (changed.length) emit("change", { changed, version: engine.version });
  }

  function loadStored() {
    try {
      const raw = storage?.getItem(storageKey);
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
      storage?.setItem(storageKey, JSON.stringify({ etag: tag, snapshot: body, savedAt: Date.now() }));
    } catch { /* storage full or disabled: the client still works online */ }
  }

  async function fetchOnce() {
    const headers = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (etag && engine) headers["if-none-match"] = etag;
    const ctl = typeof AbortController === "function" ? new AbortController() : null;
    const t = ctl ? setTimeout(() => ctl.abort(), FETCH_TIMEOUT_MS) : null;
    let res;
    try {
      res = await fetchFn(endpoint, { headers, signal: ctl?.signal, cache: "no-store" });
    } finally {
      if (t) clearTimeout(t);
    }
    lastStatus = res.status;
    const serverStale = res.headers.get("x-trimtab-stale") === "true";
    if (res.status === 304) {
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

  /** Fetches the snapshot now (deduplicated); never rejects once a snapshot is loaded. */
  function refresh() {
    if (closed) return Promise.resolve();
    if (inflight) return inflight;
    inflight = fetchOnce().catch((error) => {
      const hadSnapshot = engine !== null;
      setStale(true, "unreachable");
      emit("error", { error });
      if (!hadSnapshot) throw error;
    }).finally(() => {
      inflight = null;
    });
    return inflight;
  }

  loadStored();
  const ready = refresh().then(() => {
    if (!closed && refreshMs > 0) timer = setInterval(() => void refresh().catch(() => {}), refreshMs);
  });
  ready.catch(() => {}); // callers who never await ready must not see an unhandled rejection

  const missing = (key) => ({ flag: key, enabled: false, reason: "NOT_FOUND", version: "0" });

  return {
    ready,
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
      const after = allNow();
      const changed = Object.keys({ ...before, ...after }).filter((k) => !sameEvaluation(before[k], after[k]));
      emit("change", { changed, version: engine?.version ?? null, context: true });
    },
    get context() {
      return fullContext();
    },
    /** Subscribes to "change" | "stale" | "error"; returns an unsubscribe function. */
    on(event, fn) {
      const set = listeners.get(event);
      if (!set) throw new TypeError(`unknown event: ${event}`);
      set.add(fn);
      return () => set.delete(fn);
    },
    off(event, fn) {
      listeners.get(event)?.delete(fn);
    },
    get stale() {
      return stale;
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
    refresh,
    close() {
      closed = true;
      if (timer) clearInterval(timer);
      timer = null;
      for (const s of listeners.values()) s.clear();
      engine?.free();
      engine = null;
    },
  };
}
