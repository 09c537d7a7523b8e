// Starts the local edge stack (scripts/serve.ts) as a subprocess for a browser test, with its own
// data directory under .data/, and reads what it prints: its URL, the publishable and secret keys,
// the demo admin token and the demo users' password.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";

const ROOT = new URL("../..", import.meta.url).pathname;
const DENO = `${ROOT}node_modules/@deno/linux-x64-glibc/deno`;

/** Resolves to { url, publishable, secret, admin, password, dataDir, stop(), child } once it listens. */
export function startStack({ port = 0, env = {}, dataDir } = {}) {
  const dir = dataDir ?? mkdtempSync(`${ROOT}.data/browser-test-`);
  const e = {
    PORT: String(port),
    TRIMTAB_DATA_DIR: dir,
    TRIMTAB_PGLITE_DIR: `${dir}/pglite`,
    TRIMTAB_GUARD_INTERVAL_MS: "0",
    NO_COLOR: "1",
    DENO_NO_UPDATE_CHECK: "1",
    ...env,
  };
  for (const k of ["PATH", "HOME", "DENO_DIR", "TMPDIR", "XDG_CACHE_HOME"]) if (process.env[k]) e[k] = process.env[k];
  const child = spawn(DENO, ["run", "--allow-all", "--node-modules-dir=manual", "scripts/serve.ts"], {
    cwd: ROOT,
    env: e,
  });
  let out = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`stack did not start:\n${out}`)), 60_000);
    const onData = (d) => {
      out += d;
      if (!/JWKS: \S+\n/.test(out)) return;
      clearTimeout(timer);
      const stop = async ({ keepData = false } = {}) => {
        if (child.exitCode === null) {
          const gone = new Promise((r) => child.once("exit", r));
          child.kill("SIGTERM");
          await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
        }
        if (!keepData) rmSync(dir, { recursive: true, force: true });
      };
      resolve({
        child,
        dataDir: dir,
        url: /trimtab edge stack: (\S+)/.exec(out)[1],
        publishable: /publishable key[^:]*: (\S+)/.exec(out)[1],
        secret: /secret key[^:]*: (\S+)/.exec(out)[1],
        admin: /demo admin token[^:]*: (\S+)/.exec(out)[1],
        password: /demo sign-in[^\n]* \/ (\S+)/.exec(out)[1],
        stop,
      });
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", (c) => reject(new Error(`stack exited (${c}):\n${out}`)));
  });
}

/** A TCP port that was free a moment ago (for a stack started later on purpose). */
export async function freePort() {
  const { createServer } = await import("node:net");
  return await new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}
