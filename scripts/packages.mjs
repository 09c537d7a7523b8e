// Generates the two npm packages' folders from the sources (never hand-kept copies), for
// scripts/pack.sh: target/packages/core (@trimtab/core: js/ and both Wasm builds in pkg/) and
// target/packages/web (@trimtab/web: www/'s flag client and OpenFeature web provider, their
// imports of ../js/ rewritten to @trimtab/core subpaths). Prints the two folders.
//
//   node scripts/packages.mjs
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";

const ROOT = new URL("..", import.meta.url).pathname;
const OUT = `${ROOT}target/packages`;
const root = JSON.parse(readFileSync(`${ROOT}package.json`, "utf8"));
const version = root.version;
const devVersion = (name) => root.devDependencies[name];

const CORE_JS = [
  "trimtab.js",
  "trimtab.d.ts",
  "trimtab-flags.js",
  "trimtab-flags.d.ts",
  "error.js",
  "flag-engine.js",
  "load.js",
  "claims.js",
  "claims.d.ts",
  "openfeature.js",
  "openfeature.d.ts",
];
const CORE_PKG = [
  "trimtab.js",
  "trimtab.d.ts",
  "trimtab_bg.wasm",
  "trimtab_bg.wasm.d.ts",
  "trimtab_flags.js",
  "trimtab_flags.d.ts",
  "trimtab_flags_bg.wasm",
  "trimtab_flags_bg.wasm.d.ts",
];
const WEB = ["trimtab-flags.js", "trimtab-flags.d.ts", "openfeature-web.js", "openfeature-web.d.ts"];
/** www/ imports of ../js/ -> the @trimtab/core subpath exporting the same module. */
const REWRITE = [
  ["../js/trimtab-flags.js", "@trimtab/core/flags"],
  ["../js/trimtab-flags.d.ts", "@trimtab/core/flags"],
  ["../js/claims.js", "@trimtab/core/claims"],
  ["../js/openfeature.js", "@trimtab/core/openfeature"],
];

const common = {
  version,
  type: "module",
  license: root.license,
  author: "trimtab",
  engines: { node: ">=18" },
};
/** An exports entry: types first, then the one ESM file for Deno, browsers and bundlers. */
const entry = (types, file) => ({ types, import: file, default: file });

function write(dir, files) {
  rmSync(dir, { recursive: true, force: true });
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(`${dir}/${path.split("/").slice(0, -1).join("/")}`, { recursive: true });
    writeFileSync(`${dir}/${path}`, text);
  }
}

// ---------------------------------------------------------------- @trimtab/core

const core = `${OUT}/core`;
write(core, {
  "package.json": JSON.stringify(
    {
      name: "@trimtab/core",
      ...common,
      description:
        "trimtab's Wasm core: flag evaluation and sha256 bucketing shared by Deno edge functions and browsers " +
        "(full build), and the flag-only build for browsers",
      exports: {
        ".": entry("./js/trimtab.d.ts", "./js/trimtab.js"),
        "./flags": entry("./js/trimtab-flags.d.ts", "./js/trimtab-flags.js"),
        "./claims": entry("./js/claims.d.ts", "./js/claims.js"),
        "./openfeature": entry("./js/openfeature.d.ts", "./js/openfeature.js"),
        "./trimtab_bg.wasm": "./pkg/trimtab_bg.wasm",
        "./trimtab_flags_bg.wasm": "./pkg/trimtab_flags_bg.wasm",
        "./package.json": "./package.json",
      },
      types: "./js/trimtab.d.ts",
      files: ["js/", "pkg/"],
    },
    null,
    2,
  ) + "\n",
  "README.md": `# @trimtab/core ${version}

trimtab's Wasm core: flag evaluation and sha256 bucketing that Deno (Supabase edge functions) and
browsers share, so a user lands in the same rollout bucket everywhere.

- \`@trimtab/core\`: the full build (flags, webhooks, vouchers, prompts, the safety loop) for Deno
- \`@trimtab/core/flags\`: the flag-only build for browsers (FlagEngine, bucket, checkRamp)
- \`@trimtab/core/claims\`: contextFromClaims (a JWT payload -> evaluation context)
- \`@trimtab/core/openfeature\`: the OpenFeature mapping the trimtab providers share

Importing a build loads its \`.wasm\` (next to the module, in pkg/) once. Types included.
`,
});
for (const f of CORE_JS) {
  mkdirSync(`${core}/js`, { recursive: true }), copyFileSync(`${ROOT}js/${f}`, `${core}/js/${f}`);
}
mkdirSync(`${core}/pkg`, { recursive: true });
for (const f of CORE_PKG) copyFileSync(`${ROOT}pkg/${f}`, `${core}/pkg/${f}`);

// ---------------------------------------------------------------- @trimtab/web

const web = `${OUT}/web`;
const files = {
  "package.json": JSON.stringify(
    {
      name: "@trimtab/web",
      ...common,
      description: "trimtab's browser flag client (Supabase session, ETag, offline start, retries) and OpenFeature " +
        "web provider",
      exports: {
        ".": entry("./trimtab-flags.d.ts", "./trimtab-flags.js"),
        "./openfeature": entry("./openfeature-web.d.ts", "./openfeature-web.js"),
        "./package.json": "./package.json",
      },
      types: "./trimtab-flags.d.ts",
      files: WEB,
      dependencies: { "@trimtab/core": version },
      peerDependencies: { "@openfeature/web-sdk": `^${devVersion("@openfeature/web-sdk")}` },
      peerDependenciesMeta: { "@openfeature/web-sdk": { optional: true } },
    },
    null,
    2,
  ) + "\n",
};
files["README.md"] = `# @trimtab/web ${version}

- \`@trimtab/web\`: createFlagClient, trimtab's browser flag client (a supabase-js session or
  getToken() per fetch, ETag, offline start, retries with backoff, change/stale/error events)
- \`@trimtab/web/openfeature\`: TrimtabWebProvider for @openfeature/web-sdk (peer dependency)
`;
for (const f of WEB) {
  let text = readFileSync(`${ROOT}www/${f}`, "utf8");
  for (const [from, to] of REWRITE) text = text.replaceAll(`"${from}"`, `"${to}"`);
  const left = /from "\.\.\/[^"]*"/.exec(text);
  if (left) throw new Error(`www/${f}: an import outside the package is left: ${left[0]}`);
  files[f] = text;
}
write(web, files);
console.log(`${core}\n${web}`);
