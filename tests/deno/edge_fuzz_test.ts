// Edge-side fuzzing, on PGlite and a real Debian Postgres: random and mutated JSON into the admin
// API (create, patch, overrides, rollback, destinations) and into the WhatsApp webhook (signed),
// through their handlers: never a 5xx, every refusal coded, and the database stays consistent
// (every flag row still compiles). Plus properties of the input checks every body goes through
// (jsonDepth, badTextIn, withoutBadText) and of the database error mapping.
//
// TRIMTAB_FUZZ_CASES (default 256 here; `npm run fuzz`: 20,000) cases per target; a failure
// prints TRIMTAB_FUZZ_SEED, which replays the run.
import "../../supabase/functions/_shared/platform/routed.ts";
import flagsAdmin from "../../supabase/functions/flags-admin/index.ts";
import whatsapp from "../../supabase/functions/ai-whatsapp-webhook/index.ts";
import { resetDedupWindow } from "../../supabase/functions/_shared/agent/dedup.ts";
import { invalidate } from "../../supabase/functions/_shared/flags/config.ts";
import { loadSnapshot } from "../../supabase/functions/_shared/flags/snapshot.ts";
import {
  badTextAt,
  badTextIn,
  jsonDepth,
  MAX_JSON_DEPTH,
  withoutBadText,
} from "../../supabase/functions/_shared/platform/http.ts";
import { pgAnswer } from "../../supabase/functions/_shared/platform/pgerror.ts";
import { setLogSink } from "../../supabase/functions/_shared/platform/log.ts";
import { FlagEngine } from "../../supabase/functions/_shared/platform/trimtab.ts";
import { fakeMeta, waPayload, waRequest } from "./fakes.ts";
import { assert, envScope, eq, type Json, onBothBackends, req } from "./support.ts";

const CASES = Number(Deno.env.get("TRIMTAB_FUZZ_CASES") ?? 256);
const SEED = Number(Deno.env.get("TRIMTAB_FUZZ_SEED") ?? Math.floor(Math.random() * 2 ** 31));
const APP_SECRET = "wa-app-secret-fuzz-0123456789";
const WA_TOKEN = "EAAGfuzz0123456789";

/** mulberry32: a small seeded PRNG, so a failing run replays. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  return { next, int, pick };
}
type Rng = ReturnType<typeof rng>;

const NASTY = [
  "",
  "a\u0000b",
  "\ud800",
  "x\udc00y",
  "😀",
  "%00",
  "' or 1=1 --",
  "$regex",
  "(?:a?){40}b",
  "9".repeat(400),
  "-0",
  "1e309",
  "2026-02-30T00:00:00Z",
  "+250788000000",
  "<script>",
  "\\u0000",
  " ".repeat(3),
  "k".repeat(129),
];

/** A random JSON value; depth-limited, sometimes deeper than the edge allows. */
function value(r: Rng, depth = 0): unknown {
  const roll = r.int(depth > 4 ? 6 : 10);
  switch (roll) {
    case 0:
      return null;
    case 1:
      return r.next() < 0.5;
    case 2:
      return r.pick([0, -1, 1, 0.5, 100, 100.00001, 1e21, -1e-7, 2 ** 53, 12.3456, 99.99999]);
    case 3:
    case 4:
      return r.pick(NASTY);
    case 5:
      return `s${r.int(1000)}`;
    case 6:
    case 7:
      return Array.from({ length: r.int(4) }, () => value(r, depth + 1));
    case 8: {
      const o: Record<string, unknown> = {};
      for (let i = r.int(5); i > 0; i--) o[r.pick([...FIELDS, ...NASTY, "x"])] = value(r, depth + 1);
      return o;
    }
    default: {
      // Nested just past (or just within) the limit.
      const n = MAX_JSON_DEPTH - 2 + r.int(4);
      return JSON.parse("[".repeat(n) + "]".repeat(n));
    }
  }
}

const FIELDS = [
  "key",
  "description",
  "enabled",
  "adminOverride",
  "rollout",
  "salt",
  "stickiness",
  "rules",
  "variants",
  "prerequisites",
  "stages",
  "schedule",
  "clientVisible",
  "metadata",
  "reason",
  "force",
  "flag",
  "unit",
  "variant",
  "expiresAt",
  "all",
] as const;

/** A plausible admin body with some fields replaced by random values. */
function adminBody(r: Rng, i: number): Record<string, unknown> {
  const base: Record<string, unknown> = r.pick([
    { key: `fz_${i}`, enabled: true, rollout: 10, stages: [10, 50, 100] },
    { key: `fz_${i}`, rules: [{ condition: { country: { $in: ["RW"] } }, rollout: 50 }] },
    { key: `fz_${i}`, variants: [{ key: "a", weight: 50 }, { key: "b", weight: 50 }] },
    { key: `fz_${i}`, prerequisites: [{ flag: "FEATURE_AGENT_CHAT", enabled: true }] },
    { key: `fz_${i}`, schedule: [{ at: "2030-01-01T00:00:00Z", rollout: 50 }], stages: [50, 100] },
    { key: `fz_${i}`, metadata: { guard: { maxErrorRate: 0.2 } } },
  ]);
  for (let k = r.int(3); k > 0; k--) base[r.pick(FIELDS)] = value(r);
  return base;
}

function check(status: number, body: Json, what: string): void {
  assert(status < 500, `${what}: ${status} ${JSON.stringify(body).slice(0, 400)} (TRIMTAB_FUZZ_SEED=${SEED})`);
  if (status >= 400) {
    assert(typeof body?.error?.code === "string" && /^[A-Z][A-Z0-9_]+$/.test(body.error.code), `${what}: coded`);
  }
}

Deno.test("input checks: depth counted without parsing, bad text found and replaced", () => {
  const r = rng(SEED);
  for (let i = 0; i < CASES; i++) {
    const v = value(r);
    const text = JSON.stringify(v);
    // The depth of the parsed value, by walking it.
    const depthOf = (x: unknown): number =>
      Array.isArray(x)
        ? 1 + Math.max(0, ...x.map(depthOf))
        : x !== null && typeof x === "object"
        ? 1 + Math.max(0, ...Object.values(x).map(depthOf))
        : 0;
    eq(jsonDepth(text, 1000), depthOf(v), `depth of ${text.slice(0, 80)}`);
    const fixed = withoutBadText(v);
    eq(badTextIn(fixed), null, "nothing bad left");
    eq(JSON.stringify(withoutBadText(fixed)), JSON.stringify(fixed), "idempotent");
    if (badTextIn(v) === null) eq(JSON.stringify(fixed), text, "clean values are unchanged");
  }
  eq(badTextAt("ok 😀"), -1, "a surrogate pair is fine");
  eq([badTextAt("a\u0000"), badTextAt("\udfff"), badTextAt("x\ud800")], [1, 0, 1]);
  eq(jsonDepth('{"a":"[[[[","b":["\\"]"]}'), 2, "brackets inside strings do not count");
});

Deno.test("database errors: bad input is a 4xx, an unavailable database a 503, the rest unmapped", () => {
  const cases: [string, number | null][] = [
    ["22021", 400],
    ["22P05", 400],
    ["22P02", 400],
    ["23514", 400],
    ["54001", 400],
    ["54000", 400],
    ["23505", 409],
    ["23503", 404],
    ["42501", 403],
    ["57014", 503],
    ["08006", 503],
    ["53300", 503],
    ["40001", 503],
    ["DB_TIMEOUT", 503],
    ["DB_BROKEN", 503],
    ["XX000", null],
    ["42P01", null],
    ["nonsense", null],
  ];
  for (const [code, status] of cases) eq(pgAnswer({ code })?.status ?? null, status, code);
});

onBothBackends("fuzz: admin API and WhatsApp webhook, never a 5xx", async (t, db, tk) => {
  const envs = envScope();
  const meta = fakeMeta(WA_TOKEN);
  const sink = setLogSink(() => {}); // thousands of refusals: not worth keeping
  envs.set({
    WHATSAPP_APP_SECRET: APP_SECRET,
    WHATSAPP_ACCESS_TOKEN: WA_TOKEN,
    WHATSAPP_API_BASE: meta.url,
    FEATURE_AGENT_CHAT: "true",
    OPENAI_API_KEY: undefined,
  });
  resetDedupWindow();
  invalidate();
  try {
    await t.step(`admin API: ${CASES} random and mutated bodies (seed ${SEED})`, async () => {
      const r = rng(SEED);
      let accepted = 0;
      for (let i = 0; i < CASES; i++) {
        const [method, path] = r.pick(
          [
            ["POST", "/flags"],
            ["POST", "/flags"],
            ["PATCH", `/flags/fz_${r.int(i + 1)}`],
            ["PATCH", "/flags/FEATURE_AGENT_CHAT"],
            ["PUT", "/overrides"],
            ["POST", "/rollback"],
            ["POST", "/alert-destinations"],
            ["DELETE", `/flags/fz_${r.int(i + 1)}`],
          ] as const,
        );
        const body = r.next() < 0.15 ? value(r) : adminBody(r, i);
        const res = await flagsAdmin(req(`/flags-admin${path}`, { token: tk.admin, method, body }));
        const text = await res.text();
        check(res.status, text ? JSON.parse(text) : null, `${method} ${path} ${JSON.stringify(body).slice(0, 200)}`);
        if (res.status < 300) accepted++;
      }
      assert(accepted > 0, "some bodies were valid");
      // Whatever was accepted, the whole configuration still compiles.
      new FlagEngine(await loadSnapshot(db)).free();
    });

    await t.step(`WhatsApp webhook: ${CASES} random and mutated signed deliveries (seed ${SEED})`, async () => {
      const r = rng(SEED + 1);
      for (let i = 0; i < CASES; i++) {
        let payload: unknown;
        if (r.next() < 0.3) payload = value(r);
        else {
          const p = waPayload([{
            messages: [{ id: `wamid.FZ${SEED}x${i}`, from: r.pick(["250788500001", "1", "x"]), text: "hello" }],
          }]) as Json;
          const m = p.entry[0].changes[0].value.messages[0];
          const target = r.pick([m, m.text, p.entry[0].changes[0].value, p.entry[0], p]);
          target[r.pick(["from", "id", "type", "body", "metadata", "messages", "statuses", "changes", "entry", "x"])] =
            value(r);
          payload = p;
        }
        const res = await whatsapp(waRequest("http://127.0.0.1/ai-whatsapp-webhook", payload, { secret: APP_SECRET }));
        const text = await res.text();
        check(res.status, text ? JSON.parse(text) : null, `delivery ${JSON.stringify(payload).slice(0, 200)}`);
      }
    });
  } finally {
    setLogSink(sink);
    envs.restore();
    await meta.close();
  }
});
