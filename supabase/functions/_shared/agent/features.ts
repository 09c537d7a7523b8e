// Feature switches of the agent stack (FEATURE_AGENT_CHAT, FEATURE_AGENT_VOICE,
// FEATURE_AGENT_VOUCHERS, FEATURE_AGENT_CUSTOMER_LOOKUP): all off by default.
//
// A feature is on when its environment variable is "true" (or "1") AND, when a flag of the same
// key exists, that flag is on for the unit (the customer's phone, or "global" when there is no
// customer). The environment variable is the deploy-time master switch; the flag ramps it per
// customer and is the instant kill switch. With the database unreachable the last known good
// snapshot decides (see config.ts); with no snapshot at all the environment alone decides.
import { currentConfig } from "../flags/config.ts";
import { envSwitch } from "../platform/env.ts";

export const FEATURES = [
  "FEATURE_AGENT_CHAT",
  "FEATURE_AGENT_VOICE",
  "FEATURE_AGENT_VOUCHERS",
  "FEATURE_AGENT_CUSTOMER_LOOKUP",
] as const;
export type Feature = typeof FEATURES[number];

/** Whether `feature` is on for `unit`, and why not when it is off. */
export async function feature(
  name: Feature,
  unit?: string,
): Promise<{ on: boolean; why: "env" | "flag" | null }> {
  if (!envSwitch(name)) return { on: false, why: "env" };
  let view;
  try {
    view = await currentConfig();
  } catch {
    return { on: true, why: null }; // no snapshot yet: the environment decides
  }
  if (!view.config.keys.has(name)) return { on: true, why: null };
  const e = view.config.engine.evaluate(name, { userId: unit ?? "global" });
  return e.enabled ? { on: true, why: null } : { on: false, why: "flag" };
}
