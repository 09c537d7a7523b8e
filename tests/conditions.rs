//! GrowthBook's published `evalCondition` cases (tests/vectors/conditions.json) against
//! `trimtab::conditions`. Every case runs; all failures are reported together.

#![cfg(not(target_arch = "wasm32"))]

use trimtab::conditions::Condition;
use trimtab::context::SlotTable;
use trimtab::value::Value;

const VECTORS: &str = include_str!("vectors/conditions.json");

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
    let mut slots = SlotTable::default();
    let compiled = Condition::compile(cond, &mut slots);
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
    if got != expected {
        return Err(format!("expected {expected}, got {got}"));
    }
    // Extra slots and a short slot vector must not change (or break) anything.
    let mut padded = values.clone();
    padded.push(Some(Value::String("unrelated".into())));
    if compiled.eval(&padded) != expected {
        return Err("an extra trailing slot changed the result".into());
    }
    let _ = compiled.eval(&values[..values.len().saturating_sub(1)]);
    Ok(())
}

#[test]
fn growthbook_eval_condition_cases() {
    let cases = load();
    assert!(
        cases.len() >= 100,
        "expected GrowthBook's full case list, found {}",
        cases.len()
    );
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
}

#[test]
fn compile_error_cases_are_documented() {
    for case in load() {
        if case.get("compileError").and_then(Value::as_bool) == Some(true) {
            assert!(
                case.get("expected").is_none(),
                "a compileError case has no expected value"
            );
            assert!(
                case.get("note").and_then(Value::as_str).is_some(),
                "a compileError case says why"
            );
        }
    }
}
