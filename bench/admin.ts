// `npm run bench` (after the edge bench): admin writes against a large configuration, and /health
// after hostile input. Not a test: it measures and prints; nothing here asserts a timing.
//
// 1. Admin writes: one scripts/serve.ts on an embedded PGlite (a temp dir under .data/bench-*),
//    then one on a throwaway Debian Postgres, each holding 200 and then 10,000 flags (inserted
//    before the stack starts; each with a targeting rule, so every flag has a condition to
//    compile). Over HTTP with an admin token: one write first (the isolate builds the model it
//    checks changes against: a full read and compile, once), then WRITES creates and WRITES
//    PATCHes of a rollout, one at a time; per-request latency, p50 and p95.
// 2. Health after hostile input: on the PGlite stack, each hostile request of the attack (a body
//    nested 10,000 deep, U+0000 in a description and in a query parameter, a lone surrogate),
//    then GET /health; the time /health took, and that it answered 200.
//
// Writes .bench/admin.json. Run from the repository root (scripts/bench.sh does):
//   $DENO run --allow-read=. --allow-write=.bench,.data --allow-net=127.0.0.1 --allow-env \
//     --allow-run=bash,$DENO --no-check bench/admin.ts
import { LOCAL_ISSUER, userToken } from "../scripts/dev/keys.ts";
import { openDb } from "../scripts/dev/db.ts";
import type { Db } from "../supabase/functions/_shared/platform/db.ts";
import {
  cleanup,
  keys,
  median,
  onSignals,
  pct,
  printHeader,
  type Stack,
  startPg,
  startStack,
  tempDir,
  writeBenchJson,
} from "./stack.ts";

const SIZES = [200, 10_000];
const WRITES = 30;

onSignals("admin bench");

async function addFlags(db: Db, n: number): Promise<void> {
  await db.exec(`
    insert into trimtab.feature_flags (key, enabled, rollout_percentage, stages, rules)
    select 'bulk_' || i, true, 10, '{10,50,100}',
           jsonb_build_array(jsonb_build_object('condition', jsonb_build_object('country', 'C' || (i % 50)), 'rollout', 100))
      from generate_series(1, ${n}) as i
    on conflict (key) do nothing`);
}

async function timed(stack: Stack, token: string, method: string, path: string, body: unknown) {
  const t0 = performance.now();
  const r = await fetch(`${stack.url}/functions/v1/flags-admin${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await r.text();
  const ms = performance.now() - t0;
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${text.slice(0, 200)}`);
  return ms;
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { p50: Math.round(median(s) * 10) / 10, p95: Math.round(pct(s, 95) * 10) / 10 };
};

async function writes(stack: Stack, token: string, tag: string) {
  const first = await timed(stack, token, "POST", "/flags", { key: `${tag}_first` });
  const creates: number[] = [], patches: number[] = [];
  for (let i = 0; i < WRITES; i++) creates.push(await timed(stack, token, "POST", "/flags", { key: `${tag}_${i}` }));
  for (let i = 0; i < WRITES; i++) {
    patches.push(await timed(stack, token, "PATCH", `/flags/${tag}_${i}`, { rollout: 5, reason: "bench" }));
  }
  return { firstMs: Math.round(first), create: stats(creates), patch: stats(patches) };
}

async function hostile(stack: Stack, token: string) {
  const deep = "[".repeat(10_000) + "]".repeat(10_000);
  const cases: [string, string, string, string | undefined][] = [
    ["deep metadata", "POST", "/flags", `{"key":"deep","metadata":{"x":${deep}}}`],
    ["U+0000 in a description", "POST", "/flags", '{"key":"nul","description":"a\\u0000b"}'],
    ["lone surrogate", "POST", "/flags", '{"key":"sur","description":"\\ud800"}'],
    ["U+0000 in a query parameter", "GET", "/audit?actor=a%00b", undefined],
  ];
  const out: Record<string, unknown>[] = [];
  for (const [what, method, path, body] of cases) {
    const r = await fetch(`${stack.url}/functions/v1/flags-admin${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body,
    });
    const answer = await r.json();
    const t0 = performance.now();
    const h = await fetch(`${stack.url}/functions/v1/health`, { signal: AbortSignal.timeout(30_000) });
    await h.body?.cancel();
    out.push({
      what,
      status: r.status,
      code: answer.error?.code,
      healthStatus: h.status,
      healthMs: Math.round(performance.now() - t0),
    });
  }
  return out;
}

const started = Date.now();
const results: Record<string, unknown> = {};
try {
  const token = await userToken(keys, "bench-admin", { admin: true, issuer: LOCAL_ISSUER, ttlSeconds: 3600 });
  for (const backend of ["pglite", "postgres"] as const) {
    let total = 0;
    const dir = await tempDir(`bench-admin-${backend}`);
    const url = backend === "postgres" ? await startPg("bench-admin-pg") : "";
    for (const n of SIZES) {
      const db = await openDb(
        url ? { url, migrate: true, seed: true } : { url: "", dataDir: `${dir}/pglite`, seed: true },
      );
      await addFlags(db, n);
      await db.close();
      total = n;
      const stack = await startStack(
        url
          ? { SUPABASE_DB_URL: url, TRIMTAB_GUARD_INTERVAL_MS: "0" }
          : { TRIMTAB_PGLITE_DIR: `${dir}/pglite`, TRIMTAB_GUARD_INTERVAL_MS: "0" },
        dir,
      );
      results[`${backend}_${n}`] = await writes(stack, token, `w${n}`);
      if (backend === "pglite" && n === SIZES[0]) results.hostile = await hostile(stack, token);
      stack.proc.kill("SIGTERM");
      await stack.proc.status;
      console.log(`${backend}, ${total} flags:`, JSON.stringify(results[`${backend}_${n}`]));
    }
  }
  printHeader("admin writes", started);
  console.log("| backend | flags | first write (builds the model) | create p50 / p95 | PATCH p50 / p95 |");
  console.log("|---|---|---|---|---|");
  for (const backend of ["pglite", "postgres"]) {
    for (const n of SIZES) {
      const r = results[`${backend}_${n}`] as {
        firstMs: number;
        create: { p50: number; p95: number };
        patch: { p50: number; p95: number };
      };
      console.log(
        `| ${backend} | ${n} | ${r.firstMs} ms | ${r.create.p50} / ${r.create.p95} ms | ${r.patch.p50} / ${r.patch.p95} ms |`,
      );
    }
  }
  console.log("\nhealth after hostile input (PGlite):");
  for (const h of results.hostile as Record<string, unknown>[]) console.log(" ", JSON.stringify(h));
  await writeBenchJson("admin", results);
} finally {
  await cleanup();
}
