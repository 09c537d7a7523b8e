// An OpenFeature server-SDK provider for edge functions: evaluates with the isolate's config
// cache (currentConfig from ./config.ts), so OpenFeature callers get exactly what the `flags`
// function answers. A function using it maps the SDK in its deno.json
// ("@openfeature/server-sdk": "npm:@openfeature/server-sdk@1.23.0").
//
//   import { OpenFeature } from "@openfeature/server-sdk";
//   import { TrimtabServerProvider } from "../_shared/flags/openfeature-server.ts";
//   await OpenFeature.setProviderAndWait(new TrimtabServerProvider());
//   const on = await OpenFeature.getClient().getBooleanValue("USE_RESPONSE_CACHE", false, { targetingKey: userId });
//
// Values, reasons, error codes and the context conversion are the shared mapping of
// js/openfeature.js (the browser provider uses the same): a boolean flag answers booleans, a
// variant flag strings (and numbers for a numeric variant), any other ask is TYPE_MISMATCH; STALE
// while the database cannot confirm the snapshot. Events: PROVIDER_CONFIGURATION_CHANGED
// { flagsChanged } when the cache installs a new snapshot version, PROVIDER_STALE / PROVIDER_READY
// when the database stops / starts answering. track() records into trimtab.flag_events.
import {
  ErrorCode,
  type EvaluationContext,
  type JsonValue,
  OpenFeatureEventEmitter,
  type Provider,
  ProviderEvents,
  type ResolutionDetails,
  type TrackingEventDetails,
} from "@openfeature/server-sdk";
import { currentConfig, onConfigEvent } from "./config.ts";
import { recordServerEvents } from "./events.ts";
import { log } from "../platform/log.ts";
import { getDb } from "../platform/store.ts";
import {
  type Evaluation,
  type FlagType,
  flagTypes,
  resolution,
  trackingEvent,
  trimtabContext,
  type TrimtabResolution,
} from "../platform/trimtab.ts";

type Kind = "boolean" | "string" | "number" | "object";

/** The shared mapping's result with the SDK's ErrorCode enum (the same strings). */
function toSdk<T>(r: TrimtabResolution<T>): ResolutionDetails<T> {
  const { errorCode, ...rest } = r;
  return errorCode === undefined ? rest : { ...rest, errorCode: ErrorCode[errorCode] };
}

export class TrimtabServerProvider implements Provider {
  readonly metadata = { name: "trimtab" } as const;
  readonly runsOn = "server" as const;
  readonly hooks = [];
  readonly events = new OpenFeatureEventEmitter();
  #off: (() => void) | null = null;
  #types: { version: string | null; map: Map<string, FlagType> } = { version: null, map: new Map() };
  #pending = new Set<Promise<void>>();

  /** Loads the config once so the first evaluation does not wait for the database, and follows
   *  the cache's version and staleness. */
  async initialize(): Promise<void> {
    this.#off ??= onConfigEvent((e) => {
      if (e.type === "changed") {
        if (e.previous !== null) {
          this.events.emit(ProviderEvents.ConfigurationChanged, {
            flagsChanged: e.flagsChanged,
            metadata: { version: e.version, previous: e.previous },
          });
        }
      } else this.events.emit(e.stale ? ProviderEvents.Stale : ProviderEvents.Ready);
    });
    await currentConfig();
  }

  async onClose(): Promise<void> {
    this.#off?.();
    this.#off = null;
    await this.flush();
  }

  /** Records a tracking event (trimtab.flag_events, source 'server', user = targetingKey). An
   *  event the shared validation refuses is logged and dropped. */
  track(trackingEventName: string, context: EvaluationContext, details: TrackingEventDetails): void {
    const r = trackingEvent(trackingEventName, details);
    if (r.error !== undefined) {
      log.warn("tracking event refused", { reason: r.error });
      return;
    }
    const user = typeof context?.targetingKey === "string" && context.targetingKey ? context.targetingKey : null;
    const p: Promise<void> = getDb()
      .then((db) => recordServerEvents(db, user, [r.event]))
      .catch((err) => log.warn("tracking event not recorded", { err }))
      .finally(() => this.#pending.delete(p));
    this.#pending.add(p);
  }

  /** Waits for tracking events still being written. */
  async flush(): Promise<void> {
    await Promise.all([...this.#pending]);
  }

  private async resolve<T>(kind: Kind, flagKey: string, defaultValue: T, context?: EvaluationContext) {
    const view = await currentConfig();
    if (this.#types.version !== view.config.version) {
      this.#types = { version: view.config.version, map: flagTypes(view.config.snapshot) };
    }
    const ev = view.config.engine.evaluate(flagKey, trimtabContext(context)) as Evaluation;
    return toSdk(resolution(ev, kind, defaultValue, {
      flagType: this.#types.map.get(flagKey),
      freshness: view.stale ? "stale" : "live",
    }));
  }

  resolveBooleanEvaluation(flagKey: string, defaultValue: boolean, context: EvaluationContext) {
    return this.resolve("boolean", flagKey, defaultValue, context);
  }
  resolveStringEvaluation(flagKey: string, defaultValue: string, context: EvaluationContext) {
    return this.resolve("string", flagKey, defaultValue, context);
  }
  resolveNumberEvaluation(flagKey: string, defaultValue: number, context: EvaluationContext) {
    return this.resolve("number", flagKey, defaultValue, context);
  }
  resolveObjectEvaluation<T extends JsonValue>(flagKey: string, defaultValue: T, context: EvaluationContext) {
    return this.resolve("object", flagKey, defaultValue, context);
  }
}
