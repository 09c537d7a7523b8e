// The built package in real headless Chromium: the same vectors as Deno, through the wrapper.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { serveStatic } from "../../scripts/static-server.mjs";
import { launch, open } from "./chromium.mjs";

const ROOT = new URL("../..", import.meta.url).pathname;
let server, browser;

before(async () => {
  server = await serveStatic(ROOT);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

test("vectors agree in Chromium", async () => {
  const { page, errors } = await open(browser, `${server.url}/tests/browser/vectors.html`);
  await page.waitForFunction(() => globalThis.__result !== undefined, null, { timeout: 60_000 });
  const result = await page.evaluate(() => globalThis.__result);
  assert.deepEqual(result.failures, []);
  assert.ok(result.checks >= 600, `only ${result.checks} checks ran`);
  assert.deepEqual(errors, []);
});
