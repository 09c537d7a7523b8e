//! The flag snapshot of the design (docs/design.md, "Snapshot format") read from the tables:
//! `snapshotFromRows` turns trimtab.feature_flags and trimtab.user_feature_overrides rows into it,
//! `loadSnapshot` reads them in one transaction.
import type { Db, Queryable, Tx } from "../platform/db.ts";

export interface FlagRow {
  key: string;
  enabled: boolean;
  admin_override: string | null;
  rollout_percentage: string | number;
  salt: string | null;
  stickiness: string | null;
  rules: unknown[] | string | null;
  variants: unknown[] | string | null;
  prerequisites: unknown[] | string | null;
  stages: (string | number)[] | null;
  schedule: unknown[] | string | null;
  client_visible: boolean;
  [k: string]: unknown;
}

export interface OverrideRow {
  flag_key: string;
  unit: string;
  enabled: boolean;
  variant: string | null;
  expires_at: Date | string | null;
  reason: string | null;
  [k: string]: unknown;
}

export interface SnapshotFlag {
  key: string;
  enabled: boolean;
  adminOverride: "on" | "off" | null;
  rollout: number;
  salt?: string;
  stickiness?: string;
  rules?: unknown[];
  variants?: unknown[];
  prerequisites?: unknown[];
  stages?: number[];
  schedule?: unknown[];
  clientVisible: boolean;
}

export interface SnapshotOverride {
  flag: string;
  unit: string;
  enabled: boolean;
  variant?: string;
  expiresAt?: string;
  reason?: string;
}

export interface Snapshot {
  version: string;
  flags: SnapshotFlag[];
  overrides: SnapshotOverride[];
}

const json = (v: unknown): unknown[] | undefined => {
  if (v === null || v === undefined) return undefined;
  const parsed = typeof v === "string" ? JSON.parse(v) : v;
  return Array.isArray(parsed) ? parsed : undefined;
};

const iso = (v: Date | string | null): string | undefined => {
  if (v === null || v === undefined) return undefined;
  const d = v instanceof Date ? v : new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
};

/**
 * Turns feature_flags and user_feature_overrides rows into the design's snapshot JSON.
 * Options: `clientOnly` keeps only client_visible flags (the browser snapshot); `now` drops
 * overrides expired at that time; overrides of flags not in the snapshot are always dropped
 * (the engine rejects overrides of unknown flags).
 */
export function snapshotFromRows(
  version: string | number | bigint,
  flags: FlagRow[],
  overrides: OverrideRow[] = [],
  opts: { clientOnly?: boolean; now?: Date } = {},
): Snapshot {
  const out: SnapshotFlag[] = [];
  for (const r of flags) {
    if (opts.clientOnly && !r.client_visible) continue;
    const f: SnapshotFlag = {
      key: r.key,
      enabled: Boolean(r.enabled),
      adminOverride: r.admin_override === "on" || r.admin_override === "off" ? r.admin_override : null,
      rollout: Number(r.rollout_percentage),
      clientVisible: Boolean(r.client_visible),
    };
    if (r.salt) f.salt = r.salt;
    if (r.stickiness && r.stickiness !== "userId") f.stickiness = r.stickiness;
    const rules = json(r.rules), variants = json(r.variants), prereq = json(r.prerequisites), sched = json(r.schedule);
    if (rules) f.rules = rules;
    if (variants) f.variants = variants;
    if (prereq) f.prerequisites = prereq;
    if (r.stages) f.stages = r.stages.map(Number);
    if (sched) f.schedule = sched;
    out.push(f);
  }
  out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const keys = new Set(out.map((f) => f.key));
  const now = opts.now?.getTime();
  const ovs: SnapshotOverride[] = [];
  for (const o of overrides) {
    if (!keys.has(o.flag_key)) continue;
    const expiresAt = iso(o.expires_at);
    if (now !== undefined && expiresAt && Date.parse(expiresAt) <= now) continue;
    const s: SnapshotOverride = { flag: o.flag_key, unit: o.unit, enabled: Boolean(o.enabled) };
    if (o.variant) s.variant = o.variant;
    if (expiresAt) s.expiresAt = expiresAt;
    if (o.reason) s.reason = o.reason;
    ovs.push(s);
  }
  return { version: String(version), flags: out, overrides: ovs };
}

/** Reads the whole snapshot. Given a Db, in one new transaction (a consistent version) as the
 *  connecting role; given a Tx (e.g. inside asUser), in that transaction, so RLS applies. */
export async function loadSnapshot(
  src: Db | Tx,
  opts: { clientOnly?: boolean; now?: Date; unit?: string } = {},
): Promise<Snapshot> {
  const read = async (q: Queryable) => {
    const [v] = await q.query<{ version: unknown }>("select version from trimtab.flag_config_version where id");
    const flags = await q.query<FlagRow>("select * from trimtab.feature_flags order by key");
    const overrides = opts.unit === undefined
      ? await q.query<OverrideRow>("select * from trimtab.user_feature_overrides order by flag_key, unit")
      : await q.query<OverrideRow>("select * from trimtab.user_feature_overrides where unit = $1 order by flag_key", [
        opts.unit,
      ]);
    return snapshotFromRows(String(v?.version ?? "0"), flags, overrides, opts);
  };
  return "tx" in src ? await src.tx(read) : await read(src);
}
