// A small static file server for browser tests and the demo: 127.0.0.1 only, correct MIME
// types (application/wasm for streaming compilation), no directory listing, no path escape.
import { createServer } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { extname, join, normalize, resolve } from "node:path";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".json": "application/json",
  ".wasm": "application/wasm",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ts": "text/plain; charset=utf-8",
  ".d.ts": "text/plain; charset=utf-8",
};

/** Serves `root` (with `extra` routes: path -> { type, body }) and resolves to { url, close }. */
export function serveStatic(root, { port = 0, extra = {} } = {}) {
  const base = resolve(root);
  const server = createServer(async (req, res) => {
    try {
      const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
      if (extra[path]) {
        res.writeHead(200, { "content-type": extra[path].type, "cache-control": "no-store" });
        return res.end(extra[path].body);
      }
      let file = normalize(join(base, path));
      if (!file.startsWith(base)) throw Object.assign(new Error("outside root"), { status: 403 });
      if ((await stat(file)).isDirectory()) file = join(file, "index.html");
      const body = await readFile(file);
      res.writeHead(200, {
        "content-type": TYPES[extname(file)] ?? "application/octet-stream",
        "cache-control": "no-store",
      });
      res.end(body);
    } catch (e) {
      const status = e.status ?? (e.code === "ENOENT" ? 404 : 500);
      res.writeHead(status, { "content-type": "text/plain" });
      res.end(status === 404 ? "not found" : "error");
    }
  });
  return new Promise((ok) =>
    server.listen(
      port,
      "127.0.0.1",
      () => ok({ url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => server.close(r)) }),
    )
  );
}
