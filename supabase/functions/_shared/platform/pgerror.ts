//! Database errors as answers. A Postgres error reaches a client only as a status and a stable
//! code with a fixed message: never the database's text, constraint names or SQL. Input that got
//! past validation and still upset the database is the caller's (4xx); a database that is down,
//! timed out or was given up on is ours (503, retry later); anything else is not mapped (the
//! caller rethrows: a 500 INTERNAL that leaks nothing).
//!
//! SQLSTATE classes (PostgreSQL, Appendix A):
//! - 22 data exception (22021 a NUL or an invalid character, 22P05 `\u0000` in jsonb, 22P02 bad
//!   text representation, 22003 out of range, 2201B bad regular expression, ...) and 23514 / 23502
//!   (check, not null): 400 INVALID_INPUT
//! - 54 program limit exceeded (54001 stack depth: JSON nested too deep; 54000, 54011, 54023):
//!   400 INPUT_TOO_COMPLEX
//! - 23505 unique: 409 (the caller's code, CONFLICT by default); 23503 foreign key: 404 or the
//!   caller's code
//! - 42501 insufficient privilege: 403 FORBIDDEN
//! - 08 connection, 53 insufficient resources, 57014 statement timeout, 57P01-57P03 shutdown,
//!   40001 / 40P01 serialization and deadlock, and the embedded database's DB_TIMEOUT, DB_BROKEN,
//!   DB_CLOSED: 503 DB_UNAVAILABLE (with retry-after)

/** What to answer for a database error. */
export interface PgAnswer {
  status: number;
  code: string;
  message: string;
  headers?: Record<string, string>;
}

/** Codes the caller may name for the constraint errors it expects. */
export interface PgExpected {
  /** 23505 (unique). */
  conflict?: { code: string; message: string };
  /** 23503 (foreign key). */
  foreignKey?: { status: number; code: string; message: string };
}

const SQLSTATE = /^[0-9A-Z]{5}$/;
const OURS = new Set(["DB_TIMEOUT", "DB_BROKEN", "DB_CLOSED"]);

/** The error's SQLSTATE (or the embedded database's own code), else null. */
export function sqlState(e: unknown): string | null {
  const code = (e as { code?: unknown })?.code;
  return typeof code === "string" && (SQLSTATE.test(code) || OURS.has(code)) ? code : null;
}

/** The answer for a database error, or null when it is not one to map (see the module comment). */
export function pgAnswer(e: unknown, expected: PgExpected = {}): PgAnswer | null {
  const code = sqlState(e);
  if (code === null) return null;
  if (code === "23505") return { status: 409, ...(expected.conflict ?? CONFLICT) };
  if (code === "23503") {
    return expected.foreignKey ?? { status: 404, code: "NOT_FOUND", message: "a referenced row does not exist" };
  }
  if (code === "23514" || code === "23502" || code.startsWith("22")) {
    return { status: 400, code: "INVALID_INPUT", message: "a value is out of range or has the wrong form" };
  }
  if (code.startsWith("54")) {
    return { status: 400, code: "INPUT_TOO_COMPLEX", message: "the input is too deeply nested or too large to store" };
  }
  if (code === "42501") return { status: 403, code: "FORBIDDEN", message: "not allowed" };
  if (
    OURS.has(code) || code.startsWith("08") || code.startsWith("53") || code === "57014" ||
    /^57P0[1-3]$/.test(code) || code === "40001" || code === "40P01"
  ) {
    return {
      status: 503,
      code: "DB_UNAVAILABLE",
      message: "the database is unavailable or too slow; try again",
      headers: { "retry-after": "1" },
    };
  }
  return null;
}

const CONFLICT = { code: "CONFLICT", message: "conflicts with an existing row" };
