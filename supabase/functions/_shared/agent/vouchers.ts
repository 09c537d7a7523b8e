// Customers and vouchers for the agent tools (ai-lookup-customer, ai-create-voucher,
// ai-redeem-voucher, ai-void-voucher) and the chat/voice agents, which call these directly.
//
// The rules live in the Wasm (validateIssue, checkRedeem, checkVoid, validateVoucherCode,
// normalizePhone); this module runs them BEFORE any database call (a mistyped voucher code or a
// bad phone never reaches the database) and makes every transition one atomic SQL statement:
//   update vouchers ... set status = 'redeemed' where code = $1 and status = 'issued'
//     and expires_at > now() and <holder is the caller> returning ...
// in a transaction that first sets trimtab.actor / trimtab.correlation_id / trimtab.reason (read
// by the voucher_events trigger). Of N concurrent redeems exactly one gets the row; when no row
// comes back the voucher is read to say precisely why (checkRedeem / checkVoid decide the code).
//
// Errors are HttpError with stable codes and fixed messages (never the database's text, never a
// phone number):
//   400 INVALID_PHONE, INVALID_AMOUNT, INVALID_CURRENCY, INVALID_EXPIRY, INVALID_CODE, INVALID_INPUT
//   404 VOUCHER_NOT_FOUND
//   409 VOUCHER_NOT_ISSUED (already redeemed or voided; the message says which)
//   410 VOUCHER_EXPIRED (Gone: the voucher exists but can never be redeemed again; a 409 would
//       suggest a retry after some change could succeed)
//   403 NOT_OWNER (the caller's phone is not the holder's)
//
// The queries run as the service_role database role (db.asUser), as on Supabase, so the
// migration's grants are what the functions rely on.
//
// Policy from the environment, read on each call: VOUCHER_MAX_AMOUNT_MINOR (default 10000000),
// VOUCHER_CURRENCIES (default "RWF,USD,KES"), VOUCHER_TTL_DAYS (default 30).
import type { Claims, Db, Row, Tx } from "../platform/db.ts";
import { dbHttpError, HttpError } from "../platform/http.ts";
import { idempotent, type Stored } from "./idempotency.ts";
import {
  checkRedeem,
  checkVoid,
  generateVoucherCode,
  type IssueChecked,
  normalizePhone,
  validateIssue,
  validateVoucherCode,
  type VoucherPolicy,
} from "../platform/trimtab.ts";
import { env, envPositive } from "../platform/env.ts";

export interface Actor {
  actor: string;
  correlationId: string;
  /** Who exactly is calling (platform/auth.ts `Caller.identity`): scopes idempotency keys. */
  caller?: string;
}

export interface Customer {
  id: string;
  phone: string;
  displayName: string | null;
  vouchers: Voucher[];
}

export type VoucherStatus = "issued" | "redeemed" | "voided";

export interface Voucher {
  id: string;
  code: string;
  holderPhone: string;
  amountMinor: number;
  currency: string;
  status: VoucherStatus;
  expiresAt: string;
  createdAt: string;
  redeemedAt: string | null;
  voidedAt: string | null;
}

export interface CreateInput {
  phone: string;
  amount: number;
  currency: string;
  expiresAt?: string | null;
}

/** Idempotency-Key scope of ai-create-voucher. */
export const CREATE_SCOPE = "ai-create-voucher";

/** Vouchers listed per customer by lookupCustomer (newest first). */
export const LOOKUP_LIMIT = 50;

// ---------------------------------------------------------------- errors

const ERRORS: Record<string, [number, string]> = {
  INVALID_PHONE: [400, "phone must be an E.164 number: a plus sign, the country code and the number"],
  INVALID_AMOUNT: [400, "amount must be a positive whole number of minor units, at most the configured maximum"],
  INVALID_CURRENCY: [400, "currency must be one of the accepted ISO 4217 codes, in capitals"],
  INVALID_EXPIRY: [400, "expiresAt must be an RFC 3339 date-time in the future"],
  INVALID_CODE: [400, "this is not a valid voucher code (check it for a typo)"],
  VOUCHER_NOT_FOUND: [404, "no voucher has this code"],
  VOUCHER_NOT_ISSUED: [409, "the voucher has already been redeemed or voided"],
  VOUCHER_EXPIRED: [410, "the voucher has expired"],
  NOT_OWNER: [403, "the voucher belongs to another customer"],
};

/** The HttpError for a voucher error code (fixed message unless one is given). */
export function voucherError(code: keyof typeof ERRORS | string, message?: string): HttpError {
  const [status, text] = ERRORS[code] ?? [500, "internal error"];
  return new HttpError(status, ERRORS[code] ? code : "INTERNAL", message ?? text);
}

/** Rethrows a Wasm TrimtabError with a voucher code as its HttpError; anything else as it is. */
function rethrow(e: unknown): never {
  const code = (e as { code?: unknown })?.code;
  if (typeof code === "string" && code in ERRORS) throw voucherError(code);
  throw e;
}

// ---------------------------------------------------------------- policy and pure validation

/** The voucher policy from the environment (defaults: 10000000 minor units, RWF/USD/KES, 30 days). */
export function voucherPolicy(): VoucherPolicy {
  const currencies = (env("VOUCHER_CURRENCIES") ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  return {
    maxAmountMinor: envPositive("VOUCHER_MAX_AMOUNT_MINOR", { integer: true }),
    currencies,
    defaultTtlDays: envPositive("VOUCHER_TTL_DAYS", { integer: true }),
  };
}

/** E.164 form of a phone number (Wasm normalizePhone); 400 INVALID_PHONE. No database call. */
export function phoneOf(v: unknown): string {
  if (typeof v !== "string" || v.length === 0 || v.length > 64) throw voucherError("INVALID_PHONE");
  try {
    return normalizePhone(v);
  } catch (e) {
    rethrow(e);
  }
}

/** Canonical voucher code (Wasm validateVoucherCode: shape and check character); 400 INVALID_CODE. */
export function codeOf(v: unknown): string {
  if (typeof v !== "string" || v.length === 0 || v.length > 64) throw voucherError("INVALID_CODE");
  try {
    return validateVoucherCode(v);
  } catch (e) {
    rethrow(e);
  }
}

/** A void reason: optional, at most 1000 characters, trimmed; 400 INVALID_INPUT. */
export function reasonOf(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string" || v.length > 1000) {
    throw new HttpError(400, "INVALID_INPUT", "reason must be a string of at most 1000 characters");
  }
  return v.trim() || undefined;
}

/** What identifies an issue request for Idempotency-Key purposes: its validated, normalised
 *  fields (E.164 phone, amount, currency, the expiry asked for as an instant, or none). */
export function issueIdentity(input: CreateInput, checked: IssueChecked): Record<string, unknown> {
  const e = input.expiresAt;
  return {
    phone: checked.holderPhone,
    amountMinor: checked.amountMinor,
    currency: checked.currency,
    expiresAt: typeof e === "string" ? new Date(Date.parse(e)).toISOString() : null,
  };
}

/** Validates an issue request under the current policy (Wasm validateIssue). No database call. */
export function checkIssue(input: CreateInput, nowMs = Date.now()): IssueChecked {
  if (typeof input?.amount !== "number") throw voucherError("INVALID_AMOUNT", "amount must be a number (minor units)");
  if (typeof input.currency !== "string") throw voucherError("INVALID_CURRENCY");
  if (typeof input.phone !== "string" || input.phone.length > 64) throw voucherError("INVALID_PHONE");
  const e = input.expiresAt;
  if (e !== undefined && e !== null && (typeof e !== "string" || e.length > 64)) throw voucherError("INVALID_EXPIRY");
  const policy = voucherPolicy();
  try {
    return validateIssue(
      policy,
      { amount: input.amount, currency: input.currency, holderPhone: input.phone, expiresAt: e ?? null },
      nowMs,
    );
  } catch (err) {
    // Say what is accepted (the policy is not secret; the agent can correct itself).
    const code = (err as { code?: unknown })?.code;
    if (code === "INVALID_AMOUNT") {
      throw voucherError(code, `amount must be a whole number of minor units from 1 to ${policy.maxAmountMinor}`);
    }
    if (code === "INVALID_CURRENCY" && policy.currencies?.length) {
      throw voucherError(code, `currency must be one of ${policy.currencies.join(", ")}`);
    }
    rethrow(err);
  }
}

// ---------------------------------------------------------------- rows

const SERVICE: Claims = { role: "service_role" };

const iso = (v: unknown): string | null => {
  if (v === null || v === undefined) return null;
  const d = v instanceof Date ? v : new Date(String(v));
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
};

/** A vouchers row joined with the holder's phone (column `phone`) as a Voucher. */
export function toVoucher(r: Row): Voucher {
  return {
    id: String(r.id),
    code: String(r.code),
    holderPhone: String(r.phone),
    amountMinor: Number(r.amount_minor),
    currency: String(r.currency),
    status: String(r.status) as VoucherStatus,
    expiresAt: iso(r.expires_at)!,
    createdAt: iso(r.created_at)!,
    redeemedAt: iso(r.redeemed_at),
    voidedAt: iso(r.voided_at),
  };
}

/** One transaction as the service role, with the actor, correlation id and reason set for the
 *  voucher_events trigger. Database errors become generic HttpErrors. */
async function inTx<T>(db: Db, who: Actor | null, fn: (tx: Tx) => Promise<T>, reason?: string): Promise<T> {
  try {
    return await db.asUser(SERVICE, async (tx) => {
      if (who) {
        await tx.query(
          "select set_config('trimtab.actor', $1, true), set_config('trimtab.correlation_id', $2, true), set_config('trimtab.reason', $3, true)",
          [String(who.actor ?? "").slice(0, 200), String(who.correlationId ?? "").slice(0, 200), reason ?? ""],
        );
      }
      return await fn(tx);
    });
  } catch (e) {
    const mapped = dbHttpError(e);
    if (mapped) throw mapped;
    throw e;
  }
}

const SELECT_BY_CODE = `select v.*, p.phone, now() as db_now
  from trimtab.vouchers v join trimtab.customers p on p.id = v.customer_id
  where v.code = $1`;

/** Reads the voucher a conditional update missed and throws why (checkRedeem / checkVoid). */
async function explain(
  tx: Tx,
  code: string,
  check: (view: { status: string; holderPhone: string; expiresAt: string }, nowMs: number) => void,
): Promise<never> {
  const [r] = await tx.query<Row>(SELECT_BY_CODE, [code]);
  if (!r) throw voucherError("VOUCHER_NOT_FOUND");
  const v = toVoucher(r);
  const now = new Date(iso(r.db_now) ?? Date.now()).getTime();
  try {
    check({ status: v.status, holderPhone: v.holderPhone, expiresAt: v.expiresAt }, now);
  } catch (e) {
    const c = (e as { code?: unknown })?.code;
    if (c === "VOUCHER_NOT_ISSUED") throw voucherError(c, `the voucher has already been ${v.status}`);
    rethrow(e);
  }
  // The rules allow it, yet the update found nothing: it changed between the two statements
  // (or the clocks disagree at the expiry instant). Refuse; a retry sees the new state.
  throw voucherError("VOUCHER_NOT_ISSUED", "the voucher changed while this request ran; try again");
}

// ---------------------------------------------------------------- operations

/** The customer with this phone and their latest vouchers; null when there is none. */
export async function lookupCustomer(db: Db, phone: string): Promise<Customer | null> {
  const p = phoneOf(phone);
  return await inTx(db, null, async (tx) => {
    const [prof] = await tx.query<Row>("select id, phone, display_name from trimtab.customers where phone = $1", [p]);
    if (!prof) return null;
    const rows = await tx.query<Row>(
      `select v.*, $2::text as phone from trimtab.vouchers v where v.customer_id = $1
       order by v.created_at desc, v.id limit ${LOOKUP_LIMIT}`,
      [prof.id as string, String(prof.phone)],
    );
    return {
      id: String(prof.id),
      phone: String(prof.phone),
      displayName: (prof.display_name as string | null) ?? null,
      vouchers: rows.map(toVoucher),
    };
  });
}

/** Inserts a checked voucher (creating the holder's customer row when missing) in `tx`. */
async function insertVoucher(tx: Tx, c: IssueChecked): Promise<Voucher> {
  // Concurrent creates for a new phone: the second insert waits for the first and does nothing.
  await tx.query("insert into trimtab.customers (phone) values ($1) on conflict (phone) do nothing", [c.holderPhone]);
  const [prof] = await tx.query<Row>("select id, phone from trimtab.customers where phone = $1", [c.holderPhone]);
  if (!prof) throw new Error("customer missing after upsert");
  for (let attempt = 0; attempt < 5; attempt++) {
    const rows = await tx.query<Row>(
      `insert into trimtab.vouchers (code, customer_id, amount_minor, currency, expires_at)
       values ($1, $2, $3, $4, $5::timestamptz)
       on conflict (code) do nothing
       returning *, $6::text as phone`,
      [generateVoucherCode(), prof.id as string, c.amountMinor, c.currency, c.expiresAt, String(prof.phone)],
    );
    if (rows.length) return toVoucher(rows[0]);
  }
  throw new Error("could not generate an unused voucher code");
}

/** Issues a voucher (validated by the Wasm first; the holder's customer row is created if missing). */
export async function createVoucher(db: Db, input: CreateInput, who: Actor): Promise<Voucher> {
  const checked = checkIssue(input);
  return await inTx(db, who, (tx) => insertVoucher(tx, checked));
}

/**
 * createVoucher under an Idempotency-Key: the key row and the voucher are written in one
 * transaction, so the same caller with the same key and request gets the first answer
 * (`replayed: true`), another request is a 409 IDEMPOTENCY_KEY_REUSED, and concurrent requests
 * with one key create one voucher. Keys belong to their caller (`who.caller`): another caller's
 * same key is a new request. `hash` is requestHash(issueIdentity(input, checked)) (the request as
 * validated, so a phone written another way is the same request). Input is validated before the database.
 */
export async function createVoucherIdempotent(
  db: Db,
  input: CreateInput,
  who: Actor,
  idem: { key: string; hash: string },
): Promise<Stored> {
  const checked = checkIssue(input);
  return await inTx(
    db,
    who,
    (tx) =>
      idempotent(
        tx,
        { scope: CREATE_SCOPE, caller: who.caller ?? who.actor, key: idem.key, hash: idem.hash },
        async () => ({
          status: 201,
          body: { ok: true, voucher: await insertVoucher(tx, checked) },
        }),
      ),
  );
}

/** Redeems a voucher for its holder, atomically (exactly one of N concurrent calls succeeds). */
export async function redeemVoucher(db: Db, code: string, callerPhone: string, who: Actor): Promise<Voucher> {
  const c = codeOf(code);
  const phone = phoneOf(callerPhone);
  return await inTx(db, who, async (tx) => {
    const rows = await tx.query<Row>(
      `update trimtab.vouchers v set status = 'redeemed'
       from trimtab.customers p
       where v.code = $1 and v.status = 'issued' and v.expires_at > now()
         and p.id = v.customer_id and p.phone = $2
       returning v.*, p.phone`,
      [c, phone],
    );
    if (rows.length) return toVoucher(rows[0]);
    return await explain(tx, c, (view, now) => checkRedeem(view, phone, now));
  });
}

/** Voids an issued voucher, atomically; `reason` goes to its voucher_events row. */
export async function voidVoucher(db: Db, code: string, who: Actor, reason?: string): Promise<Voucher> {
  const c = codeOf(code);
  const why = reasonOf(reason);
  return await inTx(db, who, async (tx) => {
    const rows = await tx.query<Row>(
      `update trimtab.vouchers v set status = 'voided'
       from trimtab.customers p
       where v.code = $1 and v.status = 'issued' and p.id = v.customer_id
       returning v.*, p.phone`,
      [c],
    );
    if (rows.length) return toVoucher(rows[0]);
    return await explain(tx, c, (view) => checkVoid(view));
  }, why);
}
