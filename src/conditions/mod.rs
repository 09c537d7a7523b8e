//! Targeting conditions in GrowthBook's MongoDB-style syntax, compiled once and evaluated against
//! attribute slots.
//!
//! The semantics follow GrowthBook's `evalCondition` (JS SDK, `mongrule.ts`), including its
//! JavaScript type coercions, and are checked against GrowthBook's published `evalCondition` test
//! cases (`tests/vectors/conditions.json`):
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
//!   `String(v)`), and `$veq $vne $vgt $vgte $vlt $vlte` (GrowthBook's `paddedVersionString`).
//!
//! # Deviations from GrowthBook
//!
//! GrowthBook evaluates a malformed condition to `false` (or to whatever JS makes of it); here it
//! is a [`ConditionError`] when compiled, so a bad snapshot is reported instead of silently
//! excluding everyone. This covers unknown operators (including GrowthBook's newer `$regexi`,
//! `$notRegex`, `$ini`, `$nini` and `$alli`), invalid regular expressions, `$inGroup` and
//! `$notInGroup` (there are no saved groups), `$and`/`$or`/`$nor` without an array of objects,
//! `$not` at condition level without an object, `$elemMatch` without an object, `$regex` without
//! a string, `$type` without a known type name, and nesting deeper than [`MAX_DEPTH`]. The
//! conformance vectors mark the GrowthBook cases this affects with `"compileError": true`.
//! `$regex` uses the small engine in `regex.rs`: lookaround and backreferences are rejected,
//! characters are matched by Unicode scalar value rather than UTF-16 unit, and a match that
//! exceeds its step budget counts as no match. Paths do not see JS prototype properties.

mod compile;
mod eval;
mod js;
mod regex;
#[cfg(test)]
mod tests;

use self::regex::Regex;
use crate::context::SlotTable;
use crate::error::ErrorCode;
use crate::value::Value;
use core::cmp::Ordering;
use core::fmt;

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
    /// A GrowthBook operator this engine does not support (`$inGroup`, `$notInGroup`).
    Unsupported {
        /// Where the operator object is.
        path: String,
        /// The operator.
        op: String,
    },
    /// An operand of the wrong shape, e.g. `$and` without an array.
    BadOperand {
        /// Where the operand is.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A `$regex` pattern that does not parse or uses unsupported syntax.
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
}

impl ErrorCode for ConditionError {
    fn code(&self) -> &'static str {
        "INVALID_CONDITION"
    }
}

impl fmt::Display for ConditionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConditionError::UnknownOperator { path, op } => {
                write!(f, "{path}: unknown operator {op}")
            }
            ConditionError::Unsupported { path, op } => {
                write!(
                    f,
                    "{path}: operator {op} is not supported (no saved groups)"
                )
            }
            ConditionError::BadOperand { path, message } => write!(f, "{path}: {message}"),
            ConditionError::BadRegex { path, message } => {
                write!(f, "{path}: invalid $regex: {message}")
            }
            ConditionError::TooDeep { path, limit } => {
                write!(f, "{path}: condition nested deeper than {limit} levels")
            }
        }
    }
}

impl std::error::Error for ConditionError {}

/// A compiled condition.
#[derive(Debug, Clone)]
pub struct Condition {
    root: Node,
}

#[derive(Debug, Clone)]
enum Node {
    All(Vec<Node>),
    Or(Vec<Node>),
    Nor(Vec<Node>),
    Not(Box<Node>),
    Field(Path, Test),
}

/// An attribute path: a slot and the segments below it at top level, or (inside `$elemMatch`)
/// every segment relative to the array element.
#[derive(Debug, Clone)]
struct Path {
    slot: Option<usize>,
    segments: Vec<String>,
}

#[derive(Debug, Clone)]
enum Test {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
    Json(Value),
    Ops(Vec<Op>),
}

#[derive(Debug, Clone, Copy)]
enum Rel {
    Eq,
    Ne,
    Lt,
    Lte,
    Gt,
    Gte,
}

impl Rel {
    fn holds(self, o: Option<Ordering>) -> bool {
        use Ordering::{Equal, Greater, Less};
        match self {
            Rel::Eq => o == Some(Equal),
            Rel::Ne => o != Some(Equal),
            Rel::Lt => o == Some(Less),
            Rel::Lte => matches!(o, Some(Less | Equal)),
            Rel::Gt => o == Some(Greater),
            Rel::Gte => matches!(o, Some(Greater | Equal)),
        }
    }
}

#[derive(Debug, Clone)]
enum Op {
    Version(Rel, String),
    Eq(Value),
    Ne(Value),
    Cmp(Rel, Value),
    Exists(bool),
    In(Vec<Value>),
    Nin(Vec<Value>),
    Never,
    Not(Box<Test>),
    Size(Box<Test>),
    ElemTest(Box<Test>),
    ElemCond(Box<Node>),
    All(Vec<Test>),
    Regex(Box<Regex>),
    Type(&'static str),
}

impl Condition {
    /// Compiles a condition object. Attribute names (first segment of a dotted path like
    /// "user.plan") are interned into `slots`; on error, names met before it stay interned.
    pub fn compile(cond: &Value, slots: &mut SlotTable) -> Result<Condition, ConditionError> {
        Ok(Condition {
            root: compile::compile(cond, slots)?,
        })
    }

    /// Evaluates against attribute values indexed by slot (None = attribute missing/undefined).
    /// Never panics; a slot index out of range counts as missing.
    pub fn eval(&self, attrs: &[Option<Value>]) -> bool {
        eval::eval(&self.root, attrs)
    }
}
