//! Compiling a condition `Value` into the [`Node`] tree, with error paths and the depth cap.

use super::js::{padded_version, truthy};
use super::regex::Regex;
use super::{ConditionError, Node, Op, Path, Rel, Test, MAX_DEPTH};
use crate::context::SlotTable;
use crate::value::Value;

const TYPES: [&str; 7] = [
    "string",
    "number",
    "boolean",
    "object",
    "array",
    "null",
    "undefined",
];

fn is_operator_object(members: &[(String, Value)]) -> bool {
    !members.is_empty() && members.iter().all(|(k, _)| k.starts_with('$'))
}

/// `true` when `v` nests deeper than `limit` (checked without recursion).
fn nests_deeper(v: &Value, limit: usize) -> bool {
    let mut stack = vec![(v, 1usize)];
    while let Some((v, d)) = stack.pop() {
        if d > limit {
            return true;
        }
        match v {
            Value::Array(items) => stack.extend(items.iter().map(|x| (x, d + 1))),
            Value::Object(members) => stack.extend(members.iter().map(|(_, x)| (x, d + 1))),
            _ => {}
        }
    }
    false
}

struct Compiler<'s> {
    slots: &'s mut SlotTable,
    path: Vec<String>,
    depth: usize,
}

impl Compiler<'_> {
    fn path(&self) -> String {
        let mut out = String::new();
        for seg in &self.path {
            if !out.is_empty() && !seg.starts_with('[') {
                out.push('.');
            }
            out.push_str(seg);
        }
        if out.is_empty() {
            out.push_str("<root>");
        }
        out
    }

    fn bad(&self, message: String) -> ConditionError {
        ConditionError::BadOperand {
            path: self.path(),
            message,
        }
    }

    fn enter(&mut self) -> Result<(), ConditionError> {
        if self.depth >= MAX_DEPTH {
            return Err(ConditionError::TooDeep {
                path: self.path(),
                limit: MAX_DEPTH,
            });
        }
        self.depth += 1;
        Ok(())
    }

    /// Runs `f` with `seg` appended to the error path.
    fn at<T>(
        &mut self,
        seg: String,
        f: impl FnOnce(&mut Self) -> Result<T, ConditionError>,
    ) -> Result<T, ConditionError> {
        self.path.push(seg);
        let out = f(self)?;
        self.path.pop();
        Ok(out)
    }

    fn condition(&mut self, cond: &Value, top: bool) -> Result<Node, ConditionError> {
        let Value::Object(members) = cond else {
            return Err(self.bad(format!(
                "expected a condition object, found {}",
                cond.type_name()
            )));
        };
        self.enter()?;
        let mut nodes = Vec::with_capacity(members.len());
        for (key, value) in members {
            let node = self.at(key.clone(), |cx| cx.entry(key, value, top))?;
            nodes.push(node);
        }
        self.depth -= 1;
        Ok(if nodes.len() == 1 {
            nodes.pop().unwrap_or(Node::All(Vec::new()))
        } else {
            Node::All(nodes)
        })
    }

    fn entry(&mut self, key: &str, value: &Value, top: bool) -> Result<Node, ConditionError> {
        match key {
            "$and" | "$or" | "$nor" => {
                let Value::Array(items) = value else {
                    return Err(self.bad(format!(
                        "{key} needs an array of conditions, found {}",
                        value.type_name()
                    )));
                };
                let mut list = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    list.push(self.at(format!("[{i}]"), |cx| cx.condition(item, top))?);
                }
                Ok(match key {
                    "$and" => Node::All(list),
                    "$or" => Node::Or(list),
                    _ => Node::Nor(list),
                })
            }
            "$not" => Ok(Node::Not(Box::new(self.condition(value, top)?))),
            _ => {
                let mut segments: Vec<String> = key.split('.').map(str::to_owned).collect();
                let slot = if top && !segments.is_empty() {
                    Some(self.slots.intern(&segments.remove(0)))
                } else {
                    None
                };
                Ok(Node::Field(Path { slot, segments }, self.test(value)?))
            }
        }
    }

    fn test(&mut self, v: &Value) -> Result<Test, ConditionError> {
        Ok(match v {
            Value::String(s) => Test::Str(s.clone()),
            Value::Number(n) => Test::Num(*n),
            Value::Bool(b) => Test::Bool(*b),
            Value::Null => Test::Null,
            Value::Object(members) if is_operator_object(members) => {
                self.enter()?;
                let mut ops = Vec::with_capacity(members.len());
                for (name, arg) in members {
                    ops.push(self.op(name, arg)?);
                }
                self.depth -= 1;
                Test::Ops(ops)
            }
            other if nests_deeper(other, MAX_DEPTH - self.depth) => {
                return Err(ConditionError::TooDeep {
                    path: self.path(),
                    limit: MAX_DEPTH,
                })
            }
            other => Test::Json(other.clone()),
        })
    }

    fn op(&mut self, name: &str, arg: &Value) -> Result<Op, ConditionError> {
        let version = |rel| Ok(Op::Version(rel, padded_version(arg)));
        match name {
            "$veq" => version(Rel::Eq),
            "$vne" => version(Rel::Ne),
            "$vgt" => version(Rel::Gt),
            "$vgte" => version(Rel::Gte),
            "$vlt" => version(Rel::Lt),
            "$vlte" => version(Rel::Lte),
            "$eq" => Ok(Op::Eq(arg.clone())),
            "$ne" => Ok(Op::Ne(arg.clone())),
            "$gt" => Ok(Op::Cmp(Rel::Gt, arg.clone())),
            "$gte" => Ok(Op::Cmp(Rel::Gte, arg.clone())),
            "$lt" => Ok(Op::Cmp(Rel::Lt, arg.clone())),
            "$lte" => Ok(Op::Cmp(Rel::Lte, arg.clone())),
            "$exists" => Ok(Op::Exists(truthy(arg))),
            "$in" | "$nin" => Ok(match arg {
                Value::Array(items) if name == "$in" => Op::In(items.clone()),
                Value::Array(items) => Op::Nin(items.clone()),
                _ => Op::Never,
            }),
            "$all" => match arg {
                Value::Array(items) => self.at(name.into(), |cx| {
                    let mut tests = Vec::with_capacity(items.len());
                    for (i, item) in items.iter().enumerate() {
                        tests.push(cx.at(format!("[{i}]"), |cx| cx.test(item))?);
                    }
                    Ok(Op::All(tests))
                }),
                _ => Ok(Op::Never),
            },
            "$not" => self.at(name.into(), |cx| Ok(Op::Not(Box::new(cx.test(arg)?)))),
            "$size" => self.at(name.into(), |cx| Ok(Op::Size(Box::new(cx.test(arg)?)))),
            "$elemMatch" => match arg {
                Value::Object(members) if is_operator_object(members) => {
                    self.at(name.into(), |cx| Ok(Op::ElemTest(Box::new(cx.test(arg)?))))
                }
                Value::Object(_) => self.at(name.into(), |cx| {
                    Ok(Op::ElemCond(Box::new(cx.condition(arg, false)?)))
                }),
                other => Err(self.bad(format!(
                    "$elemMatch needs an object, found {}",
                    other.type_name()
                ))),
            },
            "$regex" => match arg {
                Value::String(pattern) => match Regex::new(pattern) {
                    Ok(re) => Ok(Op::Regex(Box::new(re))),
                    Err(e) => Err(ConditionError::BadRegex {
                        path: self.path(),
                        message: e.to_string(),
                    }),
                },
                other => Err(self.bad(format!(
                    "$regex needs a string pattern, found {}",
                    other.type_name()
                ))),
            },
            "$type" => match TYPES.iter().find(|t| arg.as_str() == Some(**t)) {
                Some(t) => Ok(Op::Type(t)),
                None => Err(self.bad(format!("$type needs one of {}", TYPES.join(", ")))),
            },
            "$inGroup" | "$notInGroup" => Err(ConditionError::Unsupported {
                path: self.path(),
                op: name.into(),
            }),
            _ => Err(ConditionError::UnknownOperator {
                path: self.path(),
                op: name.into(),
            }),
        }
    }
}

/// Compiles a top-level condition object, interning attribute names into `slots`.
pub(super) fn compile(cond: &Value, slots: &mut SlotTable) -> Result<Node, ConditionError> {
    Compiler {
        slots,
        path: Vec::new(),
        depth: 0,
    }
    .condition(cond, true)
}
