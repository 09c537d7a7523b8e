// "Who is in?": the admin-visible snapshot (every flag + the unit's overrides) evaluated in the page
// with the same Wasm module the edge functions use, explaining bucket, rule and reason per flag.
import { FlagEngine } from "/js/trimtab-flags.js";
import { api, el } from "./api.js";

const FIELDS = [
  "enabled",
  "adminOverride",
  "rollout",
  "salt",
  "stickiness",
  "rules",
  "variants",
  "prerequisites",
  "stages",
  "schedule",
  "clientVisible",
];

/** GET /flags-admin/flags + /overrides?unit= -> the design's snapshot shape. */
export function toSnapshot(flagsBody, overrides) {
  const flags = flagsBody.flags.map((f) => {
    const def = { key: f.key };
    for (const k of FIELDS) if (f[k] !== null && f[k] !== undefined) def[k] = f[k];
    return def;
  });
  const ovs = overrides.map((o) => {
    const d = { flag: o.flag, unit: o.unit, enabled: o.enabled, expiresAt: o.expiresAt ?? null };
    if (o.variant) d.variant = o.variant;
    if (o.reason) d.reason = o.reason;
    return d;
  });
  return { version: flagsBody.version, flags, overrides: ovs };
}

function explain(e, flag) {
  if (e.reason === "RULE_MATCH") return `rule #${e.ruleIndex} matched`;
  if (e.reason === "CONDITION_ERROR") return `rule #${e.ruleIndex} could not be evaluated (off)`;
  if (e.reason === "ROLLOUT" && e.bucket === undefined) return `rollout ${flag?.rollout}% (everyone or no one)`;
  if (e.reason === "ROLLOUT") {
    return `bucket ${e.bucket} ${e.enabled ? "<" : "≥"} ${
      Math.round((flag?.rollout ?? 0) * 10000)
    } ppm (${flag?.rollout}%)`;
  }
  return "";
}

export async function whoIsIn(form, rows, status) {
  const ctx = Object.fromEntries([...new FormData(form)].filter(([, v]) => v !== ""));
  const [flagsBody, ov] = await Promise.all([
    api("/flags-admin/flags"),
    api(`/flags-admin/overrides?unit=${encodeURIComponent(ctx.userId ?? "")}`),
  ]);
  const snapshot = toSnapshot(flagsBody, ov.overrides);
  const engine = new FlagEngine(snapshot);
  const byKey = new Map(snapshot.flags.map((f) => [f.key, f]));
  rows.replaceChildren(
    ...Object.values(engine.evaluateAll(ctx)).map((e) =>
      el(
        "tr",
        {},
        el("td", {}, e.flag),
        el("td", { className: e.enabled ? "on" : "off" }, e.enabled ? "on" : "off"),
        el("td", {}, e.reason),
        el("td", {}, e.ruleIndex === undefined ? explain(e, byKey.get(e.flag)) : `#${e.ruleIndex}`),
        el("td", {}, e.variant ?? ""),
        el("td", {}, e.bucket === undefined ? "" : String(e.bucket)),
      )
    ),
  );
  if (typeof engine.free === "function") engine.free();
  status.textContent =
    `${ctx.userId}: snapshot ${snapshot.version}, ${snapshot.flags.length} flags, ${snapshot.overrides.length} override(s), evaluated in this page`;
}
