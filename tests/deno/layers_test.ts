// The shape of the edge code: what each function would deploy (its module graph with its own
// deno.json: no PGlite, no dev-only module, no test, only pinned packages), the layering of
// supabase/functions/_shared/ (platform -> flags -> safety -> agent -> examples: a module imports
// only its own layer or those before it), index.ts files that only route, and one module reading
// the environment (platform/env.ts).
import { functionNames, moduleGraph } from "../../scripts/dev/bundle.ts";
import { assert, eq, ROOT } from "./support.ts";

const SHARED = new URL("supabase/functions/_shared/", ROOT);
const LAYERS = ["platform", "flags", "safety", "agent", "examples"];

const pkg = JSON.parse(await Deno.readTextFile(new URL("package.json", ROOT)));

Deno.test("bundles: every function's graph holds only supabase/functions/ code and pinned postgres / jose", async () => {
  const names = functionNames();
  assert(names.length >= 11, `functions: ${names}`);
  for (const name of names) {
    const cfg = JSON.parse(await Deno.readTextFile(new URL(`supabase/functions/${name}/deno.json`, ROOT)));
    eq(cfg.imports, {
      postgres: `npm:postgres@${pkg.devDependencies.postgres}`,
      jose: `npm:jose@${pkg.devDependencies.jose}`,
    }, `${name}/deno.json pins what package.json pins`);
    const g = await moduleGraph(name);
    const outside = g.local.filter((m) => !m.path.startsWith("supabase/functions/")).map((m) => m.path);
    eq(outside, [], `${name}: modules outside supabase/functions/ (dev-only, tests, scripts)`);
    const dev = g.local.filter((m) => /pglite|\/dev\/|_test\.ts$|\/tests\//i.test(m.path)).map((m) => m.path);
    eq(dev, [], `${name}: dev-only modules`);
    for (const p of g.npm) {
      assert(/^(postgres@3\.4\.9|jose@6\.2\.19)$/.test(p.id), `${name}: npm package ${p.id} (PGlite? unpinned?)`);
    }
    assert(g.local.some((m) => m.path === "supabase/functions/_shared/platform/trimtab.ts"), `${name} loads the Wasm`);
  }
});

/** Relative import specifiers of a TS source (static imports and re-exports). */
function imports(text: string): string[] {
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+["'](\.[^"']+)["']/g)].map((m) => m[1]);
}

function tsFiles(dir: URL, rel = ""): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(dir)) {
    if (e.isDirectory && e.name !== "wasm") out.push(...tsFiles(new URL(`${e.name}/`, dir), `${rel}${e.name}/`));
    else if (e.isFile && e.name.endsWith(".ts")) out.push(`${rel}${e.name}`);
  }
  return out;
}

Deno.test("layers: platform imports nothing above it; flags, safety, agent only what is before them", () => {
  const files = tsFiles(SHARED);
  const offenders: string[] = [];
  for (const f of files) {
    const layer = LAYERS.indexOf(f.split("/")[0]);
    assert(layer >= 0, `_shared/${f} is in no layer (${LAYERS.join(", ")})`);
    for (const spec of imports(Deno.readTextFileSync(new URL(f, SHARED)))) {
      const target = new URL(spec, new URL(f, SHARED)).href.slice(SHARED.href.length);
      const to = target.startsWith("wasm/") ? 0 : LAYERS.indexOf(target.split("/")[0]);
      if (to < 0 || to > layer) offenders.push(`${f} -> ${target}`);
    }
  }
  eq(offenders, [], "imports against the layering");
});

Deno.test("layers: index.ts files only route; only platform/env.ts reads the environment", () => {
  for (const name of functionNames()) {
    const text = Deno.readTextFileSync(new URL(`supabase/functions/${name}/index.ts`, ROOT));
    for (const spec of imports(text)) assert(spec.startsWith("../_shared/"), `${name}/index.ts imports ${spec}`);
    assert(
      !/\b(select|insert|update|delete)\s.*\b(from|into|set)\b/i.test(text.replace(/^\/\/.*$/gm, "")),
      `${name}: SQL`,
    );
    assert(!text.includes("Deno.env"), `${name}/index.ts reads the environment`);
    const code = text.split("\n").filter((l) => l.trim() && !l.trim().startsWith("//")).length;
    assert(code <= 80, `${name}/index.ts has ${code} lines of code: logic belongs in _shared/`);
  }
  const readers = tsFiles(SHARED).filter((f) => f !== "platform/env.ts")
    .filter((f) => Deno.readTextFileSync(new URL(f, SHARED)).includes("Deno.env"));
  eq(readers, [], "files reading Deno.env besides platform/env.ts");
});
