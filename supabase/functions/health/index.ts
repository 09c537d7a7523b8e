// `health`: is the database reachable, how old is the flag snapshot this isolate serves, which
// version runs. 200 when the database answers and a snapshot is loaded, else 503 (same body).
// Needs no token (verify_jwt = false); it reveals no flag names, no SQL and no error text.
import { configStatus, currentConfig } from "../_shared/flags/config.ts";
import { allowMethods, handle, json, serve } from "../_shared/platform/http.ts";
import { getDb } from "../_shared/platform/store.ts";
import { bucket } from "../_shared/platform/trimtab.ts";
import { VERSION } from "../_shared/platform/version.ts";

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

const handler = handle(async (req) => {
  const bad = allowMethods(req, ["GET"]);
  if (bad) return bad;
  const db = await probe();
  await currentConfig().catch(() => null); // loads or refreshes the snapshot; its state is below
  const s = configStatus();
  const snapshot = { version: s.version, flags: s.flags, ageMs: s.ageMs, stale: s.stale };
  const wasm = bucket("a", "b") === 81548;
  const ok = db.reachable && s.version !== null && wasm;
  return json(ok ? 200 : 503, { ok, version: VERSION, wasm, db, snapshot });
}, { name: "health" });

export default handler;
serve(handler);
