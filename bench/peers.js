// `npm run bench`: trimtab side by side with the SDKs a team would otherwise pick
// (@openfeature/flagd-core, unleash-client bootstrapped without network, @growthbook/growthbook),
// on one scenario (bench/peers_engines.js), in one Deno process. Measures and prints; nothing
// here asserts a timing. It does stop when the engines disagree about the scenario (a
// configuration mistake would otherwise let one engine do less work).
//
//   per user, 50 flags      one call per flag for each of 100,000 users (and the SDK's bulk call)
//   one flag, new user      a 25 % rollout, one call per user, 100,000 users
//   ready                   fresh process: spawn, import, build from the scenario, one evaluation,
//                           exit; against a bare Deno process running an empty script
//   shipped size            `deno bundle --minify` of the API the bench imports (+ the .wasm)
//
// Timings: 5 rounds after a warm-up, engines interleaved (the order rotates every round), medians.
import { agreement, ENGINES, load, PACKAGES, scenario, SINGLE_FLAG, trimtabBuild, users } from "./peers_engines.js";
import { gzipSync } from "node:zlib";

const DENO = Deno.execPath();
const ROOT = new URL("..", import.meta.url);
const N = 100_000;
const ROUNDS = 5;
const SAMPLE = 20_000;
const READY_RUNS = 15;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const rotate = (xs, r) => xs.map((_, i) => xs[(i + r) % xs.length]);
const started = performance.now();
const flags = scenario();
const people = users(N);
const engines = [];
for (const name of ENGINES) {
  const e = await load(name, flags);
  engines.push({ ...e, ctx: e.contexts(people) });
}

// ------------------------------------------------------------------ equivalence

const { worst: worstZ, problems } = agreement(engines, flags, people, SAMPLE);
if (problems.length) throw new Error(`engines disagree with the scenario:\n${problems.join("\n")}`);

// ------------------------------------------------------------------ speed

let sink = 0;
const perCall = (e) => {
  for (let i = 0; i < N; i++) {
    const ctx = e.ctx[i];
    for (const f of flags) {
      if (f.kind === "variants") sink += e.variant(f.key, ctx).length;
      else if (e.bool(f.key, ctx)) sink++;
    }
  }
};
const bulk = (e) => {
  for (let i = 0; i < N; i++) if (e.all(e.ctx[i])) sink++;
};
const single = (e) => {
  for (let i = 0; i < N; i++) if (e.bool(SINGLE_FLAG, e.ctx[i])) sink++;
};
const MEASURES = [
  { id: "perCall", run: perCall, per: (ms) => (ms * 1000) / N, engines: engines },
  { id: "bulk", run: bulk, per: (ms) => (ms * 1000) / N, engines: engines.filter((e) => e.all) },
  { id: "single", run: single, per: (ms) => (ms * 1e6) / N, engines: engines },
];
const times = Object.fromEntries(MEASURES.map((m) => [m.id, Object.fromEntries(engines.map((e) => [e.name, []]))]));
for (let round = -1; round < ROUNDS; round++) {
  for (const m of MEASURES) {
    for (const e of rotate(m.engines, Math.max(round, 0))) {
      const t = performance.now();
      m.run(e);
      const ms = performance.now() - t;
      if (round >= 0) times[m.id][e.name].push(m.per(ms)); // round -1 warms up
    }
  }
}
const speed = (id, name) => (times[id][name].length ? median(times[id][name]) : null);
for (const e of engines) e.close();

// ------------------------------------------------------------------ ready time

async function spawnReady(name) {
  const args = [
    "run",
    "--no-check",
    "--allow-read",
    "--allow-env",
    "--allow-sys=hostname",
    "bench/peers_ready.js",
    name,
  ];
  const t = performance.now();
  const out = await new Deno.Command(DENO, { args, cwd: ROOT, stdout: "piped", stderr: "inherit" }).output();
  const wall = performance.now() - t;
  if (!out.success) throw new Error(`ready ${name}: exit ${out.code}`);
  return { wall, json: JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").pop()) };
}
const READY = ["bare", ...ENGINES];
const ready = Object.fromEntries(READY.map((n) => [n, { wall: [], inside: [] }]));
for (let run = -2; run < READY_RUNS; run++) {
  for (const name of rotate(READY, Math.max(run, 0))) {
    const r = await spawnReady(name);
    if (run < 0) continue; // two warm-up runs fill Deno's caches
    ready[name].wall.push(r.wall);
    ready[name].inside.push(r.json.firstEvaluation ?? r.json.start);
  }
}

// ------------------------------------------------------------------ shipped size

const gz = (bytes) => gzipSync(bytes, { level: 9 }).length;
async function bundled(name, source, platform) {
  const dir = new URL(".bench/peers-size/", ROOT);
  await Deno.mkdir(dir, { recursive: true });
  const entry = new URL(`${name}.js`, dir), out = new URL(`${name}.bundle.js`, dir);
  await Deno.writeTextFile(entry, source);
  const args = [
    "bundle",
    "--quiet",
    "--minify",
    "--platform",
    platform,
    "--node-modules-dir=manual",
    "-o",
    out.pathname,
  ];
  const res = await new Deno.Command(DENO, { args: [...args, entry.pathname], cwd: ROOT, stderr: "inherit" }).output();
  if (!res.success) throw new Error(`deno bundle ${name} failed`);
  return await Deno.readFile(out);
}
const build = await trimtabBuild();
const sizes = {};
{
  const rel = "../../" + build.wrapper.href.slice(ROOT.href.length);
  const js = await bundled("trimtab", `export { FlagEngine } from "${rel}";\n`, "browser");
  const wasm = await Deno.readFile(build.wasm);
  sizes.trimtab = { raw: js.length + wasm.length, gzip: gz(js) + gz(wasm), note: `${build.label}: JS + .wasm` };
}
sizes.flagd = await bundled("flagd", `export { FlagdCore } from "${PACKAGES.flagd}";\n`, "browser");
sizes.unleash = await bundled(
  "unleash",
  `export { InMemStorageProvider, Unleash } from "${PACKAGES.unleash}";\n`,
  "deno",
);
sizes.growthbook = await bundled(
  "growthbook",
  `export { GrowthBookClient } from "${PACKAGES.growthbook}";\n`,
  "browser",
);
for (const n of ["flagd", "unleash", "growthbook"]) {
  const bytes = sizes[n];
  sizes[n] = { raw: bytes.length, gzip: gz(bytes), note: n === "unleash" ? "Deno/Node target" : "browser target" };
}

// ------------------------------------------------------------------ report

const fmt = (x, digits) => (x === null ? "n/a" : x.toFixed(digits));
const kib = (b) => `${(b / 1024).toFixed(1)} KiB`;
const wallOf = (n) => median(ready[n].wall);
const result = {
  date: new Date().toISOString(),
  deno: Deno.version.deno,
  cores: navigator.hardwareConcurrency,
  users: N,
  rounds: ROUNDS,
  engines: Object.fromEntries(engines.map((e) => [e.name, {
    version: e.version,
    perUser50FlagsUs: speed("perCall", e.name),
    perUserBulkUs: speed("bulk", e.name),
    singleNewUserNs: speed("single", e.name),
    readyMs: wallOf(e.name),
    readyInsideMs: median(ready[e.name].inside),
    shippedRawBytes: sizes[e.name].raw,
    shippedGzipBytes: sizes[e.name].gzip,
    shippedNote: sizes[e.name].note,
    equivalenceMaxZ: worstZ[e.name],
  }])),
  bareDenoMs: wallOf("bare"),
  samples: { times, ready },
};
const peers = engines.filter((e) => e.name !== "trimtab").map((e) => e.name);
const t = result.engines.trimtab;
const fastest = (key) => Math.min(...peers.map((n) => result.engines[n][key] ?? Infinity));
const flagBuild = build.label === "flag build";
const targets = [
  ["50 flags per user faster than every peer", t.perUser50FlagsUs < fastest("perUser50FlagsUs")],
  ["single evaluation faster than every peer", t.singleNewUserNs < fastest("singleNewUserNs")],
  ["ready within 10 ms of a bare Deno process", t.readyMs - result.bareDenoMs <= 10],
  // Without pkg/trimtab_flags_bg.wasm there is no flag build to measure (null: not measured).
  ["flag build <= 48 KiB gzip -9", flagBuild ? t.shippedGzipBytes <= 48 * 1024 : null],
];
result.targets = Object.fromEntries(targets);

const head = [
  "engine",
  "version",
  "50 flags, µs/user",
  "bulk, µs/user",
  "1 flag new user, ns",
  "ready, ms",
  "shipped raw",
  "gzip -9",
];
const rows = engines.map((e) => {
  const r = result.engines[e.name];
  return [
    e.name,
    r.version,
    fmt(r.perUser50FlagsUs, 2),
    fmt(r.perUserBulkUs, 2),
    fmt(r.singleNewUserNs, 0),
    fmt(r.readyMs, 1),
    kib(r.shippedRawBytes),
    kib(r.shippedGzipBytes),
  ];
});
rows.push(["bare Deno", Deno.version.deno, "", "", "", fmt(result.bareDenoMs, 1), "", ""]);
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
const line = (r) => r.map((c, i) => (i < 2 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join("  ");
console.log(
  `\ntrimtab vs peer SDKs, ${result.date.slice(0, 10)}, Deno ${result.deno}, ${result.cores} cores, ` +
    `${N.toLocaleString("en")} users, medians of ${ROUNDS} interleaved rounds\n`,
);
console.log(line(head));
for (const r of rows) console.log(line(r));
console.log(
  `\nequivalence on ${SAMPLE.toLocaleString("en")} users: largest deviation from the scenario's shares ` +
    engines.map((e) => `${e.name} ${worstZ[e.name].toFixed(1)}σ`).join(", ") + " (limit 5σ)",
);
console.log(`sizes: deno bundle --minify of the imported API (${Object.values(sizes).map((s) => s.note).join("; ")})`);
for (const [what, ok] of targets) {
  const state = ok === null ? "n/a   " : ok ? "met   " : "MISSED";
  console.log(`${state}  ${what}${ok === null ? " (no flag build in pkg/; the full build is measured)" : ""}`);
}
console.log(`(${((performance.now() - started) / 1000).toFixed(0)} s)`);
await Deno.mkdir(new URL(".bench", ROOT), { recursive: true });
await Deno.writeTextFile(new URL(".bench/peers.json", ROOT), JSON.stringify(result, null, 1));
if (sink < 0) console.log(sink);
