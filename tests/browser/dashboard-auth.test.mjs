// The dashboard signing in like a Supabase app, in Chromium against the local stack and its
// Supabase Auth stand-in (scripts/dev/auth.ts; 92-second access tokens here, so supabase-js
// refreshes within seconds): project settings (URL, publishable key; a secret key is refused),
// a wrong password refused with the server's message, sign-in through supabase-js, API calls that
// carry the refreshed token without a reload, sign-out; and no secret in anything the page loads.
//
//   node --test --test-concurrency=1 tests/browser/dashboard-auth.test.mjs
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { launch } from "./chromium.mjs";
import { startStack } from "./stack.mjs";
import { stackKeys } from "./tokens.mjs";

let stack, browser, page;
const errors = [];
const bodies = [];
const bearers = []; // Authorization of the dashboard's API calls, in order

before(async () => {
  stack = await startStack({ env: { TRIMTAB_AUTH_TTL_S: "92" } });
  browser = await launch();
  page = await browser.newPage();
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("request", (r) => {
    if (r.url().includes("/functions/v1/")) bearers.push(r.headers().authorization ?? null);
  });
  page.on("response", async (r) => {
    try {
      bodies.push([r.url(), (await r.body()).toString("latin1")]);
    } catch { /* redirects */ }
  });
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

test("settings, password sign-in through supabase-js, a refreshed token, sign-out", async () => {
  await page.goto(`${stack.url}/admin/?poll=300`);
  await page.locator("html[data-app=ready]").waitFor({ state: "attached" }); // the module has run
  await page.locator("#settings summary").click();
  assert.equal(await page.inputValue("#project-url"), stack.url, "defaults to the serving origin");
  await page.fill("#project-key", stack.secret);
  await page.click("#settings-form button");
  await page.locator("#settings-msg").filter({ hasText: "secret key" }).waitFor();
  await page.fill("#project-key", stack.publishable);
  await page.click("#settings-form button");
  await page.locator("#settings-msg").filter({ hasText: "Saved" }).waitFor();

  await page.fill("#email", "admin@trimtab.local");
  await page.fill("#password", "wrong-password");
  await page.click("#password-form button");
  await page.locator("#signin-msg").filter({ hasText: "Invalid login credentials" }).waitFor();

  await page.fill("#password", stack.password);
  await page.click("#password-form button");
  await page.locator('#flags tr[data-flag="FEATURE_AGENT_CHAT"]').waitFor({ timeout: 30_000 });
  const first = bearers.find((b) => b && b !== "Bearer ");
  assert.match(first, /^Bearer eyJ/);

  // supabase-js refreshes the 92-second session; the polls that follow carry the new token.
  await page.waitForFunction(
    (f) => {
      const s = JSON.parse(localStorage.getItem("trimtab.admin.auth") ?? "null");
      return s && `Bearer ${s.access_token}` !== f;
    },
    first,
    { timeout: 60_000 },
  );
  const refreshed = await page.evaluate(() =>
    `Bearer ${JSON.parse(localStorage.getItem("trimtab.admin.auth")).access_token}`
  );
  const n = bearers.length;
  for (let i = 0; i < 100 && !bearers.slice(n).includes(refreshed); i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(bearers.slice(n).includes(refreshed), "API calls use the refreshed token");
  assert.ok(!(await page.locator("#dash").isHidden()), "still signed in");
  assert.equal(await page.evaluate(() => performance.getEntriesByType("navigation").length), 1, "no reload");

  await page.click("#signout");
  await page.locator("#signin").waitFor();
  assert.equal(await page.evaluate(() => localStorage.getItem("trimtab.admin.auth")), null, "session removed");
});

test("no secret reaches the page; only the expected console errors", () => {
  assert.ok(bodies.some(([u]) => u.endsWith("/admin/vendor/supabase.js")), "supabase-js served with the page");
  const keys = stackKeys(stack.dataDir);
  for (const [u, text] of bodies) {
    assert.ok(!text.includes(keys.signing[0].privateJwk.d), `signing key in ${u}`);
    assert.ok(!text.includes(stack.secret), `secret key in ${u}`);
  }
  // The refused password's 400 is logged by Chromium as a failed resource load.
  const expected = /^Failed to load resource: the server responded with a status of 400 /;
  assert.deepEqual(errors.filter((e) => !expected.test(e)), []);
});
