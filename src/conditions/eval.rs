//! Evaluating a compiled [`Node`] tree against attribute slots (never panics; recursion is
//! bounded by the compile-time depth cap, never by attribute data).

use super::fold::fold_str;
use super::js::{compare_version, is_in, js_compare, json_eq, strict_eq, to_js_string, to_number, truthy};
use super::{Cmp, Node, Op, Path, MAX_DEPTH, UNORDERED};
use crate::value::Value;
use core::mem::ManuallyDrop;

static NULL: Value = Value::Null;

/// A canonical array index (`"0"`, `"12"`, not `"01"`).
fn array_index(seg: &str) -> Option<usize> {
    let b = seg.as_bytes();
    if b.is_empty() || (b.len() > 1 && b.first() == Some(&b'0')) {
        return None;
    }
    let mut n: usize = 0;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(usize::from(c - b'0'))?;
    }
    Some(n)
}

/// The value at `path` (GrowthBook's `getPath`): from a slot at top level, else from `elem`.
/// `Err` carries the `length` of an array.
fn resolve<'a>(path: &Path, attrs: &'a [Option<Value>], elem: &'a Value) -> Result<&'a Value, usize> {
    let mut cur = match path.slot {
        Some(i) => match attrs.get(i) {
            Some(Some(v)) => v,
            _ => return Ok(&NULL),
        },
        None => elem,
    };
    let mut segments = path.segments.iter();
    while let Some(seg) = segments.next() {
        let next = match cur {
            Value::Object(members) => members.iter().find(|(k, _)| k == seg).map(|(_, v)| v),
            Value::Array(items) if seg == "length" => {
                return match segments.next() {
                    None => Err(items.len()),
                    Some(_) => Ok(&NULL),
                };
            }
            Value::Array(items) => array_index(seg).and_then(|i| items.get(i)),
            _ => None,
        };
        match next {
            Some(v) => cur = v,
            None => return Ok(&NULL),
        }
    }
    Ok(cur)
}

fn eval_node(node: &Node, attrs: &[Option<Value>], elem: &Value) -> bool {
    match node {
        Node::All(nodes) => nodes.iter().all(|n| eval_node(n, attrs, elem)),
        Node::Any(nodes, negated) => (nodes.is_empty() || nodes.iter().any(|n| eval_node(n, attrs, elem))) != *negated,
        Node::Field(path, ops) => match resolve(path, attrs, elem) {
            Ok(v) => eval_ops(ops, v),
            Err(len) => eval_len(ops, len),
        },
    }
}

/// Tests a length (no drop glue runs for the temporary number).
fn eval_len(ops: &[Op], len: usize) -> bool {
    eval_ops(ops, &ManuallyDrop::new(Value::Number(len as f64)))
}

fn eval_ops(ops: &[Op], v: &Value) -> bool {
    ops.iter().all(|op| eval_op(op, v))
}

#[inline(never)]
fn eval_op(op: &Op, v: &Value) -> bool {
    let array = || match v {
        Value::Array(items) => Some(items.as_slice()),
        _ => None,
    };
    match op {
        Op::Str(s) => match v {
            Value::String(x) => x == s,
            _ => *to_js_string(v) == **s,
        },
        Op::Num(n) => to_number(v) == *n,
        Op::Bool(b) => !v.is_null() && truthy(v) == *b,
        Op::Exists(want) => v.is_null() != *want,
        Op::Json(lit) => json_eq(v, lit, MAX_DEPTH + 1),
        Op::Cmp(how, mask, x) => {
            let ord = match how {
                Cmp::Strict => strict_eq(v, x).then_some(core::cmp::Ordering::Equal),
                Cmp::Js => js_compare(v, x),
                Cmp::Version => Some(compare_version(v, x.as_str().unwrap_or_default())),
            };
            // Less, Equal, Greater are -1, 0, 1: bits LT, EQ, GT.
            let bit: u8 = ord.map_or(UNORDERED, |o| 1 << (o as i8 + 1));
            mask & bit != 0
        }
        Op::In(Value::Array(list), negated) => is_in(v, list) != *negated,
        Op::In(..) => false,
        Op::InFolded(list, negated) => is_in_folded(v, list) != *negated,
        Op::Group(list, negated) => match &**list {
            Value::Array(list) => is_in(v, list) != *negated,
            _ => false,
        },
        Op::StrFolded(s) => *fold_str(&to_js_string(v)) == **s,
        Op::Not(t) => !eval_ops(t, v),
        Op::Size(t) => array().is_some_and(|items| eval_len(t, items.len())),
        Op::Elem(n) => array()
            .unwrap_or_default()
            .iter()
            .any(|e| truthy(e) && eval_node(n, &[], e)),
        Op::All(tests) => array().is_some_and(|items| tests.iter().all(|t| items.iter().any(|e| eval_ops(t, e)))),
        Op::Regex(re) => re.is_match(&to_js_string(v)),
        Op::Type(t) => v.type_name() == *t,
    }
}

/// GrowthBook's case-insensitive `isIn`: an array attribute matches when any element does; a
/// value matches when, folded if it is a string, it is `===` to an item of `list` (folded
/// already).
fn is_in_folded(v: &Value, list: &[Value]) -> bool {
    let one = |x: &Value| match x {
        Value::String(s) => {
            let s = fold_str(s);
            list.iter().any(|item| matches!(item, Value::String(t) if **t == *s))
        }
        other => list.iter().any(|item| strict_eq(other, item)),
    };
    match v {
        Value::Array(items) => items.iter().any(one),
        other => one(other),
    }
}

/// Evaluates a top-level condition against attribute slots.
pub(super) fn eval(node: &Node, attrs: &[Option<Value>]) -> bool {
    eval_node(node, attrs, &NULL)
}
