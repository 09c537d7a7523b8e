// `npm run bench`: size, start-up, evaluation speed and memory of the core, in Deno, for both
// builds: the flag-only build browsers load (js/trimtab-flags.js) and the full build of the edge
// functions (js/trimtab.js). When scripts/bench.sh has built it, also the flag build without the
// SIMD batch (every digest by the sha2 crate), to weigh the batch.
// Not a test: it measures and prints; nothing here asserts a timing.
import * as flagsLib from "../js/trimtab-flags.js";
import { thousandFlags, users } from "./scenario.js";

const DENO = Deno.execPath();
const ROOT = new URL("..", import.meta.url);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
const rows = [];
const row = (what, value, unit, target = "") => rows.push({ what, value, unit, target });

// Size, compressed by the gzip CLI as `gzip -9` (zlib's level 9 differs by a few hundred bytes).
const SIZES = [["flag build", "pkg/trimtab_flags_bg.wasm", "<= 48"], ["full build", "pkg/trimtab_bg.wasm", ""]];
for (const [name, file, target] of SIZES) {
  const raw = (await Deno.stat(new URL(file, ROOT))).size;
  const out = await new Deno.Command("gzip", { args: ["-9", "-c", file], cwd: ROOT, stdout: "piped" }).output();
  const gz = out.stdout.length;
  row(`${name}: .wasm size, raw (${raw} B)`, (raw / 1024).toFixed(1), "KiB", "");
  row(`${name}: .wasm size, gzip -9 (${gz} B)`, (gz / 1024).toFixed(1), "KiB", target);
}

// Start-up: fresh processes.
async function spawnTimed(args) {
  const start = performance.now();
  const out = await new Deno.Command(DENO, { args, stdout: "piped", stderr: "inherit", cwd: ROOT }).output();
  const wall = performance.now() - start;
  return { wall, json: JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").pop() || "{}") };
}
const RUNS = 21;
const bare = [], starts = { flags: [], full: [] }, inits = { flags: [], full: [] };
for (let i = 0; i < RUNS; i++) {
  bare.push((await spawnTimed(["eval", "console.log('{}')"])).wall);
  for (const build of ["flags", "full"]) {
    const r = await spawnTimed(["run", "--allow-read", "--no-check", "bench/first_eval.js", build]);
    starts[build].push(r.wall);
    inits[build].push(r.json.init);
  }
}
row("bare Deno process (spawn to exit)", median(bare).toFixed(1), "ms", "(reference)");
for (const build of ["flags", "full"]) {
  row(`${build} build: process start to first evaluation`, median(starts[build]).toFixed(1), "ms", "< 30");
  row(`${build} build: module import + Wasm initialisation`, median(inits[build]).toFixed(2), "ms", "< 10");
}

// Evaluation speed: each build in a fresh process (bench/speed.js), medians of three runs.
const BUILDS = [["flag build", "flags"], ["full build", "full"], ["flag build without the SIMD batch", "nosimd"]];
for (const [name, build] of BUILDS) {
  const runs = [];
  for (let i = 0; i < 3; i++) {
    const r = await spawnTimed(["run", "--allow-read", "--no-check", "bench/speed.js", build]).catch(() => null);
    if (r?.json?.evaluateAllUs) runs.push(r.json);
  }
  if (runs.length === 0) {
    console.error(`(${name}: not measured; scripts/bench.sh builds target/bench-nosimd)`);
    continue;
  }
  const m = (k) => median(runs.map((r) => r[k]));
  row(`${name}: evaluate, one flag (25 % rollout), a new user each call`, m("newUserNs").toFixed(0), "ns", "< 400");
  row(`${name}: evaluate, one flag, the same user each call`, m("sameUserNs").toFixed(0), "ns", "");
  row(`${name}: evaluateAll, 50 mixed flags, 100,000 users`, m("evaluateAllUs").toFixed(2), "µs per user", "< 15");
}

// Memory after loading 1,000 flags (flag build).
const bigSnapshot = thousandFlags();
globalThis.gc?.();
const before = Deno.memoryUsage().heapUsed;
const wasmBefore = flagsLib.wasmMemoryBytes();
const big = new flagsLib.FlagEngine(bigSnapshot);
big.evaluateAll(users(1)[0]);
globalThis.gc?.();
const heap = Deno.memoryUsage().heapUsed - before;
row(
  "1,000-flag snapshot: Wasm linear memory (total after load)",
  (flagsLib.wasmMemoryBytes() / 1024 / 1024).toFixed(2),
  "MiB",
);
row(
  "1,000-flag snapshot: Wasm memory grown by the load",
  ((flagsLib.wasmMemoryBytes() - wasmBefore) / 1024 / 1024).toFixed(2),
  "MiB",
);
row("1,000-flag snapshot: JS heap held by the engine wrapper", (heap / 1024 / 1024).toFixed(2), "MiB");

const width = Math.max(...rows.map((r) => r.what.length));
console.log(
  `\ntrimtab core benchmark, ${
    new Date().toISOString().slice(0, 10)
  }, Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} cores\n`,
);
console.log(`${"measure".padEnd(width)}  ${"value".padStart(9)}  unit          target`);
for (const r of rows) {
  console.log(`${r.what.padEnd(width)}  ${String(r.value).padStart(9)}  ${r.unit.padEnd(12)}  ${r.target}`);
}
await Deno.mkdir(new URL(".bench", ROOT), { recursive: true });
await Deno.writeTextFile(
  new URL(".bench/core.json", ROOT),
  JSON.stringify({ date: new Date().toISOString(), rows }, null, 1),
);
