// Serves the repository's www/ page (and the wrapper and package it loads) on 127.0.0.1.
import { serveStatic } from "./static-server.mjs";

const root = new URL("..", import.meta.url).pathname;
const port = Number(process.env.PORT ?? 8787);
const server = await serveStatic(root, { port, extra: {} });
console.log(`\ntrimtab demo page: ${server.url}/www/  (Ctrl-C to stop)`);
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => server.close().then(() => process.exit(0)));
