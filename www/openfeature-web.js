// @ts-self-types="./openfeature-web.d.ts"
// An OpenFeature web-SDK provider over a trimtab flag client (./trimtab-flags.js), published as
// @trimtab/web/openfeature: evaluation is local and synchronous (the Wasm FlagEngine over the
// browser snapshot), a static-context provider in OpenFeature's terms.
//
//   import { OpenFeature } from "@openfeature/web-sdk";
//   import { createFlagClient } from "@trimtab/web";
//   import { TrimtabWebProvider } from "@trimtab/web/openfeature";
//   await OpenFeature.setProviderAndWait(new TrimtabWebProvider(createFlagClient({ url, supabase })));
//   OpenFeature.getClient().getBooleanValue("FEATURE_AGENT_CHAT", false);
//
// Values, reasons and errors: the shared mapping of js/openfeature.js (one implementation for
// this provider and the edge's). The SDK's context is merged into the client's (targetingKey ->
// userId) on initialize and onContextChange. Events: client "change" ->
// PROVIDER_CONFIGURATION_CHANGED { flagsChanged }; "stale" -> PROVIDER_STALE, fresh again ->
// PROVIDER_READY; "error" while no snapshot serves -> PROVIDER_ERROR, then PROVIDER_READY when the
// server first answers. track() queues a tracking event for the usage log (client.track).
import { OpenFeatureEventEmitter, ProviderEvents } from "@openfeature/web-sdk";
import { flagTypes, resolution, trimtabContext } from "../js/openfeature.js";

export class TrimtabWebProvider {
  metadata = { name: "trimtab" };
  runsOn = "client";
  hooks = [];
  events = new OpenFeatureEventEmitter();
  #client;
  #off = [];
  #types = { snapshot: null, map: new Map() };

  /** `client`: a flag client from createFlagClient (./trimtab-flags.js). */
  constructor(client) {
    this.#client = client;
    this.#off.push(
      client.on("change", (d) => this.events.emit(ProviderEvents.ConfigurationChanged, { flagsChanged: d.changed })),
      client.on("stale", (d) => {
        if (d.stale) this.events.emit(ProviderEvents.Stale, { message: d.reason ?? undefined });
        else if (client.status === "ready") this.events.emit(ProviderEvents.Ready);
      }),
      client.on("ready", () => this.events.emit(ProviderEvents.Ready)),
      client.on("error", (d) => {
        if (client.status === "error") this.events.emit(ProviderEvents.Error, { message: d.error?.message });
      }),
    );
  }

  get client() {
    return this.#client;
  }

  /** Waits for the first answer (or the stored snapshot). Throws when neither is there, so the
   *  SDK reports ERROR; the client keeps retrying and the provider emits READY when it is. */
  async initialize(context) {
    await this.#client.settled;
    if (context && Object.keys(context).length) {
      this.#client.setContext({ ...this.#client.context, ...trimtabContext(context) });
    }
    if (this.#client.status !== "ready") {
      throw new Error("trimtab: no flag snapshot yet (the server cannot be reached); retrying");
    }
  }

  onContextChange(_old, next) {
    this.#client.setContext(trimtabContext(next));
  }

  onClose() {
    for (const off of this.#off) off();
    this.#off = [];
    return Promise.resolve();
  }

  /** Records a tracking event in the usage log (sent in the background, batched). */
  track(trackingEventName, _context, details) {
    this.#client.track(trackingEventName, details);
  }

  #resolve(kind, flagKey, defaultValue) {
    const c = this.#client;
    if (this.#types.snapshot !== c.snapshot) this.#types = { snapshot: c.snapshot, map: flagTypes(c.snapshot) };
    const freshness = c.stale ? "stale" : c.source === "storage" ? "cached" : "live";
    return resolution(c.evaluate(flagKey), kind, defaultValue, {
      flagType: this.#types.map.get(flagKey),
      freshness,
    });
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
