// `npm run bench` (after the core bench): the local edge stack under load, and how fast an admin
// change reaches every isolate. Not a test: it measures and prints; nothing here asserts a timing.
//
// 1. Load: one scripts/serve.ts (embedded PGlite in a temp dir under .data/bench-*, LOG_LEVEL=warn)
//    and autocannon on 127.0.0.1, 20 connections for 10 s per row, after a warm-up (snapshot
//    cached, JIT warm):
//      GET /functions/v1/flags                          100 user tokens in rotation
//      GET /functions/v1/flags?snapshot=1 + If-None-Match  the 304 path, same 100 users
//    Latency percentiles come from every response's own timing (autocannon's histogram is in
//    whole milliseconds and leaves out 3xx), throughput is responses / duration.
// 2. Propagation: a throwaway Debian Postgres (scripts/pg-test-server.sh), migrated and seeded
//    here, and three scripts/serve.ts processes on it (three isolates, three caches). Each stack
//    is polled every 10 ms all along (so every cache stays warm, as under traffic). 10 times:
//    an admin change through stack 1's flags-admin API (rollback of FEATURE_AGENT_CHAT, then its
//    undo: 20 timed changes), and the time from sending it until all three stacks serve it.
//
// Every child process is killed and the temp directories removed on exit, also on error or
// Ctrl-C (helpers shared with bench/webhook.ts in bench/stack.ts). Writes .bench/edge.json.
//
// Run from the repository root (scripts/bench.sh does, with $DENO from scripts/env.sh):
//   $DENO run --allow-read=. --allow-write=.bench,.data --allow-net=127.0.0.1 --allow-env \
//     --allow-run=bash,$DENO --no-check bench/edge.ts
// The stacks it starts get --allow-net=127.0.0.1 --allow-read=<repo> --allow-write=<their temp
// dir> --allow-env.
import autocannon from "autocannon"; // the exact version in package.json (node_modules)
import { LOCAL_ISSUER, userToken } from "../scripts/dev/keys.ts";
import { openDb } from "../scripts/dev/db.ts";
import {
  cleanup,
  cleanups,
  keys,
  median,
  onSignals,
  pct,
  printHeader,
  sleep,
  type Stack,
  startPg,
  startStack,
  tempDir,
  writeBenchJson,
} from "./stack.ts";

const CONNECTIONS = 20;
const DURATION_S = 10;
const USERS = 100;
const STACKS = 3;
const CHANGES = 10; // rollback + undo pairs: 2 × CHANGES timed changes
const POLL_MS = 10;
const FLAG = "FEATURE_AGENT_CHAT";
const ttlMs = Deno.env.get("TRIMTAB_CONFIG_TTL_MS") ?? "1000";

onSignals("edge bench");

// ---------------------------------------------------------------- processes

async function flags(stack: Stack, token: string, query = ""): Promise<Response> {
  return await fetch(`${stack.url}/functions/v1/flags${query}`, { headers: { authorization: `Bearer ${token}` } });
}

/** Waits until the stack answers GET /flags with 200 (the first snapshot load). */
async function ready(stack: Stack, token: string, ms = 30_000) {
  const end = Date.now() + ms;
  let last = "";
  while (Date.now() < end) {
    try {
      const r = await flags(stack, token);
      last = `${r.status} ${(await r.text()).slice(0, 200)}`;
      if (r.status === 200) return;
    } catch (e) {
      last = String(e);
    }
    await sleep(100);
  }
  throw new Error(`${stack.url} not ready after ${ms} ms: ${last}\n${stack.stderr()}`);
}

// ---------------------------------------------------------------- 1. load

interface LoadResult {
  name: string;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  rps: number;
  total: number;
  bad: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
}

type Req = { method: "GET"; path: string; headers: Record<string, string> };

async function cannon(url: string, requests: Req[], seconds: number): Promise<Omit<LoadResult, "name">> {
  const times: number[] = [];
  const inst = autocannon({ url, connections: CONNECTIONS, duration: seconds, requests });
  inst.on("response", (_client: unknown, _status: number, _bytes: number, ms: number) => times.push(ms));
  const r = await inst;
  times.sort((a, b) => a - b);
  const statusCodes: Record<string, number> = {};
  for (const [code, v] of Object.entries(r.statusCodeStats ?? {})) statusCodes[code] = (v as { count: number }).count;
  const bad = Object.entries(statusCodes).filter(([c]) => !/^[23]\d\d$/.test(c)).reduce((s, [, n]) => s + n, 0);
  return {
    p50: pct(times, 50),
    p90: pct(times, 90),
    p99: pct(times, 99),
    max: times[times.length - 1],
    rps: times.length / r.duration,
    total: times.length,
    bad,
    errors: r.errors,
    timeouts: r.timeouts,
    statusCodes,
  };
}

async function loadBench(): Promise<LoadResult[]> {
  const dir = await tempDir("bench-edge");
  const stack = await startStack({ TRIMTAB_PGLITE_DIR: `${dir}/pglite`, SUPABASE_DB_URL: "" }, dir);
  const tokens = await Promise.all(
    Array.from(
      { length: USERS },
      (_, i) => userToken(keys, `bench-user-${i}`, { email: `u${i}@example.com`, issuer: LOCAL_ISSUER }),
    ),
  );
  await ready(stack, tokens[0]);

  const path = "/functions/v1/flags";
  const plain: Req[] = tokens.map((t) => ({ method: "GET", path, headers: { authorization: `Bearer ${t}` } }));
  const cond: Req[] = [];
  for (const t of tokens) {
    const r = await flags(stack, t, "?snapshot=1");
    await r.body?.cancel();
    const etag = r.headers.get("etag");
    if (r.status !== 200 || !etag) throw new Error(`snapshot=1 answered ${r.status} without an ETag`);
    cond.push({
      method: "GET",
      path: `${path}?snapshot=1`,
      headers: { authorization: `Bearer ${t}`, "if-none-match": etag },
    });
  }
  const probe = await fetch(`${stack.url}${cond[1].path}`, { headers: cond[1].headers });
  await probe.body?.cancel();
  if (probe.status !== 304) throw new Error(`If-None-Match answered ${probe.status}, not 304`);

  // Warm-up (JIT, connections, the cached snapshot), not reported.
  await cannon(stack.url, plain, 2);
  await cannon(stack.url, cond, 1);

  const out: LoadResult[] = [];
  out.push({ name: `GET ${path}`, ...(await cannon(stack.url, plain, DURATION_S)) });
  out.push({ name: `GET ${path}?snapshot=1, If-None-Match (304)`, ...(await cannon(stack.url, cond, DURATION_S)) });
  return out;
}

// ---------------------------------------------------------------- 2. propagation

interface Propagation {
  samples: { change: string; ms: number; perStack: number[]; adminMs: number }[];
  ttlMs: string;
  median: number;
  max: number;
  selfMedian: number;
  selfMax: number;
  adminMedian: number;
  adminMax: number;
}

async function propagationBench(): Promise<Propagation> {
  const url = await startPg("bench-pg");
  const db = await openDb({ url, migrate: true, seed: "demo", max: 1 });
  await db.close();

  const runDir = await tempDir("bench-edge-run");
  const stacks = await Promise.all(Array.from({ length: STACKS }, () => startStack({ SUPABASE_DB_URL: url }, runDir)));
  const user = await userToken(keys, "bench-propagation-user", { issuer: LOCAL_ISSUER });
  const admin = await userToken(keys, "00000000-0000-4000-8000-0000000bench", { admin: true, issuer: LOCAL_ISSUER });
  await Promise.all(stacks.map((s) => ready(s, user)));

  // One poller per stack, every POLL_MS, for the whole run. `seen`: the latest reason each stack
  // served; `first`: when each stack first served the expected reason after the change was sent.
  const seen = stacks.map(() => ({ reason: "", at: 0 }));
  const watch = { expect: "", t0: Infinity, first: stacks.map(() => 0) };
  let polling = true;
  const pollers = stacks.map(async (s, i) => {
    while (polling) {
      const started = performance.now();
      try {
        const r = await flags(s, user, `?flags=${FLAG}`);
        const body = await r.json();
        const reason = body?.flags?.[FLAG]?.reason;
        const at = performance.now();
        if (typeof reason === "string") seen[i] = { reason, at };
        if (reason === watch.expect && at > watch.t0 && !watch.first[i]) watch.first[i] = at;
      } catch { /* counted as not yet */ }
      await sleep(Math.max(0, POLL_MS - (performance.now() - started)));
    }
  });
  cleanups.push(async () => {
    polling = false;
    await Promise.allSettled(pollers);
  });

  const adminCall = async (method: string, path: string, body: unknown) => {
    const r = await fetch(`${stacks[0].url}/functions/v1/flags-admin/${path}`, {
      method,
      headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const text = await r.text();
    if (!r.ok) throw new Error(`${method} flags-admin/${path}: ${r.status} ${text.slice(0, 300)}`);
  };
  const timeChange = async (change: string, expect: string, act: () => Promise<void>) => {
    const t0 = performance.now();
    Object.assign(watch, { expect, t0, first: stacks.map(() => 0) });
    await act();
    const adminMs = performance.now() - t0;
    const end = t0 + 10_000;
    while (!watch.first.every((at) => at > 0)) {
      if (performance.now() > end) {
        throw new Error(`${change}: not served everywhere after 10 s: ${JSON.stringify(seen)}`);
      }
      await sleep(2);
    }
    const perStack = watch.first.map((at) => at - t0);
    return { change, ms: Math.max(...perStack), perStack, adminMs };
  };

  const samples: Propagation["samples"] = [];
  // Make sure the starting state is the seeded one everywhere.
  const start = performance.now();
  while (!seen.every((s) => s.reason === "ROLLOUT" && s.at > start)) {
    if (performance.now() - start > 5000) throw new Error(`unexpected starting state: ${JSON.stringify(seen)}`);
    await sleep(5);
  }
  for (let i = 0; i < CHANGES; i++) {
    // A random pause, so changes land at different points of each isolate's TTL cycle.
    await sleep(100 + Math.random() * 900);
    samples.push(
      await timeChange(
        "rollback",
        "ADMIN_OVERRIDE",
        () => adminCall("POST", "rollback", { flag: FLAG, reason: "bench" }),
      ),
    );
    await sleep(100 + Math.random() * 900);
    samples.push(
      await timeChange(
        "undo",
        "ROLLOUT",
        () => adminCall("PATCH", `flags/${FLAG}`, { adminOverride: null, reason: "bench" }),
      ),
    );
  }
  polling = false;
  await Promise.allSettled(pollers);
  const ms = samples.map((s) => s.ms);
  const self = samples.map((s) => s.perStack[0]), admins = samples.map((s) => s.adminMs);
  return {
    samples,
    ttlMs,
    median: median(ms),
    max: Math.max(...ms),
    selfMedian: median(self),
    selfMax: Math.max(...self),
    adminMedian: median(admins),
    adminMax: Math.max(...admins),
  };
}

// ---------------------------------------------------------------- report

type Row = { what: string; value: string; unit: string; target: string };
const rows: Row[] = [];
const row = (what: string, value: string, unit: string, target = "") => rows.push({ what, value, unit, target });
const started = Date.now();
let load: LoadResult[] = [];
let propagation: Propagation | null = null;
let failed = false;

try {
  load = await loadBench();
  await cleanup();
  propagation = await propagationBench();
} catch (e) {
  failed = true;
  console.error("edge bench failed:", e instanceof Error ? e.stack ?? e.message : e);
} finally {
  await cleanup();
}

for (const l of load) {
  row(`${l.name}: latency p50`, l.p50.toFixed(2), "ms");
  row(`${l.name}: latency p99`, l.p99.toFixed(2), "ms");
  row(`${l.name}: throughput`, l.rps.toFixed(0), "req/s");
  row(`${l.name}: responses not 2xx/3xx + errors + timeouts`, String(l.bad + l.errors + l.timeouts), "count", "0");
}
if (propagation) {
  row(`admin change -> served by all ${STACKS} stacks: median`, propagation.median.toFixed(0), "ms", "< 2000");
  row(`admin change -> served by all ${STACKS} stacks: max`, propagation.max.toFixed(0), "ms", "< 2000");
  row("admin change -> served by the stack that made it: median", propagation.selfMedian.toFixed(0), "ms", "");
  row("admin API call (rollback / PATCH): median", propagation.adminMedian.toFixed(1), "ms", "");
}

const pad = (v: string, n: number) => v.padStart(n);
printHeader("edge", started);
if (load.length) {
  console.log(
    `\nload: one scripts/serve.ts (PGlite) on 127.0.0.1, autocannon in this process, ${CONNECTIONS} connections, ${DURATION_S} s per row, ${USERS} user tokens in rotation\n`,
  );
  const w = Math.max(...load.map((l) => l.name.length));
  console.log(
    `${"request".padEnd(w)}  ${pad("p50 ms", 7)}  ${pad("p99 ms", 7)}  ${pad("req/s", 7)}  ${pad("not 2xx/3xx", 11)}  ${
      pad("errors", 6)
    }`,
  );
  for (const l of load) {
    console.log(
      `${l.name.padEnd(w)}  ${pad(l.p50.toFixed(2), 7)}  ${pad(l.p99.toFixed(2), 7)}  ${pad(l.rps.toFixed(0), 7)}  ${
        pad(String(l.bad), 11)
      }  ${pad(String(l.errors + l.timeouts), 6)}`,
    );
  }
}
if (propagation) {
  console.log(
    `\npropagation: ${STACKS} scripts/serve.ts on one Postgres, each polled every ${POLL_MS} ms; ${propagation.samples.length} admin changes through stack 1 (TTL ${propagation.ttlMs} ms)\n`,
  );
  const w = 44;
  console.log(`${"from sending the admin request until".padEnd(w)}  ${pad("median", 7)}  ${pad("max", 7)}  target`);
  console.log(
    `${`all ${STACKS} stacks serve the change`.padEnd(w)}  ${pad(propagation.median.toFixed(0), 7)}  ${
      pad(propagation.max.toFixed(0), 7)
    }  < 2000 ms`,
  );
  console.log(
    `${"stack 1 (made the change) serves it".padEnd(w)}  ${pad(propagation.selfMedian.toFixed(0), 7)}  ${
      pad(propagation.selfMax.toFixed(0), 7)
    }`,
  );
  console.log(
    `${"the admin API answers".padEnd(w)}  ${pad(propagation.adminMedian.toFixed(1), 7)}  ${
      pad(propagation.adminMax.toFixed(1), 7)
    }`,
  );
}
await writeBenchJson("edge", {
  config: {
    connections: CONNECTIONS,
    durationS: DURATION_S,
    users: USERS,
    stacks: STACKS,
    pollMs: POLL_MS,
    changes: CHANGES * 2,
  },
  failed,
  rows,
  load,
  propagation,
});
Deno.exit(failed ? 1 : 0);
