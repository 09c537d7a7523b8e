//! Evaluating a compiled [`Node`] tree against attribute slots (never panics; recursion is
//! bounded by the compile-time depth cap, never by attribute data), in three-valued logic: a
//! regex test beyond the matcher's limits is unknown, and an answer that depends on it is an
//! error, never a match.

use super::fold::fold_str;
use super::js::{compare_version, is_in, js_compare, json_eq, strict_eq, to_js_string, to_number, truthy};
use super::regex::{MatchLimit, Regex, MAX_TEXT};
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

/// Kleene's three-valued truth: `None` is "unknown", a regex test beyond the matcher's limits.
/// A known answer is the one every answer of the unknown tests would give, so an unknown test
/// never decides anything (`$not` of unknown is unknown).
type Tri = Option<bool>;

/// What one condition evaluation may still spend on regex tests, and the first limit it hit.
struct Meter {
    /// Matcher states left (starts at the condition's regex cost).
    states: u64,
    limit: Option<MatchLimit>,
}

impl Meter {
    fn hit(&mut self, limit: MatchLimit) -> Tri {
        self.limit.get_or_insert(limit);
        None
    }
}

/// Kleene's AND (`decisive` false) or OR (`decisive` true): `decisive` as soon as one item is,
/// else unknown when one is unknown, else the other value.
fn kleene<T>(items: impl IntoIterator<Item = T>, decisive: bool, mut test: impl FnMut(T) -> Tri) -> Tri {
    let mut unknown = false;
    for item in items {
        match test(item) {
            Some(b) if b == decisive => return Some(decisive),
            None => unknown = true,
            Some(_) => {}
        }
    }
    (!unknown).then_some(!decisive)
}

fn all<T>(items: impl IntoIterator<Item = T>, test: impl FnMut(T) -> Tri) -> Tri {
    kleene(items, false, test)
}

fn any<T>(items: impl IntoIterator<Item = T>, test: impl FnMut(T) -> Tri) -> Tri {
    kleene(items, true, test)
}

fn eval_node(node: &Node, attrs: &[Option<Value>], elem: &Value, m: &mut Meter) -> Tri {
    match node {
        Node::All(nodes) => all(nodes, |n| eval_node(n, attrs, elem, m)),
        Node::Any(nodes, negated) => {
            let hit = if nodes.is_empty() {
                Some(true)
            } else {
                any(nodes, |n| eval_node(n, attrs, elem, m))
            };
            hit.map(|b| b != *negated)
        }
        Node::Field(path, ops) => match resolve(path, attrs, elem) {
            Ok(v) => eval_ops(ops, v, m),
            Err(len) => eval_len(ops, len, m),
        },
    }
}

/// Tests a length (no drop glue runs for the temporary number).
fn eval_len(ops: &[Op], len: usize, m: &mut Meter) -> Tri {
    eval_ops(ops, &ManuallyDrop::new(Value::Number(len as f64)), m)
}

fn eval_ops(ops: &[Op], v: &Value, m: &mut Meter) -> Tri {
    all(ops, |op| eval_op(op, v, m))
}

/// A `$regex` test of `String(v)`, within the text cap and the evaluation's state allowance.
fn regex_test(re: &Regex, v: &Value, m: &mut Meter) -> Tri {
    let text = to_js_string(v);
    if text.len() > MAX_TEXT {
        return m.hit(MatchLimit::TextTooLong);
    }
    let states = re.states(text.len());
    if states > m.states {
        return m.hit(MatchLimit::OverBudget);
    }
    m.states -= states;
    re.test(&text).map_or_else(|limit| m.hit(limit), Some)
}

#[inline(never)]
fn eval_op(op: &Op, v: &Value, m: &mut Meter) -> Tri {
    let array = || match v {
        Value::Array(items) => Some(items.as_slice()),
        _ => None,
    };
    Some(match op {
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
        Op::Not(t) => return eval_ops(t, v, m).map(|b| !b),
        Op::Size(t) => match array() {
            Some(items) => return eval_len(t, items.len(), m),
            None => false,
        },
        Op::Elem(n) => {
            let items = array().unwrap_or_default();
            return any(items, |e| {
                if truthy(e) {
                    eval_node(n, &[], e, m)
                } else {
                    Some(false)
                }
            });
        }
        Op::All(tests) => match array() {
            Some(items) => return all(tests, |t| any(items, |e| eval_ops(t, e, m))),
            None => false,
        },
        Op::Regex(re) => return regex_test(re, v, m),
        Op::Type(t) => v.type_name() == *t,
    })
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

/// Evaluates a top-level condition against attribute slots; its regex tests may visit at most
/// `states` matcher states in all. `Err` is the first limit an unknown test hit, when the
/// answer depends on such a test.
pub(super) fn eval(node: &Node, attrs: &[Option<Value>], states: u64) -> Result<bool, MatchLimit> {
    let mut m = Meter { states, limit: None };
    eval_node(node, attrs, &NULL, &mut m).ok_or(m.limit.unwrap_or(MatchLimit::OverBudget))
}
