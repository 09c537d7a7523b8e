// Shared by the benches that run the local edge stack (bench/edge.ts, bench/webhook.ts):
// scripts/serve.ts processes on free 127.0.0.1 ports, throwaway Debian Postgres clusters
// (scripts/pg-test-server.sh), temp dirs under .data/, and the cleanup that removes all of them on
// exit, on error and on SIGINT / SIGTERM. Not a test and not a library: helpers for bench/*.ts.
//
// Every process and directory is registered in `cleanups` when it is made; `cleanup()` undoes
// them newest first. A bench calls onSignals("<name> bench") once and cleanup() in a finally.

import { newLocalKeys, saveLocalKeys } from "../scripts/dev/keys.ts";

// The Deno binary for the stacks: $DENO from scripts/env.sh (it is what --allow-run names).
export const DENO = Deno.env.get("DENO") || Deno.execPath();
export const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname).replace(/\/$/, "");

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The p-th percentile of an ascending array (nearest rank, lower). */
export const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
export const median = (xs: number[]) => pct([...xs].sort((a, b) => a - b), 50);
export const rand = () => crypto.getRandomValues(new Uint32Array(1))[0].toString(36);
export const randomHex = (bytes: number) =>
  crypto.getRandomValues(new Uint8Array(bytes)).reduce((s, b) => s + b.toString(16).padStart(2, "0"), "");
/** The keys (signing key, API keys) of every stack this process starts, written to each stack's
 *  data directory: tokens minted with them work on all of them. */
export const keys = await newLocalKeys();

// ---------------------------------------------------------------- cleanup

let label = "bench";
export const cleanups: (() => Promise<void>)[] = [];

/** Runs and forgets every registered cleanup, newest first; logs (never throws) failures. */
export async function cleanup() {
  while (cleanups.length) {
    try {
      await cleanups.pop()!();
    } catch (e) {
      console.error(`${label}: cleanup:`, e instanceof Error ? e.message : e);
    }
  }
}

/** Names the bench in messages and cleans up, then exits 130, on SIGINT / SIGTERM. */
export function onSignals(name: string) {
  label = name;
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(sig, () => {
      console.error(`${label}: ${sig}, cleaning up`);
      cleanup().finally(() => Deno.exit(130));
    });
  }
}

// ---------------------------------------------------------------- processes

export interface Stack {
  url: string;
  proc: Deno.ChildProcess;
  stderr: () => string;
}

/** Starts scripts/serve.ts on a free 127.0.0.1 port; resolves once it listens. `env` adds to (and
 *  overrides) the defaults below and this process's environment. */
export async function startStack(env: Record<string, string>, dataDir: string): Promise<Stack> {
  await saveLocalKeys(dataDir, keys);
  const proc = new Deno.Command(DENO, {
    args: [
      "run",
      "--no-check",
      "--allow-net=127.0.0.1",
      `--allow-read=${ROOT}`,
      `--allow-write=${dataDir}`,
      "--allow-env",
      "scripts/serve.ts",
    ],
    cwd: ROOT,
    env: {
      PORT: "0",
      LOG_LEVEL: "warn",
      TRIMTAB_PRINT_TOKEN: "0",
      TRIMTAB_DATA_DIR: dataDir,
      ...env,
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stack: Stack = { url: "", proc, stderr: () => "" };
  cleanups.push(async () => {
    try {
      proc.kill("SIGTERM");
    } catch { /* already gone */ }
    const t = setTimeout(() => {
      try {
        proc.kill("SIGKILL");
      } catch { /* gone */ }
    }, 3000);
    await proc.status;
    clearTimeout(t);
  });
  // Keep the last few KiB of stderr (shown when something goes wrong); drain stdout.
  let errText = "";
  (async () => {
    for await (const chunk of proc.stderr.pipeThrough(new TextDecoderStream())) {
      errText = (errText + chunk).slice(-4096);
    }
  })().catch(() => {});
  stack.stderr = () => errText;
  const reader = proc.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  const deadline = setTimeout(() => proc.kill("SIGKILL"), 30_000);
  try {
    while (!/^trimtab edge stack: (http:\/\/127\.0\.0\.1:\d+)/m.test(seen)) {
      const { done, value } = await reader.read();
      if (done) throw new Error(`scripts/serve.ts exited before listening:\n${seen}\n${errText}`);
      seen += value;
    }
  } finally {
    clearTimeout(deadline);
  }
  (async () => {
    while (!(await reader.read()).done) { /* drain */ }
  })().catch(() => {});
  stack.url = seen.match(/^trimtab edge stack: (http:\/\/127\.0\.0\.1:\d+)/m)![1];
  return stack;
}

/** A new directory under .data/, removed by cleanup(). */
export async function tempDir(prefix: string): Promise<string> {
  const dir = `${ROOT}/.data/${prefix}-${Date.now()}-${rand()}`;
  await Deno.mkdir(dir, { recursive: true });
  cleanups.push(() => Deno.remove(dir, { recursive: true }));
  return dir;
}

const pgDirs = new Map<string, string>();

/** A throwaway Debian Postgres (scripts/pg-test-server.sh) under .data/<prefix>-*, stopped and
 *  deleted by cleanup(); resolves to its URL. Not migrated: openDb({ url, migrate: true }) does.
 *  Like every test cluster it runs with fsync, full_page_writes and synchronous_commit off. */
export async function startPg(prefix = "bench-pg"): Promise<string> {
  const pgDir = `${ROOT}/.data/${prefix}-${Date.now()}-${rand()}`;
  const pgScript = `${ROOT}/scripts/pg-test-server.sh`;
  const pg = async (cmd: string) => {
    const out = await new Deno.Command("bash", { args: [pgScript, cmd, pgDir], stdout: "piped", stderr: "piped" })
      .output();
    if (!out.success) throw new Error(`pg-test-server ${cmd} failed:\n${new TextDecoder().decode(out.stderr)}`);
    return new TextDecoder().decode(out.stdout).trim();
  };
  cleanups.push(async () => {
    try {
      await Deno.stat(`${pgDir}/data`);
    } catch {
      return; // never started
    }
    await pg("stop");
  });
  const url = await pg("start");
  pgDirs.set(url, pgDir);
  return url;
}

/**
 * Restarts a cluster of startPg() on the same port and data with fsync, full_page_writes and
 * synchronous_commit all on (`durable`) or all off (the test default): every commit then waits
 * for its WAL flush, as on a production Postgres. Open connections are dropped.
 */
export async function restartPg(url: string, durable: boolean): Promise<void> {
  const dir = pgDirs.get(url);
  if (!dir) throw new Error(`restartPg: ${url} was not started by startPg`);
  const script = `set -euo pipefail
dir="$1"; on="$2"; port="$(cat "$dir/port")"
bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V -r | head -n 1)"
as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
opts="-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir"
opts="$opts -c fsync=$on -c full_page_writes=$on -c synchronous_commit=$on"
as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 -o "$opts" start >/dev/null`;
  const out = await new Deno.Command("bash", {
    args: ["-c", script, "restart-pg", dir, durable ? "on" : "off"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`restarting Postgres failed:\n${new TextDecoder().decode(out.stderr)}`);
}

/** Writes `.bench/<name>.json`: the date, Deno version and core count, then `body`. */
export async function writeBenchJson(name: string, body: Record<string, unknown>): Promise<void> {
  await Deno.mkdir(`${ROOT}/.bench`, { recursive: true });
  const head = { date: new Date().toISOString(), deno: Deno.version.deno, cores: navigator.hardwareConcurrency };
  await Deno.writeTextFile(`${ROOT}/.bench/${name}.json`, JSON.stringify({ ...head, ...body }, null, 1));
}

/** The first line of a bench's report: name, date, Deno version, cores, seconds since `started`. */
export function printHeader(name: string, started: number): void {
  const date = new Date().toISOString().slice(0, 10);
  const secs = ((Date.now() - started) / 1000).toFixed(0);
  console.log(
    `\ntrimtab ${name} benchmark, ${date}, Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} cores, ${secs} s`,
  );
}
