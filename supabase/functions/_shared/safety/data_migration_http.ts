//! The `data-migrations` edge function's routes (admin or service role), over the same runner as
//! the CLI (data_migration.ts):
//!   GET  /data-migrations                      -> { migrations: [{ name, description, source, target, runs }] }
//!   GET  /data-migrations/runs[?migration=&limit=]  -> { runs }, newest first
//!   GET  /data-migrations/runs/<id>            -> { run }
//!   POST /data-migrations/<name>/run           { batchSize?, maxBatches? } -> { run, done }: starts
//!        the migration or resumes its running / stopped run, and works through batches for at
//!        most TRIMTAB_DATA_MIGRATION_BUDGET_MS (20 s) before answering; call again to go on
//!        (`done` once the last batch ran and the run was validated)
//!   POST /data-migrations/runs/<id>/stop | /validate | /rollback  -> { run } (rollback: { run, restored, deleted })
//! Errors: 404 UNKNOWN_MIGRATION / UNKNOWN_RUN, 409 RUN_NOT_ACTIVE / ROLLBACK_ORDER /
//! RUN_ROLLED_BACK, 400 INVALID_INPUT / UNKNOWN_FIELD, 500 BATCH_FAILED (the run is stopped).
import { requireAdmin } from "../platform/auth.ts";
import { envPositive } from "../platform/env.ts";
import { allowMethods, type CtxHandler, HttpError, json, readJson } from "../platform/http.ts";
import { getDb } from "../platform/store.ts";
import {
  continueRun,
  type DataMigrationSpec,
  getRun,
  listRuns,
  rollbackRun,
  startRun,
  stopRun,
  validateRun,
} from "./data_migration.ts";

const bad = (message: string) => new HttpError(400, "INVALID_INPUT", message);

function intParam(v: unknown, name: string, min: number, max: number): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min || v > max) {
    throw bad(`${name} must be an integer from ${min} to ${max}`);
  }
  return v;
}

async function body(req: Request, allowed: string[]): Promise<Record<string, unknown>> {
  // An absent or empty body is {} (a POST to an action route need not send one).
  const r = await readJson<Record<string, unknown>>(req, 4096, { optional: true });
  if (!r.ok) throw new HttpError(r.response.status, "BAD_JSON", "request body must be a JSON object");
  const b = r.value ?? {};
  if (!b || typeof b !== "object" || Array.isArray(b)) throw bad("request body must be a JSON object");
  for (const k of Object.keys(b)) {
    if (!allowed.includes(k)) throw new HttpError(400, "UNKNOWN_FIELD", `unknown field "${k.slice(0, 40)}"`);
  }
  return b;
}

/** The routes over `specs` (name -> spec). */
export function dataMigrationRoutes(specs: ReadonlyMap<string, DataMigrationSpec>): CtxHandler {
  const specOf = (name: string) => {
    const s = specs.get(name);
    if (!s) throw new HttpError(404, "UNKNOWN_MIGRATION", `no data migration named "${name.slice(0, 64)}"`);
    return s;
  };
  return async (req) => {
    const parts = new URL(req.url).pathname.split("/").filter(Boolean);
    if (parts[0] !== "data-migrations" || parts.length > 4) throw new HttpError(404, "NOT_FOUND", "no such route");
    const p = parts.slice(1);
    const route = (methods: string[]) => allowMethods(req, methods);
    const refused = route(p.length === 0 || (p[0] === "runs" && p.length <= 2) ? ["GET"] : ["POST"]);
    if (refused) return refused;
    const caller = await requireAdmin(req);
    const db = await getDb();
    const url = new URL(req.url);

    if (p.length === 0) {
      const migrations = [];
      for (const s of specs.values()) {
        migrations.push({
          name: s.name,
          description: s.description,
          source: s.source.table,
          target: s.target.table,
          runs: await listRuns(db, s.name, 5),
        });
      }
      return json(200, { migrations });
    }
    if (p[0] === "runs" && p.length === 1) {
      const m = url.searchParams.get("migration");
      const limitText = url.searchParams.get("limit") ?? "50";
      if (!/^\d{1,3}$/.test(limitText) || Number(limitText) < 1 || Number(limitText) > 500) {
        throw bad("limit must be an integer from 1 to 500");
      }
      if (m !== null) specOf(m);
      return json(200, { runs: await listRuns(db, m, Number(limitText)) });
    }
    if (p[0] === "runs") {
      if (!/^\d{1,15}$/.test(p[1])) throw bad("a run id is a positive integer");
      const id = Number(p[1]);
      if (p.length === 2) return json(200, { run: await getRun(db, id) });
      const run = await getRun(db, id);
      const spec = specOf(run.migration);
      await body(req, ["reason"]);
      switch (p[2]) {
        case "stop":
          return json(200, { run: await stopRun(db, id) });
        case "validate":
          return json(200, { run: await validateRun(db, spec, id) });
        case "rollback":
          return json(200, await rollbackRun(db, spec, id, caller.actor));
      }
      throw new HttpError(404, "NOT_FOUND", "no such route");
    }
    if (p.length === 2 && p[1] === "run") {
      const spec = specOf(p[0]);
      const b = await body(req, ["batchSize", "maxBatches"]);
      const batchSize = intParam(b.batchSize, "batchSize", 1, 50_000) ??
        envPositive("TRIMTAB_DATA_MIGRATION_BATCH", { integer: true });
      const maxBatches = intParam(b.maxBatches, "maxBatches", 1, 100_000);
      const run = await startRun(db, spec, { batchSize: Math.min(batchSize, 50_000), actor: caller.actor });
      const out = await continueRun(db, spec, run.id, {
        maxBatches,
        deadline: Date.now() + envPositive("TRIMTAB_DATA_MIGRATION_BUDGET_MS"),
      });
      return json(200, out);
    }
    throw new HttpError(404, "NOT_FOUND", "no such route");
  };
}
