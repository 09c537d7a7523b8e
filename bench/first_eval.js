// One fresh process: import a wrapper (which initialises the Wasm), build an engine, answer one
// evaluation. Prints timings in ms relative to process start (performance.timeOrigin).
// Argument: "flags" for js/trimtab-flags.js (the browsers' build), else js/trimtab.js (full).
const wrapper = Deno.args[0] === "flags" ? "../js/trimtab-flags.js" : "../js/trimtab.js";
const t0 = performance.now();
const lib = await import(wrapper);
const t1 = performance.now();
const engine = new lib.FlagEngine({ version: "1", flags: [{ key: "f", enabled: true, rollout: 50 }] });
const e = engine.evaluate("f", { userId: "user-1" });
const t2 = performance.now();
console.log(JSON.stringify({ importStart: t0, initDone: t1, firstEval: t2, init: t1 - t0, enabled: e.enabled }));
