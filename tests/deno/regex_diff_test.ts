// The `$regex` engine against V8's RegExp, through the Wasm build's condition evaluation: random
// patterns in the supported syntax and random texts, from a seeded PRNG. `$regex` is compared
// with `new RegExp(p, "u")` (both match by code point), `$regexi` with `new RegExp(p, "i")` on
// texts inside the BMP (the non-Unicode `i` the engine implements). Both sides must also agree on
// which patterns are invalid. V8 also tries `\B` between the two halves of a surrogate pair, even
// with `u`, where the engine has no position (it matches by code point): patterns with `\B` get
// BMP texts. TRIMTAB_FUZZ_CASES sets the number of patterns (300 here, more in
// `npm run fuzz`); TRIMTAB_FUZZ_SEED replays a run, and a failure prints its seed.
import { FlagEngine, limits } from "../../js/trimtab-flags.js";

/** mulberry32: a small seeded PRNG, the same sequence in every runtime. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const LETTERS = ["a", "b", "A", "k", "s", "S", "é", "É", "σ", "Σ", "ς", "ſ", "0", "7", "_", " ", "-"];
const ATOMS = [
  ...LETTERS,
  ".",
  "\\d",
  "\\D",
  "\\w",
  "\\W",
  "\\s",
  "\\S",
  "\\.",
  "\\*",
  "\\(",
  "\\|",
  "\\/",
  "\\$",
  "\\t",
  "\\n",
  "\\x41",
  "\\u00e9",
  "\\u03a3",
  "\\cJ",
];
const CLASS_ITEMS = ["a", "b", "a-c", "0-9", "é", "σ-ω", "Α-Ω", "\\d", "\\w", "\\s", "_", " ", "ſ"];
const ASSERTIONS = ["^", "$", "\\b", "\\B"];
const QUANTIFIERS = ["", "", "", "*", "+", "?", "{2}", "{1,3}", "{0,}", "*?", "+?", "??", "{1,2}?"];
const TEXT_CHARS = [...LETTERS, "B", "c", "K", "\u212a", "x", "\n", ".", "😀"];

/** A random pattern of the syntax both the engine and RegExp (with and without `u`) accept. */
function pattern(rnd: () => number, depth = 0): string {
  const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)];
  const alternatives = 1 + (rnd() < 0.2 ? 1 : 0);
  const out: string[] = [];
  for (let a = 0; a < alternatives; a++) {
    let seq = "";
    const n = Math.floor(rnd() * 5);
    for (let i = 0; i < n; i++) {
      const r = rnd();
      if (r < 0.1) {
        seq += pick(ASSERTIONS);
        continue;
      }
      let atom: string;
      if (r < 0.25) {
        const items = Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => pick(CLASS_ITEMS)).join("");
        atom = `[${rnd() < 0.3 ? "^" : ""}${items}]`;
      } else if (r < 0.35 && depth < 2) {
        atom = `${pick(["(", "(?:", "(?<g" + depth + i + ">"])}${pattern(rnd, depth + 1)})`;
      } else {
        atom = pick(ATOMS);
      }
      seq += atom + pick(QUANTIFIERS);
    }
    out.push(seq);
  }
  return out.join("|");
}

function text(rnd: () => number, bmp: boolean): string {
  const chars = bmp ? TEXT_CHARS.filter((c) => c.length === 1) : TEXT_CHARS;
  let s = "";
  const n = Math.floor(rnd() * 12);
  for (let i = 0; i < n; i++) s += chars[Math.floor(rnd() * chars.length)];
  return s;
}

/** An engine with one rule `{ t: { [op]: p } }`, or the refusal's message. */
function engineFor(op: string, p: string): FlagEngine | string {
  try {
    return new FlagEngine({
      version: "d",
      flags: [{ key: "f", enabled: true, rollout: 0, stickiness: "u", rules: [{ condition: { t: { [op]: p } } }] }],
    });
  } catch (e) {
    return (e as Error).message;
  }
}

Deno.test("$regex and $regexi agree with V8's RegExp on random patterns and texts", () => {
  const seed = Number(Deno.env.get("TRIMTAB_FUZZ_SEED") ?? Math.floor(Math.random() * 2 ** 32));
  const count = Number(Deno.env.get("TRIMTAB_FUZZ_CASES") ?? 300);
  const rnd = prng(seed);
  const cap = limits().maxRegexText;
  const failures: string[] = [];
  let compared = 0;
  for (let k = 0; k < count && failures.length < 10; k++) {
    const p = pattern(rnd);
    for (const [op, flags] of [["$regex", "u"], ["$regexi", "i"]]) {
      const bmp = flags === "i" || p.includes("\\B");
      let js: RegExp | null = null;
      try {
        js = new RegExp(p, flags);
      } catch {
        js = null;
      }
      const engine = engineFor(op, p);
      if (typeof engine === "string" || js === null) {
        if ((typeof engine === "string") !== (js === null)) {
          failures.push(
            `/${p}/${flags}: ${typeof engine === "string" ? `refused (${engine})` : "compiled"}, V8 ${
              js ? "compiled" : "refused"
            }`,
          );
        }
        continue;
      }
      for (let t = 0; t < 8; t++) {
        const s = text(rnd, bmp);
        const got = engine.evaluate("f", { u: "x", t: s });
        const want = js.test(s);
        compared++;
        if (got.enabled !== want || got.reason === "CONDITION_ERROR") {
          failures.push(`/${p}/${flags}.test(${JSON.stringify(s)}): V8 ${want}, engine ${got.enabled} (${got.reason})`);
        }
      }
      const long = engine.evaluate("f", { u: "x", t: "a".repeat(cap + 1) });
      if (long.reason !== "CONDITION_ERROR") failures.push(`/${p}/${flags} on ${cap + 1} bytes: ${long.reason}`);
      engine.free();
    }
  }
  if (failures.length) {
    throw new Error(`seed ${seed} (TRIMTAB_FUZZ_SEED=${seed} replays it):\n${failures.join("\n")}`);
  }
  if (compared < count * 8) throw new Error(`only ${compared} comparisons for ${count} patterns (seed ${seed})`);
});
