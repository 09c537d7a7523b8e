// The README's usage examples are run for real: the Deno one in Deno, the browser one in
// Chromium, and their output must equal the output the README shows.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { serveStatic } from "../scripts/static-server.mjs";
import { launch, open } from "./browser/chromium.mjs";

const ROOT = new URL("..", import.meta.url).pathname;
const readme = await readFile(new URL("../README.md", import.meta.url), "utf8");

function block(marker) {
  const at = readme.indexOf(`<!-- ${marker} -->`);
  assert.ok(at >= 0, `README has <!-- ${marker} -->`);
  const m = readme.slice(at).match(/```[a-z]*\n([\s\S]*?)```/);
  assert.ok(m, `a fenced block follows <!-- ${marker} -->`);
  return m[1];
}

test("README Deno example prints what the README says", async () => {
  const code = block("example: deno").replaceAll('"./js/trimtab.js"', '"../../js/trimtab.js"');
  await mkdir(new URL("artifacts/", import.meta.url), { recursive: true });
  const file = new URL("artifacts/readme_example.js", import.meta.url).pathname;
  await writeFile(file, code);
  const deno = process.env.DENO || `${ROOT}node_modules/.bin/deno`;
  const { stdout } = await promisify(execFile)(deno, ["run", "--allow-read", "--no-check", file], { cwd: ROOT });
  assert.equal(stdout.trim(), block("output: deno").trim());
});

test("README browser example shows what the README says", async () => {
  const html = `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,">${block("example: browser")}`;
  const server = await serveStatic(ROOT, { extra: { "/readme-example.html": { type: "text/html", body: html } } });
  const browser = await launch();
  try {
    const { page, errors } = await open(browser, `${server.url}/readme-example.html`);
    await page.waitForFunction(() => document.getElementById("answer")?.textContent !== "", null, { timeout: 30_000 });
    assert.equal((await page.textContent("#answer")).trim(), block("output: browser").trim());
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await server.close();
  }
});
