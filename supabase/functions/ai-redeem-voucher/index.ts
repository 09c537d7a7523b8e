// `ai-redeem-voucher`: POST { code, phone } -> 200 { ok: true, voucher } for the holder, once.
// 400 INVALID_CODE (before any database call), 404 VOUCHER_NOT_FOUND, 409 VOUCHER_NOT_ISSUED,
// 410 VOUCHER_EXPIRED, 403 NOT_OWNER. Service role or admin JWT; FEATURE_AGENT_VOUCHERS.
// Routing only; see _shared/vouchers.ts.
import { json, serve } from "../_shared/platform/http.ts";
import { toolHandler } from "../_shared/agent/tools.ts";
import { codeOf, phoneOf, redeemVoucher } from "../_shared/agent/vouchers.ts";

const handler = toolHandler({
  name: "ai-redeem-voucher",
  feature: "FEATURE_AGENT_VOUCHERS",
  fields: ["code", "phone"],
  parse: (b) => ({ code: codeOf(b.code), phone: phoneOf(b.phone) }),
  unit: (i) => i.phone,
  async run(db, i, who, ctx) {
    const voucher = await redeemVoucher(db, i.code, i.phone, who);
    ctx.log.info("voucher redeemed", { voucherId: voucher.id });
    return json(200, { ok: true, voucher });
  },
});

export default handler;
serve(handler);
