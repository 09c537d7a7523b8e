//! Evaluating a compiled [`Node`] tree against attribute slots (never panics; recursion is
//! bounded by the compile-time depth cap, never by attribute data).

use super::js::{
    compare_utf16, is_in, js_compare, json_eq, padded_version, strict_eq, to_js_string, to_number,
    truthy, type_name,
};
use super::{Node, Op, Path, Test, MAX_DEPTH};
use crate::value::Value;
use std::borrow::Cow;

/// What paths are resolved against.
enum Root<'a> {
    Attrs(&'a [Option<Value>]),
    Elem(&'a Value),
}

static NULL: Value = Value::Null;

/// A canonical array index (`"0"`, `"12"`, not `"01"`).
fn array_index(seg: &str) -> Option<usize> {
    let canonical = !seg.is_empty()
        && seg.bytes().all(|b| b.is_ascii_digit())
        && (seg == "0" || !seg.starts_with('0'));
    canonical.then(|| seg.parse().ok()).flatten()
}

fn resolve<'a>(path: &Path, root: &Root<'a>) -> Cow<'a, Value> {
    let mut cur: &'a Value = match (root, path.slot) {
        (Root::Attrs(attrs), Some(i)) => match attrs.get(i) {
            Some(Some(v)) => v,
            _ => return Cow::Borrowed(&NULL),
        },
        (Root::Elem(v), None) => v,
        _ => return Cow::Borrowed(&NULL),
    };
    for (i, seg) in path.segments.iter().enumerate() {
        let next = match cur {
            Value::Object(members) => members.iter().find(|(k, _)| k == seg).map(|(_, v)| v),
            Value::Array(items) if seg == "length" => {
                let last = i + 1 == path.segments.len();
                return Cow::Owned(if last {
                    Value::Number(items.len() as f64)
                } else {
                    Value::Null
                });
            }
            Value::Array(items) => array_index(seg).and_then(|i| items.get(i)),
            _ => None,
        };
        match next {
            Some(v) => cur = v,
            None => return Cow::Borrowed(&NULL),
        }
    }
    Cow::Borrowed(cur)
}

fn eval_node(node: &Node, root: &Root<'_>) -> bool {
    match node {
        Node::All(nodes) => nodes.iter().all(|n| eval_node(n, root)),
        Node::Or(nodes) => nodes.is_empty() || nodes.iter().any(|n| eval_node(n, root)),
        Node::Nor(nodes) => !(nodes.is_empty() || nodes.iter().any(|n| eval_node(n, root))),
        Node::Not(n) => !eval_node(n, root),
        Node::Field(path, test) => eval_test(test, &resolve(path, root)),
    }
}

fn eval_test(test: &Test, v: &Value) -> bool {
    match test {
        Test::Str(s) => to_js_string(v) == s.as_str(),
        Test::Num(n) => to_number(v) == *n,
        Test::Bool(b) => !v.is_null() && truthy(v) == *b,
        Test::Null => v.is_null(),
        Test::Json(lit) => json_eq(v, lit, MAX_DEPTH + 1),
        Test::Ops(ops) => ops.iter().all(|op| eval_op(op, v)),
    }
}

fn eval_op(op: &Op, v: &Value) -> bool {
    let array = v.as_array();
    match op {
        Op::Version(rel, want) => rel.holds(Some(compare_utf16(&padded_version(v), want))),
        Op::Eq(x) => strict_eq(v, x),
        Op::Ne(x) => !strict_eq(v, x),
        Op::Cmp(rel, x) => rel.holds(js_compare(v, x)),
        Op::Exists(want) => v.is_null() != *want,
        Op::In(list) => is_in(v, list),
        Op::Nin(list) => !is_in(v, list),
        Op::Never => false,
        Op::Not(t) => !eval_test(t, v),
        Op::Size(t) => array.is_some_and(|a| eval_test(t, &Value::Number(a.len() as f64))),
        Op::ElemTest(t) => array.is_some_and(|a| a.iter().any(|e| truthy(e) && eval_test(t, e))),
        Op::ElemCond(n) => {
            array.is_some_and(|a| a.iter().any(|e| truthy(e) && eval_node(n, &Root::Elem(e))))
        }
        Op::All(tests) => {
            array.is_some_and(|a| tests.iter().all(|t| a.iter().any(|e| eval_test(t, e))))
        }
        Op::Regex(re) => re.is_match(&to_js_string(v)),
        Op::Type(t) => type_name(v) == *t,
    }
}

/// Evaluates a top-level condition against attribute slots.
pub(super) fn eval(node: &Node, attrs: &[Option<Value>]) -> bool {
    eval_node(node, &Root::Attrs(attrs))
}
