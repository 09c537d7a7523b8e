// @ts-self-types="./openfeature.d.ts"
/**
 * OpenFeature for trimtab, written once for both providers (the browser's TrimtabWebProvider in
 * @trimtab/web and the edge functions' TrimtabServerProvider): how a trimtab Evaluation becomes
 * OpenFeature resolution details (value, variant, reason, error code, flag metadata), how an
 * OpenFeature evaluation context becomes a trimtab context, and the shape of a tracking event.
 * No import of an OpenFeature SDK: reasons and error codes are the spec's strings, which equal
 * the SDKs' enum values; each provider types them with its own SDK.
 *
 * Types, from the snapshot: a flag without variants is a boolean flag; a flag whose variant keys
 * are all numbers is a number flag (its variants also answer as strings); other variant flags are
 * string flags. Any other ask resolves to the caller's default with TYPE_MISMATCH (checked before
 * the context, so a missing targetingKey does not hide it). An object
 * resolves to the trimtab evaluation itself ({ enabled, reason, version, variant?, bucket?,
 * ruleIndex? }) for any flag. A variant flag that serves no variant (disabled, out of the
 * rollout) resolves to the caller's default with the reason why.
 *
 * Reasons. RULE_MATCH, USER_OVERRIDE -> TARGETING_MATCH; ROLLOUT -> SPLIT; ADMIN_OVERRIDE -> STATIC
 * when forced on, DISABLED when forced off (the kill switch); DISABLED, PREREQUISITE_FAILED ->
 * DISABLED; DEFAULT -> DEFAULT. Served from the last good snapshot while the server cannot confirm
 * it: STALE; from storage before the server answered: CACHED (the trimtab reason stays in
 * flagMetadata.trimtabReason). NOT_FOUND -> FLAG_NOT_FOUND, MISSING_UNIT ->
 * TARGETING_KEY_MISSING and CONDITION_ERROR (a rule beyond the matcher's limits) -> GENERAL, all
 * reason ERROR with the caller's default.
 */

const REASONS = {
  USER_OVERRIDE: "TARGETING_MATCH",
  RULE_MATCH: "TARGETING_MATCH",
  ROLLOUT: "SPLIT",
  DISABLED: "DISABLED",
  PREREQUISITE_FAILED: "DISABLED",
  DEFAULT: "DEFAULT",
};

const isObject = (v) => typeof v === "object" && v !== null && !Array.isArray(v);

/** The OpenFeature reason of a trimtab evaluation (ignoring staleness). */
export function openFeatureReason(ev) {
  if (ev?.reason === "ADMIN_OVERRIDE") return ev.enabled ? "STATIC" : "DISABLED";
  return REASONS[ev?.reason] ?? "UNKNOWN";
}

/** OpenFeature evaluation context -> trimtab context: `targetingKey` becomes `userId`. */
export function trimtabContext(ctx) {
  const out = isObject(ctx) ? { ...ctx } : {};
  delete out.targetingKey;
  if (typeof ctx?.targetingKey === "string" && ctx.targetingKey) out.userId = ctx.targetingKey;
  return out;
}

const numeric = (key) => typeof key === "string" && key.trim() !== "" && Number.isFinite(Number(key));

/** Flag key -> its OpenFeature type in a snapshot: "boolean" (no variants), "number" (every
 *  variant key is a number), else "string". */
export function flagTypes(snapshot) {
  const out = new Map();
  for (const f of Array.isArray(snapshot?.flags) ? snapshot.flags : []) {
    const keys = Array.isArray(f.variants) ? f.variants.map((v) => v?.key) : [];
    out.set(f.key, keys.length === 0 ? "boolean" : keys.every(numeric) ? "number" : "string");
  }
  return out;
}

const error = (defaultValue, errorCode, errorMessage, flagMetadata) => ({
  value: defaultValue,
  reason: "ERROR",
  errorCode,
  errorMessage,
  flagMetadata,
});

/**
 * Resolution details of `kind` ("boolean" | "string" | "number" | "object") for the evaluation
 * `ev`. `flagType`: the flag's type (flagTypes); `freshness`: "live" | "stale" | "cached".
 */
export function resolution(ev, kind, defaultValue, { flagType = "boolean", freshness = "live" } = {}) {
  const flagMetadata = { trimtabReason: ev.reason, version: String(ev.version), stale: freshness === "stale" };
  if (typeof ev.bucket === "number") flagMetadata.bucket = ev.bucket;
  if (typeof ev.ruleIndex === "number") flagMetadata.ruleIndex = ev.ruleIndex;
  if (ev.reason === "NOT_FOUND") return error(defaultValue, "FLAG_NOT_FOUND", `unknown flag: ${ev.flag}`, flagMetadata);
  // The flag's type is known from the snapshot: a mismatch is reported whatever the context.
  const fits = kind === "object" || kind === flagType || (kind === "string" && flagType === "number");
  if (!fits) return error(defaultValue, "TYPE_MISMATCH", `${ev.flag} is a ${flagType} flag, not ${kind}`, flagMetadata);
  if (ev.reason === "MISSING_UNIT") {
    return error(defaultValue, "TARGETING_KEY_MISSING", `${ev.flag} needs a targetingKey`, flagMetadata);
  }
  if (ev.reason === "CONDITION_ERROR") {
    const rule = typeof ev.ruleIndex === "number" ? `rule ${ev.ruleIndex}` : "a rule";
    return error(defaultValue, "GENERAL", `${ev.flag}: ${rule} could not be evaluated`, flagMetadata);
  }
  const reason = freshness === "stale" ? "STALE" : freshness === "cached" ? "CACHED" : openFeatureReason(ev);
  if (kind === "object") {
    const value = { enabled: ev.enabled, reason: ev.reason, version: String(ev.version) };
    if (ev.variant !== undefined) value.variant = ev.variant;
    if (typeof ev.bucket === "number") value.bucket = ev.bucket;
    if (typeof ev.ruleIndex === "number") value.ruleIndex = ev.ruleIndex;
    return { value, variant: ev.variant ?? (ev.enabled ? "on" : "off"), reason, flagMetadata };
  }
  if (kind === "boolean") return { value: ev.enabled, variant: ev.enabled ? "on" : "off", reason, flagMetadata };
  if (ev.variant === undefined) return { value: defaultValue, reason, flagMetadata };
  return { value: kind === "number" ? Number(ev.variant) : ev.variant, variant: ev.variant, reason, flagMetadata };
}

const EVENT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;
const DETAIL_KEY = /^[A-Za-z0-9_.-]{1,64}$/;
/** Limits of one tracking event (see trackingEvent). */
export const TRACK_LIMITS = Object.freeze({ details: 16, text: 256, events: 20 });

/**
 * A tracking event as the usage log stores it, or an error message: `{ name, value?, details? }`,
 * `name` 1-64 of [A-Za-z0-9_.:-], `value` a finite number, `details` at most 16 keys of
 * [A-Za-z0-9_.-] with string (at most 256 characters), number or boolean values; `flag` and
 * `variant` (strings) are kept as given when present in details.
 */
export function trackingEvent(name, details) {
  if (typeof name !== "string" || !EVENT_NAME.test(name)) {
    return { error: "name must be 1-64 characters of A-Z a-z 0-9 _ . : - (starting with a letter or digit)" };
  }
  const d = isObject(details) ? details : {};
  const out = { name };
  if (d.value !== undefined) {
    if (typeof d.value !== "number" || !Number.isFinite(d.value)) return { error: "value must be a finite number" };
    out.value = d.value;
  }
  const rest = Object.entries(d).filter(([k]) => k !== "value");
  if (rest.length > TRACK_LIMITS.details) return { error: `at most ${TRACK_LIMITS.details} details` };
  const kept = {};
  for (const [k, v] of rest) {
    if (!DETAIL_KEY.test(k)) return { error: `detail key ${JSON.stringify(k).slice(0, 70)} is not allowed` };
    const ok = typeof v === "boolean" || (typeof v === "number" && Number.isFinite(v)) ||
      (typeof v === "string" && v.length <= TRACK_LIMITS.text);
    if (!ok) return { error: `detail ${k} must be a string (≤ ${TRACK_LIMITS.text}), a finite number or a boolean` };
    kept[k] = v;
  }
  if (rest.length) out.details = kept;
  return { event: out };
}
