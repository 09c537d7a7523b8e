// The embedded database (PGlite, the default of `npm start`) cannot stall the isolate: it runs in
// a worker (scripts/dev/pglite.ts), an exception PGlite swallows marks the handle broken, a query
// past its deadline terminates the worker, and the functions' store opens a new handle. The
// isolate stays responsive all along (a timer keeps ticking while PGlite is stuck).
import { openDb } from "../../scripts/dev/db.ts";
import { pgliteBackend } from "../../scripts/dev/pglite.ts";
import { getDb, setDbFactory, useDb } from "../../supabase/functions/_shared/platform/store.ts";
import { assert, eq } from "./support.ts";

const failure = (p: Promise<unknown>) => p.then(() => null, (e) => e as { code?: string; message?: string });

Deno.test({
  name: "PGlite: a JSON text nested 10,000 deep breaks the handle at once, not the isolate",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const db = await openDb({ url: "", dataDir: "memory://", seed: false });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    try {
      // What a request could once reach the database with (PGlite 0.5.16 swallowed the RangeError
      // this raises inside its Wasm, and the next ERROR spun forever).
      const deep = "[".repeat(10_000) + "]".repeat(10_000);
      const e = await failure(db.query("select $1::text::jsonb is not null as x", [deep]));
      eq(e?.code, "DB_BROKEN", String(e?.message));
      assert(/Maximum call stack size exceeded/.test(String(e?.message)), String(e?.message));
      eq(db.broken(), true, "the handle says so");
      const next = await failure(db.query("select 1 / 0"));
      eq(next?.code, "DB_BROKEN", "the next query (which once never returned) fails at once");
      await new Promise((r) => setTimeout(r, 50));
      assert(ticks > 0, "the isolate kept running");
    } finally {
      clearInterval(timer);
      await db.close();
    }
  },
});

Deno.test({
  name: "PGlite: a query past its deadline terminates the worker; the store opens a new handle",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const backend = await pgliteBackend("memory://", { queryTimeoutMs: 300 });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    try {
      // Spins inside the worker far longer than the deadline.
      const e = await failure(backend.query("select count(*) from generate_series(1, 2000000000)"));
      eq(e?.code, "DB_TIMEOUT", String(e?.message));
      eq(backend.broken?.(), true, "broken");
      assert(ticks >= 10, `the isolate kept running (${ticks} ticks)`);
      eq((await failure(backend.query("select 1")))?.code, "DB_BROKEN", "answers at once afterwards");
    } finally {
      clearInterval(timer);
      await backend.close();
    }
    // The store: a broken handle is replaced by a new one from the factory on the next getDb().
    let opened = 0;
    setDbFactory(async () => (opened++, await openDb({ url: "", dataDir: "memory://", seed: false })));
    try {
      useDb(null);
      const first = await getDb();
      eq(opened, 1);
      await failure(first.query("select $1::text::jsonb", ["[".repeat(10_000) + "]".repeat(10_000)]));
      eq(first.broken(), true);
      const second = await getDb();
      eq([opened, second === first, second.broken()], [2, false, false], "a new handle");
      eq((await second.query<{ one: number }>("select 1 as one"))[0].one, 1, "which answers");
      await second.close();
    } finally {
      setDbFactory(null);
      useDb(null);
    }
  },
});
