// The built packages through the public wrappers, in Deno: the shared vectors and context syncing,
// for both builds (js/trimtab.js: full, js/trimtab-flags.js: flag-only), and one TrimtabError.
import * as lib from "../../js/trimtab.js";
import * as flags from "../../js/trimtab-flags.js";
import { runContextChecks, runEdgeVectorChecks, runVectorChecks } from "../js/vector_checks.js";

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

Deno.test("flag vectors, full build: bucketing, variants, evaluation, invalid snapshots, ramps, conditions", async () => {
  report(await runVectorChecks(lib, load), 600);
});

Deno.test("flag vectors, flag-only build (the browsers'): the same vectors", async () => {
  report(await runVectorChecks(flags, load), 600);
});

Deno.test("edge vectors, full build: webhooks, vouchers, guard, prompts", async () => {
  report(await runEdgeVectorChecks(lib, load), 450);
});

Deno.test("contexts are synced without stale values, in both builds", () => {
  report(runContextChecks(lib), 10);
  report(runContextChecks(flags), 10);
});

Deno.test("errors are one TrimtabError class with a stable code and structured fields, from either build", () => {
  for (const build of [lib, flags]) {
    try {
      build.checkRamp(5, 50, [0.1, 5, 25, 50, 100]);
      throw new Error("no error");
    } catch (e) {
      if (!(e instanceof lib.TrimtabError) || !(e instanceof flags.TrimtabError)) throw e;
      if (e.code !== "RAMP_SKIPS_STAGE" || e.skipped !== 25 || e.from !== 5 || e.to !== 50) throw e;
      if (!(e instanceof Error) || e.name !== "TrimtabError" || typeof e.stack !== "string") throw e;
    }
    try {
      build.bucket("has:colon", "u");
      throw new Error("no error");
    } catch (e) {
      if (!(e instanceof lib.TrimtabError) || e.code !== "INVALID_SALT" || e.field !== "salt") throw e;
    }
    try {
      new build.FlagEngine({ version: "1", flags: [{ key: "f", rollout: 101 }] });
      throw new Error("no error");
    } catch (e) {
      if (!(e instanceof lib.TrimtabError) || e.code !== "INVALID_SNAPSHOT") throw e;
      if (e.flag !== "f" || e.field !== "rollout") throw e;
    }
  }
});

Deno.test("edge errors carry their fields", () => {
  const fields = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      if (e instanceof lib.TrimtabError) return { ...e, message: e.message };
      throw e;
    }
    throw new Error("no error");
  };
  const e1 = fields(() => lib.checkVoid({ status: "redeemed", holderPhone: "", expiresAt: null }));
  if (e1.code !== "VOUCHER_NOT_ISSUED" || e1.status !== "redeemed") throw new Error(JSON.stringify(e1));
  const e2 = fields(() => lib.checkVoid({ status: "lost", holderPhone: "", expiresAt: null }));
  if (e2.code !== "INVALID_STATUS" || e2.status !== "lost") throw new Error(JSON.stringify(e2));
  const e3 = fields(() =>
    lib.verifyStandardWebhook(
      "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
      { id: "msg_1", timestamp: "1000", signature: "v1,x" },
      new TextEncoder().encode("{}"),
      5000,
    )
  );
  if (e3.code !== "TIMESTAMP_TOO_OLD" || e3.timestamp !== 1000 || e3.now !== 5000) throw new Error(JSON.stringify(e3));
  const e4 = fields(() =>
    lib.truncatePrompt({ model: "m", system: "s", messages: [{ role: "user", content: "hi" }] }, 1)
  );
  if (e4.code !== "PROMPT_TOO_LARGE" || e4.budget !== 1 || !(Number(e4.needed) > 1)) {
    throw new Error(JSON.stringify(e4));
  }
  const e5 = fields(() => new lib.CircuitBreaker({ windowMs: "soon" as unknown as number }));
  if (e5.code !== "INVALID_ARGUMENT" || e5.field !== "config") throw new Error(JSON.stringify(e5));
});

Deno.test("arguments of the wrong type give coded errors and leave the module sound", () => {
  const codeOf = (fn: () => unknown) => {
    try {
      fn();
      return "OK";
    } catch (e) {
      if (e instanceof lib.TrimtabError) return e.code;
      throw e;
    }
  };
  const anyArg = (v: unknown) => v as never;
  for (const build of [lib, flags]) {
    if (codeOf(() => build.bucket("salt", anyArg(42))) !== "MISSING_UNIT") throw new Error("number unit");
    if (codeOf(() => build.variantPosition(anyArg(null), "u")) !== "INVALID_SALT") throw new Error("null salt");
  }
  const w = new lib.DedupWindow(10, 1000);
  if (!w.firstSeen(anyArg(123), 0) || w.firstSeen("123", 1)) throw new Error("ids are read as String(id)");
  if (!new lib.RateLimiter(1, 1, 10).check(anyArg(7), 0).allowed) throw new Error("limiter key");
  const noHeaders = { id: anyArg(5), timestamp: anyArg(6), signature: null };
  if (codeOf(() => lib.verifyStandardWebhook(anyArg(undefined), noHeaders, anyArg(42), 0)) !== "INVALID_SECRET") {
    throw new Error("secret");
  }
  const meta = codeOf(() => lib.verifyMetaSignature("s", anyArg(new ArrayBuffer(2)), anyArg(7)));
  if (meta !== "MALFORMED_SIGNATURE") throw new Error(`meta: ${meta}`);
  // The allocator is intact: the module still hashes and evaluates.
  if (lib.bucket("phoenix_pipeline", "user-1") !== 968658) throw new Error("bucket after bad input");
  if (flags.bucket("phoenix_pipeline", "user-1") !== 968658) throw new Error("bucket after bad input (flags)");
});
