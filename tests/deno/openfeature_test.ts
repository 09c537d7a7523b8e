// The OpenFeature server provider (supabase/functions/_shared/flags/openfeature-server.ts) through
// the real @openfeature/server-sdk client, against PGlite (migrated + seeded): values, variants and
// reasons agree with the `flags` function's own evaluation (service-role POST batch); typed asks
// that do not fit the flag are TYPE_MISMATCH; a change through flags-admin emits
// PROVIDER_CONFIGURATION_CHANGED; track() and POST /flags/events write trimtab.flag_events.
// The provider is passed to the SDK without a cast: this file type-checks it against Provider.
//
//   deno test --allow-read --allow-run --allow-env --allow-net=127.0.0.1,localhost \
//     --allow-write=tests/artifacts,.data tests/deno/openfeature_test.ts
import "../../supabase/functions/_shared/platform/routed.ts";
import { type EventDetails, OpenFeature, ProviderEvents } from "@openfeature/server-sdk";
import flags from "../../supabase/functions/flags/index.ts";
import flagsAdmin from "../../supabase/functions/flags-admin/index.ts";
import { openDb } from "../../scripts/dev/db.ts";
import { useDb } from "../../supabase/functions/_shared/platform/store.ts";
import { TrimtabServerProvider } from "../../supabase/functions/_shared/flags/openfeature-server.ts";
import { FlagEngine, openFeatureReason, resolution } from "../../supabase/functions/_shared/platform/trimtab.ts";
import { adminApi, assert, call, eq, eventually, req, testTokens } from "./support.ts";

const VARIANT_FLAGS = new Set(["USE_OPTIMIZED_PROMPTS"]);

Deno.test({
  name: "OpenFeature server provider agrees with the flags function (PGlite)",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const tk = await testTokens();
    const db = await openDb({ url: "", dataDir: "memory://" });
    useDb(db);
    const provider = new TrimtabServerProvider();
    try {
      await OpenFeature.setProviderAndWait(provider);
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

      await t.step("typed values, variants and reasons match the server, unit by unit", async () => {
        let checked = 0;
        for (let i = 0; i < units.length; i++) {
          for (const key of keys) {
            const ev = server.body.results[i][key];
            const ctx = { targetingKey: units[i] };
            if (VARIANT_FLAGS.has(key)) {
              const d = await client.getStringDetails(key, "none", ctx);
              eq(d.value, ev.variant ?? "none", `${key} for ${units[i]}: the variant, else the default`);
              eq(d.variant, ev.variant, `${key}: variant`);
              eq(d.reason, openFeatureReason(ev), `${key}: reason`);
            } else {
              const d = await client.getBooleanDetails(key, !ev.enabled, ctx);
              eq(d.value, ev.enabled, `${key} for ${units[i]}: value`);
              eq(d.variant, ev.enabled ? "on" : "off", `${key} for ${units[i]}: variant`);
              eq(d.reason, openFeatureReason(ev), `${key} for ${units[i]}: reason`);
              eq(d.flagMetadata.trimtabReason, ev.reason, `${key}: trimtab reason`);
              eq(d.flagMetadata.bucket, ev.bucket, `${key}: bucket`);
              eq(d.errorCode, undefined, `${key}: no error`);
            }
            checked++;
          }
        }
        assert(checked >= 300 * 9, `only ${checked} checks`);
        const seen = new Set(
          server.body.results.map((r: Record<string, { variant?: string }>) => r.USE_OPTIMIZED_PROMPTS.variant),
        );
        assert(seen.has("optimized") && seen.has("original") && seen.has(undefined), "both variants and none");
      });

      await t.step("override, rules from context attributes, object values", async () => {
        const o = await client.getBooleanDetails("phoenix_pipeline_enabled", true, { targetingKey: "user-42" });
        eq(
          [o.value, o.reason, o.flagMetadata.trimtabReason],
          [false, "TARGETING_MATCH", "USER_OVERRIDE"],
          "user override",
        );
        const rw = await client.getBooleanDetails("USE_RESPONSE_CACHE", false, { targetingKey: "u-x", country: "RW" });
        eq([rw.value, rw.reason, rw.flagMetadata.trimtabReason], [true, "TARGETING_MATCH", "RULE_MATCH"], "rule");
        const obj = await client.getObjectValue("USE_OPTIMIZED_PROMPTS", {}, { targetingKey: "user-7" });
        eq((obj as { reason: string }).reason, server.body.results[1].USE_OPTIMIZED_PROMPTS.reason, "object value");
      });

      await t.step("errors resolve to the default: unknown flag, type mismatch, missing targeting key", async () => {
        const nf = await client.getBooleanDetails("NO_SUCH_FLAG", true, { targetingKey: "u" });
        eq([nf.value, nf.reason, nf.errorCode], [true, "ERROR", "FLAG_NOT_FOUND"], "unknown flag");
        const mu = await client.getBooleanDetails("FEATURE_AGENT_CHAT", true, {});
        eq([mu.value, mu.errorCode], [true, "TARGETING_KEY_MISSING"], "no unit");
        const num = await client.getNumberDetails("FEATURE_AGENT_CHAT", 7, { targetingKey: "u" });
        eq([num.value, num.errorCode], [7, "TYPE_MISMATCH"], "a number of a boolean flag");
        const str = await client.getStringDetails("FEATURE_AGENT_CHAT", "x", { targetingKey: "u" });
        eq([str.value, str.errorCode], ["x", "TYPE_MISMATCH"], "a string of a boolean flag");
        const bool = await client.getBooleanDetails("USE_OPTIMIZED_PROMPTS", true, {});
        eq([bool.value, bool.errorCode], [true, "TYPE_MISMATCH"], "a boolean of a variant flag, before the unit");
      });

      await t.step("a kill switch reads DISABLED; the version change emits CONFIGURATION_CHANGED", async () => {
        const changes: EventDetails[] = [];
        client.addHandler(ProviderEvents.ConfigurationChanged, (d) => {
          if (d) changes.push(d);
        });
        const api = adminApi(flagsAdmin, tk);
        const r = await api("/rollback", { body: { flag: "FEATURE_AGENT_CHAT", reason: "openfeature test" } });
        eq(r.status, 200, JSON.stringify(r.body));
        const d = await client.getBooleanDetails("FEATURE_AGENT_CHAT", true, { targetingKey: "user-7" });
        eq([d.value, d.reason, d.flagMetadata.trimtabReason], [false, "DISABLED", "ADMIN_OVERRIDE"], "kill switch");
        assert(await eventually(() => Promise.resolve(changes.length > 0), 2000), "no event");
        const changed = changes[0].flagsChanged as string[] | undefined;
        assert(changed?.includes("FEATURE_AGENT_CHAT"), JSON.stringify(changes));
      });

      await t.step("track() and POST /flags/events write the usage log (trimtab.flag_events)", async () => {
        client.track("checkout", { targetingKey: "user-7" }, { value: 12.5, plan: "pro" });
        client.track("bad name!", { targetingKey: "user-7" }, {}); // refused by the shared validation
        await provider.flush();
        const token = await tk.user("web-user-1");
        const ok = await call(
          flags,
          req("/flags/events", { token, body: { events: [{ name: "viewed", details: { n: 2 } }] } }),
        );
        eq([ok.status, ok.body.recorded], [202, 1], JSON.stringify(ok.body));
        const bad = await call(
          flags,
          req("/flags/events", { token, body: { events: [{ name: "x", details: { o: {} } }] } }),
        );
        eq([bad.status, bad.body.error.code], [400, "INVALID_EVENT"], "nested details");
        const anon = await call(flags, req("/flags/events", { token: tk.anon, body: { events: [{ name: "x" }] } }));
        eq([anon.status, anon.body.error.code], [401, "UNAUTHORIZED"], "anon");
        const rows = await db.query<
          { user_id: string; name: string; value: number | null; details: unknown; source: string }
        >(
          "select user_id, name, value, details, source from trimtab.flag_events order by id",
        );
        eq(rows.map((r) => [r.user_id, r.name, r.value === null ? null : Number(r.value), r.details, r.source]), [
          ["user-7", "checkout", 12.5, { plan: "pro" }, "server"],
          ["web-user-1", "viewed", null, { n: 2 }, "web"],
        ]);
      });
    } finally {
      await OpenFeature.close();
      useDb(null);
      await db.close();
    }
  },
});

Deno.test("the shared mapping: a rule beyond the matcher's limits (CONDITION_ERROR) is ERROR/GENERAL with the default", () => {
  const engine = new FlagEngine({
    version: "1",
    flags: [{
      key: "blocklist",
      enabled: true,
      rollout: 100,
      rules: [{ condition: { email: { $not: { $regex: "@blocked\\.example$" } } }, rollout: 100 }],
    }],
  });
  // 600 bytes: over the matcher's 512-byte text cap, so the rule can be neither applied nor skipped.
  const ev = engine.evaluate("blocklist", { userId: "u-1", email: `${"a".repeat(584)}@blocked.example` });
  eq([ev.enabled, ev.reason, ev.ruleIndex], [false, "CONDITION_ERROR", 0], "the core's answer");
  const r = resolution(ev, "boolean", true);
  eq([r.value, r.reason, r.errorCode], [true, "ERROR", "GENERAL"], "the caller's default, as an error");
  assert(String(r.errorMessage).includes("rule 0"), String(r.errorMessage));
  engine.free();
});
