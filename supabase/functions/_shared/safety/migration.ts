//! safeMigration: moves any edge code path from an old implementation to a new one under a flag,
//! with the safety loop around it. The agent's LLM pipeline (agent/agent.ts) and the memory
//! example (examples/memory.ts) both run on it.
//!
//! ```ts
//! const recall = safeMigration<RecallInput, MemoryContext>({
//!   flag: "memory_v2_enabled", feature: "memory_recall",
//!   old: (input, ctx) => readChatMemories(ctx.db, input),
//!   new: (input, ctx) => readConversation(ctx, input),   // ctx.shadow, ctx.effects, ctx.db
//!   timeoutMs: 2000,
//! });
//! const r = await recall.run(input, { unit: userId, correlationId, db, log });
//! r.value; r.path;     // "old" | "new": who served
//! r.fallback;          // the new path's error code when it failed and the old one served
//! ```
//!
//! **Which path, per unit** (`decide`): `forceOld(unit)` returning a reason sends the unit to the
//! old path (`why` = that reason, never shadowed). Otherwise the flag is evaluated for
//! `{ userId: unit, ...context }` (without a configuration: old, `why: "no_config"`):
//! - on, with the variant `"shadow"`: the old path serves and the new one runs in shadow;
//! - on, any other variant or none: the new path serves;
//! - off (or no such flag): the old path serves (`why: "flag"`), shadowed when the companion
//!   `shadow.flag` is on for the unit (when that flag exists), else for a `shadow.sample` share
//!   (0..1) of the calls.
//!
//! **Fallback.** An error or a timeout (`timeoutMs`) of the new path serves the old one for that
//! call (`fallback` = the error's code; `MIGRATION_TIMEOUT` for a timeout) and logs a warning with
//! the correlation id. Not once the new path has started an effect (`ctx.effects.run`): the old
//! path would repeat it, so that error is thrown (and a timed-out new path may start no effect
//! after the timeout: its gate closes, `ctx.signal` aborts). An error of the old path is thrown.
//!
//! **Shadow.** The new path runs after the old one served, in the background (shadow.ts), with
//! `ctx.shadow = true`, an effect gate that runs nothing (`ctx.effects.run` returns undefined and
//! counts what it skipped) and a database whose every statement runs in a READ ONLY transaction
//! (a write fails in Postgres itself). Its output is compared with the old one (`compare`,
//! default the core's outputSimilarity) into shadow_comparisons, with `shadowDetails`.
//!
//! **Usage rows** (ai_usage_logs, never throwing): one per path run, served or shadow, with the
//! flag, `feature`, pipeline old | new, latency, status ok | error | timeout | rejected, the error
//! code, the fallback mark, cost (`cost(output)` or what the path reported), the unit's bucket
//! (adoption without identifiers) and anything the implementation reported through
//! `ctx.usage({ provider, model, tokensIn, tokensOut, costUsd, cached, piiLeak, promptVariant })`;
//! `ctx.usage({ skipRow: true })` says the run made no attempt (an open circuit breaker): no row.
//! The guard reads these rows per flag: a new path that fails rolls its flag back like the agent's.
import { currentConfig } from "../flags/config.ts";
import type { Db, Tx } from "../platform/db.ts";
import type { Logger } from "../platform/log.ts";
import * as core from "../platform/trimtab.ts";
import { defaultSimilarity, errorCodeOf, startShadow } from "./shadow.ts";
import { recordUsage, type UsageRow, type UsageStatus } from "./usage.ts";

/** The flag variant that means "run the new path in shadow only". */
export const SHADOW_VARIANT = "shadow";

/** What an implementation may add to its usage row. */
export interface UsageDetails {
  provider?: string;
  model?: string;
  promptVariant?: string | null;
  tokensIn?: number;
  tokensOut?: number;
  costUsd?: number;
  cached?: boolean;
  piiLeak?: boolean;
  /** The run made no attempt (e.g. an open circuit breaker refused it): write no usage row. */
  skipRow?: boolean;
}

/** The side-effect gate an implementation runs its effects through. */
export interface Effects {
  /** False in shadow, and once a timed-out call was abandoned. */
  readonly allowed: boolean;
  /** Runs `fn` (a write, a message sent, ...) and returns its result. In shadow it does not run
   *  it and returns undefined; after an abandoned call it throws MIGRATION_ABANDONED. */
  run<T>(label: string, fn: () => Promise<T> | T): Promise<T | undefined>;
  /** Labels of the effects skipped in shadow. */
  readonly skipped: readonly string[];
  /** Whether an effect was started (then a failure does not fall back). */
  readonly started: boolean;
}

/** The context every implementation receives. */
export interface MigrationContext {
  flag: string;
  unit: string;
  path: "old" | "new";
  /** True when this run is never served: no effect may leak. */
  shadow: boolean;
  correlationId: string;
  log: Logger;
  /** The database; in shadow every statement runs in a READ ONLY transaction. */
  db: Db;
  effects: Effects;
  /** Aborted when the call timed out. */
  signal: AbortSignal;
  /** Adds details to this run's usage row. */
  usage(details: UsageDetails): void;
}

export type Impl<I, O> = (input: I, ctx: MigrationContext) => Promise<O>;

export interface SafeMigrationOptions<I, O> {
  /** The flag that moves units to the new path (variant "shadow": shadow only). */
  flag: string;
  /** The usage rows' `feature`. */
  feature: string;
  old: Impl<I, O>;
  new: Impl<I, O>;
  /** The new path's time limit in ms (a number or read at each call); unset: none. */
  timeoutMs?: number | (() => number);
  /** Output similarity 0..1 for shadow runs (default: the core's outputSimilarity). */
  compare?(old: O, neu: O): number;
  /** The cost in USD of an output (added to its usage row). */
  cost?(out: O, path: "old" | "new"): number | undefined;
  /** Shadowing of units the flag leaves on the old path: a companion flag, else a share. */
  shadow?: { flag?: string; sample?: number | (() => number) };
  /** What a shadow comparison stores besides the score (`neu` null on failure). */
  shadowDetails?(old: O, neu: O | null): Record<string, unknown>;
  /** A reason to send `unit` to the old path whatever the flag says (null: none). */
  forceOld?(unit: string): Promise<string | null> | string | null;
  /** Defaults of the usage rows' provider and model per path. */
  provider?: { old?: string; new?: string };
  model?: { old?: string; new?: string };
  /** The code of an uncoded error of the new path (default NEW_PATH_ERROR). */
  defaultErrorCode?: string;
  /** The usage status of an error code (default: *TIMEOUT* timeout, CIRCUIT_OPEN rejected, else error). */
  statusOf?(code: string): UsageStatus;
}

export interface RunOptions {
  unit: string;
  correlationId: string;
  db: Db;
  log: Logger;
  /** More evaluation attributes (targeting rules). */
  context?: Record<string, unknown>;
}

export interface Decision {
  path: "old" | "new";
  /** Why the old path serves: "flag", "no_config" or forceOld's reason. */
  why?: string;
  /** Whether the new path runs in shadow after the old one served. */
  shadow: boolean;
}

export interface MigrationResult<O> {
  value: O;
  path: "old" | "new";
  why?: string;
  /** The new path's error code when it failed and the old path served. */
  fallback?: string;
  /** Milliseconds of the path that served (the old one's after a fallback). */
  latencyMs: number;
  /** A shadow run of the new path was started. */
  shadowed: boolean;
}

export interface SafeMigration<I, O> {
  readonly options: SafeMigrationOptions<I, O>;
  decide(unit: string, context?: Record<string, unknown>): Promise<Decision>;
  run(input: I, o: RunOptions): Promise<MigrationResult<O>>;
}

/** The default status of a failure code. */
export function defaultStatusOf(code: string): UsageStatus {
  if (/TIMEOUT/.test(code)) return "timeout";
  if (code === "CIRCUIT_OPEN") return "rejected";
  return "error";
}

/** A coded error. */
function coded(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

/** `db` with every statement in a READ ONLY transaction: a write fails in Postgres itself. */
export function readOnlyDb(db: Db): Db {
  const ro = async <T>(tx: Tx, fn: (tx: Tx) => Promise<T>): Promise<T> => {
    await tx.exec("set transaction read only");
    return fn(tx);
  };
  return {
    kind: db.kind,
    query: (sql, params) => db.tx((tx) => ro(tx, (t) => t.query(sql, params))),
    exec: (sql) => db.tx((tx) => ro(tx, (t) => t.exec(sql))),
    tx: (fn) => db.tx((tx) => ro(tx, fn)),
    asUser: (claims, fn) => db.asUser(claims, (tx) => ro(tx, fn)),
    broken: () => db.broken(),
    close: () => Promise.resolve(), // the handle is shared: closing it is the owner's business
  };
}

function effects(shadow: boolean): Effects & { abandon(): void } {
  const skipped: string[] = [];
  let started = false, abandoned = false;
  return {
    get allowed() {
      return !shadow && !abandoned;
    },
    get skipped() {
      return skipped;
    },
    get started() {
      return started;
    },
    abandon() {
      abandoned = true;
    },
    async run<T>(label: string, fn: () => Promise<T> | T): Promise<T | undefined> {
      if (shadow) {
        skipped.push(String(label).slice(0, 100));
        return undefined;
      }
      if (abandoned) throw coded("MIGRATION_ABANDONED", `effect "${label}" refused: the call timed out`);
      started = true;
      return await fn();
    },
  };
}

interface Attempt<O> {
  ok: boolean;
  value?: O;
  error?: unknown;
  code?: string;
  latencyMs: number;
  details: UsageDetails;
  effectsStarted: boolean;
  skippedEffects: number;
}

function bucketOf(flag: string, unit: string): number | null {
  try {
    return typeof core.bucket === "function" ? core.bucket(flag, unit) : null;
  } catch {
    return null; // an empty unit: no bucket
  }
}

/** Creates a migration (see the module docs). */
export function safeMigration<I, O>(opts: SafeMigrationOptions<I, O>): SafeMigration<I, O> {
  const defaultCode = opts.defaultErrorCode ?? "NEW_PATH_ERROR";
  const statusOf = opts.statusOf ?? defaultStatusOf;
  const compare = opts.compare ?? ((a: O, b: O) => defaultSimilarity(a, b));

  async function flagOn(key: string, unit: string, context: Record<string, unknown>) {
    const view = await currentConfig();
    if (!view.config.keys.has(key)) return null;
    return view.config.engine.evaluate(key, { ...context, userId: unit });
  }

  async function shadowSampled(unit: string, context: Record<string, unknown>): Promise<boolean> {
    const s = opts.shadow;
    if (!s) return false;
    if (s.flag) {
      try {
        const e = await flagOn(s.flag, unit, context);
        if (e) return e.enabled;
      } catch { /* no configuration: the share decides */ }
    }
    const share = typeof s.sample === "function" ? s.sample() : s.sample ?? 0;
    if (!Number.isFinite(share) || share <= 0) return false;
    return share >= 1 || Math.random() < share;
  }

  async function decide(unit: string, context: Record<string, unknown> = {}): Promise<Decision> {
    const forced = await opts.forceOld?.(unit);
    if (forced) return { path: "old", why: forced, shadow: false };
    let e;
    try {
      e = await flagOn(opts.flag, unit, context);
    } catch {
      return { path: "old", why: "no_config", shadow: false };
    }
    if (e?.enabled) {
      return e.variant === SHADOW_VARIANT ? { path: "old", why: "flag", shadow: true } : { path: "new", shadow: false };
    }
    return { path: "old", why: "flag", shadow: await shadowSampled(unit, context) };
  }

  async function attempt(path: "old" | "new", shadow: boolean, input: I, o: RunOptions): Promise<Attempt<O>> {
    const gate = effects(shadow);
    const details: UsageDetails = {};
    const ac = new AbortController();
    const ctx: MigrationContext = {
      flag: opts.flag,
      unit: o.unit,
      path,
      shadow,
      correlationId: o.correlationId,
      log: o.log,
      db: shadow ? readOnlyDb(o.db) : o.db,
      effects: gate,
      signal: ac.signal,
      usage: (d) => Object.assign(details, d),
    };
    const t0 = performance.now();
    const limit = path === "new" ? (typeof opts.timeoutMs === "function" ? opts.timeoutMs() : opts.timeoutMs) : NaN;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const work = (path === "old" ? opts.old : opts.new)(input, ctx);
      const value = Number.isFinite(limit) && limit! > 0
        ? await Promise.race([
          work,
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => {
              gate.abandon();
              ac.abort();
              reject(coded("MIGRATION_TIMEOUT", `the new path took longer than ${limit} ms`));
            }, limit);
          }),
        ])
        : await work;
      return {
        ok: true,
        value,
        latencyMs: performance.now() - t0,
        details,
        effectsStarted: gate.started,
        skippedEffects: gate.skipped.length,
      };
    } catch (error) {
      return {
        ok: false,
        error,
        code: errorCodeOf(error, path === "new" ? defaultCode : "OLD_PATH_ERROR"),
        latencyMs: performance.now() - t0,
        details,
        effectsStarted: gate.started,
        skippedEffects: gate.skipped.length,
      };
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
  }

  function usageRow(
    path: "old" | "new",
    a: Attempt<O>,
    o: RunOptions,
    extra: { shadow?: boolean; fallback?: string },
  ): UsageRow {
    let cost = a.details.costUsd;
    if (cost === undefined && a.ok && opts.cost) {
      try {
        cost = opts.cost(a.value as O, path);
      } catch { /* no cost */ }
    }
    return {
      feature: opts.feature,
      flagKey: opts.flag,
      pipeline: path,
      provider: a.details.provider ?? opts.provider?.[path] ?? path,
      model: a.details.model ?? opts.model?.[path] ?? null,
      promptVariant: a.details.promptVariant ?? null,
      tokensIn: a.details.tokensIn ?? 0,
      tokensOut: a.details.tokensOut ?? 0,
      latencyMs: Math.round(a.latencyMs),
      costUsd: cost ?? 0,
      status: a.ok ? "ok" : statusOf(a.code!),
      fallback: Boolean(extra.fallback),
      cached: Boolean(a.details.cached),
      shadow: Boolean(extra.shadow),
      piiLeak: Boolean(a.details.piiLeak),
      correlationId: o.correlationId,
      errorCode: a.ok ? extra.fallback ?? null : a.code,
      unitBucket: bucketOf(opts.flag, o.unit),
    };
  }

  async function run(input: I, o: RunOptions): Promise<MigrationResult<O>> {
    const d = await decide(o.unit, o.context);
    let fallback: string | undefined;
    if (d.path === "new") {
      const a = await attempt("new", false, input, o);
      if (!a.details.skipRow) await recordUsage(o.db, usageRow("new", a, o, {}));
      if (a.ok) return { value: a.value as O, path: "new", latencyMs: a.latencyMs, shadowed: false };
      if (a.effectsStarted) {
        o.log.error("new path failed after its effects started: no fallback", { flag: opts.flag, code: a.code });
        throw a.error;
      }
      fallback = a.code;
      o.log.warn("migration fallback to old", { flag: opts.flag, reason: fallback, ms: Math.round(a.latencyMs) });
    }
    const old = await attempt("old", false, input, o);
    await recordUsage(o.db, usageRow("old", old, o, { fallback }));
    if (!old.ok) throw old.error;
    const value = old.value as O;
    const shadowed = d.shadow && !fallback;
    if (shadowed) {
      startShadow<O>({
        flagKey: opts.flag,
        correlationId: o.correlationId,
        db: o.db,
        log: o.log,
        old: { value, latencyMs: old.latencyMs },
        ask: async () => {
          const a = await attempt("new", true, input, o);
          if (!a.details.skipRow) await recordUsage(o.db, usageRow("new", a, o, { shadow: true }));
          if (!a.ok) throw a.error;
          return { value: a.value as O, latencyMs: a.latencyMs, skippedEffects: a.skippedEffects };
        },
        compare,
        details: opts.shadowDetails,
        defaultErrorCode: defaultCode,
      });
    }
    return {
      value,
      path: "old",
      ...(d.why && !fallback ? { why: d.why } : {}),
      ...(fallback ? { fallback } : {}),
      latencyMs: old.latencyMs,
      shadowed,
    };
  }

  return { options: opts, decide, run };
}
