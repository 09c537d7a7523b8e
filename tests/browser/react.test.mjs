// The React example (examples/react: @openfeature/react-sdk's useFlag over the trimtab web
// provider), built with Vite, in Chromium against the local stack: a flag flipped through
// flags-admin (real HTTP, the demo admin token) changes what the component shows, without a
// reload; flipped back, it changes again.
//
//   node --test --test-concurrency=1 tests/browser/react.test.mjs
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "vite";
import { serveStatic } from "../../scripts/static-server.mjs";
import { launch, open } from "./chromium.mjs";
import { startStack } from "./stack.mjs";
import { userToken } from "./tokens.mjs";

const ROOT = new URL("../..", import.meta.url).pathname;
const FLAG = "FEATURE_AGENT_CHAT";
let stack, out, server, browser;

before(async () => {
  stack = await startStack();
  out = mkdtempSync(join(tmpdir(), "trimtab-react-"));
  await build({
    root: `${ROOT}examples/react`,
    configFile: `${ROOT}examples/react/vite.config.js`,
    logLevel: "warn",
    build: { outDir: out, emptyOutDir: true },
  });
  server = await serveStatic(out);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.close();
  await stack?.stop();
  if (out) rmSync(out, { recursive: true, force: true });
});

async function admin(path, body) {
  const r = await fetch(`${stack.url}/functions/v1/flags-admin${path}`, {
    method: path === "/rollback" ? "POST" : "PATCH",
    headers: { authorization: `Bearer ${stack.admin}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  assert.equal(r.status, 200, await r.text());
}

test("flipping a flag through flags-admin re-renders the React component", async () => {
  assert.ok(readdirSync(`${out}/assets`).some((f) => f.endsWith(".wasm")), "Vite emitted the .wasm");
  const token = await userToken(stack.dataDir, "user-7");
  const q = new URLSearchParams({ url: stack.url, key: stack.publishable, token, refresh: "250" });
  const { page, errors } = await open(browser, `${server.url}/?${q}`);
  const chat = page.locator("#chat");
  await chat.filter({ hasText: "Agent chat: on" }).waitFor({ timeout: 30_000 });
  assert.equal(await chat.getAttribute("data-reason"), "SPLIT");
  const rendersOn = Number(await chat.getAttribute("data-renders"));

  await admin("/rollback", { flag: FLAG, reason: "react example test: kill switch" });
  await chat.filter({ hasText: "Agent chat: off" }).waitFor({ timeout: 10_000 });
  assert.equal(await chat.getAttribute("data-reason"), "DISABLED", "the kill switch's reason");
  assert.ok(Number(await chat.getAttribute("data-renders")) > rendersOn, "the component re-rendered");

  await admin(`/flags/${FLAG}`, { adminOverride: null, reason: "react example test: restore" });
  await chat.filter({ hasText: "Agent chat: on" }).waitFor({ timeout: 10_000 });
  assert.equal(await page.evaluate(() => performance.getEntriesByType("navigation").length), 1, "no reload");
  assert.deepEqual(errors, []);
});
