//! The cost model of a compiled condition: a deterministic bound, in steps, on the work one
//! evaluation does, computed when the condition is compiled.
//!
//! A step is one matcher state of a regex test (a few nanoseconds) or one comparison of a value
//! with an operand item. Each test counts once, against one value:
//!
//! * a `$regex`/`$regexi` test costs the states it may visit on the longest text it accepts:
//!   program size × ([`MAX_TEXT`] + 1);
//! * `$in $nin $ini $nini $inGroup $notInGroup` cost 1 + the list's length, a JSON literal 1 per
//!   value in it, every other test 1;
//! * every condition object, `$and`/`$or`/`$nor`/`$not` and attribute path adds 1.
//!
//! The regex part is also the allowance an evaluation spends (`eval.rs`): array elements under
//! `$elemMatch`/`$all` share it, so no context makes the matcher exceed the cost. Flags and
//! snapshots add their conditions' costs and are refused over their budgets (`flags/compile.rs`).

use super::regex::MAX_TEXT;
use super::{Node, Op};
use crate::value::Value;

/// A condition's cost: `steps` in all, of which `regex` are matcher states.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cost {
    /// Every step.
    pub steps: u64,
    /// The matcher states of its regex tests (included in `steps`).
    pub regex: u64,
}

impl Cost {
    fn add(&mut self, other: Cost) {
        self.steps = self.steps.saturating_add(other.steps);
        self.regex = self.regex.saturating_add(other.regex);
    }

    fn step(n: usize) -> Cost {
        Cost {
            steps: n as u64,
            regex: 0,
        }
    }
}

/// The values in `v` (1 for a scalar), counted without recursion.
fn size(v: &Value) -> usize {
    let mut n = 0;
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        n += 1;
        match v {
            Value::Array(items) => stack.extend(items),
            Value::Object(members) => stack.extend(members.iter().map(|(_, x)| x)),
            _ => {}
        }
    }
    n
}

/// The length of a list operand (0 when it is not an array: such a test never passes).
fn list_len(v: &Value) -> usize {
    match v {
        Value::Array(items) => items.len(),
        _ => 0,
    }
}

pub(super) fn node(n: &Node) -> Cost {
    let mut c = Cost::step(1);
    match n {
        Node::All(nodes) | Node::Any(nodes, _) => nodes.iter().for_each(|n| c.add(node(n))),
        Node::Field(path, tests) => {
            c.add(Cost::step(path.segments.len()));
            c.add(ops(tests));
        }
    }
    c
}

fn ops(tests: &[Op]) -> Cost {
    let mut c = Cost::default();
    for t in tests {
        c.add(op(t));
    }
    c
}

fn op(t: &Op) -> Cost {
    match t {
        Op::Regex(re) => {
            let states = re.states(MAX_TEXT);
            Cost {
                steps: states,
                regex: states,
            }
        }
        Op::Json(lit) => Cost::step(size(lit)),
        Op::In(list, _) => Cost::step(1 + list_len(list)),
        Op::InFolded(list, _) => Cost::step(1 + list.len()),
        Op::Group(list, _) => Cost::step(1 + list_len(list)),
        Op::Not(tests) | Op::Size(tests) => {
            let mut c = Cost::step(1);
            c.add(ops(tests));
            c
        }
        Op::Elem(n) => {
            let mut c = Cost::step(1);
            c.add(node(n));
            c
        }
        Op::All(tests) => {
            let mut c = Cost::step(1);
            tests.iter().for_each(|t| c.add(ops(t)));
            c
        }
        Op::Str(_) | Op::Num(_) | Op::Bool(_) | Op::Exists(_) | Op::Cmp(..) | Op::StrFolded(_) | Op::Type(_) => {
            Cost::step(1)
        }
    }
}
