//! What `supabase functions deploy` would bundle for each function: its module graph as
//! `deno info --json` sees it with the function's own deno.json (the import map the deploy uses),
//! and the size of it: the local modules, the npm packages' files, and the static .wasm that
//! supabase/config.toml ships next to it. Used by tests/deno/layers_test.ts (no dev-only module and
//! no PGlite in any graph) and by `npm run bench` (the sizes):
//!
//!   deno run --allow-read --allow-run --allow-env scripts/dev/bundle.ts   # prints the table

const ROOT = new URL("../../", import.meta.url);
const FUNCTIONS = new URL("supabase/functions/", ROOT);
const WASM = new URL("supabase/functions/_shared/wasm/pkg/trimtab_bg.wasm", ROOT);

/** One function's graph: local files (paths relative to the repo) and npm packages. */
export interface Graph {
  name: string;
  local: { path: string; size: number }[];
  npm: { id: string; dir: string }[];
}

/** The deployable functions (supabase/functions/<name>/index.ts). */
export function functionNames(): string[] {
  return [...Deno.readDirSync(FUNCTIONS)]
    .filter((e) => e.isDirectory && !e.name.startsWith("_") && !e.name.startsWith("."))
    .map((e) => e.name).sort();
}

/** `deno info --json` of a function with its deno.json. The module graph does not depend on the
 *  clock, so `deno info` runs without libfaketime even when this process has it (npm test's
 *  second pass): preloaded into a multi-threaded process, it could make `deno info` die on a
 *  signal with no output. */
export async function moduleGraph(name: string): Promise<Graph> {
  const dir = new URL(`${name}/`, FUNCTIONS);
  const env = Object.fromEntries(
    Object.entries(Deno.env.toObject()).filter(([k]) => k !== "LD_PRELOAD" && !k.startsWith("FAKETIME")),
  );
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "info",
      "--json",
      "--no-lock",
      "--config",
      new URL("deno.json", dir).pathname,
      new URL("index.ts", dir).pathname,
    ],
    cwd: decodeURIComponent(ROOT.pathname),
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `deno info ${name} (exit ${out.code}, signal ${out.signal}): ${new TextDecoder().decode(out.stderr)}`,
    );
  }
  const info = JSON.parse(new TextDecoder().decode(out.stdout));
  const root = decodeURIComponent(ROOT.pathname);
  const local = (info.modules as { specifier: string; size?: number; local?: string }[])
    .filter((m) => m.specifier.startsWith("file://"))
    .map((m) => ({ path: decodeURIComponent(new URL(m.specifier).pathname).replace(root, ""), size: m.size ?? 0 }));
  const npm = Object.entries(info.npmPackages ?? {}).map(([id, p]) => ({
    id,
    dir: (p as { localPath?: string }).localPath ?? "",
  }));
  return { name, local, npm };
}

function dirSize(path: string): number {
  let total = 0;
  for (const e of Deno.readDirSync(path)) {
    const p = `${path}/${e.name}`;
    if (e.isDirectory) total += dirSize(p);
    else if (e.isFile) total += Deno.statSync(p).size;
  }
  return total;
}

/** Bytes: the local modules, the npm packages (whole, as they are vendored), the static .wasm. */
export function bundleSize(g: Graph): { local: number; npm: number; wasm: number; total: number } {
  const local = g.local.reduce((n, m) => n + m.size, 0);
  const npm = g.npm.reduce((n, p) => n + (p.dir ? dirSize(p.dir) : 0), 0);
  const wasm = Deno.statSync(WASM).size;
  return { local, npm, wasm, total: local + npm + wasm };
}

if (import.meta.main) {
  const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
  const rows = [];
  for (const name of functionNames()) {
    const g = await moduleGraph(name);
    const s = bundleSize(g);
    rows.push({ name, modules: g.local.length, packages: g.npm.map((p) => p.id), bytes: s });
    console.log(
      `${name.padEnd(22)} ${String(g.local.length).padStart(3)} modules  local ${kib(s.local).padStart(10)}  npm ${
        kib(s.npm).padStart(10)
      } (${g.npm.map((p) => p.id).join(", ") || "none"})  wasm ${kib(s.wasm)}  total ${kib(s.total)}`,
    );
  }
  const out = Deno.args[0];
  if (out) await Deno.writeTextFile(out, JSON.stringify(rows, null, 2) + "\n");
}
