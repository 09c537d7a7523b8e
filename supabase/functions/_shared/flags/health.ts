//! The `health` function's report (its index.ts routes here): is the database reachable, how old
//! is the flag snapshot this isolate serves, does the Wasm answer, which version runs. 200 when all
//! hold, else 503, with the same body; no flag names, SQL or error text.
import { json } from "../platform/http.ts";
import { getDb } from "../platform/store.ts";
import { bucket } from "../platform/trimtab.ts";
import { VERSION } from "../platform/version.ts";
import { configStatus, currentConfig } from "./config.ts";

const PROBE_TIMEOUT_MS = 800;

async function probe(): Promise<{ kind: string | null; reachable: boolean; ms: number; error?: string }> {
  const start = performance.now();
  let kind: string | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error("timeout"), { code: "DB_TIMEOUT" })), PROBE_TIMEOUT_MS);
    });
    await Promise.race([
      (async () => {
        const db = await getDb();
        kind = db.kind;
        await db.query("select 1 as ok");
      })(),
      timeout,
    ]);
    return { kind, reachable: true, ms: round(performance.now() - start) };
  } catch (e) {
    const code = (e as { code?: unknown })?.code;
    const error = typeof code === "string" && /^[A-Z0-9_]{2,40}$/.test(code) ? code : "DB_UNAVAILABLE";
    return { kind, reachable: false, ms: round(performance.now() - start), error };
  } finally {
    clearTimeout(timer);
  }
}

const round = (ms: number) => Math.round(ms * 10) / 10;

/** The health answer, within about PROBE_TIMEOUT_MS whatever the database does: the probe and
 *  the snapshot refresh run side by side, and neither is waited for longer than that. A database
 *  that does not answer `select 1` in time (down, or an embedded one that is stuck) is a 503. */
export async function healthReport(): Promise<Response> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), PROBE_TIMEOUT_MS)));
  const [db] = await Promise.all([
    probe(),
    // Loads or refreshes the snapshot (its state is below); keeps going in the background.
    Promise.race([currentConfig().catch(() => null), deadline]),
  ]).finally(() => clearTimeout(timer));
  const s = configStatus();
  const snapshot = { version: s.version, flags: s.flags, ageMs: s.ageMs, stale: s.stale };
  const wasm = bucket("a", "b") === 81548;
  const ok = db.reachable && s.version !== null && wasm;
  return json(ok ? 200 : 503, { ok, version: VERSION, wasm, db, snapshot });
}
