import type {
  EvaluationContext,
  Hook,
  JsonValue,
  OpenFeatureEventEmitter,
  Provider,
  ResolutionDetails,
  TrackingEventDetails,
} from "@openfeature/web-sdk";
import type { FlagClient } from "./trimtab-flags.d.ts";

/** The OpenFeature web provider over a trimtab flag client (see openfeature-web.js). */
export declare class TrimtabWebProvider implements Provider {
  constructor(client: FlagClient);
  readonly metadata: { readonly name: "trimtab" };
  readonly runsOn: "client";
  readonly hooks: Hook[];
  readonly events: OpenFeatureEventEmitter;
  /** The flag client it evaluates with. */
  readonly client: FlagClient;
  initialize(context?: EvaluationContext): Promise<void>;
  onContextChange(oldContext: EvaluationContext, newContext: EvaluationContext): void;
  onClose(): Promise<void>;
  track(trackingEventName: string, context: EvaluationContext, trackingEventDetails: TrackingEventDetails): void;
  resolveBooleanEvaluation(flagKey: string, defaultValue: boolean): ResolutionDetails<boolean>;
  resolveStringEvaluation(flagKey: string, defaultValue: string): ResolutionDetails<string>;
  resolveNumberEvaluation(flagKey: string, defaultValue: number): ResolutionDetails<number>;
  resolveObjectEvaluation<T extends JsonValue>(flagKey: string, defaultValue: T): ResolutionDetails<T>;
}
