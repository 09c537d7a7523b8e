//! Fuzz targets of the flag core (property-based, proptest): the snapshot loader and the
//! condition compiler and matcher. Whatever the input, nothing panics, a refusal is a coded
//! error, and what loads evaluates within the matcher's limits. Cases per target:
//! `TRIMTAB_FUZZ_CASES` (256 in `npm test`; `npm run fuzz` runs many more). The regex engine
//! is also checked against V8's `RegExp` in `tests/deno/regex_diff_test.ts`.

#![cfg(not(target_arch = "wasm32"))]

mod fuzz_support;
mod support;

use fuzz_support::*;
use proptest::prelude::*;
use proptest::sample::select;
use trimtab::conditions::{Condition, MatchLimit, SavedGroups, MAX_TEXT};
use trimtab::context::{SlotTable, Slots};
use trimtab::flags::{DigestCache, EvalContext, FlagEngine, FlagError, MAX_SNAPSHOT_COST};
use trimtab::value::Value;
use trimtab::ErrorCode;

/// 2026-11-22T00:00:00Z.
const CLOCK: i64 = 1_795_305_600_000;

/// Loads `snapshot`; a refusal must be `INVALID_SNAPSHOT` naming its field, and an engine must
/// evaluate every flag (one by one and all at once, agreeing) for `context`.
fn check_snapshot(snapshot: &Value, context: &Value) -> Result<(), TestCaseError> {
    match FlagEngine::from_value(snapshot) {
        Err(e) => {
            prop_assert_eq!(e.code(), "INVALID_SNAPSHOT");
            let message = e.to_string();
            match &e {
                FlagError::InvalidSnapshot { field, .. } => {
                    prop_assert!(message.contains(field.as_str()), "{}", message)
                }
                other => prop_assert!(false, "{:?}", other),
            }
        }
        Ok(engine) => {
            prop_assert!(engine.condition_cost() <= MAX_SNAPSHOT_COST);
            let slots = Slots::from_object(engine.slot_table(), context);
            let cache = DigestCache::new(engine.len());
            let ctx = EvalContext {
                slots: &slots,
                now: CLOCK,
                cache: Some(&cache),
            };
            let all = engine.evaluate_all(&ctx);
            prop_assert_eq!(all.len(), engine.len());
            for (i, f) in engine.flags().iter().enumerate().take(64) {
                let one = engine.evaluate_attributes(&f.key, context, CLOCK);
                prop_assert_eq!(one, all[i], "{}", f.key);
                if let Some(v) = one.variant {
                    prop_assert!(v < f.variants.len());
                }
                if let Some(r) = one.rule_index {
                    prop_assert!(r < f.rules.len());
                }
            }
        }
    }
    Ok(())
}

/// The evaluation vectors' snapshot: every feature of the format in one valid document.
fn valid_snapshot() -> Value {
    support::parse(support::EVALUATION)
        .get("snapshot")
        .cloned()
        .expect("a snapshot")
}

/// A context with the attributes the vector snapshot reads, some arbitrary.
fn context() -> impl Strategy<Value = Value> {
    let attr = select(vec![
        "userId", "orgId", "email", "country", "plan", "tags", "code", "now", "beta",
    ]);
    prop::collection::vec((attr.prop_map(str::to_owned), json()), 0..8).prop_map(Value::Object)
}

/// Condition-shaped values: attribute paths and operators with operands of every type.
fn condition() -> impl Strategy<Value = Value> {
    let op = prop_oneof![9 => select(OPERATORS), 1 => Just("$bogus")];
    let operand = prop_oneof![3 => json(), 2 => pattern().prop_map(Value::String)];
    let tests = prop::collection::vec((op.prop_map(str::to_owned), operand), 1..3).prop_map(Value::Object);
    let attr = select(vec!["a", "b.c", "tags", "tags.0", "tags.length", "$groups"]).prop_map(str::to_owned);
    let field = (attr, prop_oneof![2 => tests, 1 => json()]).prop_map(|(k, v)| Value::Object(vec![(k, v)]));
    field.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            (
                select(vec!["$and", "$or", "$nor"]),
                prop::collection::vec(inner.clone(), 0..4)
            )
                .prop_map(|(k, v)| Value::Object(vec![(k.to_owned(), Value::Array(v))])),
            inner.clone().prop_map(|c| Value::Object(vec![("$not".into(), c)])),
            prop::collection::vec(inner, 1..3).prop_map(|v| {
                Value::Object(
                    v.into_iter()
                        .flat_map(|c| c.as_object().map(<[_]>::to_vec).unwrap_or_default())
                        .collect(),
                )
            }),
        ]
    })
}

/// Patterns: mostly the supported syntax, sometimes arbitrary text over its characters.
fn pattern() -> impl Strategy<Value = String> {
    let atom = select(vec![
        "a", "b", "é", "😀", ".", "\\d", "\\w", "\\s", "\\W", "\\b", "\\B", "^", "$", "[a-c]", "[^b]", "[\\d-]",
        "\\x41", "\\u00e9", "\\cJ", "\\.", "{", "}",
    ]);
    let quant = select(vec!["", "", "*", "+", "?", "{2}", "{0,3}", "{1,}", "*?", "+?"]);
    let piece = (atom, quant).prop_map(|(a, q)| format!("{a}{q}"));
    let seq = prop::collection::vec(piece, 0..5).prop_map(|v| v.concat());
    let structured = seq.prop_recursive(3, 16, 3, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a}|{b}")),
            (
                inner.clone(),
                select(vec!["(", "(?:", "(?<g>"]),
                select(vec!["", "*", "{1,2}"])
            )
                .prop_map(|(a, open, q)| format!("{open}{a}){q}")),
            (inner.clone(), inner).prop_map(|(a, b)| a + &b),
        ]
    });
    prop_oneof![3 => structured, 1 => "[ab.^$|()\\[\\]{}*+?\\\\,0-9dwsbBuxck<>=!:-]{0,20}"]
}

/// Compiles `cond` (with `groups`); a refusal must be `INVALID_CONDITION`, and a compiled
/// condition must evaluate against `attrs` without panicking, erring only on a regex limit.
fn check_condition(cond: &Value, attrs: &Value, groups: &SavedGroups) -> Result<(), TestCaseError> {
    let mut slots = SlotTable::default();
    match Condition::compile_with_groups(cond, &mut slots, groups) {
        Err(e) => {
            prop_assert_eq!(e.code(), "INVALID_CONDITION");
            prop_assert!(!e.to_string().is_empty());
        }
        Ok(c) => {
            prop_assert!(c.cost().regex <= c.cost().steps);
            let values: Vec<Option<Value>> = slots.names().iter().map(|k| attrs.get(k).cloned()).collect();
            let first = c.eval(&values);
            prop_assert_eq!(c.eval(&values), first, "evaluation is deterministic");
            let _ = c.eval(&[]);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn snapshots_from_arbitrary_values(snapshot in json(), ctx in context()) {
        check_snapshot(&snapshot, &ctx)?;
    }

    #[test]
    fn snapshot_like_objects(members in prop::collection::vec((key(), json()), 0..6),
                             flags in prop::collection::vec(object(), 0..4), ctx in context()) {
        let mut doc = vec![("version".to_owned(), Value::from("1")), ("flags".to_owned(), Value::Array(flags))];
        doc.extend(members);
        check_snapshot(&Value::Object(doc), &ctx)?;
    }

    #[test]
    fn mutated_valid_snapshots(changes in edits(), ctx in context()) {
        let mut snapshot = valid_snapshot();
        mutate(&mut snapshot, &changes);
        check_snapshot(&snapshot, &ctx)?;
    }

    #[test]
    fn conditions_compile_or_refuse(cond in condition(), attrs in object(), groups in json()) {
        let groups = match SavedGroups::from_value(Some(&groups)) {
            Ok(g) => g,
            Err(e) => {
                prop_assert_eq!(e.code(), "INVALID_CONDITION");
                SavedGroups::default()
            }
        };
        check_condition(&cond, &attrs, &groups)?;
    }

    #[test]
    fn arbitrary_values_as_conditions(cond in json(), attrs in object()) {
        check_condition(&cond, &attrs, &SavedGroups::default())?;
    }

    /// A pattern that compiles answers every text within the cap, and only those.
    #[test]
    fn regex_tests_answer_exactly_within_the_cap(p in pattern(), folded in any::<bool>(),
                                                 texts in prop::collection::vec(text(), 1..5)) {
        let op = if folded { "$regexi" } else { "$regex" };
        let cond = Value::Object(vec![("t".into(), Value::Object(vec![(op.into(), Value::String(p))]))]);
        let mut slots = SlotTable::default();
        if let Ok(c) = Condition::compile(&cond, &mut slots) {
            for t in texts {
                let got = c.eval(&[Some(Value::String(t.clone()))]);
                if t.len() <= MAX_TEXT {
                    prop_assert!(got.is_ok(), "{:?} on {} bytes", got, t.len());
                } else {
                    prop_assert_eq!(got, Err(MatchLimit::TextTooLong));
                }
            }
        }
    }
}
