// The data-migration CLI: the same runner as the `data-migrations` edge function
// (supabase/functions/_shared/safety/data_migration.ts), on the database at --db or SUPABASE_DB_URL.
//
//   deno run --allow-net --allow-env --allow-read scripts/migrate-data.ts <command> [options]
//     list                                   the migrations this code knows and their latest runs
//     run <name> [--batch-size N] [--throttle-ms N] [--max-batches N]
//                                            starts the migration, or resumes its running / stopped
//                                            run, until done (validated), stopped or N batches
//     status [<run-id>]                      one run, or the latest runs
//     stop <run-id> | validate <run-id> | rollback <run-id>
//   --db URL    the Postgres URL (default SUPABASE_DB_URL)
//   --quiet     no progress lines
//
// Prints one JSON line per batch ({ batch, n, inserted, updated, last }) and the run at the end.
// SIGINT / SIGTERM stop after the current batch and mark the run stopped (resume with `run`).
// A killed process leaves its run running with every committed batch counted: `run` again
// resumes after the last one. Exit: 0 done or command ok, 1 validation failed, 2 usage error,
// 3 not finished (stopped, or --max-batches reached), 4 the command failed.
import { openPostgres } from "../supabase/functions/_shared/platform/db.ts";
import { setLogLevel } from "../supabase/functions/_shared/platform/log.ts";
import {
  continueRun,
  getRun,
  listRuns,
  rollbackRun,
  startRun,
  stopRun,
  validateRun,
} from "../supabase/functions/_shared/safety/data_migration.ts";
import { DATA_MIGRATIONS } from "../supabase/functions/_shared/examples/usage_logs.ts";

function usage(message: string): never {
  console.error(
    `migrate-data: ${message}\nusage: migrate-data.ts list | run <name> [--batch-size N] ` +
      "[--throttle-ms N] [--max-batches N] | status [<run-id>] | stop|validate|rollback <run-id> [--db URL] [--quiet]",
  );
  Deno.exit(2);
}

const args = [...Deno.args];
const flags = new Map<string, string>();
const positional: string[] = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === "--quiet") flags.set("quiet", "1");
  else if (a.startsWith("--")) {
    const v = args[++i];
    if (v === undefined) usage(`${a} needs a value`);
    flags.set(a.slice(2), v);
  } else positional.push(a);
}
const intFlag = (name: string, min: number, max: number): number | undefined => {
  const v = flags.get(name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < min || n > max) usage(`--${name} must be an integer from ${min} to ${max}`);
  return n;
};
const runId = (v: string | undefined): number => {
  if (!v || !/^\d{1,15}$/.test(v)) usage("a run id is a positive integer");
  return Number(v);
};

const url = flags.get("db") ?? Deno.env.get("SUPABASE_DB_URL");
if (!url) usage("no database: pass --db URL or set SUPABASE_DB_URL");
const quiet = flags.has("quiet");
setLogLevel("warn");
const db = openPostgres(url, { max: 2, connectTimeout: 5 });
const print = (v: unknown) => console.log(JSON.stringify(v));
let code = 0;
try {
  const [command, arg] = positional;
  const specOf = (name: string | undefined) => {
    const s = name ? DATA_MIGRATIONS.get(name) : undefined;
    if (!s) usage(`unknown migration ${name ?? ""} (known: ${[...DATA_MIGRATIONS.keys()].join(", ")})`);
    return s;
  };
  switch (command) {
    case "list":
      for (const s of DATA_MIGRATIONS.values()) {
        print({ name: s.name, description: s.description, runs: await listRuns(db, s.name, 3) });
      }
      break;
    case "run": {
      const spec = specOf(arg);
      const run = await startRun(db, spec, { batchSize: intFlag("batch-size", 1, 50_000) ?? 1000, actor: "cli" });
      if (!quiet) print({ run: run.id, resumedAfter: run.cursor, copied: run.copied });
      const ac = new AbortController();
      const stop = () => ac.abort();
      for (const sig of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(sig, stop);
      let batch = run.batches;
      const out = await continueRun(db, spec, run.id, {
        maxBatches: intFlag("max-batches", 1, 10_000_000),
        throttleMs: intFlag("throttle-ms", 0, 60_000),
        signal: ac.signal,
        onBatch: (b) => !quiet && print({ batch: ++batch, ...b }),
      });
      let final = out.run;
      if (ac.signal.aborted && final.status === "running") final = await stopRun(db, run.id);
      print({ done: out.done, run: final });
      code = out.done ? (final.validated ? 0 : 1) : 3;
      break;
    }
    case "status":
      print(arg === undefined ? { runs: await listRuns(db, null, 20) } : { run: await getRun(db, runId(arg)) });
      break;
    case "stop":
      print({ run: await stopRun(db, runId(arg)) });
      break;
    case "validate":
    case "rollback": {
      const run = await getRun(db, runId(arg));
      const spec = specOf(run.migration);
      if (command === "validate") {
        const v = await validateRun(db, spec, run.id);
        print({ run: v });
        code = v.validated ? 0 : 1;
      } else print(await rollbackRun(db, spec, run.id, "cli"));
      break;
    }
    default:
      usage(`unknown command ${command ?? ""}`);
  }
} catch (e) {
  console.error(`migrate-data: ${(e as { code?: string }).code ?? "ERROR"}: ${(e as Error).message}`);
  code = 4;
} finally {
  await db.close();
}
Deno.exit(code);
