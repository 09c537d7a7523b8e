/**
 * trimtab: flag evaluation, bucketing and ramps from one Wasm module, for Deno and browsers.
 * Importing the module initialises the Wasm (top-level await).
 */

/** Why an evaluation came out as it did. */
export type Reason =
  | "USER_OVERRIDE" | "ADMIN_OVERRIDE" | "DISABLED" | "PREREQUISITE_FAILED"
  | "RULE_MATCH" | "ROLLOUT" | "DEFAULT" | "NOT_FOUND" | "MISSING_UNIT";

/** The outcome of evaluating one flag. */
export interface Evaluation {
  flag: string;
  enabled: boolean;
  variant?: string;
  reason: Reason;
  /** Rollout bucket in ppm (0..=999999), when one was computed. */
  bucket?: number;
  ruleIndex?: number;
  version: string;
}

/** Attributes evaluation reads; `now` (RFC 3339 string, epoch ms or Date) pins the clock. */
export interface EvaluationContext {
  userId?: string;
  now?: string | number | Date;
  [attribute: string]: unknown;
}

export interface VariantDef { key: string; weight: number }
export interface RuleDef { condition: Record<string, unknown>; rollout?: number }
export interface PrerequisiteDef { flag: string; enabled?: boolean; variant?: string }
export interface ScheduleStepDef { at: string; rollout: number }

export interface FlagDef {
  key: string;
  enabled?: boolean;
  adminOverride?: "on" | "off" | null;
  /** Percent, 0..100, at most 4 decimals. */
  rollout?: number | null;
  salt?: string;
  stickiness?: string;
  rules?: RuleDef[];
  variants?: VariantDef[];
  prerequisites?: PrerequisiteDef[];
  stages?: number[];
  schedule?: ScheduleStepDef[];
  clientVisible?: boolean;
  [extra: string]: unknown;
}

export interface OverrideDef {
  flag: string;
  unit: string;
  enabled: boolean;
  variant?: string;
  expiresAt?: string | null;
  reason?: string;
}

export interface Snapshot {
  version: string | number;
  flags: FlagDef[];
  overrides?: OverrideDef[];
}

/** Error codes the core throws. */
export type ErrorCode =
  | "INVALID_SNAPSHOT" | "RAMP_SKIPS_STAGE" | "INVALID_PERCENT" | "INVALID_STAGES"
  | "INVALID_SALT" | "MISSING_UNIT" | (string & {});

/** An error from the core with a stable `code`. */
export declare class TrimtabError extends Error {
  constructor(code: string, message: string);
  readonly name: "TrimtabError";
  readonly code: ErrorCode;
}

/** Loads the Wasm (idempotent; already done on import with the default location). */
export declare function init(source?: URL | string | Response | BufferSource | WebAssembly.Module): Promise<void>;

/** Bytes of Wasm linear memory in use by the module (diagnostics and benchmarks). */
export declare function wasmMemoryBytes(): number;

/** The rollout bucket (0..=999999) of `unit` under `salt`. Throws INVALID_SALT / MISSING_UNIT. */
export declare function bucket(salt: string, unit: string): number;

/** The variant position (0..=999999) of `unit` under `salt`. */
export declare function variantPosition(salt: string, unit: string): number;

/** Throws RAMP_SKIPS_STAGE when `current -> next` skips one of `stages`. */
export declare function checkRamp(current: number, next: number, stages: number[]): void;

export declare class FlagEngine {
  /** Throws TrimtabError INVALID_SNAPSHOT naming the flag and field. */
  constructor(snapshot: Snapshot | object | string);
  readonly version: string;
  /** Flag keys in snapshot order. */
  readonly keys: string[];
  evaluate(flag: string, context: EvaluationContext | object): Evaluation;
  evaluateAll(context: EvaluationContext | object): Record<string, Evaluation>;
  /** Frees the Wasm memory now instead of at garbage collection. */
  free(): void;
}
