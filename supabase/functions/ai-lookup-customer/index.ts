// `ai-lookup-customer`: POST { phone } -> 200 { ok: true, customer } (the profile and its latest
// vouchers) or 404 CUSTOMER_NOT_FOUND. Service role or admin JWT; FEATURE_AGENT_CUSTOMER_LOOKUP.
// Routing only; see _shared/tools.ts and _shared/vouchers.ts.
import { HttpError, json, serve } from "../_shared/platform/http.ts";
import { toolHandler } from "../_shared/agent/tools.ts";
import { lookupCustomer, phoneOf } from "../_shared/agent/vouchers.ts";

const handler = toolHandler({
  name: "ai-lookup-customer",
  feature: "FEATURE_AGENT_CUSTOMER_LOOKUP",
  fields: ["phone"],
  parse: (b) => ({ phone: phoneOf(b.phone) }),
  unit: (i) => i.phone,
  async run(db, i, _who, ctx) {
    const customer = await lookupCustomer(db, i.phone);
    if (!customer) throw new HttpError(404, "CUSTOMER_NOT_FOUND", "no customer has this phone number");
    ctx.log.info("customer found", { customerId: customer.id, vouchers: customer.vouchers.length });
    return json(200, { ok: true, customer });
  },
});

export default handler;
serve(handler);
