//! The `health` function's report (its index.ts routes here): is the database reachable, how old
//! is the flag snapshot this isolate serves, does the Wasm answer, which version runs. 200 when all
//! hold, else 503, with the same body; no flag names, SQL or error text.
import { json } from "../platform/http.ts";
import { getDb } from "../platform/store.ts";
import { bucket } from "../platform/trimtab.ts";
import { VERSION } from "../platform/version.ts";
import { configStatus, currentConfig } from "./config.ts";

const PROBE_TIMEOUT_MS = 1000;

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

/** The health answer. */
export async function healthReport(): Promise<Response> {
  const db = await probe();
  await currentConfig().catch(() => null); // loads or refreshes the snapshot; its state is below
  const s = configStatus();
  const snapshot = { version: s.version, flags: s.flags, ageMs: s.ageMs, stale: s.stale };
  const wasm = bucket("a", "b") === 81548;
  const ok = db.reachable && s.version !== null && wasm;
  return json(ok ? 200 : 503, { ok, version: VERSION, wasm, db, snapshot });
}
