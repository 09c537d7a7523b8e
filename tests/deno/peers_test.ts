// The side-by-side benchmark's scenario (bench/peers_engines.js) as each engine receives it:
// trimtab, @openfeature/flagd-core, unleash-client (bootstrapped, no network) and
// @growthbook/growthbook built from one description must agree on who gets which flag, or the
// benchmark would compare engines doing different work. Speed is measured by `npm run bench`.
//
//   deno test --allow-read --allow-env --allow-sys=hostname tests/deno/peers_test.ts
import { agreement, ENGINES, load, scenario, users } from "../../bench/peers_engines.js";
import { assert, eq } from "./support.ts";

const SAMPLE = 4_000;

Deno.test({
  name: "the four engines agree with the 50-flag scenario",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const flags = scenario();
    eq(flags.length, 50, "50 flags");
    const kinds = flags.reduce((n: Record<string, number>, f: { kind: string }) => {
      n[f.kind] = (n[f.kind] ?? 0) + 1;
      return n;
    }, {});
    eq(JSON.stringify(kinds), JSON.stringify({ onoff: 10, rollout: 25, conditional: 10, variants: 5 }), "flag mix");
    const people = users(SAMPLE);
    const engines = [];
    for (const name of ENGINES) {
      const e = await load(name, flags);
      engines.push({ ...e, ctx: e.contexts(people) });
    }
    try {
      const { worst, problems } = agreement(engines, flags, people, SAMPLE);
      eq(problems.join("\n"), "", "no engine disagrees with the scenario");
      for (const name of ENGINES) assert(worst[name] < 5, `${name} within 5 sigma`);

      // The check can fail: an engine that serves one rollout to everyone is caught.
      const [trimtab] = engines;
      const wrong = { ...trimtab, bool: (key: string, ctx: unknown) => key === "rollout_0" || trimtab.bool(key, ctx) };
      const caught = agreement([wrong], flags, people, SAMPLE).problems;
      assert(caught.some((p: string) => p.startsWith("trimtab rollout_0")), `a wrong rollout is reported: ${caught}`);
      const leaky = { ...trimtab, bool: (key: string, ctx: unknown) => key === "cond_0" || trimtab.bool(key, ctx) };
      const outside = agreement([leaky], flags, people, SAMPLE).problems;
      assert(outside.some((p: string) => p.includes("outside the condition")), `a leaking condition is reported`);
    } finally {
      for (const e of engines) e.close();
    }
  },
});
