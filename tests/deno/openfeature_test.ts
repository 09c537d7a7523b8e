// The OpenFeature server provider (supabase/functions/_shared/openfeature-server.ts) through the
// real @openfeature/server-sdk client, against PGlite (migrated + seeded): values, variants and
// reasons agree with the `flags` function's own evaluation (service-role POST batch).
//
//   deno test --allow-read --allow-run --allow-env --allow-net=127.0.0.1,localhost \
//     --allow-write=tests/artifacts,.data tests/deno/openfeature_test.ts
import "../../supabase/functions/_shared/platform/routed.ts";
import { OpenFeature, type Provider } from "@openfeature/server-sdk";
import flags from "../../supabase/functions/flags/index.ts";
import { openDb } from "../../scripts/dev/db.ts";
import { useDb } from "../../supabase/functions/_shared/platform/store.ts";
import { openFeatureReason, TrimtabServerProvider } from "../../supabase/functions/_shared/flags/openfeature-server.ts";
import { assert, call, eq, req, testTokens } from "./support.ts";

Deno.test({
  name: "OpenFeature server provider agrees with the flags function (PGlite)",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const tk = await testTokens();
    const db = await openDb({ url: "", dataDir: "memory://" });
    useDb(db);
    try {
      // The provider is structural (no SDK import); its errorCode strings equal the SDK's ErrorCode
      // enum values, which TypeScript treats as nominal, hence the cast.
      await OpenFeature.setProviderAndWait(new TrimtabServerProvider() as unknown as Provider);
      const client = OpenFeature.getClient();
      eq(client.providerStatus, "READY", "provider status");
      eq(OpenFeature.providerMetadata.name, "trimtab", "metadata");

      const units = ["user-42", "user-7", ...Array.from({ length: 300 }, (_, i) => `of-${i}`)];
      const server = await call(
        flags,
        req("/flags", { token: tk.service, body: { contexts: units.map((userId) => ({ userId })) } }),
      );
      eq(server.status, 200, "service-role batch");
      const keys = Object.keys(server.body.results[0]);
      assert(keys.length >= 9, "every seeded flag");

      await t.step("boolean values, variants and reasons match the server, unit by unit", async () => {
        let checked = 0;
        for (let i = 0; i < units.length; i++) {
          for (const key of keys) {
            const ev = server.body.results[i][key];
            const d = await client.getBooleanDetails(key, !ev.enabled, { targetingKey: units[i] });
            eq(d.value, ev.enabled, `${key} for ${units[i]}: value`);
            eq(d.variant, ev.variant ?? (ev.enabled ? "on" : "off"), `${key} for ${units[i]}: variant`);
            eq(d.reason, openFeatureReason(ev.reason), `${key} for ${units[i]}: reason`);
            eq(d.flagMetadata.trimtabReason, ev.reason, `${key}: trimtab reason`);
            eq(d.flagMetadata.bucket, ev.bucket, `${key}: bucket`);
            eq(d.errorCode, undefined, `${key}: no error`);
            checked++;
          }
        }
        assert(checked >= 300 * 9, `only ${checked} checks`);
      });

      await t.step("string values are the variants", async () => {
        for (let i = 0; i < units.length; i++) {
          const ev = server.body.results[i].USE_OPTIMIZED_PROMPTS;
          const v = await client.getStringValue("USE_OPTIMIZED_PROMPTS", "none", { targetingKey: units[i] });
          eq(v, ev.variant ?? (ev.enabled ? "on" : "off"), `variant for ${units[i]}`);
        }
        const seen = new Set(
          server.body.results.map((r: Record<string, { variant?: string }>) => r.USE_OPTIMIZED_PROMPTS.variant),
        );
        assert(seen.has("optimized") && seen.has("original"), "both variants occur");
      });

      await t.step("override, rules from context attributes, object values", async () => {
        const o = await client.getBooleanDetails("phoenix_pipeline_enabled", true, { targetingKey: "user-42" });
        eq(
          [o.value, o.reason, o.flagMetadata.trimtabReason],
          [false, "TARGETING_MATCH", "USER_OVERRIDE"],
          "user override",
        );
        const rw = await client.getBooleanDetails("USE_RESPONSE_CACHE", false, { targetingKey: "u-x", country: "RW" });
        eq([rw.value, rw.flagMetadata.trimtabReason], [true, "RULE_MATCH"], "country rule");
        const obj = await client.getObjectValue("USE_OPTIMIZED_PROMPTS", {}, { targetingKey: "user-7" });
        eq((obj as { reason: string }).reason, server.body.results[1].USE_OPTIMIZED_PROMPTS.reason, "object value");
      });

      await t.step("errors: unknown flag, missing targeting key, type mismatch -> default", async () => {
        const nf = await client.getBooleanDetails("NO_SUCH_FLAG", true, { targetingKey: "u" });
        eq([nf.value, nf.errorCode], [true, "FLAG_NOT_FOUND"], "unknown flag");
        const mu = await client.getBooleanDetails("FEATURE_AGENT_CHAT", true, {});
        eq([mu.value, mu.errorCode], [true, "TARGETING_KEY_MISSING"], "no unit");
        const tm = await client.getNumberDetails("FEATURE_AGENT_CHAT", 7, { targetingKey: "u" });
        eq([tm.value, tm.errorCode], [7, "TYPE_MISMATCH"], "no numeric variant");
      });
    } finally {
      await OpenFeature.close();
      useDb(null);
      await db.close();
    }
  },
});
