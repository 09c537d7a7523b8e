// `npm start` (core stage): evaluates the demo snapshot for a few users in Deno, with the same
// Wasm the browser page uses, and prints who gets what and why.
import { bucket, FlagEngine } from "../js/trimtab.js";

// The demo's times are relative ("+7 days"), so the demo shows the same story whatever the date:
// they become RFC 3339 timestamps counted from now.
const DAY_MS = 86_400_000;
const at = (v) => {
  const m = /^\+(\d+) days$/.exec(v);
  return m ? new Date(Date.now() + Number(m[1]) * DAY_MS).toISOString() : v;
};
const snapshot = JSON.parse(await Deno.readTextFile(new URL("./demo-snapshot.json", import.meta.url)));
for (const f of snapshot.flags) for (const s of f.schedule ?? []) s.at = at(s.at);
for (const o of snapshot.overrides) o.expiresAt = at(o.expiresAt);
const engine = new FlagEngine(snapshot);
const people = [
  { userId: "user-1", country: "RW" },
  { userId: "user-42", country: "KE", email: "ops@trimtab.dev" },
  { userId: "user-7", country: "US" },
  { userId: "dev-1", email: "dev@trimtab.dev" },
];
console.log(`snapshot ${engine.version}: ${engine.keys.length} flags\n`);
for (const ctx of people) {
  console.log(
    `${ctx.userId} (${Object.entries(ctx).filter(([k]) => k !== "userId").map(([k, v]) => `${k}=${v}`).join(", ")})`,
  );
  for (const e of Object.values(engine.evaluateAll(ctx))) {
    const detail = [
      e.variant && `variant ${e.variant}`,
      e.bucket !== undefined && `bucket ${e.bucket}`,
      e.ruleIndex !== undefined && `rule ${e.ruleIndex}`,
    ].filter(Boolean).join(", ");
    console.log(`  ${e.enabled ? "on " : "off"}  ${e.flag.padEnd(26)} ${e.reason.padEnd(20)} ${detail}`);
  }
}
console.log(
  `\nbucket("phoenix_pipeline_enabled", "user-1") = ${bucket("phoenix_pipeline_enabled", "user-1")} (of 1,000,000)`,
);
