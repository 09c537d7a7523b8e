// OpenFeature's published conformance scenarios (open-feature/spec, specification/assets/gherkin/
// evaluation.feature, with the flags of its test-flags.json written as a trimtab snapshot) run
// through the real @openfeature/web-sdk client over the trimtab web provider (www/openfeature-web.js;
// the server provider shares its mapping, js/openfeature.js). No Gherkin runner is packaged for
// Deno, so each scenario is a step here, named as in the feature file. Every scenario is run; each
// is marked with how it fares, and the README lists the same:
//   pass       as written;
//   adapted    passes with a targetingKey added (trimtab assigns variants by a sticky unit, and the
//              scenario evaluates without one) or with trimtab's variant naming (a variant's key is
//              its value, so "greeting" -> "hi" is not expressible);
//   n/a        not expressible: object flags (trimtab flags carry no JSON values).
//
//   deno test --allow-read --allow-env tests/deno/openfeature_conformance_test.ts
import { OpenFeature } from "@openfeature/web-sdk";
import { createFlagClient } from "../../www/trimtab-flags.js";
import { TrimtabWebProvider } from "../../www/openfeature-web.js";
import { eq } from "./support.ts";

const CONTEXT = { fn: "Sulisław", ln: "Świętopełk", age: 29, customer: false };
const SNAPSHOT = {
  version: "1",
  flags: [
    { key: "boolean-flag", enabled: false, rollout: 0, adminOverride: "on" },
    { key: "string-flag", enabled: true, rollout: 100, variants: [{ key: "hi", weight: 100 }] },
    { key: "integer-flag", enabled: true, rollout: 100, variants: [{ key: "10", weight: 100 }] },
    { key: "float-flag", enabled: true, rollout: 100, variants: [{ key: "0.5", weight: 100 }] },
    {
      key: "context-aware",
      enabled: true,
      rollout: 0,
      variants: [{ key: "INTERNAL", weight: 100 }],
      rules: [{ condition: CONTEXT, rollout: 100 }],
    },
    { key: "wrong-flag", enabled: true, rollout: 100, variants: [{ key: "one", weight: 100 }] },
  ],
  overrides: [],
};

Deno.test({
  name: "OpenFeature evaluation.feature scenarios through the web SDK and the trimtab provider",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const fetch = () => Promise.resolve(new Response(JSON.stringify(SNAPSHOT), { headers: { etag: '"1-c"' } }));
    const flags = createFlagClient({ url: "https://conformance.invalid", fetch, storage: null, refreshMs: 0 });
    await OpenFeature.setProviderAndWait(new TrimtabWebProvider(flags));
    const of = OpenFeature.getClient();
    const unit = { targetingKey: "conformance-unit" };
    try {
      await t.step("pass: Resolves boolean value", () => {
        eq(of.getBooleanValue("boolean-flag", false), true);
      });
      await t.step("pass: Resolves boolean details (value, variant on, reason STATIC)", () => {
        const d = of.getBooleanDetails("boolean-flag", false);
        eq([d.value, d.variant, d.reason], [true, "on", "STATIC"]);
      });
      await t.step("adapted: Resolves string value and details (targetingKey; variant is the value)", async () => {
        await OpenFeature.setContext(unit);
        const d = of.getStringDetails("string-flag", "bye");
        eq([d.value, d.variant, d.reason], ["hi", "hi", "SPLIT"]);
      });
      await t.step("adapted: Resolves integer value and details (targetingKey; variant is the value)", () => {
        const d = of.getNumberDetails("integer-flag", 1);
        eq([d.value, d.variant, d.reason], [10, "10", "SPLIT"]);
      });
      await t.step("adapted: Resolves float value and details (targetingKey; variant is the value)", () => {
        const d = of.getNumberDetails("float-flag", 0.1);
        eq([d.value, d.variant, d.reason], [0.5, "0.5", "SPLIT"]);
      });
      await t.step("adapted: Resolves based on context (targetingKey added)", async () => {
        await OpenFeature.setContext({ ...unit, ...CONTEXT });
        eq(of.getStringValue("context-aware", "EXTERNAL"), "INTERNAL");
        await OpenFeature.setContext(unit);
        eq(of.getStringValue("context-aware", "EXTERNAL"), "EXTERNAL", "the default when the context is empty");
      });
      await t.step("n/a: Resolves object value and details: no JSON values; the object is the evaluation", () => {
        const v = of.getObjectValue("boolean-flag", {}) as Record<string, unknown>;
        eq([v.enabled, v.reason], [true, "ADMIN_OVERRIDE"]);
      });
      await t.step("pass: Flag not found", async () => {
        await OpenFeature.setContext({});
        const d = of.getStringDetails("missing-flag", "uh-oh");
        eq([d.value, d.reason, d.errorCode], ["uh-oh", "ERROR", "FLAG_NOT_FOUND"]);
      });
      await t.step("pass: Type error", () => {
        const d = of.getNumberDetails("wrong-flag", 13);
        eq([d.value, d.reason, d.errorCode], [13, "ERROR", "TYPE_MISMATCH"]);
      });
    } finally {
      await OpenFeature.close();
    }
  },
});
