// A fault in the middle of work: the local stack (its own process) is killed with SIGKILL during
// a WhatsApp webhook storm and a burst of admin writes, started again on the same database, and
// the storm delivered again (as Meta does for every delivery it got no 2xx for, plus duplicates).
// Then: every message answered (none lost); a message answered twice only if its processing was
// cut by the kill (its row was left 'processing': the reply may or may not have gone out, and the
// retry sends it again: at least once); every admin write that was acknowledged (2xx) is there;
// nothing half-written (each fault_ flag has its audit row and the reverse; no event left
// unprocessed). On a Debian Postgres and on PGlite on disk. The figures go to
// tests/artifacts/fault-<backend>.json (the README's reliability section quotes a run).
import type { Db } from "../../supabase/functions/_shared/platform/db.ts";
import { fakeMeta, waPayload, waRequest } from "./fakes.ts";
import { type HttpStack, onBothStacks } from "./http_stack.ts";
import { assert, eq, eventually, ROOT } from "./support.ts";

const APP_SECRET = "wa-app-secret-fault-0123456789";
const WA_TOKEN = "EAAGfault0123456789";
const MESSAGES = 150;
const COPIES = 3;
const WRITES = 40;
const IN_FLIGHT = 25;

const phone = (i: number) => `2507886${String(i).padStart(5, "0")}`;

/** Runs `jobs` with at most `n` at a time. */
async function pool<T>(jobs: (() => Promise<T>)[], n: number): Promise<T[]> {
  const out: T[] = new Array(jobs.length);
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < jobs.length) {
      const i = next++;
      out[i] = await jobs[i]();
    }
  }));
  return out;
}

const rows = (db: Db, sql: string) => db.query<Record<string, unknown>>(sql);

onBothStacks("fault: SIGKILL during a webhook storm and admin writes", async (t, sdb) => {
  const meta = fakeMeta(WA_TOKEN);
  const env = {
    WHATSAPP_APP_SECRET: APP_SECRET,
    WHATSAPP_ACCESS_TOKEN: WA_TOKEN,
    WHATSAPP_API_BASE: meta.url,
    FEATURE_AGENT_CHAT: "true",
    AGENT_RATE_LIMIT_PER_MIN: "1000",
    // Abandoned events are taken up again quickly here (a minute's lease on Supabase).
    WEBHOOK_LEASE_MS: "1500",
    WEBHOOK_RETRY_BASE_MS: "200",
    WEBHOOK_RETRY_INTERVAL_MS: "300",
  };
  const run = crypto.randomUUID().slice(0, 6);
  const wamid = (i: number) => `wamid.FAULT${run}x${i}`;
  const deliveries = Array.from(
    { length: MESSAGES * COPIES },
    (_, k) => waPayload([{ messages: [{ id: wamid(k % MESSAGES), from: phone(k % MESSAGES), text: "hello" }] }]),
  ).sort(() => Math.random() - 0.5);
  const figures: Record<string, unknown> = { backend: sdb.kind, messages: MESSAGES, deliveries: deliveries.length };
  let stack: HttpStack | null = await sdb.start(env);
  try {
    const first = stack;
    const deliver = (s: HttpStack, p: unknown) =>
      fetch(waRequest(`${s.base}/functions/v1/ai-whatsapp-webhook`, p, { secret: APP_SECRET }), {
        signal: AbortSignal.timeout(15_000),
      }).then(async (r) => (await r.body?.cancel(), r.status), () => 0);
    const acknowledgedWrites: string[] = [];
    let killed = false;

    await t.step("storm and admin writes, killed in the middle", async () => {
      const writes = (async () => {
        for (let i = 0; i < WRITES && !killed; i++) {
          const key = `fault_${run}_${i}`;
          const status = await fetch(`${first.base}/functions/v1/flags-admin/flags`, {
            method: "POST",
            headers: { authorization: `Bearer ${first.admin}`, "content-type": "application/json" },
            body: JSON.stringify({ key, enabled: true, rollout: 5, reason: "fault test" }),
            signal: AbortSignal.timeout(15_000),
          }).then(async (r) => (await r.body?.cancel(), r.status), () => 0);
          if (status === 201) acknowledgedWrites.push(key);
        }
      })();
      const storm = pool(deliveries.map((d) => () => killed ? Promise.resolve(0) : deliver(first, d)), IN_FLIGHT);
      // Kill once a third of the messages were answered: events are then in every state.
      const reached = await eventually(() => Promise.resolve(meta.sent.length >= MESSAGES / 3), 60_000, 5);
      assert(reached, `the storm got going (${meta.sent.length} replies)`);
      await first.kill();
      killed = true;
      stack = null;
      const statuses = await storm;
      await writes;
      figures.acknowledgedBeforeKill = statuses.filter((s) => s === 200).length;
      figures.repliesBeforeKill = meta.sent.length;
      figures.adminWritesAcknowledged = acknowledgedWrites.length;
    });

    // Rows the kill left mid-processing: their reply may have gone out already.
    const interrupted = new Set(
      (await sdb.offline((db) =>
        rows(
          db,
          `select event_id from trimtab.webhook_events where state = 'processing' and event_id like 'wamid.FAULT${run}%'`,
        )
      )).map((r) => String(r.event_id)),
    );
    figures.interruptedByKill = interrupted.size;

    await t.step("started again on the same database; the storm delivered again", async () => {
      stack = await sdb.start(env);
      const second = stack;
      const statuses = await pool(deliveries.map((d) => () => deliver(second, d)), IN_FLIGHT);
      eq(statuses.filter((s) => s !== 200).length, 0, "every delivery acknowledged after the restart");
      const all = await eventually(
        () => Promise.resolve(new Set(meta.sent.map((m) => m.body.to)).size >= MESSAGES),
        30_000,
        100,
      );
      assert(all, `every message answered (${new Set(meta.sent.map((m) => m.body.to)).size} of ${MESSAGES})`);
    });

    await t.step("each message answered once, twice only if the kill cut its processing", async () => {
      // Let the retry job finish anything still due before counting.
      await new Promise((r) => setTimeout(r, 2_000));
      const per = new Map<string, number>();
      for (const m of meta.sent) per.set(m.body.to, (per.get(m.body.to) ?? 0) + 1);
      const twice = [...per].filter(([, n]) => n > 1).map(([to]) => to);
      const lost = Array.from({ length: MESSAGES }, (_, i) => phone(i)).filter((p) => !per.has(p));
      const cut = new Set([...interrupted].map((id) => phone(Number(id.split("x").pop()))));
      figures.replies = meta.sent.length;
      figures.unique = per.size;
      figures.processedTwice = twice.length;
      figures.lost = lost.length;
      eq(lost, [], "no message lost");
      eq(twice.filter((p) => !cut.has(p)), [], "a second reply only where the kill cut processing");
      assert([...per.values()].every((n) => n <= 2), "never more than twice");
    });

    await t.step("every acknowledged admin write is there; nothing half-written", async () => {
      const s = stack!;
      for (const key of acknowledgedWrites) {
        const r = await fetch(`${s.base}/functions/v1/flags-admin/flags/${key}`, {
          headers: { authorization: `Bearer ${s.admin}` },
        });
        await r.body?.cancel();
        eq(r.status, 200, `acknowledged write ${key}`);
      }
      await s.stop();
      stack = null;
      await sdb.offline(async (db) => {
        const flags = (await rows(db, `select key from trimtab.feature_flags where key like 'fault_${run}_%'`))
          .map((r) => String(r.key)).sort();
        const audited = (await rows(
          db,
          `select flag_key from trimtab.flag_audit_log where action = 'flag.create' and flag_key like 'fault_${run}_%'`,
        )).map((r) => String(r.flag_key)).sort();
        eq(flags, audited, "each flag with its audit row, and no audit row without its flag");
        figures.adminWritesPresent = flags.length;
        const open = await rows(
          db,
          `select state, count(*) as n from trimtab.webhook_events where event_id like 'wamid.FAULT${run}%' group by state`,
        );
        eq(open.map((r) => [r.state, Number(r.n)]), [["processed", MESSAGES]], "every event processed");
        const leftovers = await rows(
          db,
          `select count(*) as n from trimtab.webhook_events where event_id like 'wamid.FAULT${run}%' and (payload is not null or reply is not null)`,
        );
        eq(Number(leftovers[0].n), 0, "no payload or reply kept once processed");
      });
    });
  } finally {
    await (stack as HttpStack | null)?.kill();
    await meta.close();
    await Deno.mkdir(new URL("tests/artifacts/", ROOT), { recursive: true });
    await Deno.writeTextFile(
      new URL(`tests/artifacts/fault-${sdb.kind}.json`, ROOT),
      JSON.stringify(figures, null, 2) + "\n",
    );
  }
});
