//! What an admin write is checked against, kept per isolate so that a write does not read and
//! compile every flag again (at 10,000 flags that took 477 ms per write; now a few ms).
//!
//! The model is the configuration (flag definitions, overrides) at one config version, known to
//! compile, with its condition cost and who depends on whom. A write, in its transaction:
//! 1. changes rows, then reads back only the changed flags and their overrides;
//! 2. checks that the model is the configuration just before the change: the model's version plus
//!    the versions this transaction's own audit rows took (one per changed row: the audit trigger
//!    bumps the version and writes the row, whose xmin is this transaction) must be the version
//!    now; otherwise (another writer got in, or the isolate has no model yet) the whole
//!    configuration is read and compiled once, as before;
//! 3. compiles, in the engine, the changed flags with everything their validity depends on: the
//!    flags they name as prerequisites, transitively, and the flags that name them, transitively
//!    (with their own prerequisites): unknown flags and variants, cycles, chain depth, overrides,
//!    rules and each flag's condition budget are checked there by the same code as always;
//! 4. checks the snapshot's condition budget by arithmetic: the model's cost minus the changed
//!    flags' old costs plus their new ones (each a one-flag compile).
//! The write answers 400 INVALID_FLAG (the engine's message) when any of it fails, and the
//! transaction rolls back; after the commit, `install` keeps the new model. The serving cache
//! (config.ts) still compiles the whole snapshot when it next loads, and never installs one the
//! engine refuses.
import { HttpError } from "../platform/http.ts";
import type { Queryable, Tx } from "../platform/db.ts";
import { FlagEngine, limits } from "../platform/trimtab.ts";
import {
  type FlagRow,
  loadSnapshot,
  type OverrideRow,
  type Snapshot,
  type SnapshotFlag,
  snapshotFromRows,
  type SnapshotOverride,
} from "./snapshot.ts";

/** The configuration an admin write is checked against. */
export interface FlagsModel {
  readonly version: bigint;
  readonly flags: ReadonlyMap<string, SnapshotFlag>;
  readonly overrides: ReadonlyMap<string, readonly SnapshotOverride[]>;
  /** The condition cost of all flags, in steps. */
  readonly cost: number;
}

/** A change to check: the keys it touched, and their rows as they are now (absent: deleted). */
export interface Change {
  keys: ReadonlySet<string>;
  flags: Map<string, SnapshotFlag>;
  overrides: Map<string, SnapshotOverride[]>;
}

/** Past this many changed flags (a rollback of everything) the whole configuration is compiled. */
const MAX_INCREMENTAL = 64;

let model: FlagsModel | null = null;

/** Forgets the model (tests; a new database). */
export function resetModel(): void {
  model = null;
}

/** Keeps `next` as the model (after its transaction committed). */
export function install(next: FlagsModel): void {
  if (model === null || next.version >= model.version) model = next;
}

const invalidFlag = (e: unknown): HttpError => new HttpError(400, "INVALID_FLAG", String((e as Error)?.message ?? e));

/** Compiles `snapshot`; its condition cost, or 400 INVALID_FLAG with the engine's message. */
function compile(snapshot: Snapshot): number {
  let engine: FlagEngine;
  try {
    engine = new FlagEngine(snapshot);
  } catch (e) {
    if ((e as Error)?.name === "TrimtabError") throw invalidFlag(e);
    throw e;
  }
  const cost = engine.conditionCost;
  engine.free();
  return cost;
}

/** The condition cost of one flag on its own (prerequisites left out: they cost nothing). */
function flagCost(f: SnapshotFlag | undefined): number {
  if (!f || !f.rules?.length) return 0;
  return compile({ version: "0", flags: [{ ...f, prerequisites: undefined }], overrides: [] });
}

/** The keys of flags that name `key` as a prerequisite. */
function prerequisitesOf(f: SnapshotFlag | undefined): string[] {
  return (f?.prerequisites ?? []).map((p) => String((p as { flag?: unknown })?.flag));
}

/** The whole configuration, read in `tx` and compiled: a new model at its version. */
async function fullModel(tx: Tx): Promise<FlagsModel> {
  const snapshot = await loadSnapshot(tx);
  const cost = compile(snapshot);
  const overrides = new Map<string, SnapshotOverride[]>();
  for (const o of snapshot.overrides) overrides.set(o.flag, [...(overrides.get(o.flag) ?? []), o]);
  return { version: BigInt(snapshot.version), flags: new Map(snapshot.flags.map((f) => [f.key, f])), overrides, cost };
}

/** The changed flags' rows and overrides as they are now in `tx`. */
export async function readChange(q: Queryable, keys: Iterable<string>): Promise<Change> {
  const list = [...new Set(keys)];
  const rows = await q.query<FlagRow>("select * from trimtab.feature_flags where key = any($1::text[])", [
    `{${list.map((k) => JSON.stringify(k)).join(",")}}`,
  ]);
  const ovs = await q.query<OverrideRow>(
    "select * from trimtab.user_feature_overrides where flag_key = any($1::text[]) order by flag_key, unit",
    [`{${list.map((k) => JSON.stringify(k)).join(",")}}`],
  );
  const s = snapshotFromRows("0", rows, ovs);
  const overrides = new Map<string, SnapshotOverride[]>(list.map((k) => [k, []]));
  for (const o of s.overrides) overrides.get(o.flag)!.push(o);
  return { keys: new Set(list), flags: new Map(s.flags.map((f) => [f.key, f])), overrides };
}

/** The config version now, and how many of its steps this transaction took (its audit rows). */
async function versions(q: Queryable, since: bigint): Promise<{ now: bigint; mine: bigint }> {
  const [r] = await q.query<{ now: unknown; mine: unknown }>(
    `select (select version from trimtab.flag_config_version where id) as now,
            (select count(distinct config_version) from trimtab.flag_audit_log
              where xmin = pg_current_xact_id()::xid and config_version > $1::text::bigint) as mine`,
    [String(since)],
  );
  return { now: BigInt(String(r.now)), mine: BigInt(String(r.mine)) };
}

/**
 * Checks `change` (already written in `tx`) against the model, or against the whole configuration
 * when the model is not the one just before it; throws 400 INVALID_FLAG. Returns the model after
 * the change, to `install` once the transaction commits.
 */
export async function checkChange(tx: Tx, change: Change): Promise<FlagsModel> {
  const base = model;
  const v = base ? await versions(tx, base.version) : null;
  if (!base || !v || base.version + v.mine !== v.now || change.keys.size > MAX_INCREMENTAL) {
    return await fullModel(tx);
  }
  const flags = new Map(base.flags);
  const overrides = new Map(base.overrides);
  let cost = base.cost;
  for (const k of change.keys) {
    cost += flagCost(change.flags.get(k)) - flagCost(base.flags.get(k));
    const f = change.flags.get(k);
    if (f) flags.set(k, f);
    else flags.delete(k);
    const o = change.overrides.get(k) ?? [];
    if (f && o.length) overrides.set(k, o);
    else overrides.delete(k);
  }
  if (flags.size > base.flags.size && flags.size > limits().maxFlags) {
    throw new HttpError(400, "INVALID_FLAG", `more than ${limits().maxFlags} flags`);
  }
  if (cost > limits().maxSnapshotCost) {
    const k = [...change.keys].join(", ");
    throw new HttpError(
      400,
      "INVALID_FLAG",
      `flag "${k}": its conditions take the snapshot's conditions to ${cost} steps, over the budget of ${limits().maxSnapshotCost}`,
    );
  }
  compile(closure(flags, overrides, change.keys));
  return { version: v.now, flags, overrides, cost };
}

/** The snapshot of `keys`, the flags that depend on them, and every prerequisite of those. */
function closure(
  flags: ReadonlyMap<string, SnapshotFlag>,
  overrides: ReadonlyMap<string, readonly SnapshotOverride[]>,
  keys: ReadonlySet<string>,
): Snapshot {
  // Dependents, transitively (a deleted or changed flag may break them).
  const dependents = new Map<string, string[]>();
  for (const f of flags.values()) {
    for (const p of prerequisitesOf(f)) dependents.set(p, [...(dependents.get(p) ?? []), f.key]);
  }
  const picked = new Set<string>();
  const up = [...keys];
  while (up.length) {
    const k = up.pop()!;
    for (const d of dependents.get(k) ?? []) if (!picked.has(d)) picked.add(d), up.push(d);
    if (flags.has(k)) picked.add(k);
  }
  // Prerequisites of everything picked, transitively (unknown ones stay unknown: the engine says so).
  const down = [...picked];
  while (down.length) {
    for (const p of prerequisitesOf(flags.get(down.pop()!))) {
      if (flags.has(p) && !picked.has(p)) picked.add(p), down.push(p);
    }
  }
  const out = [...picked].sort().map((k) => flags.get(k)!);
  return { version: "0", flags: out, overrides: out.flatMap((f) => [...(overrides.get(f.key) ?? [])]) };
}

/** The flags that name `key` as a prerequisite (for the client-visibility check). */
export function dependentsOf(m: FlagsModel, key: string): SnapshotFlag[] {
  return [...m.flags.values()].filter((f) => prerequisitesOf(f).includes(key));
}
