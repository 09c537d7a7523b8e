// Every route of the local stack once, over real HTTP through its router (scripts/serve.ts as its
// own process), with the credentials and a body it accepts, on PGlite and on a Debian Postgres:
// each answers its expected status, never a 5xx. The table must name every function in
// supabase/functions/ (a new function fails this test until its routes are added here).
import { LOCAL_ISSUER, localKeys, userToken } from "../../scripts/dev/keys.ts";
import { fakeMeta, fakeOpenAI, incomingCall, openaiRequest, waPayload, waRequest } from "./fakes.ts";
import { fetchWithin, type HttpStack, onBothStacks } from "./http_stack.ts";
import { assert, eq, type Json, ROOT } from "./support.ts";

const APP_SECRET = "wa-app-secret-routes-0123456789";
const WA_TOKEN = "EAAGroutes0123456789";
const OA_KEY = "sk-test-routes-0123456789";
const WHSEC = "whsec_" + btoa("routes-0123456789abcdef0123456789");
const root = decodeURIComponent(ROOT.pathname);

type Who = "none" | "anon" | "user" | "admin" | "service";

interface Route {
  fn: string;
  method: string;
  path: string;
  who: Who;
  body?: unknown;
  headers?: Record<string, string>;
  expect: number;
  /** Builds the request itself (signed webhooks). */
  request?: (url: string) => Request;
}

/** Every route, in an order where each finds what it needs (a flag, a voucher, an alert). */
function routes(
  ctx: { code: () => string; destination: () => string; alert: () => string; run: () => string },
): Route[] {
  const wa = (m: string) => (url: string) =>
    waRequest(
      url,
      waPayload([{ messages: [{ id: `wamid.ROUTE${m}${Date.now()}`, from: "250788400001", text: "hello" }] }]),
      {
        secret: APP_SECRET,
      },
    );
  const list: Route[] = [
    { fn: "health", method: "GET", path: "/health", who: "none", expect: 200 },
    { fn: "flags", method: "GET", path: "/flags", who: "anon", expect: 200 },
    { fn: "flags", method: "GET", path: "/flags?flags=FEATURE_AGENT_CHAT", who: "user", expect: 200 },
    { fn: "flags", method: "GET", path: "/flags?snapshot=1", who: "user", expect: 200 },
    { fn: "flags", method: "POST", path: "/flags", who: "service", body: { context: { userId: "u-1" } }, expect: 200 },
    {
      fn: "flags",
      method: "POST",
      path: "/flags/events",
      who: "user",
      body: { events: [{ name: "route.check", details: { value: 1 } }] },
      expect: 202,
    },
    { fn: "flags-admin", method: "GET", path: "/flags-admin/flags", who: "admin", expect: 200 },
    {
      fn: "flags-admin",
      method: "POST",
      path: "/flags-admin/flags",
      who: "admin",
      body: { key: "route_flag", stages: [10, 50, 100] },
      expect: 201,
    },
    { fn: "flags-admin", method: "GET", path: "/flags-admin/flags/route_flag", who: "admin", expect: 200 },
    {
      fn: "flags-admin",
      method: "PATCH",
      path: "/flags-admin/flags/route_flag",
      who: "admin",
      body: { enabled: true, rollout: 10 },
      expect: 200,
    },
    {
      fn: "flags-admin",
      method: "PUT",
      path: "/flags-admin/overrides",
      who: "admin",
      body: { flag: "route_flag", unit: "u-1", enabled: true, reason: "route check" },
      expect: 201,
    },
    { fn: "flags-admin", method: "GET", path: "/flags-admin/overrides?flag=route_flag", who: "admin", expect: 200 },
    {
      fn: "flags-admin",
      method: "DELETE",
      path: "/flags-admin/overrides?flag=route_flag&unit=u-1",
      who: "admin",
      expect: 200,
    },
    {
      fn: "flags-admin",
      method: "POST",
      path: "/flags-admin/rollback",
      who: "admin",
      body: { flag: "route_flag", reason: "route check" },
      expect: 200,
    },
    { fn: "flags-admin", method: "GET", path: "/flags-admin/audit?flag=route_flag", who: "admin", expect: 200 },
    { fn: "flags-admin", method: "POST", path: "/flags-admin/guard", who: "service", expect: 200 },
    { fn: "flags-admin", method: "GET", path: "/flags-admin/alerts", who: "admin", expect: 200 },
    {
      fn: "flags-admin",
      method: "POST",
      path: "/flags-admin/alert-destinations",
      who: "admin",
      body: { name: "routes-hook", kind: "webhook", url: "http://127.0.0.1:9/alerts", signingSecret: "ROUTES_KEY" },
      expect: 201,
    },
    {
      fn: "flags-admin",
      method: "POST",
      path: "/flags-admin/alert-destinations",
      who: "admin",
      body: {
        name: "metadata-hook",
        kind: "webhook",
        url: "https://169.254.169.254/latest",
        signingSecret: "ROUTES_KEY",
      },
      expect: 400,
    },
    { fn: "flags-admin", method: "GET", path: "/flags-admin/alert-destinations", who: "admin", expect: 200 },
    {
      fn: "flags-admin",
      method: "PATCH",
      path: `/flags-admin/alert-destinations/{dest}`,
      who: "admin",
      body: { enabled: false },
      expect: 200,
    },
    {
      fn: "flags-admin",
      method: "POST",
      path: `/flags-admin/alert-destinations/{dest}/test`,
      who: "admin",
      expect: 200,
    },
    { fn: "flags-admin", method: "DELETE", path: `/flags-admin/alert-destinations/{dest}`, who: "admin", expect: 200 },
    {
      fn: "flags-admin",
      method: "PATCH",
      path: `/flags-admin/alerts/{alert}`,
      who: "admin",
      body: { acknowledged: true },
      expect: 200,
    },
    { fn: "flags-admin", method: "POST", path: `/flags-admin/alerts/{alert}/ack`, who: "admin", expect: 200 },
    { fn: "flags-admin", method: "DELETE", path: "/flags-admin/flags/route_flag", who: "admin", expect: 200 },
    {
      fn: "rollout-status",
      method: "GET",
      path: "/rollout-status?flag=phoenix_pipeline_enabled",
      who: "admin",
      expect: 200,
    },
    { fn: "ai-cache", method: "GET", path: "/ai-cache", who: "service", expect: 200 },
    { fn: "ai-cache", method: "DELETE", path: "/ai-cache?all=1", who: "service", expect: 200 },
    {
      fn: "ai-create-voucher",
      method: "POST",
      path: "/ai-create-voucher",
      who: "service",
      headers: { "idempotency-key": "routes-1" },
      body: { phone: "+250788400001", amount: 1000, currency: "RWF" },
      expect: 201,
    },
    {
      fn: "ai-lookup-customer",
      method: "POST",
      path: "/ai-lookup-customer",
      who: "service",
      body: { phone: "+250788400001" },
      expect: 200,
    },
    {
      fn: "ai-redeem-voucher",
      method: "POST",
      path: "/ai-redeem-voucher",
      who: "admin",
      body: { code: "{code}", phone: "+250788400001" },
      expect: 200,
    },
    {
      fn: "ai-void-voucher",
      method: "POST",
      path: "/ai-void-voucher",
      who: "service",
      body: { code: "{code}" },
      expect: 409,
    },
    {
      fn: "ai-whatsapp-webhook",
      method: "GET",
      path: "/ai-whatsapp-webhook?hub.mode=subscribe&hub.verify_token=routes-verify&hub.challenge=4242",
      who: "none",
      expect: 200,
    },
    {
      fn: "ai-whatsapp-webhook",
      method: "POST",
      path: "/ai-whatsapp-webhook",
      who: "none",
      expect: 200,
      request: wa("A"),
    },
    { fn: "ai-whatsapp-webhook", method: "POST", path: "/ai-whatsapp-webhook/retry", who: "service", expect: 200 },
    {
      fn: "rollout-status",
      method: "GET",
      path: "/rollout-status/readiness?flag=phoenix_pipeline_enabled",
      who: "admin",
      expect: 200,
    },
    { fn: "rollout-status", method: "GET", path: "/rollout-status/deprecations", who: "admin", expect: 200 },
    {
      fn: "api",
      method: "GET",
      path: "/api/feature-status?feature=phoenix_pipeline_enabled",
      who: "admin",
      expect: 200,
    },
    {
      fn: "memory",
      method: "POST",
      path: "/memory/messages",
      who: "user",
      body: { sessionId: "route-session", role: "user", content: "hello" },
      expect: 201,
    },
    { fn: "memory", method: "GET", path: "/memory/context?session=route-session", who: "user", expect: 200 },
    { fn: "memory", method: "GET", path: "/memory/consistency", who: "admin", expect: 200 },
    { fn: "memory", method: "POST", path: "/memory/repair", who: "admin", expect: 200 },
    { fn: "data-migrations", method: "GET", path: "/data-migrations", who: "admin", expect: 200 },
    {
      fn: "data-migrations",
      method: "POST",
      path: "/data-migrations/usage_logs_to_ai_usage_logs/run",
      who: "service",
      body: { batchSize: 100 },
      expect: 200,
    },
    { fn: "data-migrations", method: "GET", path: "/data-migrations/runs", who: "admin", expect: 200 },
    { fn: "data-migrations", method: "GET", path: "/data-migrations/runs/{run}", who: "admin", expect: 200 },
    { fn: "data-migrations", method: "POST", path: "/data-migrations/runs/{run}/validate", who: "admin", expect: 200 },
    // The run finished in the call that started it: nothing to stop.
    { fn: "data-migrations", method: "POST", path: "/data-migrations/runs/{run}/stop", who: "admin", expect: 409 },
    { fn: "data-migrations", method: "POST", path: "/data-migrations/runs/{run}/rollback", who: "admin", expect: 200 },
    {
      fn: "ai-realtime-webhook",
      method: "POST",
      path: "/ai-realtime-webhook",
      who: "none",
      expect: 200,
      request: (url: string) => openaiRequest(url, incomingCall(`call_route${Date.now()}`), { secret: WHSEC }),
    },
  ];
  return list.map((r) => ({
    ...r,
    path: r.path.replace("{dest}", () => ctx.destination()).replace("{alert}", () => ctx.alert())
      .replace("{run}", () => ctx.run()),
    body: r.body === undefined ? undefined : JSON.parse(JSON.stringify(r.body).replace("{code}", ctx.code())),
  }));
}

Deno.test("routes: the table names every function", async () => {
  const dirs: string[] = [];
  for await (const e of Deno.readDir(new URL("supabase/functions/", ROOT))) {
    if (e.isDirectory && !e.name.startsWith("_") && !e.name.startsWith(".")) dirs.push(e.name);
  }
  const named = new Set(
    routes({ code: () => "", destination: () => "", alert: () => "", run: () => "" }).map((r) => r.fn),
  );
  eq(dirs.filter((d) => !named.has(d)).sort(), [], "functions without a route in tests/deno/routes_test.ts:");
});

onBothStacks("routes over HTTP", async (t, sdb) => {
  const meta = fakeMeta(WA_TOKEN);
  const openai = fakeOpenAI(OA_KEY);
  let stack: HttpStack | null = null;
  // An alert to list and acknowledge.
  await sdb.offline((db) =>
    db.query(
      "insert into trimtab.alerts (kind, flag_key, severity, message) values ('error_rate', 'FEATURE_AGENT_CHAT', 'warning', 'route check')",
    )
  );
  try {
    stack = await sdb.start({
      WHATSAPP_APP_SECRET: APP_SECRET,
      WHATSAPP_VERIFY_TOKEN: "routes-verify",
      WHATSAPP_ACCESS_TOKEN: WA_TOKEN,
      WHATSAPP_API_BASE: meta.url,
      OPENAI_API_BASE: openai.url,
      OPENAI_API_KEY: OA_KEY,
      OPENAI_WEBHOOK_SECRET: WHSEC,
      FEATURE_AGENT_CHAT: "true",
      FEATURE_AGENT_VOICE: "true",
      FEATURE_AGENT_VOUCHERS: "true",
      FEATURE_AGENT_CUSTOMER_LOOKUP: "true",
      TRIMTAB_ALERT_SECRETS: JSON.stringify({ ROUTES_KEY: "whsec_" + btoa("routes-signing-key-0123456789ab") }),
      WEBHOOK_RETRY_INTERVAL_MS: "off",
      // The legacy route answers (not 410 Gone) whatever today's date.
      TRIMTAB_LEGACY_FEATURE_STATUS_DEPRECATED_AT: new Date(Date.now() - 86_400_000).toISOString(),
      TRIMTAB_LEGACY_FEATURE_STATUS_SUNSET: new Date(Date.now() + 365 * 86_400_000).toISOString(),
    });
    const s = stack;
    const keys = await localKeys(`${root}${sdb.dataDir}`);
    const tokens: Record<Who, Record<string, string>> = {
      none: {},
      anon: { apikey: s.publishable },
      user: { authorization: `Bearer ${await userToken(keys, "route-user", { issuer: LOCAL_ISSUER })}` },
      admin: { authorization: `Bearer ${s.admin}` },
      service: { apikey: s.secret },
    };
    // The features the tools need, on for everyone (the seed has them off or partial).
    for (const f of ["FEATURE_AGENT_VOUCHERS", "FEATURE_AGENT_CUSTOMER_LOOKUP"]) {
      const r = await fetchWithin(`${s.base}/functions/v1/flags-admin/flags/${f}`, {
        method: "PATCH",
        headers: { ...tokens.admin, "content-type": "application/json" },
        body: JSON.stringify({ enabled: true, adminOverride: "on" }),
      });
      eq(r.status, 200, await r.text());
    }
    const state = { code: "", destination: "", alert: "", run: "" };
    let i = 0;
    for (;;) {
      // Rebuilt each time: later routes use what earlier ones created.
      const list = routes({
        code: () => state.code,
        destination: () => state.destination,
        alert: () => state.alert,
        run: () => state.run,
      });
      if (i >= list.length) break;
      const r = list[i++];
      const url = `${s.base}/functions/v1${r.path}`;
      const req = r.request ? r.request(url) : new Request(url, {
        method: r.method,
        headers: {
          ...tokens[r.who],
          ...(r.headers ?? {}),
          ...(r.body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: r.body === undefined ? undefined : JSON.stringify(r.body),
      });
      const res = await fetch(req, { signal: AbortSignal.timeout(15_000) });
      const text = await res.text();
      const what = `${r.method} ${r.path} as ${r.who}`;
      assert(res.status < 500, `${what}: ${res.status} ${text.slice(0, 300)}`);
      eq(res.status, r.expect, `${what}: ${text.slice(0, 300)}`);
      const body: Json = text.startsWith("{") ? JSON.parse(text) : null;
      if (r.fn === "ai-create-voucher") state.code = body.voucher.code;
      if (r.path.endsWith("/alert-destinations") && r.method === "POST" && res.status === 201) {
        state.destination = body.destination.id;
      }
      if (r.path.endsWith("/run") && res.status === 200) state.run = String(body.run.id);
      if (r.path === "/flags-admin/alerts") state.alert = body.alerts?.[0]?.id ?? ""; // the one stored below
    }
    await t.step("the stack's own routes: JWKS, Supabase Auth stand-in, static files", async () => {
      const password = /demo sign-in[^/]*\/ (\S+)/.exec(s.out())?.[1];
      assert(password, "the banner prints the demo password");
      let r = await fetchWithin(`${s.base}/auth/v1/.well-known/jwks.json`);
      eq([r.status, (await r.json()).keys.length > 0], [200, true], "jwks");
      r = await fetchWithin(`${s.base}/auth/v1/token?grant_type=password`, {
        method: "POST",
        headers: { "content-type": "application/json", apikey: s.publishable },
        body: JSON.stringify({ email: "user-42@trimtab.local", password }),
      });
      const session = await r.json();
      eq(r.status, 200, JSON.stringify(session));
      r = await fetchWithin(`${s.base}/auth/v1/token?grant_type=refresh_token`, {
        method: "POST",
        headers: { "content-type": "application/json", apikey: s.publishable },
        body: JSON.stringify({ refresh_token: session.refresh_token }),
      });
      const refreshed = await r.json();
      eq(r.status, 200, JSON.stringify(refreshed));
      r = await fetchWithin(`${s.base}/auth/v1/user`, {
        headers: { authorization: `Bearer ${refreshed.access_token}` },
      });
      eq([r.status, (await r.json()).email], [200, "user-42@trimtab.local"], "user");
      r = await fetchWithin(`${s.base}/auth/v1/logout`, {
        method: "POST",
        headers: { authorization: `Bearer ${refreshed.access_token}` },
      });
      await r.body?.cancel();
      eq(r.status, 204, "logout");
      for (
        const [path, type] of [["/", "text/html"], ["/admin/", "text/html"], [
          "/js/trimtab-flags.js",
          "text/javascript",
        ], ["/pkg/trimtab_flags_bg.wasm", "application/wasm"]]
      ) {
        r = await fetchWithin(`${s.base}${path}`);
        await r.body?.cancel();
        eq(r.status, 200, path);
        assert(r.headers.get("content-type")?.startsWith(type), `${path}: ${r.headers.get("content-type")}`);
      }
      r = await fetchWithin(`${s.base}/nope`);
      await r.body?.cancel();
      eq(r.status, 404, "unknown path");
    });
    eq(meta.sent.length >= 1, true, "the webhook answered through the Cloud API");
    eq(
      openai.calls.map((c) => c.action),
      ["reject"],
      "the incoming call was answered (rejected: the seeded flag is off)",
    );
  } finally {
    await stack?.stop();
    await meta.close();
    await openai.close();
  }
});
