// The HTTP side of the agent tools (ai-lookup-customer, ai-create-voucher, ai-redeem-voucher,
// ai-void-voucher): each index.ts is `toolHandler(spec)`; the logic is in vouchers.ts.
//
// Every tool: POST with a JSON object body (16 KiB cap; unknown fields are 400 UNKNOWN_FIELD);
// the service role or an admin JWT (401 without a valid token, 403 for anyone else). Order:
//   method (405) -> auth (401/403) -> body (400/413/415) -> input validation, no database (400)
//   -> feature switch (disabled: 200 { ok: false, disabled: true, feature }, logged
//      "feature disabled", nothing written) -> the operation.
// The feature is evaluated for the customer's phone (normalised) when the request names one, else
// for "global". Answers: { ok: true, ... } or { error: { code, message } }. Logs carry the
// correlation id and never a phone number (only voucher ids, statuses and amounts).
import { onlyFields } from "../flags/admin_validate.ts";
import { requireAdmin } from "../platform/auth.ts";
import type { Db } from "../platform/db.ts";
import { type Feature, feature } from "./features.ts";
import { allowMethods, type Ctx, handle, type Handler, json, readJson } from "../platform/http.ts";
import { getDb } from "../platform/store.ts";
import type { Actor } from "./vouchers.ts";

/** Body cap of the tools (their bodies are a few fields). */
export const TOOL_MAX_BODY = 16 * 1024;

export interface ToolSpec<I> {
  name: string;
  feature: Feature;
  fields: readonly string[];
  /** Validates the body (and headers) without touching the database; throws 400s. */
  parse(body: Record<string, unknown>, req: Request): I | Promise<I>;
  /** The unit the feature is evaluated for (a normalised phone), if any. */
  unit?(input: I): string | undefined;
  run(db: Db, input: I, who: Actor, ctx: Ctx): Promise<Response>;
}

export function toolHandler<I>(spec: ToolSpec<I>): Handler {
  return handle(async (req, ctx) => {
    const bad = allowMethods(req, ["POST"]);
    if (bad) return bad;
    const caller = await requireAdmin(req);
    const r = await readJson(req, TOOL_MAX_BODY);
    if (!r.ok) return r.response;
    const input = await spec.parse(onlyFields(r.value, spec.fields), req);
    const f = await feature(spec.feature, spec.unit?.(input));
    if (!f.on) {
      ctx.log.info("feature disabled", { feature: spec.feature, why: f.why });
      return json(200, { ok: false, disabled: true, feature: spec.feature });
    }
    const who: Actor = { actor: caller.actor, correlationId: ctx.correlationId, caller: caller.identity };
    return await spec.run(await getDb(), input, who, ctx);
  }, { name: spec.name });
}
