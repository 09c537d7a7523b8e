// Several isolates, one database: two local edge stacks (separate Deno processes, so separate
// per-isolate caches) share a real Debian Postgres. A change made through one stack's admin API
// (an emergency rollback of every flag, then its undo) is served by the other within 2 seconds,
// for every user at once.
import { openDb } from "../../supabase/functions/_shared/db.ts";
import { makeUserToken } from "../../supabase/functions/_shared/auth.ts";
import { assert, eq, eventually, ROOT, startPg, TEST_SECRET } from "./support.ts";

const DENO = Deno.execPath();

interface Stack {
  url: string;
  proc: Deno.ChildProcess;
}

async function startStack(dbUrl: string): Promise<Stack> {
  const proc = new Deno.Command(DENO, {
    args: ["run", "--allow-all", "--node-modules-dir=manual", "scripts/serve.ts"],
    cwd: decodeURIComponent(ROOT.pathname),
    env: { PORT: "0", SUPABASE_DB_URL: dbUrl, TRIMTAB_JWT_SECRET: TEST_SECRET, LOG_LEVEL: "warn", TRIMTAB_PRINT_TOKEN: "0" },
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = proc.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!/http:\/\/127\.0\.0\.1:\d+/.test(seen)) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`stack exited before listening:\n${seen}`);
    seen += value;
  }
  // Keep draining stdout so the child never blocks on a full pipe.
  (async () => {
    while (!(await reader.read()).done) { /* drain */ }
  })().catch(() => {});
  return { url: seen.match(/http:\/\/127\.0\.0\.1:\d+/)![0], proc };
}

async function stop(s: Stack) {
  try {
    s.proc.kill("SIGTERM");
  } catch { /* already gone */ }
  await s.proc.status;
}

Deno.test({
  name: "isolates: an admin change through one stack is served by another within 2 s",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const pg = await startPg();
    const stacks: Stack[] = [];
    try {
      const db = await openDb({ url: pg.url, migrate: true, seed: true, max: 1 });
      await db.close();
      stacks.push(await startStack(pg.url), await startStack(pg.url));
      const [a, b] = stacks;
      const admin = await makeUserToken(TEST_SECRET, "admin-iso", { admin: true });
      const users = await Promise.all(["u-1", "u-2", "u-3"].map((u) => makeUserToken(TEST_SECRET, u)));
      const reasonsOn = async (s: Stack) =>
        await Promise.all(users.map(async (t) => {
          const r = await fetch(`${s.url}/functions/v1/flags?flags=FEATURE_AGENT_CHAT`, { headers: { authorization: `Bearer ${t}` } });
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
      await Promise.all(stacks.map(stop));
      await pg.stop();
    }
  },
});
