//! Targeting conditions in GrowthBook's MongoDB-style syntax, compiled once and evaluated against
//! attribute slots.
//!
//! The semantics follow GrowthBook's `evalCondition` (JS SDK, `mongrule.ts`), including its
//! JavaScript type coercions, and are checked against GrowthBook's published `evalCondition` test
//! cases (`tests/vectors/conditions.json`, specVersion 0.8.0):
//!
//! * A condition object passes when every entry passes. `$and`, `$or` (an empty list passes),
//!   `$nor` (an empty list fails, as in GrowthBook) and `$not` combine conditions; every other key
//!   is a dotted attribute path (`"father.age"`, also `"$groups"`). Paths walk objects, array
//!   indices and an array's `length`; a missing attribute is `null`, as GrowthBook's `getPath`.
//! * A plain string, number or boolean compares after JS coercion (`String(v)`, `v * 1`, and
//!   non-null truthiness), `null` matches null or missing, and an array or a non-operator object
//!   matches when `JSON.stringify` of both is equal (key order matters).
//! * An object whose keys all start with `$` is a list of operators, all of which must pass:
//!   `$eq $ne` (JS `===`), `$gt $gte $lt $lte` (JS relational comparison: strings compare as
//!   strings, anything else as numbers), `$exists`, `$in $nin` (an array attribute matches when
//!   any element is in the list; a non-array list never matches), `$all`, `$size`, `$elemMatch`
//!   (elements must be truthy, as in GrowthBook), `$not`, `$type`, `$regex` (tested against
//!   `String(v)`), `$veq $vne $vgt $vgte $vlt $vlte` (GrowthBook's `paddedVersionString`), the
//!   case-insensitive `$ini $nini $alli $regexi`, and `$inGroup $notInGroup` (membership in a
//!   saved group of the snapshot, see [`SavedGroups`]; an unknown group id is an empty group, as
//!   in GrowthBook).
//! * Case-insensitive operators compare strings after folding their characters with the rule in
//!   `fold.rs` (Unicode simple lowercase mapping for Latin, Greek, Cyrillic and Armenian letters;
//!   other characters compare exactly). `$ini`/`$nini` fold string values and string list items
//!   (other values compare with `===`), `$alli` folds its plain string tests (`String(v)` against
//!   the item), `$regexi` is `$regex` with the `i` flag.
//!
//! # Deviations from GrowthBook
//!
//! GrowthBook evaluates a malformed condition to `false` (or to whatever JS makes of it); here it
//! is a [`ConditionError`] when compiled, so a bad snapshot is reported instead of silently
//! excluding everyone. This covers unknown operators (GrowthBook's `$notRegex` included),
//! invalid regular expressions, `$and`/`$or`/`$nor` without an array of objects, `$not` at
//! condition level without an object, `$elemMatch` without an object, `$regex`/`$regexi` without
//! a string, `$inGroup`/`$notInGroup` without a group id string, `$type` without a known type
//! name, and nesting deeper than [`MAX_DEPTH`]. The conformance vectors mark the GrowthBook cases
//! this affects with `"compileError": true`.
//! `$regex` uses the small engine in `regex.rs`: lookaround and backreferences are rejected,
//! and characters are matched by Unicode scalar value rather than UTF-16 unit. Paths do not see
//! JS prototype properties.
//!
//! # Cost and limits
//!
//! Every compiled condition has a [`Cost`] (`cost.rs`): a bound on the work one evaluation does,
//! in steps, which flags and snapshots add up against their budgets. A regex test beyond the
//! matcher's limits (a text over [`MAX_TEXT`] bytes, or more states than the condition's cost
//! allows) is not answered: evaluation is three-valued (`eval.rs`), and a condition whose answer
//! depends on such a test evaluates to a [`MatchLimit`] error, never to a match, through
//! `$not` and `$nor` too.

mod compile;
mod cost;
mod eval;
mod fold;
mod groups;
mod js;
mod regex;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_case;

pub use self::cost::Cost;
pub use self::groups::{SavedGroups, MAX_GROUPS, MAX_GROUP_ID_LEN, MAX_GROUP_VALUES};
use self::regex::Regex;
pub use self::regex::{MatchLimit, MAX_INSTS as MAX_REGEX_PROGRAM, MAX_TEXT};
use crate::context::SlotTable;
use crate::error::ErrorCode;
use crate::value::Value;
use core::fmt;
use std::sync::Arc;

/// Deepest nesting of condition objects, operator objects and literal values a condition may have.
pub const MAX_DEPTH: usize = 32;

/// Errors compiling a condition. Every `path` is the JSON path inside the condition
/// (`$and[1].country`), or `<root>` for the condition itself.
#[derive(Debug, Clone, PartialEq)]
pub enum ConditionError {
    /// An operator GrowthBook does not define (GrowthBook evaluates it to `false`).
    UnknownOperator {
        /// Where the operator object is.
        path: String,
        /// The operator, e.g. `$regx`.
        op: String,
    },
    /// An operand of the wrong shape, e.g. `$and` without an array.
    BadOperand {
        /// Where the operand is.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A `$regex` or `$regexi` pattern that does not parse or uses unsupported syntax.
    BadRegex {
        /// Where the operator object is.
        path: String,
        /// What is wrong, with the offset in the pattern.
        message: String,
    },
    /// Nesting deeper than [`MAX_DEPTH`].
    TooDeep {
        /// Where the limit was crossed.
        path: String,
        /// The limit.
        limit: usize,
    },
    /// A snapshot's `savedGroups` that is not an object of arrays of strings and numbers within
    /// the limits.
    SavedGroup {
        /// Where inside `savedGroups` (`""`, `.id` or `.id[3]`).
        path: String,
        /// What is wrong.
        message: String,
    },
}

impl ErrorCode for ConditionError {
    fn code(&self) -> &'static str {
        "INVALID_CONDITION"
    }
}

// Messages are assembled from string pieces (no `write!`): this keeps formatting machinery and
// per-type instances out of the Wasm module.
impl fmt::Display for ConditionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let limit;
        let (path, parts): (&str, [&str; 3]) = match self {
            ConditionError::UnknownOperator { path, op } => (path, [": unknown operator ", op, ""]),
            ConditionError::BadOperand { path, message } => (path, [": ", message, ""]),
            ConditionError::BadRegex { path, message } => (path, [": invalid regular expression: ", message, ""]),
            ConditionError::TooDeep { path, limit: n } => {
                limit = decimal(*n);
                (path, [": condition nested deeper than ", &limit, " levels"])
            }
            ConditionError::SavedGroup { path, message } => {
                f.write_str("savedGroups")?;
                (path, [": ", message, ""])
            }
        };
        let mut text = String::from(path);
        for part in &parts {
            text.push_str(part);
        }
        f.write_str(&text)
    }
}

impl std::error::Error for ConditionError {}

/// `n` in decimal (a tiny stand-in for `n.to_string()`).
fn decimal(n: usize) -> String {
    let mut out = String::new();
    push_decimal(&mut out, n);
    out
}

/// Recursion depth is the number of digits.
fn push_decimal(out: &mut String, n: usize) {
    if n >= 10 {
        push_decimal(out, n / 10);
    }
    out.push(char::from(b'0' + (n % 10) as u8));
}

/// A compiled condition.
#[derive(Debug, Clone)]
pub struct Condition {
    root: Node,
    cost: Cost,
}

#[derive(Debug, Clone)]
enum Node {
    /// Every node passes (`$and`, and a condition object's entries).
    All(Vec<Node>),
    /// The list is empty or some node passes, negated when the flag is set (`$or`; `$nor`, and
    /// `$not` as a one-element `$nor`).
    Any(Vec<Node>, bool),
    /// The value at a path passes every operation.
    Field(Path, Vec<Op>),
}

/// An attribute path: a slot and the segments below it at top level, or (inside `$elemMatch`)
/// every segment relative to the array element.
#[derive(Debug, Clone)]
struct Path {
    slot: Option<usize>,
    segments: Vec<String>,
}

/// How a relational operation orders the value against its operand.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Cmp {
    /// `===` (`$eq`, `$ne`): equal or unordered.
    Strict,
    /// JS `<` and friends (`$gt`, `$gte`, `$lt`, `$lte`).
    Js,
    /// Padded version strings (`$veq` ... `$vlte`); the operand is already padded.
    Version,
}

/// Bits of [`Op::Cmp`]'s outcome mask: less, equal, greater, unordered.
const LT: u8 = 1;
const EQ: u8 = 2;
const GT: u8 = 4;
const UNORDERED: u8 = 8;

/// One test of a value; a list of them passes when all do.
#[derive(Debug, Clone)]
enum Op {
    /// `String(v) === s` (a plain string condition).
    Str(String),
    /// `v * 1 === n` (a plain number condition).
    Num(f64),
    /// `v !== null && !!v === b` (a plain boolean condition).
    Bool(bool),
    /// `$exists` (and a plain `null` condition as `Exists(false)`).
    Exists(bool),
    /// `JSON.stringify` equality with an array or non-operator object.
    Json(Value),
    /// The outcome of comparing the value with the operand is in the mask.
    Cmp(Cmp, u8, Value),
    /// `$in` (or `$nin` when negated) with the operand; a non-array operand never passes.
    In(Value, bool),
    /// `$ini` (or `$nini` when negated): `$in` after folding strings; list strings are folded.
    InFolded(Vec<Value>, bool),
    /// `$inGroup` (or `$notInGroup` when negated): `$in` with a saved group's values (an array;
    /// an unknown group is an empty array).
    Group(Arc<Value>, bool),
    /// `fold(String(v)) === s` (a plain string test inside `$alli`; `s` is folded).
    StrFolded(String),
    Not(Vec<Op>),
    Size(Vec<Op>),
    /// `$elemMatch`: some truthy element passes the node, resolved against the element.
    Elem(Box<Node>),
    /// `$all`: each test passes for some element.
    All(Vec<Vec<Op>>),
    Regex(Box<Regex>),
    Type(&'static str),
}

impl Condition {
    /// Compiles a condition object without saved groups (every `$inGroup` group is empty).
    /// Attribute names (first segment of a dotted path like "user.plan") are interned into
    /// `slots`; on error, names met before it stay interned.
    pub fn compile(cond: &Value, slots: &mut SlotTable) -> Result<Condition, ConditionError> {
        Self::compile_with_groups(cond, slots, &SavedGroups::default())
    }

    /// Compiles a condition object whose `$inGroup` / `$notInGroup` operators name `groups`
    /// (a group id not in `groups` is empty: `$inGroup` fails, `$notInGroup` passes).
    pub fn compile_with_groups(
        cond: &Value,
        slots: &mut SlotTable,
        groups: &SavedGroups,
    ) -> Result<Condition, ConditionError> {
        let root = compile::compile(cond, slots, groups)?;
        let cost = cost::node(&root);
        Ok(Condition { root, cost })
    }

    /// The condition's cost (see [`Cost`]).
    pub fn cost(&self) -> Cost {
        self.cost
    }

    /// Evaluates against attribute values indexed by slot (None = attribute missing/undefined).
    /// `Err` when the answer depends on a regex test beyond the matcher's limits: a text over
    /// [`MAX_TEXT`] bytes, or tests (of array elements) visiting more states than the
    /// condition's cost allows. Never panics; a slot index out of range counts as missing.
    pub fn eval(&self, attrs: &[Option<Value>]) -> Result<bool, MatchLimit> {
        eval::eval(&self.root, attrs, self.cost.regex)
    }
}
