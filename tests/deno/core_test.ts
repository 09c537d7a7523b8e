// The built package through the public wrapper, in Deno: shared vectors and context syncing.
import * as lib from "../../js/trimtab.js";
import { runContextChecks, runVectorChecks } from "../js/vector_checks.js";

const load = async (name: string) =>
  JSON.parse(await Deno.readTextFile(new URL(`../vectors/${name}`, import.meta.url)));

function report(result: { checks: number; failures: string[] }, min: number) {
  if (result.failures.length) {
    throw new Error(
      `${result.failures.length} of ${result.checks} checks failed:\n${result.failures.slice(0, 40).join("\n")}`,
    );
  }
  if (result.checks < min) throw new Error(`only ${result.checks} checks ran, expected at least ${min}`);
}

Deno.test("vectors: bucketing, variants, evaluation, invalid snapshots, ramps, conditions", async () => {
  report(await runVectorChecks(lib, load), 600);
});

Deno.test("contexts are synced without stale values", () => {
  report(runContextChecks(lib), 10);
});

Deno.test("errors are TrimtabError with a stable code", () => {
  try {
    lib.checkRamp(5, 50, [0.1, 5, 25, 50, 100]);
    throw new Error("no error");
  } catch (e) {
    if (!(e instanceof lib.TrimtabError) || e.code !== "RAMP_SKIPS_STAGE" || !e.message.includes("25%")) throw e;
  }
  try {
    lib.bucket("has:colon", "u");
    throw new Error("no error");
  } catch (e) {
    if (!(e instanceof lib.TrimtabError) || e.code !== "INVALID_SALT") throw e;
  }
});
