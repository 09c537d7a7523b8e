// The production seed enables nothing, on PGlite and a real Debian Postgres: supabase/seed.sql
// alone creates every flag the code knows disabled at 0 %, with no rule, variant, schedule or
// override, so every flag evaluates off for everyone. The demo state lives in scripts/dev/ (the
// local stack loads it), and the README's deploy steps never push it.
import { openDb } from "../../scripts/dev/db.ts";
import { loadSnapshot } from "../../supabase/functions/_shared/flags/snapshot.ts";
import type { Db } from "../../supabase/functions/_shared/platform/db.ts";
import { FlagEngine } from "../../supabase/functions/_shared/platform/trimtab.ts";
import { assert, eq, ROOT, startPg } from "./support.ts";

import type { Json } from "./support.ts";

const KNOWN = [
  "AI_PIPELINE",
  "ENFORCE_CIRCUIT_BREAKER",
  "FEATURE_AGENT_CHAT",
  "FEATURE_AGENT_CUSTOMER_LOOKUP",
  "FEATURE_AGENT_VOICE",
  "FEATURE_AGENT_VOUCHERS",
  "USE_CIRCUIT_BREAKER",
  "USE_OPTIMIZED_PROMPTS",
  "USE_RESPONSE_CACHE",
  "memory_v2_enabled",
  "phoenix_pipeline_enabled",
];

async function productionSeed(db: Db): Promise<void> {
  const flags = await db.query<Json>("select * from trimtab.feature_flags order by key");
  eq(flags.map((f) => f.key).sort(), [...KNOWN].sort(), "every flag the code knows");
  for (const f of flags) {
    eq(
      [f.enabled, Number(f.rollout_percentage), f.admin_override, f.rules, f.variants, f.schedule],
      [false, 0, null, null, null, null],
      `${f.key} is off at 0 %, no rule, variant or schedule`,
    );
  }
  eq((await db.query("select 1 from trimtab.user_feature_overrides")).length, 0, "no overrides");
  const engine = new FlagEngine(await loadSnapshot(db));
  try {
    for (const unit of ["user-42", "+250788000001", "anon", "00000000-0000-4000-8000-000000000001"]) {
      for (const key of KNOWN) {
        const e = engine.evaluate(key, { userId: unit, email: "ana@trimtab.dev", country: "RW" });
        eq([e.enabled, e.reason], [false, "DISABLED"], `${key} for ${unit}`);
      }
    }
  } finally {
    engine.free();
  }
  const [audit] = await db.query<Json>("select actor, action, count(*) as n from trimtab.flag_audit_log group by 1, 2");
  eq([audit.actor, audit.action, Number(audit.n)], ["seed", "seed", KNOWN.length], "audited as the seed");
}

Deno.test("production seed enables nothing: PGlite", async () => {
  const db = await openDb({ url: "", dataDir: "memory://", seed: true });
  try {
    await productionSeed(db);
  } finally {
    await db.close();
  }
});

Deno.test({
  name: "production seed enables nothing: PostgreSQL server (Debian package)",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const pg = await startPg();
    try {
      const db = await openDb({ url: pg.url, migrate: true, seed: true, max: 2 });
      try {
        await productionSeed(db);
      } finally {
        await db.close();
      }
    } finally {
      await pg.stop();
    }
  },
});

Deno.test("the demo state is dev-only: never under supabase/, never in the deploy steps", async () => {
  const demo = await Deno.readTextFile(new URL("scripts/dev/demo-seed.sql", ROOT));
  assert(/rollout_percentage = 5/.test(demo) && /user-42/.test(demo), "the demo state is in scripts/dev/");
  const readme = await Deno.readTextFile(new URL("README.md", ROOT));
  const deploy = readme.slice(readme.indexOf("### Deploying to Supabase"), readme.indexOf("## Browser client"));
  assert(deploy.length > 500, "the deploy section");
  assert(!/demo-seed/.test(deploy), "the deploy steps never push the demo state");
  assert(/--include-seed/.test(deploy), "the production seed is pushed with --include-seed");
  const config = await Deno.readTextFile(new URL("supabase/config.toml", ROOT));
  assert(!/demo-seed/.test(config), "supabase/config.toml seeds nothing of the demo");
});
