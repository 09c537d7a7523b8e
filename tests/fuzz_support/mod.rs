//! Shared pieces of the fuzz targets (`tests/fuzz.rs`, `tests/fuzz_webhook.rs`): the run's
//! configuration, JSON-like values biased towards the words the core reads, and mutations of
//! valid documents.
#![allow(dead_code)]

use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::Config;
use trimtab::value::Value;

/// Cases per target: `TRIMTAB_FUZZ_CASES`, else 256 (what `npm test` runs; `npm run fuzz`
/// raises it). `PROPTEST_RNG_SEED` replays a run; a failure prints its minimal input.
pub fn config() -> Config {
    let cases = std::env::var("TRIMTAB_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    Config {
        cases,
        // Failures become explicit regression tests instead of files beside the sources.
        failure_persistence: None,
        ..Config::default()
    }
}

/// Member names the core looks for in snapshots and WhatsApp payloads, and attribute paths.
#[rustfmt::skip]
const WORDS: &[&str] = &[
    "version", "flags", "key", "enabled", "rollout", "rules", "condition", "variants", "weight",
    "prerequisites", "flag", "variant", "stages", "schedule", "at", "overrides", "unit", "expiresAt",
    "reason", "savedGroups", "adminOverride", "salt", "stickiness", "clientVisible", "userId", "email",
    "country", "tags", "now", "a.b", "tags.0", "tags.length", "$groups", "object", "entry", "changes",
    "field", "value", "messages", "statuses", "metadata", "phone_number_id", "id", "from", "type",
    "text", "body", "timestamp", "status", "recipient_id",
];

/// Every condition operator.
#[rustfmt::skip]
pub const OPERATORS: &[&str] = &[
    "$and", "$or", "$nor", "$not", "$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$ini",
    "$nini", "$all", "$alli", "$size", "$elemMatch", "$exists", "$type", "$regex", "$regexi", "$veq",
    "$vne", "$vgt", "$vgte", "$vlt", "$vlte", "$inGroup", "$notInGroup",
];

/// String values with meaning somewhere in the core, and edge cases.
#[rustfmt::skip]
const TEXTS: &[&str] = &[
    "", "on", "off", "messages", "whatsapp_business_account", "2026-12-01T00:00:00Z",
    "2026-12-01T00:00:00+25:00", "9999-12-31T23:59:60.999999Z", "2026-02-30T00:00:00Z", "user-1",
    "user-7", "a:b", "1.2.3-beta.1", "v10.0", "(a|b)*c$", "(?:a?){40}b", "[z-a]", "\\", "^$", "a{2,1}",
    "(?<n>x)\\k<n>", "string", "number", "array", "null", "undefined", "wamid.HBg=", "1614265330",
    "-1", "1e400", "0x1F", " 12 ", "\u{0}", "\u{2028}", "ſ", "İ", "ΣΑΣ", "😀", "beta_testers", "sent",
];

/// A string: a meaningful one, an arbitrary one, or a run of one character up to 700 long
/// (past the regex text cap).
pub fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => select(TEXTS).prop_map(str::to_owned),
        3 => "\\PC{0,24}",
        1 => (any::<char>(), 0..700usize).prop_map(|(c, n)| c.to_string().repeat(n)),
    ]
}

/// A member name: mostly one the core reads.
pub fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => select(WORDS).prop_map(str::to_owned),
        2 => select(OPERATORS).prop_map(str::to_owned),
        1 => text(),
    ]
}

pub fn number() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        -2.0..120.0f64,
        (0..1001u32).prop_map(f64::from),
        select(vec![f64::NAN, f64::INFINITY, -0.0, 1e-5, 9e15, 1.7953056e12, 100.00001]),
    ]
}

pub fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        2 => number().prop_map(Value::Number),
        3 => text().prop_map(Value::String),
    ]
}

/// A JSON-like value up to 6 levels deep.
pub fn json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..6).prop_map(Value::Object),
        ]
    })
}

/// An object of arbitrary members.
pub fn object() -> impl Strategy<Value = Value> {
    prop::collection::vec((key(), json()), 0..8).prop_map(Value::Object)
}

/// One change to a document at the node a path of selectors leads to.
#[derive(Debug, Clone)]
pub enum Edit {
    Replace(Value),
    Remove,
    Duplicate,
}

pub fn edits() -> impl Strategy<Value = Vec<(Vec<usize>, Edit)>> {
    let edit = prop_oneof![
        3 => json().prop_map(Edit::Replace),
        1 => Just(Edit::Remove),
        1 => Just(Edit::Duplicate),
    ];
    prop::collection::vec((prop::collection::vec(any::<usize>(), 1..9), edit), 1..5)
}

/// Applies `edits` to `doc`: each path walks down (selector modulo the container's size) as
/// far as it can; the edit then replaces that node, or removes or duplicates one of its items.
pub fn mutate(doc: &mut Value, edits: &[(Vec<usize>, Edit)]) {
    for (path, edit) in edits {
        let (walk, last) = match path.split_last() {
            Some((last, walk)) => (walk, *last),
            None => (&[][..], 0),
        };
        let mut cur = &mut *doc;
        for &sel in walk {
            let n = match &*cur {
                Value::Array(items) => items.len(),
                Value::Object(members) => members.len(),
                _ => 0,
            };
            if n == 0 {
                break;
            }
            cur = match cur {
                Value::Array(items) => &mut items[sel % n],
                Value::Object(members) => &mut members[sel % n].1,
                other => other,
            };
        }
        match (edit, cur) {
            (Edit::Replace(v), cur) => *cur = v.clone(),
            (Edit::Remove, Value::Array(items)) if !items.is_empty() => {
                let n = items.len();
                items.remove(last % n);
            }
            (Edit::Remove, Value::Object(members)) if !members.is_empty() => {
                let n = members.len();
                members.remove(last % n);
            }
            (Edit::Duplicate, Value::Array(items)) if !items.is_empty() => {
                let n = items.len();
                items.push(items[last % n].clone());
            }
            (Edit::Duplicate, Value::Object(members)) if !members.is_empty() => {
                let n = members.len();
                members.push(members[last % n].clone());
            }
            _ => {}
        }
    }
}
