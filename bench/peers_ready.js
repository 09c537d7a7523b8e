// One fresh process for `bench/peers.js`: imports one engine, builds it from the scenario and
// answers one evaluation, then exits. `bare` does nothing (the reference). Prints timings in ms
// since the process started (performance.timeOrigin) as one line of JSON.
const name = Deno.args[0];
const t0 = performance.now();
if (name === "bare") {
  console.log(JSON.stringify({ name, start: t0 }));
} else {
  const { load, scenario, users } = await import("./peers_engines.js");
  const engine = await load(name, scenario());
  const [ctx] = engine.contexts(users(1));
  const t1 = performance.now();
  const on = engine.bool("rollout_4", ctx);
  const t2 = performance.now();
  engine.close();
  console.log(JSON.stringify({ name, start: t0, ready: t1, firstEvaluation: t2, on }));
}
