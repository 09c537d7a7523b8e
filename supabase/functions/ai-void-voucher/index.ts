// `ai-void-voucher`: POST { code, reason? } -> 200 { ok: true, voucher } when it was issued.
// 400 INVALID_CODE (before any database call), 404 VOUCHER_NOT_FOUND, 409 VOUCHER_NOT_ISSUED.
// Service role or admin JWT; FEATURE_AGENT_VOUCHERS. Routing only; see _shared/vouchers.ts.
import { json, serve } from "../_shared/platform/http.ts";
import { toolHandler } from "../_shared/agent/tools.ts";
import { codeOf, reasonOf, voidVoucher } from "../_shared/agent/vouchers.ts";

const handler = toolHandler({
  name: "ai-void-voucher",
  feature: "FEATURE_AGENT_VOUCHERS",
  fields: ["code", "reason"],
  parse: (b) => ({ code: codeOf(b.code), reason: reasonOf(b.reason) }),
  async run(db, i, who, ctx) {
    const voucher = await voidVoucher(db, i.code, who, i.reason);
    ctx.log.info("voucher voided", { voucherId: voucher.id });
    return json(200, { ok: true, voucher });
  },
});

export default handler;
serve(handler);
