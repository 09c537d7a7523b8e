// Several isolates, one database: two local edge stacks (separate Deno processes, so separate
// per-isolate caches) share a real Debian Postgres. A change made through one stack's admin API
// (an emergency rollback of every flag, then its undo) is served by the other within 2 seconds,
// for every user at once.
import { openDb } from "../../scripts/dev/db.ts";
import { LOCAL_ISSUER, localKeys, userToken } from "../../scripts/dev/keys.ts";
import { assert, eq, eventually, KEYS_DIR, type Stack, startPg, startStack, stopStack } from "./support.ts";

Deno.test({
  name: "isolates: an admin change through one stack is served by another within 2 s",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const pg = await startPg();
    const stacks: Stack[] = [];
    try {
      const db = await openDb({ url: pg.url, migrate: true, seed: "demo", max: 1 });
      await db.close();
      stacks.push(await startStack(pg.url), await startStack(pg.url));
      const [a, b] = stacks;
      const keys = await localKeys(KEYS_DIR);
      const admin = await userToken(keys, "admin-iso", { admin: true, issuer: LOCAL_ISSUER });
      const users = await Promise.all(["u-1", "u-2", "u-3"].map((u) => userToken(keys, u, { issuer: LOCAL_ISSUER })));
      const reasonsOn = async (s: Stack) =>
        await Promise.all(users.map(async (t) => {
          const r = await fetch(`${s.url}/functions/v1/flags?flags=FEATURE_AGENT_CHAT`, {
            headers: { authorization: `Bearer ${t}` },
          });
          const body = await r.json();
          return body.flags.FEATURE_AGENT_CHAT.reason as string;
        }));
      eq(await reasonsOn(b), ["ROLLOUT", "ROLLOUT", "ROLLOUT"], "before");

      const rb = await fetch(`${a.url}/functions/v1/flags-admin/rollback`, {
        method: "POST",
        headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
        body: JSON.stringify({ all: true, reason: "isolate test" }),
      });
      eq(rb.status, 200, `rollback: ${await rb.text()}`);
      const t0 = Date.now();
      const off = await eventually(async () => (await reasonsOn(b)).every((r) => r === "ADMIN_OVERRIDE"), 2000, 20);
      assert(off, `the other isolate still served the old snapshot after ${Date.now() - t0} ms`);
      eq(await reasonsOn(a), ["ADMIN_OVERRIDE", "ADMIN_OVERRIDE", "ADMIN_OVERRIDE"], "the changing isolate at once");

      const undo = await fetch(`${a.url}/functions/v1/flags-admin/flags/FEATURE_AGENT_CHAT`, {
        method: "PATCH",
        headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
        body: JSON.stringify({ adminOverride: null, reason: "isolate test over" }),
      });
      eq(undo.status, 200, `undo: ${await undo.text()}`);
      const on = await eventually(async () => (await reasonsOn(b)).every((r) => r === "ROLLOUT"), 2000, 20);
      assert(on, "the undo reached the other isolate within 2 s");
    } finally {
      await Promise.all(stacks.map(stopStack));
      await pg.stop();
    }
  },
});
