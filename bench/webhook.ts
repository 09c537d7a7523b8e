// `npm run bench` (after bench/edge.ts): ai-whatsapp-webhook on the local edge stack, with the
// durable dedup on a real Postgres. Not a test of timings: it measures and prints; but it exits 1
// when the replay storm lets a duplicate through (or loses a message), since that is correctness.
//
// A throwaway Debian Postgres (scripts/pg-test-server.sh), migrated and seeded here, and
// scripts/serve.ts processes on it (LOG_LEVEL=warn, 127.0.0.1 only, no OPENAI_API_KEY):
//
// 1. Throughput: one stack with FEATURE_AGENT_CHAT off, autocannon in this process, 20
//    connections for 10 s after a 2 s warm-up. Every request is a distinct delivery, as Meta sends
//    them: one message status (a new wamid each time), the raw JSON body signed with
//    X-Hub-Signature-256 (HMAC-SHA256, the app secret). The bodies and signatures are made before
//    the run (the load generator only picks the next one), so each request costs the function
//    signature check + parse + in-isolate dedup + one INSERT ... ON CONFLICT DO NOTHING into
//    webhook_events. Latency percentiles from every response's own timing; rows counted after.
//    Two rows: the test server as scripts/pg-test-server.sh starts it (fsync, full_page_writes,
//    synchronous_commit off), then, restarted on the same data with all three on (each commit
//    waits for its WAL flush, as in production), a fresh stack.
// 2. Replay storm: two more stacks on the same (durable) Postgres, FEATURE_AGENT_CHAT=true, the
//    legacy agent, and a fake Meta Graph API in this process (Deno.serve on 127.0.0.1:0, as
//    WHATSAPP_API_BASE) that records every send-message call. 200 inbound "hello" text messages
//    from 200 phones, each delivered 10 times (the same bytes, as Meta retries), plus 10 batched
//    deliveries (each: a new message twice, in two entries, one message of the storm again, and a
//    status) sent twice each: all shuffled, 50 in flight, alternating between the two stacks.
//    Then 20 bursts: the 10 copies of one new message sent at once, 5 to each stack. Once the
//    count of replies has been stable for 1 s: replies, duplicates let through (replies - distinct
//    phones answered, one message per phone; must be 0), messages never answered, webhook_events
//    rows.
//
// Every child process is killed and the temp directories removed on exit, also on error or Ctrl-C
// (bench/stack.ts). Writes .bench/webhook.json. About 35 s.
//
// Run from the repository root (scripts/bench.sh does, with $DENO from scripts/env.sh):
//   $DENO run --allow-read=. --allow-write=.bench,.data --allow-net=127.0.0.1 --allow-env \
//     --allow-run=bash,$DENO --no-check bench/webhook.ts
import autocannon from "autocannon"; // the exact version in package.json (node_modules)
import { hmacSha256Hex } from "../js/trimtab.js";
import { openDb } from "../scripts/dev/db.ts";
import {
  cleanup,
  cleanups,
  onSignals,
  pct,
  printHeader,
  rand,
  randomHex,
  restartPg,
  sleep,
  type Stack,
  startPg,
  startStack,
  tempDir,
  writeBenchJson,
} from "./stack.ts";

const CONNECTIONS = 20;
const DURATION_S = 10;
const WARMUP_S = 2;
/** Deliveries signed before the load run; beyond, the load generator signs (counted, reported). */
const POOL = Number(Deno.env.get("WEBHOOK_BENCH_POOL") ?? 150_000);
const STORM_MESSAGES = 200;
const STORM_COPIES = 10;
const STORM_BATCHES = 10;
const STORM_BATCH_COPIES = 2;
const BURST_MESSAGES = 20;
const IN_FLIGHT = 50;
const PATH = "/functions/v1/ai-whatsapp-webhook";
const PHONE_NUMBER_ID = "106540352242922";
const APP_SECRET = randomHex(32);
const ACCESS_TOKEN = `EAAG${randomHex(24)}`;
const RUN = rand().toUpperCase(); // in every wamid: rows of this run are told apart

onSignals("webhook bench");

// ---------------------------------------------------------------- deliveries

const now = () => String(Math.floor(Date.now() / 1000));
const METADATA = `"metadata":{"display_phone_number":"15550783881","phone_number_id":"${PHONE_NUMBER_ID}"}`;
/** A wamid-like id (Meta's are base64 of the number and a message id), unique per (kind, n). */
const wamid = (kind: string, n: number) => `wamid.HBgL${kind}${RUN}${n.toString(36).padStart(8, "0")}AA==`;
const phone = (base: number, i: number) => String(250788000000 + base + i);

type Inbound = { id: string; from: string; text: string };
type Status = { id: string; status: string; recipient: string };

function statusJson(s: Status): string {
  return `{"id":"${s.id}","status":"${s.status}","timestamp":"${now()}","recipient_id":"${s.recipient}",` +
    `"pricing":{"billable":true,"pricing_model":"PMP","category":"service"}}`;
}

/** One WhatsApp Business Account `messages` change, as in tests/vectors/webhooks.json. */
function change(messages: Inbound[], statuses: Status[]): string {
  const parts = [`"messaging_product":"whatsapp"`, METADATA];
  if (messages.length) {
    parts.push(
      `"contacts":[${messages.map((m) => `{"profile":{"name":"Bench ${m.from.slice(-4)}"},"wa_id":"${m.from}"}`)}]`,
    );
    parts.push(
      `"messages":[${
        messages.map((m) =>
          `{"from":"${m.from}","id":"${m.id}","timestamp":"${now()}","type":"text","text":{"body":${
            JSON.stringify(m.text)
          }}}`
        )
      }]`,
    );
  }
  if (statuses.length) parts.push(`"statuses":[${statuses.map(statusJson)}]`);
  return `{"value":{${parts.join(",")}},"field":"messages"}`;
}

/** A delivery body: one entry per element of `entries`, each one change. */
function delivery(entries: { messages?: Inbound[]; statuses?: Status[] }[]): string {
  return `{"object":"whatsapp_business_account","entry":[${
    entries.map((e, i) => `{"id":"10229012934039${i}","changes":[${change(e.messages ?? [], e.statuses ?? [])}]}`)
  }]}`;
}

const signature = (body: string) => `sha256=${hmacSha256Hex(APP_SECRET, body)}`;

// ---------------------------------------------------------------- the stacks

async function startWebhookStack(dbUrl: string, dir: string, env: Record<string, string>): Promise<Stack> {
  return await startStack({
    SUPABASE_DB_URL: dbUrl,
    WHATSAPP_APP_SECRET: APP_SECRET,
    WHATSAPP_ACCESS_TOKEN: ACCESS_TOKEN,
    WHATSAPP_API_BASE: "http://127.0.0.1:9", // nothing listens: no reply may be attempted unless set
    OPENAI_API_KEY: "", // the legacy agent
    AGENT_STAFF_PHONES: "",
    FEATURE_AGENT_CHAT: "",
    ...env,
  }, dir);
}

/** Waits until the stack answers a signed status delivery with 200. */
async function ready(stack: Stack, ms = 30_000) {
  const end = Date.now() + ms;
  let last = "";
  let n = 0;
  while (Date.now() < end) {
    const body = delivery([{ statuses: [{ id: wamid("READY", n++), status: "sent", recipient: phone(0, 0) }] }]);
    try {
      const r = await fetch(`${stack.url}${PATH}`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-hub-signature-256": signature(body) },
        body,
      });
      last = `${r.status} ${(await r.text()).slice(0, 300)}`;
      if (r.status === 200) return;
    } catch (e) {
      last = String(e);
    }
    await sleep(100);
  }
  throw new Error(`${stack.url}${PATH} not ready after ${ms} ms: ${last}\n${stack.stderr()}`);
}

// ---------------------------------------------------------------- 1. throughput

interface Throughput {
  name: string;
  /** Postgres with fsync, full_page_writes and synchronous_commit on (else all off). */
  durable: boolean;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  rps: number;
  total: number;
  ok: number;
  bad: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  /** Deliveries the load generator took (sent, or built for a request in flight at the end). */
  taken: number;
  signedLive: number;
  rows: number;
  eventsPerDelivery: number;
  poolBuildS: number;
}

class Pool {
  next = 0;
  signedLive = 0;
  readonly bodies: string[] = [];
  readonly sigs: string[] = [];
  constructor(readonly kind: string, size: number) {
    for (let i = 0; i < size; i++) this.make(i);
  }
  private make(i: number) {
    const body = delivery([{
      statuses: [{ id: wamid(this.kind, i), status: "delivered", recipient: phone(100_000, i % 1000) }],
    }]);
    this.bodies[i] = body;
    this.sigs[i] = signature(body);
  }
  take(): [string, string] {
    const i = this.next++;
    if (i >= this.bodies.length) {
      this.make(i);
      this.signedLive++;
    }
    const out: [string, string] = [this.bodies[i], this.sigs[i]];
    // Free what was sent (the pool is large).
    this.bodies[i] = this.sigs[i] = "";
    return out;
  }
}

async function cannon(url: string, pool: Pool, seconds: number) {
  const times: number[] = [];
  const inst = autocannon({
    url,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [{
      method: "POST",
      path: PATH,
      setupRequest: (req: Record<string, unknown>) => {
        const [body, sig] = pool.take();
        return { ...req, body, headers: { "content-type": "application/json", "x-hub-signature-256": sig } };
      },
    }],
  });
  inst.on("response", (_client: unknown, _status: number, _bytes: number, ms: number) => times.push(ms));
  const r = await inst;
  times.sort((a, b) => a - b);
  const statusCodes: Record<string, number> = {};
  for (const [code, v] of Object.entries(r.statusCodeStats ?? {})) statusCodes[code] = (v as { count: number }).count;
  const ok = Object.entries(statusCodes).filter(([c]) => /^2\d\d$/.test(c)).reduce((s, [, n]) => s + n, 0);
  return {
    p50: pct(times, 50),
    p90: pct(times, 90),
    p99: pct(times, 99),
    max: times[times.length - 1],
    rps: times.length / r.duration,
    total: times.length,
    ok,
    bad: times.length - ok,
    errors: r.errors,
    timeouts: r.timeouts,
    statusCodes,
  };
}

/** Starts a stack, warms it up and measures it under autocannon; counts the rows it made. */
async function throughputBench(name: string, dbUrl: string, dir: string, durable: boolean): Promise<Throughput> {
  const stack = await startWebhookStack(dbUrl, dir, {});
  await ready(stack);
  const tag = durable ? "SYNC" : "LOAD";
  const t0 = performance.now();
  const warm = new Pool(`WARM${tag}`, 20_000);
  const pool = new Pool(tag, POOL);
  const poolBuildS = (performance.now() - t0) / 1000;
  await cannon(stack.url, warm, WARMUP_S); // JIT, connections, the database pool; not reported
  const r = await cannon(stack.url, pool, DURATION_S);
  await sleep(200); // requests cut off at the end of the run may still be committing
  const db = await openDb({ url: dbUrl, max: 1 });
  const [row] = await db.query<{ n: unknown }>(
    "select count(*) as n from trimtab.webhook_events where provider = 'whatsapp' and event_id like $1",
    [`wamid.HBgL${tag}${RUN}%`],
  );
  const [fsync] = await db.query<{ fsync: string }>("show fsync");
  await db.close();
  if ((fsync.fsync === "on") !== durable) throw new Error(`Postgres fsync is ${fsync.fsync}`);
  // This stack's connections die with the next restart: stop it now (cleanup() kills it anyway).
  stack.proc.kill("SIGTERM");
  await stack.proc.status;
  return {
    name,
    durable,
    ...r,
    taken: pool.next,
    signedLive: pool.signedLive,
    rows: Number(row.n),
    eventsPerDelivery: 1,
    poolBuildS,
  };
}

// ---------------------------------------------------------------- 2. replay storm

interface FakeMeta {
  url: string;
  sent: { to: string; text: string; phoneNumberId: string }[];
  refused: number;
  close(): Promise<void>;
}

/** The Graph API's send-message call: POST /{version}/{phone_number_id}/messages, bearer token. */
function fakeMeta(): FakeMeta {
  const ac = new AbortController();
  const state = { sent: [] as FakeMeta["sent"], refused: 0 };
  let seq = 0;
  const json = (status: number, body: unknown) =>
    new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} }, async (req) => {
    const m = /^\/v\d+\.\d+\/([^/]+)\/messages$/.exec(new URL(req.url).pathname);
    const body = await req.json().catch(() => null);
    if (req.method !== "POST" || !m) {
      state.refused++;
      return json(400, { error: { message: "Unsupported post request.", type: "GraphMethodException", code: 100 } });
    }
    if (req.headers.get("authorization") !== `Bearer ${ACCESS_TOKEN}`) {
      state.refused++;
      return json(401, { error: { message: "Invalid OAuth access token", type: "OAuthException", code: 190 } });
    }
    if (
      body?.messaging_product !== "whatsapp" || typeof body.to !== "string" || body.type !== "text" ||
      typeof body.text?.body !== "string"
    ) {
      state.refused++;
      return json(400, { error: { message: "(#100) Invalid parameter", type: "OAuthException", code: 100 } });
    }
    state.sent.push({ to: body.to, text: body.text.body, phoneNumberId: decodeURIComponent(m[1]) });
    return json(200, {
      messaging_product: "whatsapp",
      contacts: [{ input: body.to, wa_id: body.to }],
      messages: [{ id: `wamid.FAKE${++seq}` }],
    });
  });
  const close = async () => {
    ac.abort();
    await server.finished;
  };
  cleanups.push(close);
  return Object.assign(state, { url: `http://127.0.0.1:${server.addr.port}`, close });
}

interface Storm {
  deliveries: number;
  batchedDeliveries: number;
  uniqueMessages: number;
  replies: number;
  duplicatesLetThrough: number;
  phonesAnsweredTwice: number;
  messagesNotAnswered: number;
  repliesRefusedByFakeMeta: number;
  non200: number;
  statusCodes: Record<string, number>;
  modes: Record<string, number>;
  rows: number;
  expectedRows: number;
  sendS: number;
  settleMs: number;
  p50: number;
  p99: number;
}

async function stormBench(dbUrl: string, dir: string): Promise<Storm> {
  const meta = fakeMeta();
  const env = { FEATURE_AGENT_CHAT: "true", WHATSAPP_API_BASE: meta.url };
  const stacks = await Promise.all([startWebhookStack(dbUrl, dir, env), startWebhookStack(dbUrl, dir, env)]);
  await Promise.all(stacks.map((s) => ready(s)));

  // The messages: one "hello" per phone.
  const singles: Inbound[] = Array.from({ length: STORM_MESSAGES }, (_, i) => ({
    id: wamid("STORM", i),
    from: phone(200_000, i),
    text: "hello",
  }));
  const deliveries: string[] = [];
  for (const m of singles) {
    const body = delivery([{ messages: [m] }]);
    for (let k = 0; k < STORM_COPIES; k++) deliveries.push(body); // Meta's retries: the same bytes
  }
  // Batched deliveries with a duplicate inside: a new message in two entries, a message of the storm
  // again, and a status of a message the business sent.
  const batched: Inbound[] = [];
  for (let j = 0; j < STORM_BATCHES; j++) {
    const m = { id: wamid("STORM", STORM_MESSAGES + j), from: phone(300_000, j), text: "hello" };
    batched.push(m);
    const body = delivery([
      { messages: [m, singles[j * 7]] },
      { messages: [m], statuses: [{ id: wamid("STORMSTATUS", j), status: "read", recipient: m.from }] },
    ]);
    for (let k = 0; k < STORM_BATCH_COPIES; k++) deliveries.push(body);
  }
  for (let i = deliveries.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [deliveries[i], deliveries[j]] = [deliveries[j], deliveries[i]];
  }
  // Bursts: a message whose copies all arrive at once, half on each stack (the tightest race for
  // the durable claim), one message after the other.
  const bursts: Inbound[] = Array.from({ length: BURST_MESSAGES }, (_, i) => ({
    id: wamid("STORM", STORM_MESSAGES + STORM_BATCHES + i),
    from: phone(400_000, i),
    text: "hello",
  }));
  const unique = new Set([...singles, ...batched, ...bursts].map((m) => m.from));
  const uniqueMessages = unique.size;
  const expectedRows = uniqueMessages + STORM_BATCHES; // + the statuses

  const statusCodes: Record<string, number> = {};
  const modes: Record<string, number> = {}; // the function's "mode": replies sent "inline" or in the "background"
  const times: number[] = [];
  let sent = 0;
  const send = async (body: string, stack: Stack) => {
    sent++;
    const started = performance.now();
    let code = "error";
    try {
      const r = await fetch(`${stack.url}${PATH}`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-hub-signature-256": signature(body) },
        body,
      });
      const answer = await r.json().catch(() => null);
      code = String(r.status);
      if (typeof answer?.mode === "string") modes[answer.mode] = (modes[answer.mode] ?? 0) + 1;
    } catch { /* counted as "error" */ }
    times.push(performance.now() - started);
    statusCodes[code] = (statusCodes[code] ?? 0) + 1;
  };
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
    while (next < deliveries.length) {
      const i = next++;
      await send(deliveries[i], stacks[i % 2]);
    }
  }));
  for (const m of bursts) {
    const body = delivery([{ messages: [m] }]);
    await Promise.all(Array.from({ length: STORM_COPIES }, (_, k) => send(body, stacks[k % 2])));
  }
  const sendS = (performance.now() - t0) / 1000;

  // Replies go out before the 200 locally (no EdgeRuntime.waitUntil), but wait until the count is
  // stable for 1 s anyway (up to 10 s), in case they ever move to the background.
  const settleStart = performance.now();
  let count = meta.sent.length, since = performance.now();
  while (performance.now() - since < 1000 && performance.now() - settleStart < 10_000) {
    await sleep(50);
    if (meta.sent.length !== count) [count, since] = [meta.sent.length, performance.now()];
  }
  const settleMs = performance.now() - settleStart;

  const byPhone = new Map<string, number>();
  for (const s of meta.sent) byPhone.set(s.to, (byPhone.get(s.to) ?? 0) + 1);
  const db = await openDb({ url: dbUrl, max: 1 });
  const [row] = await db.query<{ n: unknown }>(
    "select count(*) as n from trimtab.webhook_events where provider = 'whatsapp' and event_id like $1",
    [`wamid.HBgLSTORM%${RUN}%`],
  );
  await db.close();
  times.sort((a, b) => a - b);
  const ok = statusCodes["200"] ?? 0;
  return {
    deliveries: sent,
    batchedDeliveries: STORM_BATCHES * STORM_BATCH_COPIES,
    uniqueMessages,
    replies: meta.sent.length,
    duplicatesLetThrough: meta.sent.length - [...byPhone.keys()].filter((p) => unique.has(p)).length,
    phonesAnsweredTwice: [...byPhone.values()].filter((n) => n > 1).length,
    messagesNotAnswered: [...unique].filter((p) => !byPhone.has(p)).length,
    repliesRefusedByFakeMeta: meta.refused,
    non200: sent - ok,
    statusCodes,
    modes,
    rows: Number(row.n),
    expectedRows,
    sendS,
    settleMs,
    p50: pct(times, 50),
    p99: pct(times, 99),
  };
}

// ---------------------------------------------------------------- run and report

type Row = { what: string; value: string; unit: string; target: string };
const rows: Row[] = [];
const row = (what: string, value: string, unit: string, target = "") => rows.push({ what, value, unit, target });
const started = Date.now();
const load: Throughput[] = [];
let storm: Storm | null = null;
let failed = false;

try {
  const url = await startPg("bench-webhook-pg");
  const db = await openDb({ url, migrate: true, seed: "demo", max: 1 });
  await db.close();
  const dir = await tempDir("bench-webhook");
  load.push(await throughputBench("Postgres fsync off (test server)", url, dir, false));
  await restartPg(url, true);
  load.push(await throughputBench("Postgres fsync + synchronous_commit on", url, dir, true));
  storm = await stormBench(url, dir);
} catch (e) {
  failed = true;
  console.error("webhook bench failed:", e instanceof Error ? e.stack ?? e.message : e);
} finally {
  await cleanup();
}

for (const l of load) {
  row(`signed status deliveries, ${l.name}: throughput`, l.rps.toFixed(0), "req/s");
  row(`signed status deliveries, ${l.name}: latency p50`, l.p50.toFixed(2), "ms");
  row(`signed status deliveries, ${l.name}: latency p99`, l.p99.toFixed(2), "ms");
  row(
    `signed status deliveries, ${l.name}: not 2xx + errors + timeouts`,
    String(l.bad + l.errors + l.timeouts),
    "count",
    "0",
  );
  row(
    `signed status deliveries, ${l.name}: webhook_events rows / deliveries answered 200`,
    `${l.rows} / ${l.ok}`,
    "rows",
    "equal, but for requests in flight at the end",
  );
}
if (storm) {
  row("replay storm: deliveries sent", String(storm.deliveries), "count");
  row("replay storm: unique messages", String(storm.uniqueMessages), "count");
  row(
    "replay storm: replies received by the fake Meta API",
    String(storm.replies),
    "count",
    String(storm.uniqueMessages),
  );
  row("replay storm: duplicates let through", String(storm.duplicatesLetThrough), "count", "0");
  row("replay storm: messages never answered", String(storm.messagesNotAnswered), "count", "0");
  row("replay storm: webhook_events rows", String(storm.rows), "rows", String(storm.expectedRows));
  if (storm.duplicatesLetThrough !== 0 || storm.messagesNotAnswered !== 0 || storm.rows !== storm.expectedRows) {
    failed = true;
    console.error("webhook bench: the replay storm was not answered exactly once per message");
  }
}

const pad = (v: string, n: number) => v.padStart(n);
printHeader("webhook", started);
if (load.length) {
  console.log(
    `\nthroughput: POST ${PATH} on one scripts/serve.ts and a Debian Postgres on 127.0.0.1, autocannon in this process, ${CONNECTIONS} connections, ${DURATION_S} s per row; every request a distinct signed delivery of ${
      load[0].eventsPerDelivery
    } status (HMAC check, parse, dedup window, INSERT ... ON CONFLICT DO NOTHING)\n`,
  );
  const w = Math.max(...load.map((l) => l.name.length));
  console.log(
    `${"".padEnd(w)}  ${pad("req/s", 7)}  ${pad("p50 ms", 7)}  ${pad("p99 ms", 7)}  ${pad("max ms", 7)}  ${
      pad("not 2xx", 7)
    }  ${pad("errors", 6)}  ${pad("answered 200", 12)}  ${pad("webhook_events rows", 19)}`,
  );
  for (const l of load) {
    console.log(
      `${l.name.padEnd(w)}  ${pad(l.rps.toFixed(0), 7)}  ${pad(l.p50.toFixed(2), 7)}  ${pad(l.p99.toFixed(2), 7)}  ${
        pad(l.max.toFixed(1), 7)
      }  ${pad(String(l.bad), 7)}  ${pad(String(l.errors + l.timeouts), 6)}  ${pad(String(l.ok), 12)}  ${
        pad(String(l.rows), 19)
      }`,
    );
  }
  console.log(
    `(${POOL} bodies signed before each run, in ${load.map((l) => `${l.poolBuildS.toFixed(1)} s`).join(", ")}; taken ${
      load.map((l) => l.taken).join(", ")
    }; ${load.reduce((n, l) => n + l.signedLive, 0)} signed during the runs)`,
  );
}
if (storm) {
  console.log(
    `\nreplay storm: 2 scripts/serve.ts on the same Postgres, FEATURE_AGENT_CHAT=true (legacy agent), a fake Meta Graph API; ${STORM_MESSAGES} messages x ${STORM_COPIES} copies + ${STORM_BATCHES} batched deliveries (duplicate inside) x ${STORM_BATCH_COPIES}, shuffled, ${IN_FLIGHT} in flight, alternating stacks; then ${BURST_MESSAGES} messages whose ${STORM_COPIES} copies are sent at once, half to each stack\n`,
  );
  const lines: [string, string, string][] = [
    ["deliveries sent (answered 200)", `${storm.deliveries} (${storm.deliveries - storm.non200})`, ""],
    ["unique messages", String(storm.uniqueMessages), ""],
    ["replies the fake Meta API received", String(storm.replies), String(storm.uniqueMessages)],
    ["duplicates let through", String(storm.duplicatesLetThrough), "0"],
    ["messages never answered", String(storm.messagesNotAnswered), "0"],
    ["webhook_events rows", String(storm.rows), String(storm.expectedRows)],
    ["processing mode of the answers", Object.entries(storm.modes).map(([m, n]) => `${m} ${n}`).join(", "), ""],
    [
      "storm duration / delivery latency p50 / p99",
      `${storm.sendS.toFixed(2)} s / ${storm.p50.toFixed(1)} ms / ${storm.p99.toFixed(1)} ms`,
      "",
    ],
  ];
  const w = Math.max(...lines.map((l) => l[0].length));
  console.log(`${"".padEnd(w)}  ${pad("measured", 28)}  expected`);
  for (const [what, v, e] of lines) console.log(`${what.padEnd(w)}  ${pad(v, 28)}  ${e}`);
}
await writeBenchJson("webhook", {
  config: {
    connections: CONNECTIONS,
    durationS: DURATION_S,
    warmupS: WARMUP_S,
    pool: POOL,
    stormMessages: STORM_MESSAGES,
    stormCopies: STORM_COPIES,
    stormBatches: STORM_BATCHES,
    stormBatchCopies: STORM_BATCH_COPIES,
    burstMessages: BURST_MESSAGES,
    inFlight: IN_FLIGHT,
  },
  failed,
  rows,
  load,
  storm,
});
Deno.exit(failed ? 1 : 0);
