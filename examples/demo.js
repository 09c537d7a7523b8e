// `npm start` (core stage): evaluates the demo snapshot for a few users in Deno, with the same
// Wasm the browser page uses, and prints who gets what and why.
import { FlagEngine, bucket } from "../js/trimtab.js";

const snapshot = JSON.parse(await Deno.readTextFile(new URL("./demo-snapshot.json", import.meta.url)));
const engine = new FlagEngine(snapshot);
const people = [
  { userId: "user-1", country: "RW" }, { userId: "user-42", country: "KE", email: "ops@trimtab.dev" },
  { userId: "user-7", country: "US" }, { userId: "dev-1", email: "dev@trimtab.dev" },
];
console.log(`snapshot ${engine.version}: ${engine.keys.length} flags\n`);
for (const ctx of people) {
  console.log(`${ctx.userId} (${Object.entries(ctx).filter(([k]) => k !== "userId").map(([k, v]) => `${k}=${v}`).join(", ")})`);
  for (const e of Object.values(engine.evaluateAll(ctx))) {
    const detail = [e.variant && `variant ${e.variant}`, e.bucket !== undefined && `bucket ${e.bucket}`,
      e.ruleIndex !== undefined && `rule ${e.ruleIndex}`].filter(Boolean).join(", ");
    console.log(`  ${e.enabled ? "on " : "off"}  ${e.flag.padEnd(26)} ${e.reason.padEnd(20)} ${detail}`);
  }
}
console.log(`\nbucket("phoenix_pipeline_enabled", "user-1") = ${bucket("phoenix_pipeline_enabled", "user-1")} (of 1,000,000)`);
