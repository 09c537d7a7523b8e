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
    js_sys::Reflect::get(err, &JsValue::from_str("code"))
        .ok()
        .and_then(|c| c.as_string())
        .unwrap_or_default()
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
    let err = Engine::new(JsValue::from_str("{not json"))
        .err()
        .expect("bad JSON is refused");
    assert_eq!(code_of(&err), "INVALID_SNAPSHOT");
    let err = Engine::new(JsValue::from_str(
        r#"{"version":"1","flags":[{"key":"f","rollout":101}]}"#,
    ))
    .err()
    .unwrap();
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
            o.iter()
                .map(|(k, v)| format!("{}:{}", serde_json::to_string(k).unwrap(), to_json(v)))
                .collect::<Vec<_>>()
                .join(",")
        ),
    }
}

#[wasm_bindgen_test]
fn simd_batch_matches_scalar() {
    use trimtab::bucket::{positions, positions4};
    let salts = [
        "a",
        "phoenix_pipeline",
        "x/y.z-1",
        "USE_OPTIMIZED_PROMPTS_WITH_A_RATHER_LONG_SALT_0123456789",
    ];
    for i in 0..500u32 {
        let units = [
            format!("user-{i}"),
            "é".repeat((i % 30) as usize + 1),
            format!("{}{}", "u".repeat((i % 60) as usize), i),
            format!("🚀{i}"),
        ];
        let s = [
            salts[(i % 4) as usize],
            salts[((i + 1) % 4) as usize],
            salts[((i + 2) % 4) as usize],
            salts[((i + 3) % 4) as usize],
        ];
        let u = [
            units[0].as_str(),
            units[1].as_str(),
            units[2].as_str(),
            units[3].as_str(),
        ];
        let batch = positions4(s, u);
        for k in 0..4 {
            assert_eq!(batch[k], positions(s[k], u[k]), "{:?} {:?}", s[k], u[k]);
        }
    }
}

const WEBHOOKS: &str = include_str!("vectors/webhooks.json");

fn outcome(r: Result<(), JsValue>) -> String {
    match r {
        Ok(()) => String::from("OK"),
        Err(e) => code_of(&e),
    }
}

#[wasm_bindgen_test]
fn webhook_vectors_through_the_bindings() {
    use trimtab::wasm::webhook::{sign_standard_js, verify_meta_signature_js, verify_standard_js};
    let doc = parse(WEBHOOKS);
    let opt = |c: &Value, f: &str| c.get(f).and_then(Value::as_str).map(String::from);
    for c in cases(&doc, "standardSign") {
        let body = str_of(c, "body").as_bytes();
        let got = sign_standard_js(str_of(c, "secret"), str_of(c, "id"), num_of(c, "timestamp"), body);
        assert_eq!(got.ok().as_deref(), Some(str_of(c, "signature")), "{:?}", c);
    }
    for c in cases(&doc, "standardVerify") {
        let got = outcome(verify_standard_js(
            str_of(c, "secret"),
            opt(c, "id"),
            opt(c, "timestamp"),
            opt(c, "signature"),
            str_of(c, "body").as_bytes(),
            num_of(c, "now"),
        ));
        assert_eq!(got, str_of(c, "expected"), "{:?}", c);
    }
    for c in cases(&doc, "meta") {
        let got = outcome(verify_meta_signature_js(
            str_of(c, "appSecret").as_bytes(),
            str_of(c, "body").as_bytes(),
            opt(c, "header"),
        ));
        assert_eq!(got, str_of(c, "expected"), "{:?}", c);
    }
}
