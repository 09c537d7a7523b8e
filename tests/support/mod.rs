//! Helpers shared by the native and wasm-bindgen test suites: vector loading and comparison.
#![allow(dead_code)]

use trimtab::flags::{Evaluation, FlagEngine};
use trimtab::value::Value;

pub const BUCKETING: &str = include_str!("../vectors/bucketing.json");
pub const VARIANTS: &str = include_str!("../vectors/variants.json");
pub const EVALUATION: &str = include_str!("../vectors/evaluation.json");

#[cfg(not(target_arch = "wasm32"))]
pub fn parse(text: &str) -> Value {
    serde_json::from_str(text).expect("vector files are valid JSON")
}

/// In Wasm, through `JSON.parse` and the same conversion the bindings use.
#[cfg(target_arch = "wasm32")]
pub fn parse(text: &str) -> Value {
    let js = js_sys::JSON::parse(text).expect("vector files are valid JSON");
    trimtab::wasm::value_from_js(&js).expect("vectors convert")
}

pub fn cases<'a>(doc: &'a Value, field: &str) -> &'a [Value] {
    doc.get(field)
        .and_then(Value::as_array)
        .expect("vector file has a cases array")
}

pub fn str_of<'a>(v: &'a Value, field: &str) -> &'a str {
    v.get(field)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("field {field} is a string"))
}

pub fn num_of(v: &Value, field: &str) -> f64 {
    v.get(field)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("field {field} is a number"))
}

/// The evaluation as the JS contract shows it (flag and version aside).
pub fn as_json(engine: &FlagEngine, flag: &str, e: &Evaluation) -> Value {
    let mut m = vec![
        ("enabled".to_owned(), Value::Bool(e.enabled)),
        ("reason".to_owned(), Value::from(e.reason.as_str())),
    ];
    if let Some(v) = e.variant {
        let i = engine.index_of(flag).expect("a variant implies a known flag");
        m.push((
            "variant".into(),
            Value::from(engine.flags()[i].variants[v].key.as_str()),
        ));
    }
    if let Some(b) = e.bucket {
        m.push(("bucket".into(), Value::Number(b as f64)));
    }
    if let Some(r) = e.rule_index {
        m.push(("ruleIndex".into(), Value::Number(r as f64)));
    }
    Value::Object(m)
}

/// Object equality ignoring key order.
pub fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| b.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// Runs every evaluation case; returns the failures as readable lines.
pub fn evaluation_failures(clock_ms: i64) -> Vec<String> {
    let doc = parse(EVALUATION);
    let engine = FlagEngine::from_value(doc.get("snapshot").expect("snapshot")).expect("the vector snapshot is valid");
    let mut failures = Vec::new();
    for case in cases(&doc, "cases") {
        let flag = str_of(case, "flag");
        let ctx = case.get("context").expect("context");
        let got = as_json(&engine, flag, &engine.evaluate_attributes(flag, ctx, clock_ms));
        let want = case.get("expected").expect("expected");
        if !same(&got, want) {
            failures.push(format!(
                "{} [{flag} {ctx:?}]: got {got:?}, want {want:?}",
                str_of(case, "name")
            ));
        }
    }
    failures
}

/// Runs every invalid-snapshot case; returns the failures.
pub fn invalid_snapshot_failures() -> Vec<String> {
    use trimtab::ErrorCode;
    let doc = parse(EVALUATION);
    let mut failures = Vec::new();
    for case in cases(&doc, "invalid") {
        let name = str_of(case, "name");
        match FlagEngine::from_value(case.get("snapshot").expect("snapshot")) {
            Ok(_) => failures.push(format!("{name}: accepted")),
            Err(e) => {
                let msg = e.to_string();
                if e.code() != str_of(case, "code") {
                    failures.push(format!("{name}: code {} ({msg})", e.code()));
                }
                for needle in cases(case, "messageIncludes") {
                    let needle = needle.as_str().unwrap_or_default();
                    if !msg.contains(needle) {
                        failures.push(format!("{name}: message {msg:?} lacks {needle:?}"));
                    }
                }
            }
        }
    }
    failures
}
