/**
 * trimtab for browsers: the flag-only build (bucketing, evaluation, ramps). Importing the module
 * initialises the Wasm (top-level await). The data types are declared once, in Rust
 * (src/wasm/), and generated into pkg/trimtab_flags.d.ts.
 */
import type {
  ErrorCode,
  Evaluation,
  EvaluationContext,
  Limits,
  Snapshot,
  TrimtabErrorFields,
} from "../pkg/trimtab_flags.d.ts";

export type {
  ErrorCode,
  Evaluation,
  EvaluationContext,
  FlagDef,
  Limits,
  OverrideDef,
  PrerequisiteDef,
  Reason,
  RuleDef,
  ScheduleStepDef,
  Snapshot,
  TrimtabErrorFields,
  VariantDef,
} from "../pkg/trimtab_flags.d.ts";

/** The structured fields of a TrimtabError, as its properties. */
export interface TrimtabError extends Readonly<TrimtabErrorFields> {
  readonly code: ErrorCode;
}

/** An error from the core: a stable `code` and its structured fields (`flag`, `field`,
 *  `skipped`, ...) as properties. The same class as js/trimtab.js's. */
export declare class TrimtabError extends Error {
  constructor(code: string, message: string, fields?: TrimtabErrorFields);
  readonly name: "TrimtabError";
}

/** Loads the Wasm (idempotent; already done on import with the default location). */
export declare function init(source?: URL | string | Response | BufferSource | WebAssembly.Module): Promise<void>;

/** The core's input limits: `maxJsonDepth` (64) is the nesting the core accepts from JS, so a
 *  caller can refuse deeper input first with the same number; also the condition depth, the
 *  `$regex` text cap and the condition cost budgets (docs/design.md, sections 3 and 4). */
export declare function limits(): Limits;

/** Bytes of Wasm linear memory in use by the module (diagnostics and benchmarks). */
export declare function wasmMemoryBytes(): number;

/** The rollout bucket (0..=999999) of `unit` under `salt`. Throws INVALID_SALT / MISSING_UNIT. */
export declare function bucket(salt: string, unit: string): number;

/** The variant position (0..=999999) of `unit` under `salt`. */
export declare function variantPosition(salt: string, unit: string): number;

/** Throws RAMP_SKIPS_STAGE (with `from`, `to` and `skipped`) when `current -> next` skips one of
 *  `stages`; INVALID_PERCENT, INVALID_STAGES. */
export declare function checkRamp(current: number, next: number, stages: number[]): void;

export declare class FlagEngine {
  /** Throws TrimtabError INVALID_SNAPSHOT with `flag` and `field`. */
  constructor(snapshot: Snapshot | object | string);
  readonly version: string;
  /** Flag keys in snapshot order. */
  readonly keys: string[];
  /** The cost of the snapshot's conditions, in steps (at most `limits().maxSnapshotCost`). */
  readonly conditionCost: number;
  evaluate(flag: string, context: EvaluationContext | object): Evaluation;
  evaluateAll(context: EvaluationContext | object): Record<string, Evaluation>;
  /** Frees the Wasm memory now instead of at garbage collection. */
  free(): void;
}
