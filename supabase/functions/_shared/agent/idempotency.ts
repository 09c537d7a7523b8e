// Idempotency-Key support (table trimtab.idempotency_keys, primary key (scope, caller, key)).
//
// Keys belong to their caller (`caller`: a user's sub or the secret key's name, platform/auth.ts
// `Caller.identity`): another caller sending the same key makes a request of its own and never
// sees the first caller's answer. `hash` identifies the request; callers hash its validated,
// normalised form (vouchers.ts `issueIdentity`), so a retry that writes a field another way (a
// phone with spaces) is the same request.
//
// `idempotent(tx, { scope, caller, key, hash }, fn)` runs inside the caller's transaction, the one
// that also writes the result (e.g. the voucher):
//   1. insert into idempotency_keys (scope, caller, key, request_hash) ... on conflict do nothing returning 1
//   2a. a row came back: this request owns the key; run fn, store its status and body, commit with it.
//   2b. nothing came back: the key was used. A concurrent owner's insert made ours WAIT on the
//       unique index until it committed (or rolled back, in which case our insert succeeds and we
//       own the key), so the row we then read is complete. Same hash: the stored answer
//       (`replayed: true`); another hash: 409 IDEMPOTENCY_KEY_REUSED.
// A failure rolls back the key with the rest: only successful answers are remembered.
// Keys older than the purge window go with purge_webhook_events().
import type { Row, Tx } from "../platform/db.ts";
import { HttpError } from "../platform/http.ts";

export const IDEMPOTENCY_HEADER = "idempotency-key";

export interface Stored {
  status: number;
  body: unknown;
  /** True when this is the answer of an earlier request with the same key. */
  replayed: boolean;
}

/** JSON with object keys sorted (recursively): equal values give equal text. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v) ?? "null";
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o).filter((k) => o[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(",")}}`;
}

/** SHA-256 (hex) of the canonical JSON of a request (its validated, normalised fields). */
export async function requestHash(body: unknown): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(canonicalJson(body)));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The request's Idempotency-Key (null when absent); 400 INVALID_IDEMPOTENCY_KEY when it is not
 *  1-255 visible ASCII characters. */
export function idempotencyKey(req: Request): string | null {
  const v = req.headers.get(IDEMPOTENCY_HEADER);
  if (v === null) return null;
  if (!/^[\x21-\x7e]{1,255}$/.test(v)) {
    throw new HttpError(400, "INVALID_IDEMPOTENCY_KEY", "Idempotency-Key must be 1-255 visible ASCII characters");
  }
  return v;
}

/** Whose key, and which request. */
export interface IdempotencyScope {
  scope: string;
  caller: string;
  key: string;
  hash: string;
}

/** See the module comment. */
export async function idempotent(
  tx: Tx,
  id: IdempotencyScope,
  fn: () => Promise<{ status: number; body: unknown }>,
): Promise<Stored> {
  const where = [id.scope, id.caller, id.key];
  const mine = await tx.query(
    `insert into trimtab.idempotency_keys (scope, caller, key, request_hash) values ($1, $2, $3, $4)
     on conflict (scope, caller, key) do nothing returning 1 as ok`,
    [...where, id.hash],
  );
  if (mine.length === 0) {
    const [row] = await tx.query<Row>(
      "select request_hash, status, response from trimtab.idempotency_keys where scope = $1 and caller = $2 and key = $3",
      where,
    );
    if (!row) throw new Error("idempotency key vanished"); // purged between the two statements
    if (row.request_hash !== id.hash) {
      throw new HttpError(409, "IDEMPOTENCY_KEY_REUSED", "this Idempotency-Key was used with a different request");
    }
    if (row.status === null || row.status === undefined) {
      // Cannot happen (the owner completes the row before committing); refuse rather than guess.
      throw new HttpError(409, "IDEMPOTENCY_KEY_IN_USE", "a request with this Idempotency-Key is still running");
    }
    const body = typeof row.response === "string" ? JSON.parse(row.response) : row.response;
    return { status: Number(row.status), body, replayed: true };
  }
  const out = await fn();
  await tx.query(
    "update trimtab.idempotency_keys set status = $4, response = $5::text::json where scope = $1 and caller = $2 and key = $3",
    [...where, out.status, JSON.stringify(out.body)],
  );
  return { ...out, replayed: false };
}
