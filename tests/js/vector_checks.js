/**
 * The shared vectors, checked through the public JS wrappers. Runtime-neutral: Deno's test and
 * the browser page both import this module and pass in a wrapper and a JSON loader.
 * - runVectorChecks: the flag vectors (bucketing, variants, evaluation, invalid snapshots, ramps,
 *   conditions), for either build: js/trimtab-flags.js (browsers) or js/trimtab.js (edge).
 * - runEdgeVectorChecks: webhooks, vouchers, guard and prompts, for the full build.
 * Each returns { checks, failures }: `checks` counts assertions made, `failures` lists what broke.
 */

const CLOCK_NOTE = "cases that depend on time pin context.now";

function same(a, b) {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  const ka = Object.keys(a), kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => same(a[k], b[k]));
}

function strip(e) {
  const { flag: _f, version: _v, ...rest } = e;
  return rest;
}

/** @param {any} lib the wrapper module  @param {(name: string) => Promise<any>} load */
export async function runVectorChecks(lib, load) {
  const failures = [];
  let checks = 0;
  const check = (ok, what) => {
    checks++;
    if (!ok) failures.push(what);
  };

  const bucketing = await load("bucketing.json");
  check(bucketing.cases.length >= 200, "at least 200 bucket vectors");
  for (const c of bucketing.cases) {
    const got = lib.bucket(c.salt, c.unit);
    check(got === c.bucket, `bucket(${JSON.stringify(c.salt)}, ${JSON.stringify(c.unit)}) = ${got}, want ${c.bucket}`);
  }

  const variants = await load("variants.json");
  for (const c of variants.cases) {
    const got = lib.variantPosition(c.salt, c.unit);
    check(got === c.position, `variantPosition(${c.salt}, ${c.unit}) = ${got}, want ${c.position}`);
    // The same choice through an engine: a flag at 100 % with these weights.
    const engine = new lib.FlagEngine({
      version: "v",
      flags: [{
        key: "f",
        enabled: true,
        rollout: 100,
        salt: c.salt,
        variants: c.weights.map((weight, i) => ({ key: `v${i}`, weight })),
      }],
    });
    const e = engine.evaluate("f", { userId: c.unit });
    check(e.variant === `v${c.variant}`, `variant for ${c.unit} under ${c.salt} = ${e.variant}, want v${c.variant}`);
    engine.free();
  }

  const ev = await load("evaluation.json");
  const engine = new lib.FlagEngine(ev.snapshot);
  const fromText = new lib.FlagEngine(JSON.stringify(ev.snapshot));
  check(engine.version === "42" && fromText.version === "42", "version is exposed");
  for (const c of ev.cases) {
    const got = engine.evaluate(c.flag, c.context);
    check(got.flag === c.flag && got.version === "42", `${c.name}: flag/version fields`);
    check(
      same(strip(got), c.expected),
      `${c.name} [${c.flag} ${JSON.stringify(c.context)}]: got ${JSON.stringify(got)}, want ${
        JSON.stringify(c.expected)
      } (${CLOCK_NOTE})`,
    );
    const all = fromText.evaluateAll(c.context);
    if (c.expected.reason !== "NOT_FOUND") {
      check(same(all[c.flag], got), `${c.name}: evaluateAll agrees with evaluate`);
    }
  }
  for (const c of ev.invalid) {
    for (const input of [c.snapshot, JSON.stringify(c.snapshot)]) {
      try {
        new lib.FlagEngine(input);
        check(false, `${c.name}: accepted`);
      } catch (err) {
        check(err instanceof lib.TrimtabError && err.code === c.code, `${c.name}: code ${err.code} (${err.message})`);
        for (const needle of c.messageIncludes) {
          check(err.message.includes(needle), `${c.name}: message ${err.message} lacks ${needle}`);
        }
        // The flag and field the message names are fields of the error too.
        check(
          typeof err.field === "string" && err.message.includes(`"${err.field}"`) &&
            (err.flag === undefined || err.message.includes(`flag "${err.flag}"`)),
          `${c.name}: fields flag=${err.flag} field=${err.field} (${err.message})`,
        );
      }
    }
  }
  // The limits the vectors assume are the core's, and the JSON depth limit is where it says:
  // objects and arrays nested maxJsonDepth deep load, one more is INVALID_SNAPSHOT.
  const limits = lib.limits();
  for (const [name, value] of Object.entries(ev.limits)) {
    check(limits[name] === value, `limits().${name} = ${limits[name]}, the vectors assume ${value}`);
  }
  const nested = (levels) => {
    let v = 0;
    for (let i = 0; i < levels; i++) v = [v];
    return v;
  };
  // The root object, `flags` and the flag are three levels.
  const withDepth = (levels) => ({ version: "d", flags: [{ key: "f", description: nested(levels - 3) }] });
  check(new lib.FlagEngine(withDepth(limits.maxJsonDepth)).version === "d", "a snapshot at the depth limit loads");
  try {
    new lib.FlagEngine(withDepth(limits.maxJsonDepth + 1));
    check(false, "a snapshot past the depth limit loaded");
  } catch (err) {
    check(err.code === "INVALID_SNAPSHOT" && err.message.includes(`${limits.maxJsonDepth} levels`), err.message);
  }
  for (const c of ev.ramps) {
    try {
      lib.checkRamp(c.current, c.next, c.stages);
      check(c.code === undefined, `checkRamp(${c.current}, ${c.next}) passed, want ${c.code}`);
    } catch (err) {
      check(
        err instanceof lib.TrimtabError && err.code === c.code,
        `checkRamp(${c.current}, ${c.next}): ${err.code}, want ${c.code ?? "ok"}`,
      );
      if (c.skipped !== undefined) {
        check(
          err.skipped === c.skipped && err.from === c.current && err.to === c.next,
          `checkRamp carries the skipped stage: ${JSON.stringify(err)}`,
        );
        check(err.message.includes(`the ${c.skipped}% stage`), `checkRamp names the skipped stage: ${err.message}`);
      }
    }
  }

  const conditions = await load("conditions.json");
  check(conditions.cases.length === 248, `all 248 GrowthBook evalCondition cases, found ${conditions.cases.length}`);
  for (const c of conditions.cases) {
    // Each GrowthBook case as a rule: RULE_MATCH with the rule on exactly when the condition holds.
    // The unit is an attribute of its own: the cases test conditions on `userId` being null.
    const snapshot = {
      version: "c",
      flags: [{
        key: "f",
        enabled: true,
        rollout: 0,
        stickiness: "__unit",
        rules: [{ condition: c.condition, rollout: 100 }],
      }],
      ...(c.savedGroups ? { savedGroups: c.savedGroups } : {}),
    };
    let e;
    try {
      e = new lib.FlagEngine(snapshot).evaluate("f", { ...c.attributes, __unit: "u" });
    } catch (err) {
      check(c.compileError === true, `condition ${c.name}: refused (${err.code}: ${err.message})`);
      continue;
    }
    check(c.compileError !== true, `condition ${c.name}: compiled, want a compile error`);
    if (c.compileError !== true) {
      check(e.enabled === c.expected, `condition ${c.name}: ${e.enabled}, want ${c.expected}`);
    }
  }
  return { checks, failures };
}

/** @param {any} lib the full wrapper (js/trimtab.js)  @param {(name: string) => Promise<any>} load */
export async function runEdgeVectorChecks(lib, load) {
  const failures = [];
  let checks = 0;
  const check = (ok, what) => {
    checks++;
    if (!ok) failures.push(what);
  };
  await webhookChecks(lib, load, check);
  await voucherChecks(lib, load, check);
  await guardChecks(lib, load, check);
  await promptChecks(lib, load, check);
  return { checks, failures };
}

const hex = (s) => Uint8Array.from(s.match(/../g) ?? [], (b) => parseInt(b, 16));
/** "OK", the code of the TrimtabError `fn` throws, or what else it threw. */
const codeOf = (fn) => {
  try {
    fn();
    return "OK";
  } catch (e) {
    return e instanceof Error && e.name === "TrimtabError" ? e.code : `not a TrimtabError: ${e}`;
  }
};

/** The TrimtabError `fn` throws (null when it returns or throws something else). */
const errorOf = (lib, fn) => {
  try {
    fn();
  } catch (e) {
    if (e instanceof lib.TrimtabError) return e;
  }
  return null;
};

/** tests/vectors/webhooks.json: HMAC, Standard Webhooks, Meta signatures, WhatsApp event ids. */
async function webhookChecks(lib, load, check) {
  const v = await load("webhooks.json");
  for (const c of v.hmac) {
    check(lib.hmacSha256Hex(hex(c.key), hex(c.msg)) === c.mac, `hmac ${c.key.slice(0, 16)}`);
  }
  for (const c of v.standardSign) {
    const got = lib.signStandardWebhook(c.secret, c.id, c.timestamp, c.body);
    check(got === c.signature, `sign ${c.name}: ${got}`);
  }
  for (const c of v.standardVerify) {
    const h = { id: c.id ?? null, timestamp: c.timestamp ?? null, signature: c.signature ?? null };
    const got = codeOf(() => lib.verifyStandardWebhook(c.secret, h, c.body, c.now));
    check(got === c.expected, `standard ${c.name}: ${got}, want ${c.expected}`);
  }
  for (const c of v.meta) {
    const got = codeOf(() => lib.verifyMetaSignature(c.appSecret, c.body, c.header ?? null));
    check(got === c.expected, `meta ${c.name}: ${got}, want ${c.expected}`);
  }
  for (const c of v.whatsapp) {
    const got = lib.whatsappEvents(c.payload).map((e) => {
      const { dedupId, wamid, ...rest } = e;
      return e.kind === "status" ? { ...rest, id: dedupId, messageId: wamid } : { ...rest, id: dedupId };
    });
    const want = c.events.map((e) => Object.fromEntries(Object.entries(e).filter(([, x]) => x !== null)));
    check(same(got, want), `whatsapp ${c.name}: ${JSON.stringify(got)}`);
  }
  for (const c of v.whatsappInvalid) {
    const err = errorOf(lib, () => lib.whatsappEvents(c.payload));
    check(err?.code === c.code && err.path === c.path, `whatsapp invalid ${c.name}: ${err?.code} at ${err?.path}`);
  }
}

/** Contexts are synced incrementally: check that no stale value leaks between calls. */
export function runContextChecks(lib) {
  const failures = [];
  let checks = 0;
  const check = (ok, what) => {
    checks++;
    if (!ok) failures.push(what);
  };
  const engine = new lib.FlagEngine({
    version: "1",
    flags: [
      {
        key: "groups",
        enabled: true,
        rollout: 0,
        rules: [{ condition: { groups: { $elemMatch: { $eq: "beta" } } }, rollout: 100 }],
      },
      { key: "country", enabled: true, rollout: 0, rules: [{ condition: { country: "RW" }, rollout: 100 }] },
      { key: "timed", enabled: true, rollout: 0, schedule: [{ at: "2026-12-01T00:00:00Z", rollout: 100 }] },
    ],
  });
  const groups = ["alpha"];
  const ctx = { userId: "u1", groups };
  check(!engine.evaluate("groups", ctx).enabled, "array without beta");
  groups.push("beta");
  check(engine.evaluate("groups", ctx).enabled, "the same array, mutated, is re-sent");
  check(engine.evaluate("country", { userId: "u1", country: "RW" }).enabled, "country RW");
  check(!engine.evaluate("country", { userId: "u1" }).enabled, "a dropped attribute is cleared");
  check(!engine.evaluate("country", { userId: "u1", country: null }).enabled, "null attribute");
  check(engine.evaluate("country", { userId: "u2", country: "RW" }).enabled, "attribute set again");
  check(!engine.evaluate("timed", { userId: "u", now: "2026-11-30T00:00:00Z" }).enabled, "before schedule (string)");
  check(
    engine.evaluate("timed", { userId: "u", now: new Date("2026-12-02T00:00:00Z") }).enabled,
    "after schedule (Date)",
  );
  check(
    !engine.evaluate("timed", { userId: "u", now: Date.parse("2026-11-02T00:00:00Z") }).enabled,
    "before schedule (ms)",
  );
  check(
    engine.evaluate("country", null).reason === "MISSING_UNIT" || !engine.evaluate("country", null).enabled,
    "null context",
  );
  check(engine.evaluate("country", "nonsense").enabled === false, "non-object context");
  // Updates larger than the scratch buffer, non-ASCII and very long strings in one sync.
  const want = {};
  for (let k = 0; k < 10; k++) want[`a${k}`] = `${k}`.repeat(200);
  want.name = "Zoë Müller";
  want.long = "L".repeat(5000);
  const many = new lib.FlagEngine({
    version: "m",
    flags: [{ key: "m", enabled: true, rollout: 0, rules: [{ condition: want, rollout: 100 }] }],
  });
  check(many.evaluate("m", { userId: "u", ...want }).enabled, "many large updates in one call");
  check(!many.evaluate("m", { userId: "u", ...want, a9: "changed" }).enabled, "one of them changed");
  check(!many.evaluate("m", { userId: "u", ...want, name: "Zoe Muller" }).enabled, "non-ASCII value changed to ASCII");
  check(many.evaluateAll({ userId: "u", ...want }).m.enabled, "and back, through evaluateAll");
  const other = new lib.FlagEngine({ version: "2", flags: [{ key: "country", enabled: true, rollout: 100 }] });
  check(
    other.evaluate("country", { userId: "u1" }).enabled &&
      engine.evaluate("country", { userId: "u1", country: "RW" }).enabled,
    "two engines keep separate contexts",
  );
  return { checks, failures };
}

/** tests/vectors/vouchers.json through the wrapper: codes, phones, issue, redeem, void. */
async function voucherChecks(lib, load, check) {
  const v = await load("vouchers.json");
  for (const c of v.codes.valid) {
    check(lib.validateVoucherCode(c.input) === c.canonical, `code ${c.input}`);
  }
  for (const c of v.codes.invalid) {
    check(codeOf(() => lib.validateVoucherCode(c.input)) === "INVALID_CODE", `bad code ${c.input} (${c.why})`);
  }
  for (const c of v.phones.valid) check(lib.normalizePhone(c.input) === c.normalized, `phone ${c.input}`);
  for (const c of v.phones.invalid) {
    check(codeOf(() => lib.normalizePhone(c.input)) === "INVALID_PHONE", `bad phone ${c.input} (${c.why})`);
  }
  for (const c of v.issue) {
    let got;
    const code = codeOf(() => {
      got = lib.validateIssue(c.policy, c.request, c.now);
    });
    if (c.code) {
      check(code === c.code, `issue ${c.name}: ${code}, want ${c.code}`);
      continue;
    }
    const want = { ...c.expected };
    if (want.expiresAtMs !== undefined && want.expiresAtMs !== null) {
      want.expiresAt = new Date(want.expiresAtMs).toISOString();
    }
    delete want.expiresAtMs;
    check(code === "OK" && same(got, want), `issue ${c.name}: ${code} ${JSON.stringify(got)}`);
  }
  for (const c of v.redeem) {
    const voucher = { status: c.voucher.status, holderPhone: c.voucher.holderPhone, expiresAt: c.voucher.expiresAtMs };
    const got = codeOf(() => lib.checkRedeem(voucher, c.caller, c.now));
    check(got === (c.code ?? "OK"), `redeem ${c.name}: ${got}, want ${c.code ?? "OK"}`);
  }
  for (const c of v.void) {
    const got = codeOf(() => lib.checkVoid({ status: c.status, holderPhone: "", expiresAt: c.expiresAtMs }));
    check(got === (c.code ?? "OK"), `void ${c.status}: ${got}`);
  }
  const seen = new Set(Array.from({ length: 200 }, () => lib.generateVoucherCode()));
  check(seen.size === 200 && [...seen].every((x) => lib.validateVoucherCode(x) === x), "generated codes validate");
  check(
    lib.redact("call +250 788 123 456 or a@b.co") === "call [phone ..56] or [email]",
    `redact: ${lib.redact("call +250 788 123 456 or a@b.co")}`,
  );
  const rl = new lib.RateLimiter(2, 2, 10);
  const d = [rl.check("k", 0), rl.check("k", 0), rl.check("k", 0)];
  check(d[0].allowed && d[1].allowed && !d[2].allowed && d[2].retryAfterMs > 0, `rate limiter ${JSON.stringify(d)}`);
  rl.free();
}

/** tests/vectors/guard.json through the wrapper: breaker scripts, rollout windows, similarity, cutover,
 *  the cutover gate, PII scans, and the validation of guard settings. */
async function guardChecks(lib, load, check) {
  const v = await load("guard.json");
  for (const c of v.breaker) {
    const b = new lib.CircuitBreaker(c.config ?? {});
    for (const st of c.steps) {
      for (let i = 0; i < (st.repeat ?? 1); i++) {
        if (st.op === "record") {
          const got = b.record(st.success, st.now);
          if (i === (st.repeat ?? 1) - 1) {
            check(got === st.state, `breaker ${c.name}: record -> ${got}, want ${st.state}`);
          }
        } else if (st.op === "allow") {
          const p = b.allow(st.now);
          const want = { allowed: st.allowed, trial: st.trial, state: st.state };
          if (i === (st.repeat ?? 1) - 1) check(same(p, want), `breaker ${c.name}: allow ${JSON.stringify(p)}`);
        } else {
          check(b.state(st.now) === st.state, `breaker ${c.name}: state at ${st.now}`);
        }
      }
    }
    b.free();
  }
  for (const c of v.rollout) {
    const d = lib.decideRollout(c.old, c.new, c.thresholds ?? {}, c.stageEnteredMs, c.nowMs);
    const codes = d.reasons.map((r) => r.code);
    check(d.action === c.action && same(codes, c.codes), `rollout ${c.name}: ${d.action} ${codes}`);
    check(same(d.breaches.map((b) => [b.code, b.level]), c.breaches), `rollout ${c.name}: breaches`);
    check(same(d.checks.map((x) => [x.code, x.state]), c.checks), `rollout ${c.name}: checks`);
  }
  for (const c of v.gate) {
    const r = lib.cutoverGate(c.summary, c.thresholds);
    check(
      r.ok === c.ok && r.required === c.required && same(r.reasons.map((x) => x.code), c.codes),
      `gate ${c.name}: ${JSON.stringify(r)}`,
    );
  }
  for (const c of v.pii) {
    const r = lib.scanPii(c.text);
    check(
      r.text === c.masked && r.phones === c.phones && r.emails === c.emails && r.vouchers === c.vouchers &&
        r.total === c.phones + c.emails + c.vouchers,
      `scanPii ${JSON.stringify(c.text)}: ${JSON.stringify(r)}`,
    );
  }
  const t = lib.validateRolloutThresholds({ p95WarningMs: 2500 });
  check(t.p95WarningMs === 2500 && t.p95CriticalMs === 5000, `validateRolloutThresholds: ${JSON.stringify(t)}`);
  let refused = null;
  try {
    lib.validateRolloutThresholds({ maxErrorRate: "10%" });
  } catch (e) {
    refused = e;
  }
  check(
    refused?.code === "INVALID_THRESHOLD" && refused.field === "maxErrorRate",
    `validateRolloutThresholds refuses: ${refused?.code} ${refused?.field}`,
  );
  for (const c of v.similarity) {
    const got = lib.outputSimilarity(c.old, c.new);
    const ok = c.score !== undefined
      ? Math.abs(got - c.score) < 1e-9
      : (c.min === undefined || got >= c.min) && (c.max === undefined || got <= c.max);
    check(ok, `similarity ${c.name}: ${got}`);
  }
  for (const c of v.cutover) {
    const r = lib.cutoverCheck(c.similarity, c.latencyRatio, c.errorRate);
    check(
      r.ok === c.ok && same(r.reasons.map((x) => x.code), c.codes),
      `cutover ${JSON.stringify(c)}: ${JSON.stringify(r)}`,
    );
  }
}

/** tests/vectors/prompts.json through the wrapper: provider bodies (byte for byte), estimates,
 *  truncation, cache keys, refusals. */
async function promptChecks(lib, load, check) {
  const v = await load("prompts.json");
  for (const c of v.specs) {
    const openai = lib.buildOpenAIRequest(c.spec), anthropic = lib.buildAnthropicRequest(c.spec);
    // Short cases pin the JSON text (key order included); long ones the parsed body.
    check(c.openaiJson ? JSON.stringify(openai) === c.openaiJson : same(openai, c.openai), `openai body ${c.name}`);
    check(
      c.anthropicJson ? JSON.stringify(anthropic) === c.anthropicJson : same(anthropic, c.anthropic),
      `anthropic body ${c.name}`,
    );
    check(lib.promptCacheKey(c.spec) === c.cacheKey, `cache key ${c.name}`);
    check(lib.promptCacheKey(lib.buildOpenAIRequest(c.spec)) === c.openaiCacheKey, `openai cache key ${c.name}`);
    for (const t of c.truncate ?? []) {
      const got = codeOf(() => lib.truncatePrompt(c.spec, t.budget));
      if (t.code) {
        check(got === t.code, `truncate ${c.name} @${t.budget}: ${got}`);
        continue;
      }
      const r = lib.truncatePrompt(c.spec, t.budget);
      check(
        r.droppedTurns === t.dropped && r.messages.length === c.spec.messages.length - t.dropped,
        `truncate ${c.name} @${t.budget}: dropped ${r.droppedTurns}`,
      );
    }
  }
  for (const c of v.estimates) check(lib.estimateTokens(c.text) === c.tokens, `estimate ${c.text.slice(0, 20)}`);
  for (const c of v.cacheKeys) {
    check(lib.promptCacheKey(c.value) === c.key, `cache key ${JSON.stringify(c.value).slice(0, 30)}`);
  }
  for (const c of v.invalid) {
    const err = errorOf(lib, () => lib.buildOpenAIRequest(c.spec));
    check(err?.code === c.code && err.field === c.field, `invalid ${c.name}: ${err?.code} at ${err?.field}`);
  }
}
