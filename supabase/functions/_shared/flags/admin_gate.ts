// The gate a change to full exposure must pass in the admin API: a PATCH that moves a flag's
// rollout to 100 % or sets adminOverride "on". The flags layer does not know what the gate checks
// (the safety layer's cutover check on shadow comparisons): flags-admin's index.ts installs it with
// `setRampGate`. Without a gate installed, nothing is checked.
import type { Tx } from "../platform/db.ts";

/** A failed criterion, as the core names it (SAMPLES, SIMILARITY, LATENCY, ERROR_RATE). */
export interface GateReason {
  code: string;
  message: string;
  value?: number;
  threshold?: number;
}

/** The gate's answer: `ok` false (with `required`) refuses the change unless forced. */
export interface GateResult {
  ok: boolean;
  required: boolean;
  reasons: GateReason[];
  /** What the gate looked at (returned to the admin). */
  summary?: unknown;
}

/** Asked inside the PATCH's transaction, before the change. */
export type RampGate = (tx: Tx, flag: { key: string; metadata: unknown }) => Promise<GateResult>;

let gate: RampGate | null = null;

/** Installs the gate (null removes it). */
export function setRampGate(g: RampGate | null): void {
  gate = g;
}

/** The installed gate, if any. */
export function rampGate(): RampGate | null {
  return gate;
}

/** Whether a feature_flags row is on for everyone: enabled with adminOverride "on", or with no
 *  override and a rollout of 100 or a schedule step reaching 100. */
export function fullExposure(r: Record<string, unknown>): boolean {
  if (r.enabled !== true) return false;
  if (r.admin_override === "on") return true;
  if (r.admin_override !== null && r.admin_override !== undefined) return false;
  if (Number(r.rollout_percentage) >= 100) return true;
  const schedule = typeof r.schedule === "string" ? JSON.parse(r.schedule) : r.schedule;
  return Array.isArray(schedule) && schedule.some((s) => Number((s as Record<string, unknown>)?.rollout) >= 100);
}
