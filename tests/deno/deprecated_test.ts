// Deprecated endpoints (supabase/functions/_shared/platform/deprecated.ts) over real HTTP through
// the local stack's router (scripts/serve.ts, in this process so the clock can be injected), on
// PGlite and a real Debian Postgres: the legacy GET /api/feature-status answers from
// rollout-status with Deprecation (RFC 9745), Sunset (RFC 8594) and Link (successor-version)
// headers, exposed to browsers, on errors too; its callers are logged (no user id, a hash) and
// counted (GET /rollout-status/deprecations); from the sunset on it is 410 Gone without running
// the handler, on /api/... and /functions/v1/api/... alike.
import { router } from "../../scripts/serve.ts";
import {
  deprecatedRoute,
  deprecationsIdle,
  setDeprecationClock,
} from "../../supabase/functions/_shared/platform/deprecated.ts";
import type { Db } from "../../supabase/functions/_shared/platform/db.ts";
import { setLogSink } from "../../supabase/functions/_shared/platform/log.ts";
import { assert, eq, type Json, logCapture, onBothBackends, type Tokens } from "./support.ts";

const DEPRECATED_AT = Date.parse("2026-12-06T00:00:00Z"); // the settings' defaults
const SUNSET = "Wed, 30 Jun 2027 00:00:00 GMT";
const { lines, sink } = logCapture();

Deno.test("deprecatedRoute: a date that is not one is refused when the route is built", () => {
  let code = "";
  try {
    deprecatedRoute(
      { route: "/x", deprecatedAt: "soon", sunsetAt: "2027-01-01T00:00:00Z", successor: "/y" },
      () => new Response(),
    );
  } catch (e) {
    code = (e as Error).name;
  }
  eq(code, "TypeError");
});

async function checks(t: Deno.TestContext, _db: Db, tk: Tokens) {
  const prev = setLogSink(sink);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, router);
  const base = `http://127.0.0.1:${server.addr.port}`;
  const get = async (path: string, token: string | null, agent = "legacy-dashboard/1.0") => {
    const headers: Record<string, string> = { "user-agent": agent, origin: "https://app.example" };
    if (token) headers.authorization = `Bearer ${token}`;
    const res = await fetch(`${base}${path}`, { headers });
    return { status: res.status, headers: res.headers, body: await res.json() as Json };
  };
  const deprecationHeaders = (h: Headers) => [h.get("deprecation"), h.get("sunset"), h.get("link")];
  const expected = [
    `@${DEPRECATED_AT / 1000}`,
    SUNSET,
    '</functions/v1/rollout-status>; rel="successor-version"',
  ];
  try {
    await t.step("before the sunset: the new implementation answers, with the three headers", async () => {
      setDeprecationClock(() => Date.parse("2027-01-15T12:00:00Z"));
      const r = await get("/api/feature-status?feature=phoenix_pipeline_enabled", tk.admin);
      eq(r.status, 200, JSON.stringify(r.body));
      eq(
        r.body.flags.map((f: Json) => f.key),
        ["phoenix_pipeline_enabled"],
        "rollout-status's answer, ?feature= mapped",
      );
      assert(r.body.flags[0].migration?.gates, "with the migration metrics");
      eq(deprecationHeaders(r.headers), expected, "Deprecation, Sunset, Link");
      const exposed = (r.headers.get("access-control-expose-headers") ?? "").split(/,\s*/);
      for (const h of ["deprecation", "sunset", "link", "x-correlation-id"]) {
        assert(exposed.includes(h), `exposes ${h}`);
      }
      assert(r.headers.get("x-correlation-id"), "the function's usual headers stay");
      const fn = await get("/functions/v1/api/feature-status", tk.service);
      eq([fn.status, ...deprecationHeaders(fn.headers)], [200, ...expected], "the same route as a function");
    });

    await t.step("errors carry the headers too", async () => {
      const anon = await get("/api/feature-status", null);
      eq([anon.status, anon.body.error.code], [401, "UNAUTHORIZED"]);
      eq(deprecationHeaders(anon.headers), expected);
      eq((await get("/api/nope", tk.admin)).status, 404, "other legacy paths are not found");
    });

    await t.step("callers are logged without their user id and counted", async () => {
      await deprecationsIdle();
      const called = lines.filter((l) => l.includes('"msg":"deprecated endpoint called"'));
      assert(called.length >= 3, `logged: ${called.length}`);
      assert(called.every((l) => !l.includes("admin-1")), "no user id in the log");
      assert(called.some((l) => /"caller":"sub:[0-9a-f]{16}"/.test(l) && l.includes('"callerKind":"admin"')), "hash");
      const r = await get("/functions/v1/rollout-status/deprecations?route=/api/feature-status", tk.admin);
      eq(r.status, 200);
      const by = (kind: string) => r.body.callers.filter((c: Json) => c.callerKind === kind);
      eq(by("admin").map((c: Json) => [c.route, c.calls, c.gone, c.userAgent]), [[
        "/api/feature-status",
        1,
        0,
        "legacy-dashboard/1.0",
      ]]);
      eq(by("anon").map((c: Json) => [c.calls, c.caller]), [[1, ""]], "the anonymous caller");
      eq(by("service").map((c: Json) => c.caller), ["key:default"], "the secret key by its name");
    });

    await t.step("after the sunset: 410 Gone, coded, with the successor; the handler does not run", async () => {
      setDeprecationClock(() => Date.parse("2027-07-01T00:00:00Z"));
      for (const path of ["/api/feature-status", "/functions/v1/api/feature-status"]) {
        const r = await get(path, null, "old-cron/2");
        eq([r.status, r.body.error.code, r.body.error.successor], [
          410,
          "ENDPOINT_GONE",
          "/functions/v1/rollout-status",
        ]);
        assert(r.body.error.message.includes(SUNSET), r.body.error.message);
        eq(deprecationHeaders(r.headers), expected, `${path}: headers`);
      }
      await deprecationsIdle();
      const r = await get("/functions/v1/rollout-status/deprecations", tk.admin);
      const late = r.body.callers.filter((c: Json) => c.userAgent === "old-cron/2");
      eq(late.map((c: Json) => [c.callerKind, c.calls, c.gone]), [["anon", 2, 2]], "gone calls counted");
    });
  } finally {
    setDeprecationClock(null);
    setLogSink(prev);
    await server.shutdown();
  }
}

onBothBackends("deprecated endpoint /api/feature-status", checks);
