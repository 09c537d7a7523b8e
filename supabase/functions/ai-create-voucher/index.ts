// `ai-create-voucher`: POST { phone, amount, currency, expiresAt? } -> 201 { ok: true, voucher }.
// Honours `Idempotency-Key`, per caller: the same caller, key and request (as validated: a phone
// written another way is the same request) return the first answer (with
// `idempotent-replayed: true`); the same key with another request is 409 IDEMPOTENCY_KEY_REUSED;
// another caller's key of the same name is its own.
// Service role or admin JWT; FEATURE_AGENT_VOUCHERS. Routing only; see _shared/vouchers.ts.
import { idempotencyKey, requestHash } from "../_shared/agent/idempotency.ts";
import { json, serve } from "../_shared/platform/http.ts";
import { toolHandler } from "../_shared/agent/tools.ts";
import {
  checkIssue,
  type CreateInput,
  createVoucher,
  createVoucherIdempotent,
  issueIdentity,
} from "../_shared/agent/vouchers.ts";

const handler = toolHandler({
  name: "ai-create-voucher",
  feature: "FEATURE_AGENT_VOUCHERS",
  fields: ["phone", "amount", "currency", "expiresAt"],
  async parse(b, req) {
    const input = b as unknown as CreateInput;
    const checked = checkIssue(input); // 400 before any database call
    const key = idempotencyKey(req);
    return { input, checked, key, hash: key === null ? null : await requestHash(issueIdentity(input, checked)) };
  },
  unit: (i) => i.checked.holderPhone,
  async run(db, i, who, ctx) {
    if (i.key === null) {
      const voucher = await createVoucher(db, i.input, who);
      ctx.log.info("voucher created", {
        voucherId: voucher.id,
        amountMinor: voucher.amountMinor,
        currency: voucher.currency,
      });
      return json(201, { ok: true, voucher });
    }
    const r = await createVoucherIdempotent(db, i.input, who, { key: i.key, hash: i.hash! });
    const voucherId = (r.body as { voucher?: { id?: string } })?.voucher?.id;
    ctx.log.info(r.replayed ? "voucher create replayed" : "voucher created", { voucherId, idempotent: true });
    return json(r.status, r.body, r.replayed ? { "idempotent-replayed": "true" } : {});
  },
});

export default handler;
serve(handler);
