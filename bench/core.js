// `npm run bench`: size, start-up, evaluation speed and memory of the core, in Deno.
// Not a test: it measures and prints; nothing here asserts a timing.
import { FlagEngine, wasmMemoryBytes } from "../js/trimtab.js";
import { fiftyFlags, thousandFlags, users } from "./scenario.js";
import { gzipSync } from "node:zlib";

const DENO = Deno.execPath();
const ROOT = new URL("..", import.meta.url);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
const rows = [];
const row = (what, value, unit, target = "") => rows.push({ what, value, unit, target });

// Size.
const wasm = await Deno.readFile(new URL("pkg/trimtab_bg.wasm", ROOT));
const gz = gzipSync(wasm, { level: 9 });
row(".wasm size, raw", (wasm.length / 1024).toFixed(1), "KiB", "<= 100");
row(".wasm size, gzipped (level 9)", (gz.length / 1024).toFixed(1), "KiB", "<= 45");

// Start-up: fresh processes.
async function spawnTimed(args) {
  const start = performance.now();
  const out = await new Deno.Command(DENO, { args, stdout: "piped", stderr: "inherit", cwd: ROOT }).output();
  const wall = performance.now() - start;
  return { wall, json: JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").pop() || "{}") };
}
const RUNS = 21;
const bare = [], starts = [], inits = [];
for (let i = 0; i < RUNS; i++) {
  bare.push((await spawnTimed(["eval", "console.log('{}')"])).wall);
  const r = await spawnTimed(["run", "--allow-read", "--no-check", "bench/first_eval.js"]);
  starts.push(r.wall);
  inits.push(r.json.init);
}
row("bare Deno process (spawn to exit)", median(bare).toFixed(1), "ms", "(reference)");
row("process start to first evaluation (spawn to exit)", median(starts).toFixed(1), "ms", "< 30");
row("module import + Wasm initialisation", median(inits).toFixed(2), "ms", "< 10");

// Evaluation speed.
const snapshot = fiftyFlags();
const engine = new FlagEngine(snapshot);
const N = 100_000;
const people = users(N);
function timeLoop(fn, reps = 5) {
  const per = [];
  for (let r = 0; r < reps; r++) {
    const t = performance.now();
    fn();
    per.push(performance.now() - t);
  }
  return median(per.slice(1)); // first repetition warms up
}
let sink = 0;
const single = timeLoop(() => {
  for (let i = 0; i < N; i++) sink += engine.evaluate("flag_4", people[i]).enabled ? 1 : 0;
});
row("evaluate: one flag (25 % rollout), a new user each call", (single * 1e6 / N).toFixed(0), "ns", "< 400");
const same = people[7];
const singleSame = timeLoop(() => {
  for (let i = 0; i < N; i++) sink += engine.evaluate("flag_4", same).enabled ? 1 : 0;
});
row("evaluate: one flag, the same user each call", (singleSame * 1e6 / N).toFixed(0), "ns", "");
const all = timeLoop(() => {
  for (let i = 0; i < N; i++) sink += engine.evaluateAll(people[i]).flag_0.enabled ? 1 : 0;
});
row(`evaluateAll: 50 mixed flags, ${N.toLocaleString("en")} users`, (all * 1000 / N).toFixed(2), "µs per user", "< 15");

// Memory after loading 1,000 flags.
const bigSnapshot = thousandFlags();
globalThis.gc?.();
const before = Deno.memoryUsage().heapUsed;
const wasmBefore = wasmMemoryBytes();
const big = new FlagEngine(bigSnapshot);
big.evaluateAll(people[0]);
globalThis.gc?.();
const heap = Deno.memoryUsage().heapUsed - before;
row(
  "1,000-flag snapshot: Wasm linear memory (total after load)",
  (wasmMemoryBytes() / 1024 / 1024).toFixed(2),
  "MiB",
  "",
);
row(
  "1,000-flag snapshot: Wasm memory grown by the load",
  ((wasmMemoryBytes() - wasmBefore) / 1024 / 1024).toFixed(2),
  "MiB",
  "",
);
row("1,000-flag snapshot: JS heap held by the engine wrapper", (heap / 1024 / 1024).toFixed(2), "MiB", "");

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
if (sink < 0) console.log(sink);
