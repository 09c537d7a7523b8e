//! GrowthBook's published `evalCondition` cases (tests/vectors/conditions.json, generated from
//! tests/vectors/growthbook-evalCondition.json) against `trimtab::conditions`. Every case runs;
//! all failures are reported together; the cases trimtab deliberately refuses at load are
//! printed with their reasons.

#![cfg(not(target_arch = "wasm32"))]

use trimtab::conditions::{Condition, SavedGroups};
use trimtab::context::SlotTable;
use trimtab::value::Value;

const VECTORS: &str = include_str!("vectors/conditions.json");
const ORIGINAL: &str = include_str!("vectors/growthbook-evalCondition.json");

fn load() -> Vec<Value> {
    let doc: Value = serde_json::from_str(VECTORS).expect("vectors parse");
    assert!(
        doc.get("source").and_then(Value::as_str).is_some(),
        "vectors name their source"
    );
    doc.get("cases")
        .and_then(Value::as_array)
        .expect("a cases array")
        .to_vec()
}

/// Runs one case; `Err` describes how it failed.
fn run(case: &Value) -> Result<(), String> {
    let cond = case.get("condition").ok_or("no condition")?;
    let attrs = case.get("attributes").ok_or("no attributes")?;
    let compile_error = case.get("compileError").and_then(Value::as_bool).unwrap_or(false);
    let groups = SavedGroups::from_value(case.get("savedGroups")).map_err(|e| format!("savedGroups: {e}"))?;
    let mut slots = SlotTable::default();
    let compiled = Condition::compile_with_groups(cond, &mut slots, &groups);
    if compile_error {
        return match compiled {
            Err(_) => Ok(()),
            Ok(_) => Err("expected a compile error, but it compiled".into()),
        };
    }
    let compiled = compiled.map_err(|e| format!("compile error: {e}"))?;
    let expected = case
        .get("expected")
        .and_then(Value::as_bool)
        .ok_or("no boolean expected")?;
    let values: Vec<Option<Value>> = slots.names().iter().map(|name| attrs.get(name).cloned()).collect();
    let got = compiled.eval(&values);
    if got != Ok(expected) {
        return Err(format!("expected {expected}, got {got:?}"));
    }
    // Extra slots and a short slot vector must not change (or break) anything.
    let mut padded = values.clone();
    padded.push(Some(Value::String("unrelated".into())));
    if compiled.eval(&padded) != Ok(expected) {
        return Err("an extra trailing slot changed the result".into());
    }
    let _ = compiled.eval(&values[..values.len().saturating_sub(1)]);
    Ok(())
}

#[test]
fn growthbook_eval_condition_cases() {
    let cases = load();
    let original: Value = serde_json::from_str(ORIGINAL).expect("the original cases parse");
    let published = original
        .get("evalCondition")
        .and_then(Value::as_array)
        .map_or(0, |a| a.len());
    assert_eq!(published, 248, "GrowthBook's specVersion 0.8.0 publishes 248 cases");
    assert_eq!(
        cases.len(),
        published,
        "conditions.json holds every published case (regenerate with tests/vectors/conditions.py)"
    );
    let refused: Vec<String> = cases
        .iter()
        .filter(|c| c.get("compileError").and_then(Value::as_bool) == Some(true))
        .map(|c| {
            let name = c.get("name").and_then(Value::as_str).unwrap_or("<unnamed>");
            let why = c.get("note").and_then(Value::as_str).unwrap_or("");
            format!("  {name:?}: {why}")
        })
        .collect();
    let failures: Vec<String> = cases
        .iter()
        .enumerate()
        .filter_map(|(i, case)| {
            let name = case.get("name").and_then(Value::as_str).unwrap_or("<unnamed>");
            run(case).err().map(|why| format!("  #{i} {name:?}: {why}"))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    println!(
        "all {} GrowthBook cases pass: {} evaluate as published, {} are refused at load on purpose:\n{}",
        cases.len(),
        cases.len() - refused.len(),
        refused.len(),
        refused.join("\n")
    );
}

#[test]
fn compile_error_cases_are_documented() {
    for case in load() {
        if case.get("compileError").and_then(Value::as_bool) == Some(true) {
            assert!(
                case.get("expected").is_none(),
                "a compileError case has no expected value"
            );
            assert_eq!(
                case.get("growthbookExpected").and_then(Value::as_bool),
                Some(false),
                "only cases GrowthBook evaluates to false are refused"
            );
            assert!(
                case.get("note").and_then(Value::as_str).is_some(),
                "a compileError case says why"
            );
        }
    }
}

#[test]
fn vectors_are_the_published_cases_unchanged() {
    let original: Value = serde_json::from_str(ORIGINAL).expect("the original cases parse");
    let published = original
        .get("evalCondition")
        .and_then(Value::as_array)
        .expect("evalCondition");
    let cases = load();
    assert_eq!(cases.len(), published.len());
    for (case, raw) in cases.iter().zip(published) {
        let raw = raw.as_array().expect("a published case is an array");
        let name = case.get("name");
        assert_eq!(name, raw.first(), "case order and names");
        assert_eq!(case.get("condition"), raw.get(1), "{name:?}: condition");
        assert_eq!(case.get("attributes"), raw.get(2), "{name:?}: attributes");
        let expected = case.get("expected").or_else(|| case.get("growthbookExpected"));
        assert_eq!(expected, raw.get(3), "{name:?}: expected value");
        assert_eq!(case.get("savedGroups"), raw.get(4), "{name:?}: saved groups");
    }
}
