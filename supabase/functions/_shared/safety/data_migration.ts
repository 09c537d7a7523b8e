//! Data migrations in tracked batches: copies the rows of a source table into a target table,
//! `batchSize` rows at a time in source id order, each batch one transaction that also moves the
//! run's cursor (trimtab.migration_runs), so a run stopped anywhere (stopRun, a crash, a killed
//! process) resumes after its last committed batch and never copies a row twice. The same code runs
//! from the CLI (scripts/migrate-data.ts) and the admin edge function `data-migrations`.
//!
//! - **Idempotent by source id.** A copied row carries `metadata = { migration, original_id, run }`;
//!   the target's unique index on (metadata->>'migration', metadata->>'original_id') makes every
//!   insert `on conflict do nothing`. A row already there and equal is counted `unchanged`; one
//!   that differs (the source changed since) is **backed up** (trimtab.migration_backups, the row as
//!   it was) and overwritten, counted `overwritten`.
//! - **Validation** at the end (and on demand): the source's row count and checksum against the
//!   target rows of this migration. The checksum is the sum of the first 48 bits of md5 of each
//!   row's mapped columns as text, so order does not matter and both sides compare the same values.
//!   Equal: status `completed`, `validated`; else `failed` with both counts and checksums.
//! - **Rollback** of a run (the latest of its migration not rolled back; else 409 ROLLBACK_ORDER):
//!   deletes the rows it inserted and restores the rows it overwrote from their backups.
//! - A batch that fails stops the run (status `stopped`, the error's SQLSTATE kept): fix the cause
//!   and start again to resume. At most one run per migration is running or stopped at a time.
//!
//! A spec names trusted SQL (code, never input): the tables, the id columns and, per target
//! column, an expression over the source row `s` cast to the column's type.
import type { Db, Queryable } from "../platform/db.ts";
import { HttpError } from "../platform/http.ts";
import { log } from "../platform/log.ts";

export interface DataMigrationSpec {
  /** `[a-z][a-z0-9_]{0,62}`. */
  name: string;
  description: string;
  /** Schema-qualified source table and its integer id column. */
  source: { table: string; id: string };
  /** Schema-qualified target table (with a `metadata jsonb` column and the unique index above)
   *  and its primary key column. */
  target: { table: string; id: string };
  /** Target column -> SQL expression over the source row `s`, cast to the column's type. */
  columns: Record<string, string>;
}

export type RunStatus = "running" | "stopped" | "completed" | "failed" | "rolled_back";

export interface MigrationRun {
  id: number;
  migration: string;
  sourceTable: string;
  targetTable: string;
  batchSize: number;
  status: RunStatus;
  cursor: string | null;
  batches: number;
  copied: number;
  overwritten: number;
  unchanged: number;
  sourceCount: number | null;
  targetCount: number | null;
  sourceChecksum: string | null;
  targetChecksum: string | null;
  validated: boolean;
  error: string | null;
  startedBy: string | null;
  startedAt: string;
  heartbeatAt: string;
  finishedAt: string | null;
  rolledBackAt: string | null;
}

const NAME = /^[a-z][a-z0-9_]{0,62}$/;
const TABLE = /^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$/;
const COLUMN = /^[a-z_][a-z0-9_]*$/;

/** Refuses a spec whose names are not plain identifiers. */
export function checkSpec(spec: DataMigrationSpec): DataMigrationSpec {
  const cols = Object.keys(spec.columns);
  const ok = NAME.test(spec.name) && TABLE.test(spec.source.table) && TABLE.test(spec.target.table) &&
    COLUMN.test(spec.source.id) && COLUMN.test(spec.target.id) && cols.length > 0 &&
    cols.every((c) => COLUMN.test(c) && c !== "metadata" && c !== spec.target.id);
  if (!ok) throw new TypeError(`data migration spec "${spec.name}" names something that is not a plain identifier`);
  return spec;
}

const iso = (v: unknown) => v === null || v === undefined ? null : new Date(v as string).toISOString();
const num = (v: unknown) => v === null || v === undefined ? null : Number(v);

function runOf(r: Record<string, unknown>): MigrationRun {
  return {
    id: Number(r.id),
    migration: String(r.migration),
    sourceTable: String(r.source_table),
    targetTable: String(r.target_table),
    batchSize: Number(r.batch_size),
    status: String(r.status) as RunStatus,
    cursor: r.cursor === null ? null : String(r.cursor),
    batches: Number(r.batches),
    copied: Number(r.copied),
    overwritten: Number(r.overwritten),
    unchanged: Number(r.unchanged),
    sourceCount: num(r.source_count),
    targetCount: num(r.target_count),
    sourceChecksum: r.source_checksum === null ? null : String(r.source_checksum),
    targetChecksum: r.target_checksum === null ? null : String(r.target_checksum),
    validated: r.validated === true,
    error: r.error === null ? null : String(r.error),
    startedBy: r.started_by === null ? null : String(r.started_by),
    startedAt: iso(r.started_at)!,
    heartbeatAt: iso(r.heartbeat_at)!,
    finishedAt: iso(r.finished_at),
    rolledBackAt: iso(r.rolled_back_at),
  };
}

const fail = (status: number, code: string, message: string) => new HttpError(status, code, message);

/** One run (404 UNKNOWN_RUN). */
export async function getRun(q: Queryable, id: number): Promise<MigrationRun> {
  const [r] = await q.query<Record<string, unknown>>("select * from trimtab.migration_runs where id = $1", [id]);
  if (!r) throw fail(404, "UNKNOWN_RUN", `no data migration run ${id}`);
  return runOf(r);
}

/** Runs, newest first (of one migration when named). */
export async function listRuns(q: Queryable, migration: string | null, limit = 50): Promise<MigrationRun[]> {
  const rows = await q.query<Record<string, unknown>>(
    `select * from trimtab.migration_runs where $1::text is null or migration = $1 order by id desc limit $2`,
    [migration, limit],
  );
  return rows.map(runOf);
}

/** The migration's running or stopped run, resumed (status running), else a new one. */
export async function startRun(
  db: Db,
  spec: DataMigrationSpec,
  o: { batchSize: number; actor?: string },
): Promise<MigrationRun> {
  checkSpec(spec);
  if (!Number.isSafeInteger(o.batchSize) || o.batchSize < 1 || o.batchSize > 50_000) {
    throw fail(400, "INVALID_INPUT", "batchSize must be an integer from 1 to 50000");
  }
  for (let attempt = 0; attempt < 2; attempt++) {
    const [active] = await db.query<Record<string, unknown>>(
      `update trimtab.migration_runs set status = 'running', batch_size = $2, error = null, heartbeat_at = now()
        where migration = $1 and status in ('running', 'stopped') returning *`,
      [spec.name, o.batchSize],
    );
    if (active) return runOf(active);
    try {
      const [created] = await db.query<Record<string, unknown>>(
        `insert into trimtab.migration_runs (migration, source_table, target_table, batch_size, started_by)
         values ($1, $2, $3, $4, $5) returning *`,
        [spec.name, spec.source.table, spec.target.table, o.batchSize, o.actor ?? null],
      );
      return runOf(created);
    } catch (e) {
      if ((e as { code?: unknown })?.code !== "23505") throw e; // another process started one: resume it
    }
  }
  throw fail(409, "RUN_CONFLICT", `data migration ${spec.name} is being started elsewhere`);
}

function batchSql(spec: DataMigrationSpec): string {
  const cols = Object.keys(spec.columns);
  const S = spec.source.table, SID = spec.source.id, T = spec.target.table, TID = spec.target.id;
  const list = (p: string) => cols.map((c) => `${p}${c}`).join(", ");
  return `
with src as (
  select s.${SID} as _oid, ${cols.map((c) => `${spec.columns[c]} as ${c}`).join(", ")}
    from ${S} s where $1::bigint is null or s.${SID} > $1::bigint order by s.${SID} limit $2
),
changed as (
  select t.${TID} as _tid, to_jsonb(t) as _before, src.*
    from src join ${T} t on (t.metadata ->> 'migration') = $3 and (t.metadata ->> 'original_id') = src._oid::text
   where (${list("t.")}) is distinct from (${list("src.")})
),
backup as (
  insert into trimtab.migration_backups (run_id, target_table, target_id, original_id, row)
  select $4, $5, _tid::text, _oid::text, _before from changed returning 1
),
upd as (
  update ${T} t set ${cols.map((c) => `${c} = changed.${c}`).join(", ")},
         metadata = t.metadata || jsonb_build_object('overwritten_by', $4::bigint)
    from changed where t.${TID} = changed._tid returning 1
),
ins as (
  insert into ${T} (${list("")}, metadata)
  select ${list("")}, jsonb_build_object('migration', $3::text, 'original_id', _oid::text, 'run', $4::bigint) from src
  on conflict ((metadata ->> 'migration'), (metadata ->> 'original_id')) where (metadata ->> 'original_id') is not null
  do nothing returning 1
)
select (select count(*) from src) as n, (select max(_oid) from src)::text as last,
       (select count(*) from ins) as inserted, (select count(*) from upd) as updated,
       (select count(*) from backup) as backed_up`;
}

/** Copies the next batch of the run (one transaction, the run row locked); `n` 0 when no rows
 *  are left; null when the run is no longer running (stopped elsewhere). */
export async function runBatch(
  db: Db,
  spec: DataMigrationSpec,
  runId: number,
): Promise<{ n: number; inserted: number; updated: number; last: string | null } | null> {
  return await db.tx(async (tx) => {
    const [run] = await tx.query<Record<string, unknown>>(
      "select status, cursor, batch_size from trimtab.migration_runs where id = $1 for update",
      [runId],
    );
    if (!run) throw fail(404, "UNKNOWN_RUN", `no data migration run ${runId}`);
    if (run.status !== "running") return null;
    const [r] = await tx.query<Record<string, unknown>>(batchSql(spec), [
      run.cursor === null ? null : String(run.cursor),
      Number(run.batch_size),
      spec.name,
      runId,
      spec.target.table,
    ]);
    const n = Number(r.n), inserted = Number(r.inserted), updated = Number(r.updated);
    const last = r.last === null ? null : String(r.last);
    if (n > 0) {
      await tx.query(
        `update trimtab.migration_runs set cursor = $2::bigint, batches = batches + 1, copied = copied + $3,
           overwritten = overwritten + $4, unchanged = unchanged + $5, heartbeat_at = now() where id = $1`,
        [runId, last, inserted, updated, n - inserted - updated],
      );
    }
    return { n, inserted, updated, last };
  });
}

function checksumSql(spec: DataMigrationSpec, side: "source" | "target"): string {
  const cols = Object.keys(spec.columns);
  const from = side === "source"
    ? `(select ${cols.map((c) => `${spec.columns[c]} as ${c}`).join(", ")} from ${spec.source.table} s) q`
    : `(select ${cols.join(", ")} from ${spec.target.table} t where (t.metadata ->> 'migration') = $1) q`;
  return `select count(*) as n,
    coalesce(sum(('x' || substr(md5(row(${
    cols.map((c) => `q.${c}`).join(", ")
  })::text), 1, 12))::bit(48)::bigint), 0)::text
      as checksum
    from ${from}`;
}

/** Compares the source with the target rows of this migration (counts and checksums) and
 *  records the outcome: `completed` + validated when equal, else `failed`. */
export async function validateRun(db: Db, spec: DataMigrationSpec, runId: number): Promise<MigrationRun> {
  const run = await getRun(db, runId);
  if (run.migration !== spec.name) throw fail(409, "WRONG_MIGRATION", `run ${runId} is not of ${spec.name}`);
  if (run.status === "rolled_back") throw fail(409, "RUN_ROLLED_BACK", `run ${runId} was rolled back`);
  const [src] = await db.query<{ n: unknown; checksum: unknown }>(checksumSql(spec, "source"));
  const [dst] = await db.query<{ n: unknown; checksum: unknown }>(checksumSql(spec, "target"), [spec.name]);
  const ok = Number(src.n) === Number(dst.n) && String(src.checksum) === String(dst.checksum);
  const [r] = await db.query<Record<string, unknown>>(
    `update trimtab.migration_runs set source_count = $2, target_count = $3, source_checksum = $4,
       target_checksum = $5, validated = $6, status = case when $6 then 'completed' else 'failed' end,
       error = case when $6 then null else 'VALIDATION_FAILED: counts or checksums differ' end,
       finished_at = now(), heartbeat_at = now()
     where id = $1 returning *`,
    [runId, Number(src.n), Number(dst.n), String(src.checksum), String(dst.checksum), ok],
  );
  log.info(ok ? "data migration validated" : "data migration validation failed", {
    migration: spec.name,
    run: runId,
    source: Number(src.n),
    target: Number(dst.n),
  });
  return runOf(r);
}

export interface RunOptions {
  /** Stop after this many batches (the run stays running: call again to go on). */
  maxBatches?: number;
  /** Stop after this epoch-ms moment (checked between batches). */
  deadline?: number;
  /** Pause between batches (ms): spares a busy database. */
  throttleMs?: number;
  /** Aborted: stop before the next batch (the run stays running: stop it or resume it). */
  signal?: AbortSignal;
  /** After each batch (progress reports). */
  onBatch?(b: { n: number; inserted: number; updated: number; last: string | null }): void;
}

/** Runs batches of a run until no rows are left (then validates), it is stopped, or a limit of
 *  `o` is reached. A failing batch stops the run with its SQLSTATE and throws. */
export async function continueRun(
  db: Db,
  spec: DataMigrationSpec,
  runId: number,
  o: RunOptions = {},
): Promise<{ run: MigrationRun; done: boolean }> {
  for (let i = 0; o.maxBatches === undefined || i < o.maxBatches; i++) {
    if (o.deadline !== undefined && Date.now() >= o.deadline) break;
    if (o.signal?.aborted) break;
    let b;
    try {
      b = await runBatch(db, spec, runId);
    } catch (e) {
      if (e instanceof HttpError) throw e;
      const sqlstate = String((e as { code?: unknown })?.code ?? "").slice(0, 5);
      log.error("data migration batch failed: run stopped", { migration: spec.name, run: runId, err: e });
      await db.query(
        "update trimtab.migration_runs set status = 'stopped', error = $2, heartbeat_at = now() where id = $1",
        [runId, `BATCH_FAILED: ${/^[0-9A-Z]{5}$/.test(sqlstate) ? `SQLSTATE ${sqlstate}` : "error"}`],
      );
      throw fail(500, "BATCH_FAILED", `a batch of run ${runId} failed; the run is stopped (see its error)`);
    }
    if (b === null) return { run: await getRun(db, runId), done: false };
    o.onBatch?.(b);
    if (b.n === 0) return { run: await validateRun(db, spec, runId), done: true };
    if (o.throttleMs) await new Promise((r) => setTimeout(r, o.throttleMs));
  }
  return { run: await getRun(db, runId), done: false };
}

/** Stops a running run after its current batch (409 RUN_NOT_ACTIVE when it is not running). */
export async function stopRun(db: Db, runId: number): Promise<MigrationRun> {
  const [r] = await db.query<Record<string, unknown>>(
    "update trimtab.migration_runs set status = 'stopped', heartbeat_at = now() where id = $1 and status = 'running' returning *",
    [runId],
  );
  if (r) return runOf(r);
  const run = await getRun(db, runId);
  throw fail(409, "RUN_NOT_ACTIVE", `run ${runId} is ${run.status}`);
}

/** Rolls a run back: deletes the rows it inserted, restores the rows it overwrote. */
export async function rollbackRun(
  db: Db,
  spec: DataMigrationSpec,
  runId: number,
  actor: string,
): Promise<{ run: MigrationRun; restored: number; deleted: number }> {
  const cols = Object.keys(spec.columns);
  const T = spec.target.table, TID = spec.target.id;
  const out = await db.tx(async (tx) => {
    const [run] = await tx.query<Record<string, unknown>>(
      "select * from trimtab.migration_runs where id = $1 for update",
      [runId],
    );
    if (!run) throw fail(404, "UNKNOWN_RUN", `no data migration run ${runId}`);
    if (run.migration !== spec.name) throw fail(409, "WRONG_MIGRATION", `run ${runId} is not of ${spec.name}`);
    if (run.status === "rolled_back") throw fail(409, "RUN_ROLLED_BACK", `run ${runId} was rolled back already`);
    const later = await tx.query(
      "select id from trimtab.migration_runs where migration = $1 and id > $2 and status <> 'rolled_back' limit 1",
      [spec.name, runId],
    );
    if (later.length) throw fail(409, "ROLLBACK_ORDER", `roll back the later runs of ${spec.name} first`);
    const [restored] = await tx.query<{ n: unknown }>(
      `with r as (
         update ${T} t set (${cols.join(", ")}, metadata) =
           (select ${cols.map((c) => `p.${c}`).join(", ")}, p.metadata from jsonb_populate_record(null::${T}, b.row) p)
           from trimtab.migration_backups b where b.run_id = $1 and b.target_table = $2 and t.${TID}::text = b.target_id
         returning 1)
       select count(*) as n from r`,
      [runId, T],
    );
    const [deleted] = await tx.query<{ n: unknown }>(
      `with d as (delete from ${T} t where (t.metadata ->> 'migration') = $1 and (t.metadata ->> 'run') = $2 returning 1)
       select count(*) as n from d`,
      [spec.name, String(runId)],
    );
    const [r] = await tx.query<Record<string, unknown>>(
      `update trimtab.migration_runs set status = 'rolled_back', rolled_back_at = now(), rolled_back_by = $2,
         validated = false, heartbeat_at = now() where id = $1 returning *`,
      [runId, actor.slice(0, 200)],
    );
    return { run: runOf(r), restored: Number(restored.n), deleted: Number(deleted.n) };
  });
  log.info("data migration run rolled back", {
    migration: spec.name,
    run: runId,
    restored: out.restored,
    deleted: out.deleted,
  });
  return out;
}
