// The side-by-side scenario of `bench/peers.js`: one description of 50 flags, and each engine's
// native configuration built from it (trimtab snapshot, flagd flag definitions, Unleash toggles,
// GrowthBook features), so that every engine evaluates the same flags for the same users.
// An engine's SDK is imported only when it is loaded, so that a fresh process that measures one
// engine's ready time imports that engine alone.

const ROOT = new URL("..", import.meta.url);

/** The engines, in table order. */
export const ENGINES = ["trimtab", "flagd", "unleash", "growthbook"];

/** npm packages of the peers (the exact versions are pinned in package.json). */
export const PACKAGES = {
  flagd: "@openfeature/flagd-core",
  unleash: "unleash-client",
  growthbook: "@growthbook/growthbook",
};

/**
 * 50 flags: 10 on/off, 25 percentage rollouts, 10 condition + rollout, 5 weighted variants.
 * `when` maps an attribute to its allowed values: every attribute must match one of them.
 */
export function scenario() {
  const flags = [];
  for (let i = 0; i < 10; i++) flags.push({ key: `onoff_${i}`, kind: "onoff", on: i % 2 === 0 });
  for (let i = 0; i < 25; i++) flags.push({ key: `rollout_${i}`, kind: "rollout", percent: [1, 5, 10, 25, 50][i % 5] });
  for (let i = 0; i < 10; i++) {
    const when = i % 2 === 0 ? { country: ["RW", "KE"] } : { country: ["RW", "KE", "UG"], plan: ["pro"] };
    flags.push({ key: `cond_${i}`, kind: "conditional", when, percent: [25, 50, 75][i % 3] });
  }
  const weights = [[50, 50], [34, 33, 33], [10, 90], [25, 25, 25, 25], [20, 80]];
  for (let i = 0; i < 5; i++) {
    flags.push({
      key: `variant_${i}`,
      kind: "variants",
      variants: weights[i].map((weight, j) => ({ key: `v${j}`, weight })),
    });
  }
  return flags;
}

/** The flag timed alone, for a new user each call: a 25 % rollout. */
export const SINGLE_FLAG = "rollout_3";

/** `n` users with a unit id, a country and a plan. */
export function users(n) {
  const countries = ["RW", "KE", "UG", "TZ", "US"];
  const plans = ["free", "pro", "team"];
  return Array.from({ length: n }, (_, i) => ({ userId: `user-${i}`, country: countries[i % 5], plan: plans[i % 3] }));
}

/** Whether `user` passes a conditional flag's `when`. */
export function matches(when, user) {
  return Object.entries(when).every(([attr, values]) => values.includes(user[attr]));
}

/**
 * Checks loaded engines (with `ctx`, their contexts for `people`) against the scenario on the
 * first `sample` users: on/off flags exactly, rollout and variant shares within 5 standard
 * deviations of the configured percentage, and no one outside a condition on. Returns the
 * largest deviation per engine (in standard deviations) and the problems found.
 */
export function agreement(engines, flags, people, sample) {
  /** @type {string[]} */
  const problems = [];
  /** @type {Record<string, number>} */
  const worst = {};
  for (const e of engines) {
    worst[e.name] = 0;
    const share = (hits, n, want, what) => {
      const sd = Math.sqrt((want * (1 - want)) / n);
      const z = sd ? Math.abs(hits / n - want) / sd : hits === want * n ? 0 : Infinity;
      worst[e.name] = Math.max(worst[e.name], z);
      if (z > 5) {
        problems.push(`${e.name} ${what}: ${((hits / n) * 100).toFixed(2)} %, want ${(want * 100).toFixed(2)} %`);
      }
    };
    for (const f of flags) {
      if (f.kind === "variants") {
        const counts = Object.fromEntries(f.variants.map((v) => [v.key, 0]));
        for (let i = 0; i < sample; i++) {
          const got = e.variant(f.key, e.ctx[i]);
          counts[got] = (counts[got] ?? 0) + 1;
        }
        for (const v of f.variants) share(counts[v.key], sample, v.weight / 100, `${f.key}=${v.key}`);
        continue;
      }
      let inside = 0, on = 0, outsideOn = 0;
      for (let i = 0; i < sample; i++) {
        const hit = e.bool(f.key, e.ctx[i]) === true;
        if (f.kind === "conditional" && !matches(f.when, people[i])) outsideOn += hit ? 1 : 0;
        else {
          inside++;
          on += hit ? 1 : 0;
        }
      }
      share(on, inside, f.kind === "onoff" ? (f.on ? 1 : 0) : f.percent / 100, f.key);
      if (outsideOn) problems.push(`${e.name} ${f.key}: ${outsideOn} users outside the condition are on`);
    }
  }
  return { worst, problems };
}

// ------------------------------------------------------------------ native configurations

export function trimtabSnapshot(flags) {
  return {
    version: "peers",
    flags: flags.map((f) => {
      switch (f.kind) {
        case "onoff":
          return { key: f.key, enabled: f.on, rollout: 100 };
        case "rollout":
          return { key: f.key, enabled: true, rollout: f.percent };
        case "conditional": {
          const condition = Object.fromEntries(Object.entries(f.when).map(([a, v]) => [a, { $in: v }]));
          return { key: f.key, enabled: true, rollout: 0, rules: [{ condition, rollout: f.percent }] };
        }
        default:
          return { key: f.key, enabled: true, rollout: 100, variants: f.variants };
      }
    }),
  };
}

/** flagd flag definitions: `fractional` buckets on flag key + targetingKey, json-logic conditions. */
export function flagdConfig(flags) {
  const bool = (defaultVariant, targeting) => ({
    state: "ENABLED",
    variants: { on: true, off: false },
    defaultVariant,
    ...(targeting ? { targeting } : {}),
  });
  const split = (p) => ({ fractional: [["on", p], ["off", 100 - p]] });
  const out = {};
  for (const f of flags) {
    if (f.kind === "onoff") out[f.key] = bool(f.on ? "on" : "off");
    else if (f.kind === "rollout") out[f.key] = bool("off", split(f.percent));
    else if (f.kind === "conditional") {
      const tests = Object.entries(f.when).map(([a, v]) => ({ in: [{ var: a }, v] }));
      out[f.key] = bool("off", { if: [{ and: tests }, split(f.percent), "off"] });
    } else {
      out[f.key] = {
        state: "ENABLED",
        variants: Object.fromEntries(f.variants.map((v) => [v.key, v.key])),
        defaultVariant: f.variants[0].key,
        targeting: { fractional: f.variants.map((v) => [v.key, v.weight]) },
      };
    }
  }
  return { flags: out };
}

/** Unleash toggles: flexibleRollout on userId (groupId = toggle name), constraints, variants. */
export function unleashFeatures(flags) {
  const rollout = (name, p, constraints = []) => ({
    name: "flexibleRollout",
    parameters: { rollout: String(p), stickiness: "userId", groupId: name },
    constraints,
  });
  return flags.map((f) => {
    const base = { name: f.key, type: "release", project: "default", impressionData: false };
    switch (f.kind) {
      case "onoff":
        return { ...base, enabled: f.on, strategies: [{ name: "default", parameters: {}, constraints: [] }] };
      case "rollout":
        return { ...base, enabled: true, strategies: [rollout(f.key, f.percent)] };
      case "conditional": {
        const constraints = Object.entries(f.when).map(([a, v]) => ({ contextName: a, operator: "IN", values: v }));
        return { ...base, enabled: true, strategies: [rollout(f.key, f.percent, constraints)] };
      }
      default:
        return {
          ...base,
          enabled: true,
          strategies: [rollout(f.key, 100)],
          variants: f.variants.map((v) => ({
            name: v.key,
            weight: v.weight * 10,
            weightType: "variable",
            stickiness: "userId",
          })),
        };
    }
  });
}

/** GrowthBook features: forced rollout rules with coverage, conditions, experiment rules. */
export function growthbookFeatures(flags) {
  const out = {};
  for (const f of flags) {
    if (f.kind === "onoff") out[f.key] = { defaultValue: f.on };
    else if (f.kind === "rollout") {
      out[f.key] = { defaultValue: false, rules: [{ force: true, coverage: f.percent / 100, hashAttribute: "id" }] };
    } else if (f.kind === "conditional") {
      const condition = Object.fromEntries(Object.entries(f.when).map(([a, v]) => [a, { $in: v }]));
      out[f.key] = {
        defaultValue: false,
        rules: [{ condition, force: true, coverage: f.percent / 100, hashAttribute: "id" }],
      };
    } else {
      out[f.key] = {
        defaultValue: "off",
        rules: [{
          key: f.key,
          variations: f.variants.map((v) => v.key),
          weights: f.variants.map((v) => v.weight / 100),
          coverage: 1,
          hashAttribute: "id",
        }],
      };
    }
  }
  return out;
}

// ------------------------------------------------------------------ trimtab's build

async function exists(url) {
  try {
    await Deno.stat(url);
    return true;
  } catch {
    return false;
  }
}

/** JS files under `dir` (not node_modules), for finding the flag build's wrapper. */
async function jsFiles(dir, out = []) {
  try {
    for await (const e of Deno.readDir(dir)) {
      const url = new URL(e.name + (e.isDirectory ? "/" : ""), dir);
      if (e.isDirectory && e.name !== "node_modules") await jsFiles(url, out);
      else if (e.isFile && /\.m?js$/.test(e.name)) out.push(url);
    }
  } catch {
    // no such directory
  }
  return out;
}

/**
 * What an app ships for trimtab flags: the flag-only build (`pkg/trimtab_flags_bg.wasm`, its
 * glue and the wrapper that imports the glue) when it has been built, else the full build
 * (`pkg/trimtab_bg.wasm`, `pkg/trimtab.js`, `js/trimtab.js`).
 */
export async function trimtabBuild() {
  const flagsWasm = new URL("pkg/trimtab_flags_bg.wasm", ROOT);
  if (await exists(flagsWasm)) {
    for (const dir of ["js/", "packages/"]) {
      for (const file of await jsFiles(new URL(dir, ROOT))) {
        if ((await Deno.readTextFile(file)).includes("trimtab_flags.js")) {
          return { label: "flag build", wasm: flagsWasm, wrapper: file };
        }
      }
    }
  }
  return { label: "full build", wasm: new URL("pkg/trimtab_bg.wasm", ROOT), wrapper: new URL("js/trimtab.js", ROOT) };
}

// ------------------------------------------------------------------ engines

/**
 * Loads `name` with the scenario: `{ name, version, contexts(users), bool(key, ctx),
 * variant(key, ctx), all?(ctx), close() }`. Contexts are built once, outside the timings.
 */
export async function load(name, flags) {
  if (name === "trimtab") {
    const build = await trimtabBuild();
    const { FlagEngine } = await import(build.wrapper.href);
    const engine = new FlagEngine(trimtabSnapshot(flags));
    const pkg = JSON.parse(await Deno.readTextFile(new URL("package.json", ROOT)));
    return {
      name,
      version: `${pkg.version} (${build.label})`,
      contexts: (us) => us.map((u) => ({ userId: u.userId, country: u.country, plan: u.plan })),
      bool: (key, ctx) => engine.evaluate(key, ctx).enabled,
      variant: (key, ctx) => engine.evaluate(key, ctx).variant ?? "off",
      all: (ctx) => engine.evaluateAll(ctx),
      close: () => engine.free(),
    };
  }
  const version = await packageVersion(PACKAGES[name]);
  if (name === "flagd") {
    const { FlagdCore } = await import("@openfeature/flagd-core");
    const core = new FlagdCore();
    core.setConfigurations(JSON.stringify(flagdConfig(flags)));
    return {
      name,
      version,
      contexts: (us) => us.map((u) => ({ targetingKey: u.userId, country: u.country, plan: u.plan })),
      bool: (key, ctx) => core.resolveBooleanEvaluation(key, false, ctx).value,
      variant: (key, ctx) => core.resolveStringEvaluation(key, "off", ctx).value,
      all: (ctx) => core.resolveAll(ctx),
      close: () => {},
    };
  }
  if (name === "unleash") {
    const { InMemStorageProvider, Unleash } = await import("unleash-client");
    // Bootstrapped, no network: refreshInterval 0 never fetches, metrics are off, and the
    // URL (required) points at a closed local port.
    const client = new Unleash({
      appName: "trimtab-bench",
      instanceId: "trimtab-bench",
      url: "http://127.0.0.1:9/api/",
      refreshInterval: 0,
      disableMetrics: true,
      skipInstanceCountWarning: true,
      storageProvider: new InMemStorageProvider(),
      bootstrap: { data: unleashFeatures(flags) },
    });
    client.on("error", (e) => console.error("unleash:", e.message));
    await new Promise((resolve) => client.once("ready", resolve));
    return {
      name,
      version,
      contexts: (us) => us.map((u) => ({ userId: u.userId, properties: { country: u.country, plan: u.plan } })),
      bool: (key, ctx) => client.isEnabled(key, ctx),
      variant: (key, ctx) => client.getVariant(key, ctx).name,
      close: () => client.destroy(),
    };
  }
  if (name === "growthbook") {
    const { GrowthBookClient } = await import("@growthbook/growthbook");
    const client = new GrowthBookClient({}).initSync({ payload: { features: growthbookFeatures(flags) } });
    return {
      name,
      version,
      contexts: (us) => us.map((u) => ({ attributes: { id: u.userId, country: u.country, plan: u.plan } })),
      bool: (key, ctx) => client.isOn(key, ctx),
      variant: (key, ctx) => client.getFeatureValue(key, "off", ctx),
      close: () => client.destroy(),
    };
  }
  throw new Error(`unknown engine ${name}`);
}

async function packageVersion(pkg) {
  const text = await Deno.readTextFile(new URL(`node_modules/${pkg}/package.json`, ROOT));
  return JSON.parse(text).version;
}
