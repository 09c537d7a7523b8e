// An OpenFeature server-SDK provider for edge functions: evaluates with the isolate's config
// cache (currentConfig from ./config.ts), so OpenFeature callers get exactly what the `flags`
// function answers. No import of the SDK here (the Provider interface is structural), so a
// function that only uses the provider does not pull the SDK in.
//
//   import { OpenFeature } from "npm:@openfeature/server-sdk@1.23.0";
//   import { TrimtabServerProvider } from "./openfeature-server.ts";
//   await OpenFeature.setProviderAndWait(new TrimtabServerProvider());
//   const on = await OpenFeature.getClient().getBooleanValue("USE_RESPONSE_CACHE", false, { targetingKey: userId });
//
// Context: `targetingKey` becomes trimtab's `userId` (the unit); other attributes pass through.
// Values: boolean = enabled; string = the variant (or "on"/"off" for a flag without variants);
// number = a numeric variant (else TYPE_MISMATCH); object = the whole trimtab Evaluation.
// Reasons: RULE_MATCH/USER_OVERRIDE -> TARGETING_MATCH, ROLLOUT -> SPLIT, ADMIN_OVERRIDE -> STATIC,
// DISABLED/PREREQUISITE_FAILED -> DISABLED, DEFAULT -> DEFAULT; NOT_FOUND -> FLAG_NOT_FOUND and
// MISSING_UNIT -> TARGETING_KEY_MISSING errors (the SDK then returns the caller's default).
// flagMetadata carries trimtabReason, bucket, ruleIndex, version and stale.
import { currentConfig } from "./config.ts";
import type { Evaluation } from "../platform/trimtab.ts";

type JsonValue = string | number | boolean | null | JsonValue[] | { [k: string]: JsonValue };
type EvaluationContext = Record<string, unknown> & { targetingKey?: string };

/** OpenFeature's ErrorCode values (string enum in @openfeature/core). */
export type OpenFeatureErrorCode =
  | "PROVIDER_NOT_READY"
  | "PROVIDER_FATAL"
  | "FLAG_NOT_FOUND"
  | "PARSE_ERROR"
  | "TYPE_MISMATCH"
  | "TARGETING_KEY_MISSING"
  | "INVALID_CONTEXT"
  | "GENERAL";

export interface ResolutionDetails<T> {
  value: T;
  variant?: string;
  reason?: string;
  errorCode?: OpenFeatureErrorCode;
  errorMessage?: string;
  flagMetadata?: Record<string, string | number | boolean>;
}

const REASONS: Record<string, string> = {
  USER_OVERRIDE: "TARGETING_MATCH",
  RULE_MATCH: "TARGETING_MATCH",
  ROLLOUT: "SPLIT",
  ADMIN_OVERRIDE: "STATIC",
  DISABLED: "DISABLED",
  PREREQUISITE_FAILED: "DISABLED",
  DEFAULT: "DEFAULT",
};

/** trimtab reason -> OpenFeature reason (StandardResolutionReasons). */
export function openFeatureReason(reason: string): string {
  return REASONS[reason] ?? "UNKNOWN";
}

/** OpenFeature context -> trimtab context (`targetingKey` -> `userId`). */
export function trimtabContext(ctx: EvaluationContext | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = { ...(ctx ?? {}) };
  delete out.targetingKey;
  if (typeof ctx?.targetingKey === "string" && ctx.targetingKey) out.userId = ctx.targetingKey;
  return out;
}

function metadataOf(ev: Evaluation, stale: boolean): Record<string, string | number | boolean> {
  const m: Record<string, string | number | boolean> = { trimtabReason: ev.reason, version: String(ev.version), stale };
  if (typeof ev.bucket === "number") m.bucket = ev.bucket;
  if (typeof ev.ruleIndex === "number") m.ruleIndex = ev.ruleIndex;
  return m;
}

type Kind = "boolean" | "string" | "number" | "object";

/** Maps one trimtab Evaluation to OpenFeature resolution details of `kind`. */
export function resolution<T>(ev: Evaluation, kind: Kind, defaultValue: T, stale = false): ResolutionDetails<T> {
  const flagMetadata = metadataOf(ev, stale);
  if (ev.reason === "NOT_FOUND") {
    return {
      value: defaultValue,
      reason: "ERROR",
      errorCode: "FLAG_NOT_FOUND",
      errorMessage: `unknown flag: ${ev.flag}`,
      flagMetadata,
    };
  }
  if (ev.reason === "MISSING_UNIT") {
    return {
      value: defaultValue,
      reason: "ERROR",
      errorCode: "TARGETING_KEY_MISSING",
      errorMessage: `${ev.flag} needs a targetingKey`,
      flagMetadata,
    };
  }
  const variant = ev.variant ?? (ev.enabled ? "on" : "off");
  const reason = openFeatureReason(ev.reason);
  let value: unknown;
  switch (kind) {
    case "boolean":
      value = ev.enabled;
      break;
    case "string":
      value = variant;
      break;
    case "number": {
      const n = ev.variant === undefined ? NaN : Number(ev.variant);
      if (ev.variant === undefined || ev.variant.trim() === "" || !Number.isFinite(n)) {
        return {
          value: defaultValue,
          reason: "ERROR",
          errorCode: "TYPE_MISMATCH",
          errorMessage: `${ev.flag} has no numeric variant`,
          flagMetadata,
        };
      }
      value = n;
      break;
    }
    case "object": {
      const o: Record<string, JsonValue> = { enabled: ev.enabled, reason: ev.reason, version: String(ev.version) };
      if (ev.variant !== undefined) o.variant = ev.variant;
      if (typeof ev.bucket === "number") o.bucket = ev.bucket;
      if (typeof ev.ruleIndex === "number") o.ruleIndex = ev.ruleIndex;
      value = o;
      break;
    }
  }
  return { value: value as T, variant, reason, flagMetadata };
}

export class TrimtabServerProvider {
  readonly metadata = { name: "trimtab" } as const;
  readonly runsOn = "server" as const;
  readonly hooks = [];

  /** Loads the config once so the first evaluation does not wait for the database. */
  async initialize(): Promise<void> {
    await currentConfig();
  }

  async onClose(): Promise<void> {}

  private async resolve<T>(
    kind: Kind,
    flagKey: string,
    defaultValue: T,
    context?: EvaluationContext,
  ): Promise<ResolutionDetails<T>> {
    const view = await currentConfig();
    const ev = view.config.engine.evaluate(flagKey, trimtabContext(context)) as Evaluation;
    return resolution(ev, kind, defaultValue, view.stale);
  }

  resolveBooleanEvaluation(flagKey: string, defaultValue: boolean, context?: EvaluationContext) {
    return this.resolve("boolean", flagKey, defaultValue, context);
  }
  resolveStringEvaluation(flagKey: string, defaultValue: string, context?: EvaluationContext) {
    return this.resolve("string", flagKey, defaultValue, context);
  }
  resolveNumberEvaluation(flagKey: string, defaultValue: number, context?: EvaluationContext) {
    return this.resolve("number", flagKey, defaultValue, context);
  }
  resolveObjectEvaluation<T extends JsonValue>(flagKey: string, defaultValue: T, context?: EvaluationContext) {
    return this.resolve("object", flagKey, defaultValue, context);
  }
}
