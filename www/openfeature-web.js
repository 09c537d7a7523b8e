// An OpenFeature web-SDK provider over a trimtab flag client (./trimtab-flags.js): evaluation is
// local and synchronous (the Wasm FlagEngine over the browser snapshot), so this is a static-
// context provider in OpenFeature's terms. No import of the SDK (the Provider interface is
// structural), so the page chooses how it loads @openfeature/web-sdk.
//
//   import { OpenFeature } from "@openfeature/web-sdk";
//   import { createFlagClient } from "/trimtab-flags.js";
//   import { TrimtabWebProvider } from "/openfeature-web.js";
//   await OpenFeature.setProviderAndWait(new TrimtabWebProvider(createFlagClient({ url, token })));
//   OpenFeature.getClient().getBooleanValue("FEATURE_AGENT_CHAT", false);
//
// The evaluation context the SDK passes is merged into the client's context (targetingKey ->
// userId) on initialize and onContextChange. Values, reasons and errors map as in
// supabase/functions/_shared/openfeature-server.ts: boolean = enabled; string = the variant (or
// "on"/"off"); number = a numeric variant (else TYPE_MISMATCH); object = the trimtab Evaluation.
// Events: client "change" -> PROVIDER_CONFIGURATION_CHANGED { flagsChanged }, client "stale"
// (true) -> PROVIDER_STALE, back to fresh -> PROVIDER_READY, "error" without a snapshot -> PROVIDER_ERROR.

/** ProviderEvents (client) as the web SDK spells them. */
export const ProviderEvents = Object.freeze({
  Ready: "PROVIDER_READY",
  Error: "PROVIDER_ERROR",
  ConfigurationChanged: "PROVIDER_CONFIGURATION_CHANGED",
  Stale: "PROVIDER_STALE",
  Reconciling: "PROVIDER_RECONCILING",
  ContextChanged: "PROVIDER_CONTEXT_CHANGED",
});

const REASONS = {
  USER_OVERRIDE: "TARGETING_MATCH",
  RULE_MATCH: "TARGETING_MATCH",
  ROLLOUT: "SPLIT",
  ADMIN_OVERRIDE: "STATIC",
  DISABLED: "DISABLED",
  PREREQUISITE_FAILED: "DISABLED",
  DEFAULT: "DEFAULT",
};

/** trimtab reason -> OpenFeature reason. */
export function openFeatureReason(reason) {
  return REASONS[reason] ?? "UNKNOWN";
}

/** OpenFeature context -> trimtab context (targetingKey -> userId). */
export function trimtabContext(ctx) {
  const out = { ...(ctx ?? {}) };
  delete out.targetingKey;
  if (typeof ctx?.targetingKey === "string" && ctx.targetingKey) out.userId = ctx.targetingKey;
  return out;
}

/** The event emitter shape the SDK reads from `provider.events`. */
class Emitter {
  #handlers = new Map();
  addHandler(type, fn) {
    if (!this.#handlers.has(type)) this.#handlers.set(type, new Set());
    this.#handlers.get(type).add(fn);
  }
  removeHandler(type, fn) {
    this.#handlers.get(type)?.delete(fn);
  }
  removeAllHandlers(type) {
    if (type) this.#handlers.delete(type);
    else this.#handlers.clear();
  }
  getHandlers(type) {
    return [...(this.#handlers.get(type) ?? [])];
  }
  emit(type, details = {}) {
    for (const fn of this.getHandlers(type)) {
      try {
        fn({ providerName: "trimtab", ...details });
      } catch (e) {
        setTimeout(() => {
          throw e;
        });
      }
    }
  }
}

/** Maps one trimtab Evaluation to OpenFeature ResolutionDetails of `kind`. */
export function resolution(ev, kind, defaultValue, stale = false) {
  const flagMetadata = { trimtabReason: ev.reason, version: String(ev.version), stale };
  if (typeof ev.bucket === "number") flagMetadata.bucket = ev.bucket;
  if (typeof ev.ruleIndex === "number") flagMetadata.ruleIndex = ev.ruleIndex;
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
  let value;
  if (kind === "boolean") value = ev.enabled;
  else if (kind === "string") value = variant;
  else if (kind === "number") {
    const n = ev.variant === undefined || ev.variant.trim() === "" ? NaN : Number(ev.variant);
    if (!Number.isFinite(n)) {
      return {
        value: defaultValue,
        reason: "ERROR",
        errorCode: "TYPE_MISMATCH",
        errorMessage: `${ev.flag} has no numeric variant`,
        flagMetadata,
      };
    }
    value = n;
  } else {
    value = { enabled: ev.enabled, reason: ev.reason, version: String(ev.version) };
    if (ev.variant !== undefined) value.variant = ev.variant;
    if (typeof ev.bucket === "number") value.bucket = ev.bucket;
    if (typeof ev.ruleIndex === "number") value.ruleIndex = ev.ruleIndex;
  }
  return { value, variant, reason: openFeatureReason(ev.reason), flagMetadata };
}

export class TrimtabWebProvider {
  metadata = { name: "trimtab" };
  runsOn = "client";
  hooks = [];
  events = new Emitter();
  #client;
  #off = [];

  /** `client`: a flag client from createFlagClient (./trimtab-flags.js). */
  constructor(client) {
    this.#client = client;
    this.#off.push(
      client.on("change", (d) => this.events.emit(ProviderEvents.ConfigurationChanged, { flagsChanged: d.changed })),
      client.on(
        "stale",
        (d) =>
          this.events.emit(d.stale ? ProviderEvents.Stale : ProviderEvents.Ready, { message: d.reason ?? undefined }),
      ),
    );
  }

  get client() {
    return this.#client;
  }

  /** Waits for a usable snapshot (network, or storage offline); then applies the context. */
  async initialize(context) {
    await this.#client.ready;
    if (context && Object.keys(context).length) {
      this.#client.setContext({ ...this.#client.context, ...trimtabContext(context) });
    }
  }

  onContextChange(_old, next) {
    this.#client.setContext(trimtabContext(next));
  }

  onClose() {
    for (const off of this.#off) off();
    this.#off = [];
  }

  #resolve(kind, flagKey, defaultValue) {
    return resolution(this.#client.evaluate(flagKey), kind, defaultValue, this.#client.stale);
  }
  resolveBooleanEvaluation(flagKey, defaultValue) {
    return this.#resolve("boolean", flagKey, defaultValue);
  }
  resolveStringEvaluation(flagKey, defaultValue) {
    return this.#resolve("string", flagKey, defaultValue);
  }
  resolveNumberEvaluation(flagKey, defaultValue) {
    return this.#resolve("number", flagKey, defaultValue);
  }
  resolveObjectEvaluation(flagKey, defaultValue) {
    return this.#resolve("object", flagKey, defaultValue);
  }
}
