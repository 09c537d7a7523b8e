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

test("vectors agree in Chromium, through the flag-only build and the full build", async () => {
  const { page, errors } = await open(browser, `${server.url}/tests/browser/vectors.html`);
  await page.waitForFunction(() => globalThis.__result !== undefined, null, { timeout: 60_000 });
  const result = await page.evaluate(() => globalThis.__result);
  assert.deepEqual(result.failures, []);
  const { flags, full, edge, flagsContext, errorClass } = result.checks;
  assert.ok(flags >= 600 && full >= 600, `only ${flags} / ${full} flag checks ran`);
  assert.ok(edge >= 450, `only ${edge} edge checks ran`);
  assert.ok(flagsContext >= 10 && errorClass === 1, JSON.stringify(result.checks));
  assert.deepEqual(errors, []);
});
