/**
 * OpenFeature for trimtab, shared by the web and the server provider: reason mapping, context
 * conversion, typed resolution and the tracking event shape. Reasons and error codes are the
 * OpenFeature spec's strings (equal to the SDKs' enum values).
 */
import type { Evaluation } from "./trimtab-flags.d.ts";

/** OpenFeature's standard resolution reasons. */
export type OpenFeatureReason =
  | "STATIC"
  | "DEFAULT"
  | "TARGETING_MATCH"
  | "SPLIT"
  | "CACHED"
  | "DISABLED"
  | "UNKNOWN"
  | "STALE"
  | "ERROR";

/** OpenFeature's error codes. */
export type OpenFeatureErrorCode =
  | "PROVIDER_NOT_READY"
  | "PROVIDER_FATAL"
  | "FLAG_NOT_FOUND"
  | "PARSE_ERROR"
  | "TYPE_MISMATCH"
  | "TARGETING_KEY_MISSING"
  | "INVALID_CONTEXT"
  | "GENERAL";

export type FlagKind = "boolean" | "string" | "number" | "object";
/** live: confirmed by the server; stale: the server cannot confirm it; cached: from storage, the
 *  server not asked yet. */
export type Freshness = "live" | "stale" | "cached";

export interface TrimtabFlagMetadata {
  [key: string]: string | number | boolean;
  trimtabReason: string;
  version: string;
  stale: boolean;
}

export interface TrimtabResolution<T> {
  value: T;
  variant?: string;
  reason: OpenFeatureReason;
  errorCode?: OpenFeatureErrorCode;
  errorMessage?: string;
  flagMetadata: TrimtabFlagMetadata;
}

/** The trimtab evaluation as an object flag's value. */
export interface EvaluationValue {
  [key: string]: string | number | boolean;
  enabled: boolean;
  reason: string;
  version: string;
}

/** The OpenFeature reason of a trimtab evaluation (ignoring staleness). */
export function openFeatureReason(ev: Pick<Evaluation, "reason" | "enabled">): OpenFeatureReason;
/** `targetingKey` becomes `userId`; other attributes pass through. */
export function trimtabContext(ctx: Record<string, unknown> | undefined | null): Record<string, unknown>;
/** A flag's OpenFeature type: no variants: boolean; all variant keys numeric: number; else string. */
export type FlagType = "boolean" | "string" | "number";
/** Flag key -> its type, for a snapshot. */
export function flagTypes(
  snapshot: { flags?: Array<{ key: string; variants?: unknown[] }> } | null,
): Map<string, FlagType>;
export function resolution<T>(
  ev: Evaluation,
  kind: FlagKind,
  defaultValue: T,
  opts?: { flagType?: FlagType; freshness?: Freshness },
): TrimtabResolution<T>;

/** A tracking event as stored in the usage log (trimtab.flag_events). */
export interface TrackingEvent {
  name: string;
  value?: number;
  details?: Record<string, string | number | boolean>;
}
export declare const TRACK_LIMITS: { readonly details: number; readonly text: number; readonly events: number };
/** Validates and shapes one tracking event; `{ error }` says what is wrong. */
export function trackingEvent(name: unknown, details: unknown): { event: TrackingEvent; error?: undefined } | {
  error: string;
  event?: undefined;
};
