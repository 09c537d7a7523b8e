// `npm run bench`: the condition cost budgets at work, with the full build (the edge's): the
// reported snapshot (797 rules of a 3,902-instruction pattern) refused, and the most expensive
// snapshots the budgets accept, each filled to the snapshot's budget with one kind of test and
// evaluated for contexts made to visit every matcher state. Writes .bench/limits.json.
// Not a test: it measures and prints; nothing here asserts a timing.
import { FlagEngine, limits } from "../js/trimtab.js";

const ROOT = new URL("..", import.meta.url);
const L = limits();
const POSITIONS = L.maxRegexText + 1;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows = [];

/** `count` flags, each with `rules` copies of `condition`. */
function snapshot(count, rules, condition) {
  const flags = Array.from({ length: count }, (_, i) => ({
    key: `f${i}`,
    enabled: true,
    rollout: 0,
    rules: Array.from({ length: rules }, () => ({ condition })),
  }));
  return { version: "bench", flags };
}

/** Loads `snap` (median of `loads`), then evaluates every flag for `users` contexts. */
function measure(what, snap, context, loads = 5) {
  const times = [];
  let engine = null;
  for (let i = 0; i < loads; i++) {
    engine?.free();
    const t0 = performance.now();
    try {
      engine = new FlagEngine(snap);
    } catch (err) {
      times.push(performance.now() - t0);
      engine = null;
      if (i === loads - 1) {
        rows.push({ what, compileMs: median(times), evaluateAllMs: null, outcome: `${err.code} at ${err.field}` });
      }
      continue;
    }
    times.push(performance.now() - t0);
  }
  if (engine === null) return;
  for (let i = 0; i < 20; i++) engine.evaluateAll({ ...context, userId: `warm-${i}` });
  const per = [];
  for (let round = 0; round < 7; round++) {
    const t0 = performance.now();
    for (let i = 0; i < 30; i++) engine.evaluateAll({ ...context, userId: `user-${round}-${i}` });
    per.push((performance.now() - t0) / 30);
  }
  const sample = engine.evaluateAll({ ...context, userId: "sample" });
  const reasons = [...new Set(Object.values(sample).map((e) => e.reason))].join(",");
  rows.push({
    what,
    compileMs: median(times),
    evaluateAllMs: median(per),
    outcome: `${engine.keys.length} flags, ${reasons}`,
  });
  engine.free();
}

const regex = (pattern) => ({ t: { $regex: pattern } });
const costOf = (instructions) => instructions * POSITIONS + 2; // the condition object and the path
const fill = (ruleCost, perFlag) => {
  const rules = Math.min(perFlag, Math.floor(L.maxFlagCost / ruleCost));
  return { rules, flags: Math.floor(L.maxSnapshotCost / (rules * ruleCost)) };
};
const long = { t: "a".repeat(L.maxRegexText) };

measure(
  "the reported snapshot: 797 rules of (?:a?){1300}(?:a){1300}b",
  snapshot(1, 797, regex("(?:a?){1300}(?:a){1300}b")),
  long,
  3,
);

// (?:a?){n}(?:a){n}b is 3n + 2 instructions; n as large as one flag's budget allows.
const n = Math.floor(((L.maxFlagCost - 2) / POSITIONS - 2) / 3);
const heavy = fill(costOf(3 * n + 2), 1);
measure(
  `heaviest regexes: ${heavy.flags} flags x (?:a?){${n}}(?:a){${n}}b on ${L.maxRegexText} a's`,
  snapshot(heavy.flags, 1, regex(`(?:a?){${n}}(?:a){${n}}b`)),
  long,
);
// a*b: 5 instructions; as many flags as the snapshot's budget allows.
const small = fill(costOf(5), 1);
measure(
  `many small regexes: ${small.flags} flags x a*b on ${L.maxRegexText} a's`,
  snapshot(small.flags, 1, regex("a*b")),
  long,
);
// $in with 1,000 strings (1,003 steps a rule), never matching.
const list = Array.from({ length: 1000 }, (_, i) => `item-${i}`);
const lists = fill(1003, 1000);
measure(
  `long $in lists: ${lists.flags} flags x ${lists.rules} rules x 1,000 items`,
  snapshot(lists.flags, lists.rules, { t: { $in: list } }),
  { t: "not-in-the-list" },
);
measure(
  "one step over the snapshot's budget is refused",
  snapshot(heavy.flags + 1, 1, regex(`(?:a?){${n}}(?:a){${n}}b`)),
  long,
);

console.log(
  `condition budgets: ${L.maxFlagCost} steps a flag, ${L.maxSnapshotCost} a snapshot; $regex texts up to ${L.maxRegexText} bytes`,
);
const width = Math.max(...rows.map((r) => r.what.length));
console.log(`${"snapshot".padEnd(width)}  load ms  evaluateAll ms/user  outcome`);
for (const r of rows) {
  const ev = r.evaluateAllMs === null ? "-" : r.evaluateAllMs.toFixed(3);
  console.log(`${r.what.padEnd(width)}  ${r.compileMs.toFixed(1).padStart(7)}  ${ev.padStart(19)}  ${r.outcome}`);
}
await Deno.mkdir(new URL(".bench", ROOT), { recursive: true });
await Deno.writeTextFile(
  new URL(".bench/limits.json", ROOT),
  JSON.stringify({ date: new Date().toISOString(), limits: L, rows }, null, 1),
);
