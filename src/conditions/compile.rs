//! Compiling a condition `Value` into the [`Node`] tree, with error paths and the depth cap.

use super::fold::fold_str;
use super::js::{padded_version, truthy};
use super::regex::Regex;
use super::{decimal, Cmp, ConditionError, Node, Op, Path, SavedGroups, EQ, GT, LT, MAX_DEPTH, UNORDERED};
use crate::context::SlotTable;
use crate::value::Value;
use std::sync::Arc;

const TYPES: [&str; 7] = ["string", "number", "boolean", "object", "array", "null", "undefined"];

/// The relational operators: `===` for the first two, JS `<` for the next four, then their
/// version forms.
const RELATIONAL: [&str; 12] = [
    "$eq", "$ne", "$lt", "$lte", "$gt", "$gte", "$veq", "$vne", "$vlt", "$vlte", "$vgt", "$vgte",
];

/// The comparison outcomes each relational operator accepts, in [`RELATIONAL`] order.
const MASKS: [u8; 6] = [EQ, LT | GT | UNORDERED, LT, LT | EQ, GT, GT | EQ];

/// A non-empty object whose keys all start with `$`.
fn is_operator_object(v: &Value) -> bool {
    match v {
        Value::Object(members) => {
            !members.is_empty() && members.iter().all(|(k, _)| k.as_bytes().first() == Some(&b'$'))
        }
        _ => false,
    }
}

/// `true` when `v` nests deeper than `limit` (checked without recursion).
fn nests_deeper(v: &Value, limit: usize) -> bool {
    let mut stack = vec![(v, 1usize)];
    while let Some((v, d)) = stack.pop() {
        if d > limit {
            return true;
        }
        match v {
            Value::Array(items) => {
                for x in items {
                    stack.push((x, d + 1));
                }
            }
            Value::Object(members) => {
                for (_, x) in members {
                    stack.push((x, d + 1));
                }
            }
            _ => {}
        }
    }
    false
}

/// A segment of the JSON path inside the condition, kept for error messages.
#[derive(Clone, Copy)]
enum Seg<'v> {
    Key(&'v str),
    Index(usize),
}

/// Which [`ConditionError`] [`Compiler::fail`] makes.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Unknown,
    Bad,
    Regex,
    Deep,
}

/// Errors travel boxed, so that `?` moves a pointer.
type R<T> = Result<T, Box<ConditionError>>;

struct Compiler<'s, 'v> {
    slots: &'s mut SlotTable,
    groups: &'s SavedGroups,
    /// Where the compiler is; on error it is not unwound (compiling stops).
    path: Vec<Seg<'v>>,
    depth: usize,
}

impl<'v> Compiler<'_, 'v> {
    /// The error of `kind` at the current path; the text is the three parts joined.
    fn fail(&self, kind: Kind, parts: [&str; 3]) -> Box<ConditionError> {
        let mut path = String::new();
        for seg in &self.path {
            match *seg {
                Seg::Key(k) => {
                    if !path.is_empty() && k.as_bytes().first() != Some(&b'[') {
                        path.push('.');
                    }
                    path.push_str(k);
                }
                Seg::Index(i) => {
                    path.push('[');
                    path.push_str(&decimal(i));
                    path.push(']');
                }
            }
        }
        if path.is_empty() {
            path.push_str("<root>");
        }
        let mut text = String::new();
        for part in &parts {
            text.push_str(part);
        }
        Box::new(match kind {
            Kind::Unknown => ConditionError::UnknownOperator { path, op: text },
            Kind::Bad => ConditionError::BadOperand { path, message: text },
            Kind::Regex => ConditionError::BadRegex { path, message: text },
            Kind::Deep => ConditionError::TooDeep { path, limit: MAX_DEPTH },
        })
    }

    fn enter(&mut self) -> R<()> {
        if self.depth >= MAX_DEPTH {
            return Err(self.fail(Kind::Deep, ["", "", ""]));
        }
        self.depth += 1;
        Ok(())
    }

    fn condition(&mut self, cond: &'v Value, top: bool) -> R<Node> {
        let Value::Object(members) = cond else {
            return Err(self.fail(Kind::Bad, ["expected a condition object, found ", cond.type_name(), ""]));
        };
        self.enter()?;
        let mut nodes = Vec::new();
        for (key, value) in members {
            self.path.push(Seg::Key(key));
            let node = match key.as_str() {
                "$and" | "$or" | "$nor" => {
                    let Value::Array(items) = value else {
                        return Err(self.fail(
                            Kind::Bad,
                            [key, " needs an array of conditions, found ", value.type_name()],
                        ));
                    };
                    let mut list = Vec::new();
                    for (i, item) in items.iter().enumerate() {
                        self.path.push(Seg::Index(i));
                        list.push(self.condition(item, top)?);
                        self.path.pop();
                    }
                    match key.as_str() {
                        "$and" => Node::All(list),
                        k => Node::Any(list, k == "$nor"),
                    }
                }
                "$not" => Node::Any(vec![self.condition(value, top)?], true),
                _ => self.field(key, value, top)?,
            };
            self.path.pop();
            nodes.push(node);
        }
        self.depth -= 1;
        Ok(Node::All(nodes))
    }

    /// A dotted attribute path and its test. At top level the first segment becomes a slot.
    fn field(&mut self, key: &str, value: &'v Value, top: bool) -> R<Node> {
        let mut slot = None;
        let mut segments = Vec::new();
        let bytes = key.as_bytes();
        let mut start = 0;
        for i in 0..bytes.len() + 1 {
            if bytes.get(i).is_some_and(|b| *b != b'.') {
                continue;
            }
            let seg = key.get(start..i).unwrap_or_default();
            if top && slot.is_none() {
                slot = Some(self.slots.intern(seg));
            } else {
                segments.push(seg.to_owned());
            }
            start = i + 1;
        }
        Ok(Node::Field(Path { slot, segments }, self.test(value, false)?))
    }

    /// The tests of a condition value; `folded` makes a plain string compare ignoring case
    /// (`$alli` items).
    fn test(&mut self, v: &'v Value, folded: bool) -> R<Vec<Op>> {
        let op = match v {
            Value::String(s) if folded => Op::StrFolded(fold_str(s).into_owned()),
            Value::String(s) => Op::Str(s.clone()),
            Value::Number(n) => Op::Num(*n),
            Value::Bool(b) => Op::Bool(*b),
            Value::Null => Op::Exists(false),
            Value::Object(members) if is_operator_object(v) => {
                self.enter()?;
                let mut ops = Vec::new();
                for (name, arg) in members {
                    ops.push(self.op(name, arg)?);
                }
                self.depth -= 1;
                return Ok(ops);
            }
            other => {
                if nests_deeper(other, MAX_DEPTH - self.depth) {
                    return Err(self.fail(Kind::Deep, ["", "", ""]));
                }
                Op::Json(other.clone())
            }
        };
        Ok(vec![op])
    }

    fn op(&mut self, name: &'v str, arg: &'v Value) -> R<Op> {
        if let Some(i) = RELATIONAL.iter().position(|o| *o == name) {
            let mask = MASKS.get(i % 6).copied().unwrap_or(EQ);
            return Ok(match i {
                0 | 1 => Op::Cmp(Cmp::Strict, mask, arg.clone()),
                2..=5 => Op::Cmp(Cmp::Js, mask, arg.clone()),
                _ => Op::Cmp(Cmp::Version, mask, Value::String(padded_version(arg))),
            });
        }
        let message = match name {
            "$exists" => return Ok(Op::Exists(truthy(arg))),
            "$in" | "$nin" => return Ok(Op::In(arg.clone(), name == "$nin")),
            "$ini" | "$nini" => {
                return Ok(match arg {
                    Value::Array(items) => Op::InFolded(items.iter().map(folded).collect(), name == "$nini"),
                    _ => NEVER,
                })
            }
            "$inGroup" | "$notInGroup" => match arg {
                Value::String(id) => {
                    let values = match self.groups.get(id) {
                        Some(values) => Arc::clone(values),
                        None => Arc::new(Value::Array(Vec::new())),
                    };
                    return Ok(Op::Group(values, name == "$notInGroup"));
                }
                _ => " needs a saved group id (a string), found ",
            },
            "$regex" | "$regexi" => match arg {
                Value::String(pattern) => match Regex::new(pattern, name == "$regexi") {
                    Ok(re) => return Ok(Op::Regex(Box::new(re))),
                    Err(e) => {
                        let offset = decimal(e.offset);
                        return Err(self.fail(Kind::Regex, [e.message, " at offset ", &offset]));
                    }
                },
                _ => " needs a string pattern, found ",
            },
            "$type" => match TYPES.iter().find(|t| arg.as_str() == Some(**t)) {
                Some(t) => return Ok(Op::Type(t)),
                None => {
                    return Err(self.fail(
                        Kind::Bad,
                        [
                            "$type needs one of string, number, boolean, object, array, null, \
                             undefined",
                            "",
                            "",
                        ],
                    ))
                }
            },
            "$elemMatch" if !matches!(arg, Value::Object(_)) => " needs an object, found ",
            "$not" | "$size" | "$all" | "$alli" | "$elemMatch" => {
                self.path.push(Seg::Key(name));
                let op = match name {
                    "$not" => Op::Not(self.test(arg, false)?),
                    "$size" => Op::Size(self.test(arg, false)?),
                    "$all" | "$alli" => match arg {
                        Value::Array(items) => {
                            let mut tests = Vec::new();
                            for (i, item) in items.iter().enumerate() {
                                self.path.push(Seg::Index(i));
                                tests.push(self.test(item, name == "$alli")?);
                                self.path.pop();
                            }
                            Op::All(tests)
                        }
                        _ => NEVER,
                    },
                    // An operator object tests the element itself: a field with an empty path.
                    _ => Op::Elem(Box::new(if is_operator_object(arg) {
                        let elem = Path {
                            slot: None,
                            segments: Vec::new(),
                        };
                        Node::Field(elem, self.test(arg, false)?)
                    } else {
                        self.condition(arg, false)?
                    })),
                };
                self.path.pop();
                return Ok(op);
            }
            _ => return Err(self.fail(Kind::Unknown, [name, "", ""])),
        };
        Err(self.fail(Kind::Bad, [name, message, arg.type_name()]))
    }
}

/// A test that never passes (`$in` with a non-array list).
const NEVER: Op = Op::In(Value::Null, false);

/// A `$ini` list item: strings folded, other values as they are.
fn folded(v: &Value) -> Value {
    match v {
        Value::String(s) => Value::String(fold_str(s).into_owned()),
        other => other.clone(),
    }
}

/// Compiles a top-level condition object, interning attribute names into `slots`.
pub(super) fn compile(cond: &Value, slots: &mut SlotTable, groups: &SavedGroups) -> Result<Node, ConditionError> {
    Compiler {
        slots,
        groups,
        path: Vec::new(),
        depth: 0,
    }
    .condition(cond, true)
    .map_err(|e| *e)
}
