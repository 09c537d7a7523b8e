// One build's evaluation speed, in a process of its own (so no other build's classes share the
// JIT's inline caches). Prints one JSON line: ns per evaluation and µs per evaluateAll.
// Argument: flags (js/trimtab-flags.js), full (js/trimtab.js), or nosimd (the flag build without
// the SIMD batch, built by scripts/bench.sh into target/bench-nosimd/).
import { fiftyFlags, users } from "./scenario.js";

async function engineClass(build) {
  if (build === "flags") return (await import("../js/trimtab-flags.js")).FlagEngine;
  if (build === "full") return (await import("../js/trimtab.js")).FlagEngine;
  const { flagApi } = await import("../js/flag-engine.js");
  const { wasmLoader } = await import("../js/load.js");
  const dir = new URL("../target/bench-nosimd/", import.meta.url);
  const glue = await import(new URL("trimtab_flags.js", dir).href);
  const loader = wasmLoader(glue, new URL("trimtab_flags_bg.wasm", dir));
  await loader.init();
  return flagApi(glue, loader.exports).FlagEngine;
}

const FlagEngine = await engineClass(Deno.args[0]);
const N = 100_000;
const people = users(N);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
function timeLoop(fn, reps = 7) {
  const per = [];
  for (let r = 0; r < reps; r++) {
    const t = performance.now();
    fn();
    per.push(performance.now() - t);
  }
  return median(per.slice(1)); // the first repetition warms up
}
let sink = 0;
const engine = new FlagEngine(fiftyFlags());
const newUser = timeLoop(() => {
  for (let i = 0; i < N; i++) sink += engine.evaluate("flag_4", people[i]).enabled ? 1 : 0;
});
const sameUser = timeLoop(() => {
  for (let i = 0; i < N; i++) sink += engine.evaluate("flag_4", people[7]).enabled ? 1 : 0;
});
const all = timeLoop(() => {
  for (let i = 0; i < N; i++) sink += engine.evaluateAll(people[i]).flag_0.enabled ? 1 : 0;
});
console.log(JSON.stringify({
  newUserNs: newUser * 1e6 / N,
  sameUserNs: sameUser * 1e6 / N,
  evaluateAllUs: all * 1000 / N,
  sink: sink > 0,
}));
