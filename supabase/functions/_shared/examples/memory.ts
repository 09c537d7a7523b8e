//! The conversation-memory example: a chat memory service moving from one table to normalised
//! tables on safeMigration (tables in schema trimtab_examples, migration 20261206000002_examples.sql).
//!
//! - old: `chat_memories`, one row per message; a recall reads the whole session and summarises
//!   the messages older than the window on every call;
//! - new: `conversations` (one per user and session), `messages` (seq per conversation) and
//!   `summaries` (the summary of the messages up to `upto_seq`); a recall reads the window and the
//!   stored summary, and refreshes the summary when messages left the window since: that write is
//!   the effect "summary", which a shadow run never makes.
//!
//! Writes (`remember`) go to both stores while the migration runs (dual writes): the old row is
//! written (and committed) first, then the new one in its own transaction; a failure of the new
//! write is rolled back and logged, and the old row stands (the old store is the source of truth
//! until cleanup). A gap left that way (or by a crash between the two) is what `consistency`
//! finds and `repair` closes. Reads (`recall`) go through `memoryMigration`: the flag
//! `memory_v2_enabled` with the user id as unit picks the path (variant "shadow": old serves, new
//! runs in shadow); any error or a timeout (MEMORY_TIMEOUT_MS) of the new path serves the old one.
//! `consistency` compares the two stores per conversation (count and content hash); `repair`
//! rebuilds a conversation of the new store from the old one.
import type { Db, Queryable } from "../platform/db.ts";
import { envPositive } from "../platform/env.ts";
import type { Logger } from "../platform/log.ts";
import { type MigrationContext, safeMigration } from "../safety/migration.ts";
import { errorCodeOf } from "../safety/shadow.ts";

/** The flag that moves users' recalls to the new store. */
export const MEMORY_FLAG = "memory_v2_enabled";
/** The usage rows' feature of a recall. */
export const MEMORY_FEATURE = "memory_recall";

export type Role = "user" | "assistant" | "system";
export interface MemoryMessage {
  role: Role;
  content: string;
}

/** What a recall answers: the last `limit` messages, oldest first, and a summary of the rest. */
export interface MemoryContext {
  messages: MemoryMessage[];
  summary: string | null;
  /** Messages in the conversation. */
  total: number;
}

export interface RecallInput {
  userId: string;
  sessionId: string;
  limit: number;
}

const S = "trimtab_examples";

/** The summary of the messages older than the window (null when there are none). */
export function summarize(older: MemoryMessage[]): string | null {
  if (older.length === 0) return null;
  const topics = older.filter((m) => m.role === "user")
    .map((m) => m.content.replace(/\s+/g, " ").trim().slice(0, 60))
    .filter(Boolean);
  const head = `${older.length} earlier message${older.length === 1 ? "" : "s"}`;
  return (topics.length ? `${head}; the user asked about: ${topics.join("; ")}` : head).slice(0, 2000);
}

const asMessages = (rows: { role: unknown; content: unknown }[]): MemoryMessage[] =>
  rows.map((r) => ({ role: String(r.role) as Role, content: String(r.content) }));

/** The old path: every message of the session from chat_memories, summarised on each call. */
async function recallOld(input: RecallInput, ctx: MigrationContext): Promise<MemoryContext> {
  const rows = await ctx.db.query<{ role: unknown; content: unknown }>(
    `select role, content from ${S}.chat_memories where user_id = $1 and session_id = $2 order by id`,
    [input.userId, input.sessionId],
  );
  const all = asMessages(rows);
  const cut = Math.max(0, all.length - input.limit);
  return { messages: all.slice(cut), summary: summarize(all.slice(0, cut)), total: all.length };
}

/** The new path: the window from messages and the stored summary, refreshed when stale. */
async function recallNew(input: RecallInput, ctx: MigrationContext): Promise<MemoryContext> {
  const [c] = await ctx.db.query<Record<string, unknown>>(
    `select c.id, coalesce((select max(seq) from ${S}.messages m where m.conversation_id = c.id), 0) as last,
            s.summary, s.upto_seq
       from ${S}.conversations c left join ${S}.summaries s on s.conversation_id = c.id
      where c.user_id = $1 and c.session_id = $2`,
    [input.userId, input.sessionId],
  );
  if (!c) return { messages: [], summary: null, total: 0 };
  const id = Number(c.id), last = Number(c.last);
  const upto = Math.max(0, last - input.limit);
  const window = await ctx.db.query<{ role: unknown; content: unknown }>(
    `select role, content from ${S}.messages where conversation_id = $1 and seq > $2 order by seq`,
    [id, upto],
  );
  let summary: string | null = c.summary === null || c.summary === undefined ? null : String(c.summary);
  if (upto === 0) summary = null;
  else if (summary === null || Number(c.upto_seq) !== upto) {
    const older = await ctx.db.query<{ role: unknown; content: unknown }>(
      `select role, content from ${S}.messages where conversation_id = $1 and seq <= $2 order by seq`,
      [id, upto],
    );
    summary = summarize(asMessages(older));
    await ctx.effects.run("summary", () =>
      ctx.db.query(
        `insert into ${S}.summaries (conversation_id, summary, upto_seq) values ($1, $2, $3)
         on conflict (conversation_id) do update set summary = excluded.summary, upto_seq = excluded.upto_seq,
           updated_at = now()`,
        [id, summary, upto],
      ));
  }
  return { messages: asMessages(window), summary, total: last };
}

/** Recalls as a migration (see the module docs). */
export const memoryMigration = safeMigration<RecallInput, MemoryContext>({
  flag: MEMORY_FLAG,
  feature: MEMORY_FEATURE,
  old: recallOld,
  new: recallNew,
  timeoutMs: () => envPositive("MEMORY_TIMEOUT_MS"),
  provider: { old: "chat_memories", new: "memory_v2" },
  defaultErrorCode: "MEMORY_V2_ERROR",
  shadowDetails: (old, neu) => ({ oldTotal: old.total, newTotal: neu?.total ?? null }),
});

/** A recall for `input.userId` (the unit) through the migration. */
export function recall(db: Db, input: RecallInput, o: { correlationId: string; log: Logger }) {
  return memoryMigration.run(input, { unit: input.userId, correlationId: o.correlationId, db, log: o.log });
}

/** One message to remember. */
export interface MemoryWrite {
  userId: string;
  sessionId: string;
  role: Role;
  content: string;
}

/** Writes a message to both stores (see the module docs); `dual` is false when only the old
 *  store has it (`newError` says why). */
export async function remember(
  db: Db,
  m: MemoryWrite,
  log: Logger,
): Promise<{ id: number; dual: boolean; newError?: string }> {
  const [row] = await db.query<{ id: unknown; created_at: unknown }>(
    `insert into ${S}.chat_memories (user_id, session_id, role, content) values ($1, $2, $3, $4)
     returning id, created_at`,
    [m.userId, m.sessionId, m.role, m.content],
  );
  const id = Number(row.id);
  try {
    await db.tx((tx) => writeNew(tx, m, id, row.created_at));
    return { id, dual: true };
  } catch (e) {
    const newError = errorCodeOf(e, "MEMORY_V2_WRITE_FAILED");
    log.warn("memory dual write failed: only the old store has the message", { code: newError, id });
    return { id, dual: false, newError };
  }
}

/** The new store's write of one message (the conversation row serialises the seq). */
async function writeNew(q: Queryable, m: MemoryWrite, legacyId: number, at: unknown): Promise<void> {
  const [c] = await q.query<{ id: unknown }>(
    `insert into ${S}.conversations (user_id, session_id) values ($1, $2)
     on conflict (user_id, session_id) do update set updated_at = now() returning id`,
    [m.userId, m.sessionId],
  );
  await q.query(
    `insert into ${S}.messages (conversation_id, seq, role, content, legacy_id, created_at)
     select $1, coalesce(max(seq), 0) + 1, $2, $3, $4, $5::timestamptz from ${S}.messages where conversation_id = $1`,
    [Number(c.id), m.role, m.content, legacyId, at instanceof Date ? at.toISOString() : String(at)],
  );
}

/** A conversation whose two stores disagree. */
export interface Mismatch {
  userId: string;
  sessionId: string;
  old: number;
  new: number;
  /** MISSING_IN_NEW, MISSING_IN_OLD, COUNT (different counts), CONTENT (same count, other text). */
  reason: "MISSING_IN_NEW" | "MISSING_IN_OLD" | "COUNT" | "CONTENT";
}

export interface ConsistencyReport {
  conversations: number;
  consistent: boolean;
  mismatched: number;
  /** At most `limit` of them. */
  mismatches: Mismatch[];
}

/** Compares the two stores per conversation (of `userId`, or all): message count and a hash of
 *  every role and text in order. */
export async function consistency(q: Queryable, o: { userId?: string | null; limit?: number } = {}) {
  const rows = await q.query<Record<string, unknown>>(
    `with o as (
       select user_id, session_id, count(*)::int as n, md5(string_agg(role || ':' || content, chr(31) order by id)) as h
         from ${S}.chat_memories where $1::text is null or user_id = $1 group by 1, 2),
     nw as (
       select c.user_id, c.session_id, count(m.id)::int as n,
              md5(coalesce(string_agg(m.role || ':' || m.content, chr(31) order by m.seq), '')) as h
         from ${S}.conversations c left join ${S}.messages m on m.conversation_id = c.id
        where $1::text is null or c.user_id = $1 group by 1, 2)
     select coalesce(o.user_id, nw.user_id) as user_id, coalesce(o.session_id, nw.session_id) as session_id,
            o.n as old_n, nw.n as new_n, o.h is not distinct from nw.h as same
       from o full join nw on o.user_id = nw.user_id and o.session_id = nw.session_id
      order by 1, 2`,
    [o.userId ?? null],
  );
  const mismatches: Mismatch[] = [];
  for (const r of rows) {
    if (r.same === true) continue;
    const oldN = r.old_n === null ? 0 : Number(r.old_n), newN = r.new_n === null ? 0 : Number(r.new_n);
    const reason = r.new_n === null
      ? "MISSING_IN_NEW"
      : r.old_n === null
      ? "MISSING_IN_OLD"
      : oldN !== newN
      ? "COUNT"
      : "CONTENT";
    mismatches.push({ userId: String(r.user_id), sessionId: String(r.session_id), old: oldN, new: newN, reason });
  }
  const limit = o.limit ?? 100;
  return {
    conversations: rows.length,
    consistent: mismatches.length === 0,
    mismatched: mismatches.length,
    mismatches: mismatches.slice(0, limit),
  } satisfies ConsistencyReport;
}

/** Rebuilds every mismatched conversation (of `userId`, or all; at most `limit`) of the new store
 *  from the old one, each in its own transaction. */
export async function repair(db: Db, o: { userId?: string | null; limit?: number } = {}) {
  const report = await consistency(db, { userId: o.userId, limit: o.limit ?? 500 });
  let repaired = 0;
  for (const m of report.mismatches) {
    await db.tx(async (tx) => {
      await tx.query(`delete from ${S}.conversations where user_id = $1 and session_id = $2`, [m.userId, m.sessionId]);
      if (m.reason === "MISSING_IN_OLD") return; // the old store is the source of truth
      const [c] = await tx.query<{ id: unknown }>(
        `insert into ${S}.conversations (user_id, session_id) values ($1, $2) returning id`,
        [m.userId, m.sessionId],
      );
      await tx.query(
        `insert into ${S}.messages (conversation_id, seq, role, content, legacy_id, created_at)
         select $1, row_number() over (order by id), role, content, id, created_at
           from ${S}.chat_memories where user_id = $2 and session_id = $3`,
        [Number(c.id), m.userId, m.sessionId],
      );
    });
    repaired++;
  }
  return { repaired, remaining: report.mismatched - repaired };
}
