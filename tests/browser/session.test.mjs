// The flag client (www/trimtab-flags.js) following a real supabase-js session in Chromium, against
// the local stack (its Supabase Auth stand-in, scripts/dev/auth.ts, issues 92-second access tokens
// here, so supabase-js refreshes within seconds, as it does near the end of a hosted project's
// hour):
//   - signed in as user-42, the snapshot carries its override; after supabase-js refreshes the
//     session, the next fetch carries the new token (no reload) and the server accepts it;
//   - signing out drops the override at once, removes the stored user snapshot, and the next fetch
//     is anonymous (the publishable key);
//   - a first fetch that fails (nothing listens yet, nothing stored) is retried with backoff: the
//     client reports "error", the OpenFeature provider ERROR; once the stack starts on that port
//     the client becomes ready and the provider READY, with no reload.
//
//   node --test --test-concurrency=1 tests/browser/session.test.mjs
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { serveStatic } from "../../scripts/static-server.mjs";
import { launch, open } from "./chromium.mjs";
import { freePort, startStack } from "./stack.mjs";

const ROOT = new URL("../..", import.meta.url).pathname;
const PAGE = `<!doctype html>
<meta charset="utf-8">
<link rel="icon" href="data:,">
<script type="importmap">{"imports": {
  "@openfeature/web-sdk": "/node_modules/@openfeature/web-sdk/dist/esm/index.js",
  "@openfeature/core": "/node_modules/@openfeature/core/dist/esm/index.js"}}</script>
<script src="/node_modules/@supabase/supabase-js/dist/umd/supabase.js"></script>
<script type="module">
  import { createFlagClient } from "/www/trimtab-flags.js";
  import { TrimtabWebProvider } from "/www/openfeature-web.js";
  import { OpenFeature } from "@openfeature/web-sdk";
  globalThis.__mods = { createFlagClient, TrimtabWebProvider, OpenFeature, createClient: supabase.createClient };
</script>`;

let stack, server, browser, page, errors;
const sent = []; // Authorization of every snapshot request

before(async () => {
  stack = await startStack({ env: { TRIMTAB_AUTH_TTL_S: "92" } });
  server = await serveStatic(ROOT, {
    extra: { "/session-test.html": { type: "text/html; charset=utf-8", body: PAGE } },
  });
  browser = await launch();
  ({ page, errors } = await open(browser, `${server.url}/session-test.html`));
  page.on("request", (r) => {
    if (r.url().includes("snapshot=1")) sent.push(r.headers().authorization ?? null);
  });
  await page.waitForFunction(() => globalThis.__mods !== undefined, null, { timeout: 30_000 });
});

after(async () => {
  await browser?.close();
  await server?.close();
  await stack?.stop();
});

test("a refreshed supabase-js token is used on the next fetch, without a reload", async () => {
  const r = await page.evaluate(async ({ url, key, password }) => {
    const { createClient, createFlagClient } = globalThis.__mods;
    const sb = createClient(url, key, { auth: { storageKey: "session-test" } });
    const signIn = await sb.auth.signInWithPassword({ email: "user-42@trimtab.local", password });
    if (signIn.error) return { error: signIn.error.message };
    const first = signIn.data.session.access_token;
    const events = [];
    sb.auth.onAuthStateChange((e) => events.push(e));
    const client = createFlagClient({ url, publishableKey: key, supabase: sb, refreshMs: 0 });
    globalThis.__sb = sb;
    globalThis.__client = client;
    await client.ready;
    const before = client.evaluate("phoenix_pipeline_enabled");
    // supabase-js refreshes a session this close to its expiry (its ticker, or getSession()).
    for (let i = 0; i < 100; i++) {
      const now = (await sb.auth.getSession()).data.session.access_token;
      if (now !== first) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const second = (await sb.auth.getSession()).data.session.access_token;
    await client.refresh();
    return { first, second, events, before, userId: client.userId, status: client.lastStatus, stale: client.stale };
  }, { url: stack.url, key: stack.publishable, password: stack.password });
  assert.equal(r.error, undefined, r.error);
  assert.deepEqual([r.before.enabled, r.before.reason], [false, "USER_OVERRIDE"], "user-42's own override");
  assert.equal(r.userId, "user-42");
  assert.notEqual(r.second, r.first, "supabase-js refreshed the session");
  assert.ok(r.events.includes("TOKEN_REFRESHED"), r.events.join());
  assert.deepEqual(sent.slice(-2), [`Bearer ${r.first}`, `Bearer ${r.second}`], "the next fetch used the new token");
  assert.ok([200, 304].includes(r.status), `the server accepted it: ${r.status}`);
  assert.equal(r.stale, false);
});

test("sign-out drops the user's overrides and stored snapshot; the next fetch is anonymous", async () => {
  const r = await page.evaluate(async () => {
    const sb = globalThis.__sb, client = globalThis.__client;
    const stored = () => Object.keys(localStorage).filter((k) => k.startsWith("trimtab-flags:v1:"));
    const before = stored();
    const auth = [];
    client.on("auth", (d) => auth.push(d.userId));
    await sb.auth.signOut();
    await new Promise((r) => setTimeout(r, 0)); // the client hears SIGNED_OUT on the next task
    const right = client.evaluate("phoenix_pipeline_enabled");
    await client.refresh();
    return { before, after: stored(), auth, right, userId: client.userId, status: client.lastStatus };
  });
  assert.ok(r.before.some((k) => k.endsWith(":user-42")), `stored: ${r.before}`);
  assert.ok(!r.after.some((k) => k.endsWith(":user-42")), `still stored: ${r.after}`);
  assert.deepEqual(r.auth, [null]);
  assert.notEqual(r.right.reason, "USER_OVERRIDE", "the override is gone at once");
  assert.equal(r.userId, null);
  assert.equal(sent.at(-1), `Bearer ${stack.publishable}`, "anonymous: the publishable key");
  assert.equal(r.status, 200);
  assert.deepEqual(errors, []);
});

test("a failed first fetch is retried with backoff; the client and the provider recover", async () => {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  await page.evaluate(({ url }) => {
    const { createFlagClient, TrimtabWebProvider, OpenFeature } = globalThis.__mods;
    const client = createFlagClient({ url, storage: null, refreshMs: 0, retry: { baseMs: 100, maxMs: 800 } });
    const seen = { errors: 0, ready: 0, statuses: [] };
    client.on("error", () => seen.errors++);
    client.on("ready", () => seen.ready++);
    const of = OpenFeature.getClient("recovery");
    OpenFeature.setProvider("recovery", new TrimtabWebProvider(client));
    const poll = setInterval(() => {
      const s = of.providerStatus;
      if (seen.statuses.at(-1) !== s) seen.statuses.push(s);
    }, 20);
    globalThis.__recovery = { client, seen, of, poll };
  }, { url });
  await page.waitForFunction(() => globalThis.__recovery.seen.errors >= 3, null, { timeout: 30_000 });
  const down = await page.evaluate(() => ({
    status: globalThis.__recovery.client.status,
    provider: globalThis.__recovery.of.providerStatus,
  }));
  assert.deepEqual(down, { status: "error", provider: "ERROR" });

  const late = await startStack({ port });
  try {
    await page.waitForFunction(() => globalThis.__recovery.client.status === "ready", null, { timeout: 30_000 });
    await page.waitForFunction(() => globalThis.__recovery.of.providerStatus === "READY", null, { timeout: 10_000 });
    const r = await page.evaluate(() => {
      const { client, seen, of, poll } = globalThis.__recovery;
      clearInterval(poll);
      // The interval samples every 20 ms: record the status the wait above saw, whether or not
      // a sample fell between the change and now.
      if (seen.statuses.at(-1) !== of.providerStatus) seen.statuses.push(of.providerStatus);
      client.setContext({ userId: "user-7" });
      const d = of.getBooleanDetails("FEATURE_AGENT_CHAT", false);
      client.close();
      return { seen, value: d.value, reason: d.reason, code: d.errorCode ?? null, ready: seen.ready };
    });
    assert.equal(r.ready, 1);
    assert.ok(r.seen.statuses.includes("ERROR") && r.seen.statuses.at(-1) === "READY", r.seen.statuses.join());
    assert.deepEqual([r.value, r.reason, r.code], [true, "SPLIT", null], "served from the recovered snapshot");
  } finally {
    await late.stop();
  }
  // Chromium logs each refused fetch, and the SDK the provider's refused initialization: expected.
  const expected = /net::ERR_CONNECTION_REFUSED|Error during provider initialization: Error: trimtab: no flag snapshot/;
  const unexpected = errors.filter((m) => !expected.test(m));
  assert.deepEqual(unexpected, []);
});
