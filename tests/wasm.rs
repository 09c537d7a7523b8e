//! The shared vectors under wasm-bindgen-test: the core compiled to Wasm and its JS bindings,
//! run in Node (`wasm-pack test --node`) and headless Chromium
//! (`WASM_BINDGEN_USE_BROWSER=1 wasm-pack test --headless --chrome`).
#![cfg(target_arch = "wasm32")]

mod support;

use support::*;
use trimtab::value::Value;
use trimtab::wasm::{bucket_js, check_ramp_js, Engine};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

fn code_of(err: &JsValue) -> String {
    js_sys::Reflect::get(err, &JsValue::from_str("code")).ok().and_then(|c| c.as_string()).unwrap_or_default()
}

#[wasm_bindgen_test]
fn bucket_vectors_through_the_binding() {
    let doc = parse(BUCKETING);
    let all = cases(&doc, "cases");
    assert!(all.len() >= 200);
    for c in all {
        let got = bucket_js(str_of(c, "salt"), str_of(c, "unit")).expect("valid vector");
        assert_eq!(got as f64, num_of(c, "bucket"), "{:?}", c);
    }
}

#[wasm_bindgen_test]
fn bad_bucket_input_throws_coded_errors() {
    assert_eq!(code_of(&bucket_js("a:b", "u").unwrap_err()), "INVALID_SALT");
    assert_eq!(code_of(&bucket_js("salt", "").unwrap_err()), "MISSING_UNIT");
    let err = check_ramp_js(5.0, 50.0, &[5.0, 25.0, 50.0]).unwrap_err();
    assert_eq!(code_of(&err), "RAMP_SKIPS_STAGE");
}

#[wasm_bindgen_test]
fn evaluation_vectors_in_wasm() {
    let failures = evaluation_failures(1_795_305_600_000);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let failures = invalid_snapshot_failures();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[wasm_bindgen_test]
fn engine_binding_loads_snapshots_and_refuses_bad_ones() {
    let doc = parse(EVALUATION);
    let snapshot = doc.get("snapshot").unwrap();
    let text = to_json(snapshot);
    let engine = Engine::new(JsValue::from_str(&text)).expect("loads from a JSON string");
    assert_eq!(engine.version(), "42");
    assert_eq!(engine.flag_keys().len(), cases(snapshot, "flags").len());
    let err = Engine::new(JsValue::from_str("{not json")).err().expect("bad JSON is refused");
    assert_eq!(code_of(&err), "INVALID_SNAPSHOT");
    let err = Engine::new(JsValue::from_str(r#"{"version":"1","flags":[{"key":"f","rollout":101}]}"#)).err().unwrap();
    assert_eq!(code_of(&err), "INVALID_SNAPSHOT");
}

fn to_json(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => serde_json::Number::from_f64(*n).map_or("null".into(), |n| n.to_string()),
        Value::String(s) => serde_json::to_string(s).unwrap(),
        Value::Array(a) => format!("[{}]", a.iter().map(to_json).collect::<Vec<_>>().join(",")),
        Value::Object(o) => format!(
            "{{{}}}",
            o.iter().map(|(k, v)| format!("{}:{}", serde_json::to_string(k).unwrap(), to_json(v))).collect::<Vec<_>>().join(",")
        ),
    }
}
