// Edge-side shared code: http helpers and log masking (auth: auth_test.ts). The local stack as a whole is
// tested in stack_test.ts, the functions in flags_test.ts and admin_test.ts.
import "../../supabase/functions/_shared/platform/routed.ts"; // before any function's index.ts
import { newSigningKey, userToken } from "../../scripts/dev/keys.ts";
import {
  allowMethods,
  correlationId,
  error,
  handle,
  HttpError,
  json,
  readJson,
} from "../../supabase/functions/_shared/platform/http.ts";
import { logger, mask, maskString, setLogLevel, setLogSink } from "../../supabase/functions/_shared/platform/log.ts";
import { VERSION } from "../../supabase/functions/_shared/platform/version.ts";

const ROOT = new URL("../..", import.meta.url);

function assert(cond: unknown, msg = "assertion failed"): asserts cond {
  if (!cond) throw new Error(msg);
}
function eq<T>(actual: T, expected: T, msg = "") {
  const a = JSON.stringify(actual), e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${msg} expected ${e}, got ${a}`);
}

// Captures log lines written during `fn`.
async function captureLogs(fn: () => unknown | Promise<unknown>): Promise<string[]> {
  const lines: string[] = [];
  const prev = setLogSink((l) => lines.push(l));
  setLogLevel("debug"); // whatever LOG_LEVEL the run has
  try {
    await fn();
  } finally {
    setLogSink(prev);
    setLogLevel("info");
  }
  return lines;
}

// ---------------------------------------------------------------- http

const post = (body: BodyInit | null, headers: Record<string, string> = { "content-type": "application/json" }) =>
  new Request("http://x/fn", { method: "POST", body, headers });

Deno.test("http: readJson parses, caps the body, refuses bad JSON", async () => {
  const ok = await readJson(post(JSON.stringify({ a: 1 })), 100);
  assert(ok.ok);
  eq(ok.value, { a: 1 });

  const big = await readJson(post("x".repeat(101)), 100);
  assert(!big.ok);
  eq(big.response.status, 413);
  eq((await big.response.json()).error.code, "PAYLOAD_TOO_LARGE");

  // No content-length: a streamed body is cut off once it passes the cap.
  let pulled = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(c) {
      pulled++;
      if (pulled > 1000) c.close();
      else c.enqueue(new Uint8Array(64).fill(32));
    },
  });
  const streamed = await readJson(post(stream), 1000);
  assert(!streamed.ok);
  eq(streamed.response.status, 413);
  assert(pulled < 100, `read ${pulled} chunks after passing the cap`);

  for (const bad of ["{", "", "   ", "{'a':1}", "nul"]) {
    const r = await readJson(post(bad), 100);
    assert(!r.ok, bad);
    eq(r.response.status, 400, `${JSON.stringify(bad)}:`);
    eq((await r.response.json()).error.code, "BAD_JSON");
  }
  const noBody = await readJson(new Request("http://x", { method: "POST" }), 100);
  assert(!noBody.ok && noBody.response.status === 400);
  const invalidUtf8 = await readJson(post(new Uint8Array([0x22, 0xff, 0x22])), 100);
  assert(!invalidUtf8.ok && invalidUtf8.response.status === 400);
  const form = await readJson(post("a=1", { "content-type": "application/x-www-form-urlencoded" }), 100);
  assert(!form.ok && form.response.status === 415);
  const noType = await readJson(post("[1]", {}), 100); // fetch sends text/plain for strings
  assert(noType.ok);
  const stream2 = new ReadableStream({
    start(c) {
      c.enqueue(new TextEncoder().encode("{}"));
      c.close();
    },
  });
  const untyped = await readJson(new Request("http://x", { method: "POST", body: stream2 }), 100);
  assert(untyped.ok, "no content-type at all");
});

Deno.test("http: 405 with Allow; json and error shapes", async () => {
  const r = allowMethods(new Request("http://x", { method: "DELETE" }), ["GET", "POST"]);
  assert(r);
  eq(r.status, 405);
  eq(r.headers.get("allow"), "GET, POST, HEAD, OPTIONS");
  eq((await r.json()).error.code, "METHOD_NOT_ALLOWED");
  eq(allowMethods(new Request("http://x"), ["GET"]), null);
  eq(allowMethods(new Request("http://x", { method: "HEAD" }), ["GET"]), null);
  const e = error(404, "UNKNOWN_FLAG", "no flag x");
  eq(await e.json(), { error: { code: "UNKNOWN_FLAG", message: "no flag x" } });
  assert(e.headers.get("content-type")!.startsWith("application/json"));
  const j = json(200, { a: 1 }, { etag: '"v1"' });
  eq(j.headers.get("etag"), '"v1"');
  eq(json(304, { a: 1 }).body, null);
});

Deno.test("http: handle() hides internal errors, keeps HttpErrors, adds CORS and correlation id", async () => {
  const prev = setLogSink(() => {});
  try {
    await handleChecks();
  } finally {
    setLogSink(prev);
  }
});

async function handleChecks() {
  const boom = handle(() => {
    throw new Error(
      "relation \"feature_flags\" does not exist: SELECT * FROM trimtab.feature_flags WHERE phone='+250788123456'",
    );
  }, { name: "t" });
  let res!: Response;
  const lines = await captureLogs(async () => {
    res = await boom(new Request("http://x/t", { headers: { "x-correlation-id": "abc-123" } }));
  });
  eq(res.status, 500);
  const text = await res.text();
  eq(JSON.parse(text), { error: { code: "INTERNAL", message: "internal error" } });
  assert(!/SELECT|feature_flags|stack|at /.test(text), "no SQL or stack in the response");
  eq(res.headers.get("x-correlation-id"), "abc-123");
  eq(res.headers.get("access-control-allow-origin"), "*");
  const errLine = lines.map((l) => JSON.parse(l)).find((l) => l.level === "error");
  assert(errLine, "error logged");
  eq(errLine.correlationId, "abc-123");
  assert(!lines.join("\n").includes("+250788123456"), "phone masked in logs");

  const http = handle(() => {
    throw new HttpError(403, "FORBIDDEN", "admins only");
  });
  const r2 = await http(new Request("http://x", { headers: { "x-correlation-id": "bad id with spaces" } }));
  eq(r2.status, 403);
  eq((await r2.json()).error.code, "FORBIDDEN");
  const cid = r2.headers.get("x-correlation-id")!;
  assert(/^[0-9a-f-]{36}$/.test(cid), `a fresh UUID replaces a malformed id: ${cid}`);

  const pre = await http(new Request("http://x", { method: "OPTIONS", headers: { origin: "http://a" } }));
  eq(pre.status, 204);
  assert(pre.headers.get("access-control-allow-headers")!.includes("authorization"));
  assert(pre.headers.get("access-control-expose-headers")!.includes("x-trimtab-stale"));

  // Responses with immutable headers are copied, not broken.
  const immutable = handle(() => Response.redirect("http://x/elsewhere", 302));
  const r3 = await immutable(new Request("http://x"));
  eq(r3.status, 302);
  assert(r3.headers.get("x-correlation-id"));

  const notResponse = handle(() => ({}) as Response);
  await captureLogs(async () => eq((await notResponse(new Request("http://x"))).status, 500));
  eq(correlationId(new Request("http://x", { headers: { "x-correlation-id": "x".repeat(129) } })).length, 36);
}

// ---------------------------------------------------------------- log

Deno.test("log: one JSON line per event; phones, emails, JWTs and keys masked", async () => {
  const jwt = await userToken(await newSigningKey(), "user-1");
  const secrets = [
    "+250788123456",
    "+250 788 123 456",
    "+1 (415) 555-2671",
    "0788123456",
    "ann.lee+tag@example.co.uk",
    jwt,
    "sk-proj-abcdefghijklmnop1234",
    "sk_live_51Habcdefghijkl",
    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "sb_secret_abcdefghijklmnop",
    "hunter2pw",
  ];
  const lines = await captureLogs(() => {
    const l = logger({ correlationId: "cid-1" });
    l.info(`user ${secrets[0]} / ${secrets[4]} sent ${jwt}`, {
      phone: secrets[1],
      contact: `call ${secrets[2]} or ${secrets[3]}`,
      nested: { list: [secrets[6], secrets[7]], note: `secret ${secrets[8]}` },
      headers: new Headers({ authorization: `Bearer ${jwt}`, "x-client-info": "web", apikey: secrets[9] }),
      authorization: `Bearer ${jwt}`,
      dsn: `postgres://app:${secrets[10]}@127.0.0.1:5432/db`,
      err: new Error(`failed for ${secrets[4]}`),
      key: "phoenix_pipeline", // flag keys are not secrets
      at: "2026-11-22T04:48:38.123Z",
      count: 1234567890123,
    });
  });
  eq(lines.length, 1);
  assert(!lines[0].includes("\n"));
  const line = lines[0];
  for (const s of secrets) assert(!line.includes(s), `leaked ${s.slice(0, 12)}…: ${line}`);
  assert(!line.includes("eyJ"), "no JWT prefix");
  assert(!/[Bb]earer eyJ/.test(line));
  const o = JSON.parse(line);
  eq(o.level, "info");
  eq(o.correlationId, "cid-1");
  eq(o.key, "phoenix_pipeline");
  eq(o.at, "2026-11-22T04:48:38.123Z");
  eq(o.count, 1234567890123);
  eq(o.headers, { "x-client-info": "web" });
  eq(o.authorization, "[redacted]");
  assert(o.msg.includes("[phone ..56]") && o.msg.includes("[email]") && o.msg.includes("[jwt]"), o.msg);
  assert(o.dsn.includes("[redacted]") && o.dsn.includes("127.0.0.1"), o.dsn);
  eq(o.err.name, "Error");
  assert(typeof o.time === "string");
});

Deno.test("log: masking leaves ordinary text alone", () => {
  for (
    const s of [
      "flag phoenix_pipeline at 25%",
      "2026-11-22T04:48:38Z",
      "bucket 968658",
      "v1.2.3",
      "user-1",
      "12345678",
      "amount 10000 RWF",
      "id 0b8e6f1c-1c1a-4f7e-9d55-123456789012",
    ]
  ) {
    eq(maskString(s), s);
  }
  eq(mask({ a: [1, "x"], b: null, c: undefined }), { a: [1, "x"], b: null, c: undefined });
  eq(maskString("redeem TT-28T5-CY4T-H for 0788000000."), "redeem [voucher] for [phone ..00].");
  const cyc: Record<string, unknown> = {};
  cyc.self = cyc;
  eq(mask(cyc), { self: "[cycle]" });
});

// ---------------------------------------------------------------- functions and the stack

Deno.test("version.ts matches package.json", async () => {
  const pkg = JSON.parse(await Deno.readTextFile(new URL("package.json", ROOT)));
  eq(VERSION, pkg.version);
});
