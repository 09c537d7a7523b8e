//! Every vector file through the JS bindings, under wasm-bindgen-test: run in Node
//! (`wasm-pack test --node`) and headless Chromium (`WASM_BINDGEN_USE_BROWSER=1 wasm-pack test
//! --headless --chrome`), once with the default features (the full build: these flag tests and
//! `wasm/edge.rs`) and once with `--no-default-features` (the flag-only build: the flag tests).
//!
//! Values go in and come out as JS values, through the same serde conversions the wrappers use;
//! evaluations come back packed and are decoded here as `js/flag-engine.js` decodes them.
#![cfg(target_arch = "wasm32")]

#[cfg(feature = "edge")]
#[path = "wasm/edge.rs"]
mod edge;
mod support;

use support::*;
use trimtab::value::Value;
use trimtab::wasm::convert::{to_js, value_from_js};
use trimtab::wasm::{bucket_js, check_ramp_js, limits, reason_names, variant_position_js, Engine};
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

pub const CONDITIONS: &str = include_str!("vectors/conditions.json");

/// A vector value as a JS value.
pub fn js(v: &Value) -> JsValue {
    to_js(v).expect("vector values convert")
}

/// A JS result as a value.
pub fn val(v: &JsValue) -> Value {
    value_from_js(v).expect("results convert")
}

/// A property of a thrown error (or of any object) as a value.
pub fn prop(err: &JsValue, name: &str) -> Value {
    val(&js_sys::Reflect::get(err, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED))
}

pub fn code_of(err: &JsValue) -> String {
    prop(err, "code").as_str().unwrap_or("(no code)").to_owned()
}

pub fn message_of(err: &JsValue) -> String {
    prop(err, "message").as_str().unwrap_or_default().to_owned()
}

/// "OK" or the code of the error.
pub fn outcome<T>(r: Result<T, JsValue>) -> String {
    match r {
        Ok(_) => String::from("OK"),
        Err(e) => code_of(&e),
    }
}

/// Evaluates `flag` for `ctx` through the engine binding, as the wrapper does: every attribute
/// slot set from the context, then the packed result decoded.
fn evaluate(engine: &mut Engine, flag: &str, ctx: &Value) -> Value {
    for (slot, name) in engine.attributes().iter().enumerate() {
        match ctx.get(name) {
            Some(Value::String(s)) => engine.set_string(slot as u32, s),
            Some(v) => engine.set_value(slot as u32, js(v)),
            None => engine.set_value(slot as u32, JsValue::NULL),
        }
    }
    let keys = engine.flag_keys();
    let index = keys.iter().position(|k| k == flag);
    let packed = engine.evaluate(index.map_or(u32::MAX, |i| i as u32), 0);
    let (lo, hi) = ((packed as u64 & 0xffff_ffff) as u32, (packed as u64 >> 32) as u32);
    let mut out = vec![
        ("enabled".to_owned(), Value::Bool(lo & 1 == 1)),
        (
            "reason".to_owned(),
            Value::from(reason_names()[(lo >> 1 & 15) as usize].as_str()),
        ),
    ];
    let variant = lo >> 5 & 0x7ff;
    if variant != 0 {
        let names = engine.variant_keys(index.expect("a variant implies a known flag") as u32);
        out.push(("variant".into(), Value::from(names[variant as usize - 1].as_str())));
    }
    if hi != 0 {
        out.push(("bucket".into(), Value::Number((hi - 1) as f64)));
    }
    if lo >> 16 != 0 {
        out.push(("ruleIndex".into(), Value::Number(((lo >> 16) - 1) as f64)));
    }
    Value::Object(out)
}

#[wasm_bindgen_test]
fn bucketing_vectors() {
    let doc = parse(BUCKETING);
    let all = cases(&doc, "cases");
    assert!(all.len() >= 200);
    for c in all {
        let got = bucket_js(str_of(c, "salt").into(), str_of(c, "unit").into()).expect("valid vector");
        assert_eq!(got as f64, num_of(c, "bucket"), "{:?}", c);
    }
    let err = bucket_js("a:b".into(), "u".into()).unwrap_err();
    assert_eq!(
        (code_of(&err), prop(&err, "field")),
        ("INVALID_SALT".into(), Value::from("salt"))
    );
    assert_eq!(
        code_of(&bucket_js("salt".into(), "".into()).unwrap_err()),
        "MISSING_UNIT"
    );
    // Other types never reach the string encoder: coded errors instead.
    assert_eq!(
        code_of(&bucket_js("salt".into(), 42.into()).unwrap_err()),
        "MISSING_UNIT"
    );
    assert_eq!(
        code_of(&bucket_js(JsValue::NULL, "u".into()).unwrap_err()),
        "INVALID_SALT"
    );
}

#[wasm_bindgen_test]
fn variant_vectors_by_position_and_through_an_engine() {
    let doc = parse(VARIANTS);
    let all = cases(&doc, "cases");
    assert!(all.len() >= 100);
    for c in all {
        let (salt, unit) = (str_of(c, "salt"), str_of(c, "unit"));
        assert_eq!(
            variant_position_js(salt.into(), unit.into()).unwrap() as f64,
            num_of(c, "position"),
            "{c:?}"
        );
        let weights = c.get("weights").and_then(Value::as_array).expect("weights");
        let variants: Vec<Value> = weights
            .iter()
            .enumerate()
            .map(|(i, w)| {
                Value::Object(vec![
                    ("key".into(), Value::from(format!("v{i}").as_str())),
                    ("weight".into(), w.clone()),
                ])
            })
            .collect();
        let flag = Value::Object(vec![
            ("key".into(), Value::from("f")),
            ("enabled".into(), Value::Bool(true)),
            ("rollout".into(), Value::Number(100.0)),
            ("salt".into(), Value::from(salt)),
            ("variants".into(), Value::Array(variants)),
        ]);
        let snapshot = Value::Object(vec![
            ("version".into(), Value::from("v")),
            ("flags".into(), Value::Array(vec![flag])),
        ]);
        let mut engine = Engine::new(js(&snapshot)).expect("valid snapshot");
        let got = evaluate(
            &mut engine,
            "f",
            &Value::Object(vec![("userId".into(), Value::from(unit))]),
        );
        let want = format!("v{}", num_of(c, "variant"));
        assert_eq!(got.get("variant").and_then(Value::as_str), Some(want.as_str()), "{c:?}");
    }
}

#[wasm_bindgen_test]
fn evaluation_vectors_through_the_engine_binding() {
    let doc = parse(EVALUATION);
    let snapshot = doc.get("snapshot").expect("snapshot");
    let from_object = Engine::new(js(snapshot)).expect("the vector snapshot is valid");
    let text = js_sys::JSON::stringify(&js(snapshot)).expect("stringifies");
    let from_text = Engine::new(text.into()).expect("loads from JSON text");
    assert_eq!((from_object.version(), from_text.version()), ("42".into(), "42".into()));
    let all = cases(&doc, "cases");
    assert!(all.len() >= 50);
    for mut engine in [from_object, from_text] {
        for c in all {
            let got = evaluate(&mut engine, str_of(c, "flag"), c.get("context").expect("context"));
            let want = c.get("expected").expect("expected");
            assert!(same(&got, want), "{}: got {got:?}, want {want:?}", str_of(c, "name"));
        }
    }
}

#[wasm_bindgen_test]
fn limits_are_the_ones_the_vectors_assume() {
    let doc = parse(EVALUATION);
    let want = doc.get("limits").expect("limits");
    let got = val(&limits().expect("limits convert"));
    for (name, value) in want.as_object().expect("an object") {
        assert_eq!(got.get(name), Some(value), "{name}");
    }
    assert!(reason_names().iter().any(|r| r == "CONDITION_ERROR"));
}

#[wasm_bindgen_test]
fn invalid_snapshots_throw_with_flag_and_field() {
    let doc = parse(EVALUATION);
    for c in cases(&doc, "invalid") {
        let name = str_of(c, "name");
        let snapshot = js(c.get("snapshot").expect("snapshot"));
        let text = js_sys::JSON::stringify(&snapshot).expect("stringifies");
        for input in [snapshot, text.into()] {
            let err = Engine::new(input).err().unwrap_or_else(|| panic!("{name}: accepted"));
            let msg = message_of(&err);
            assert_eq!(code_of(&err), str_of(c, "code"), "{name}: {msg}");
            for needle in cases(c, "messageIncludes") {
                assert!(
                    msg.contains(needle.as_str().unwrap_or_default()),
                    "{name}: {msg} lacks {needle:?}"
                );
            }
            let field = prop(&err, "field");
            let field = field.as_str().unwrap_or_else(|| panic!("{name}: no field"));
            assert!(msg.contains(&format!("field \"{field}\"")), "{name}: {msg} / {field}");
            if let Some(flag) = prop(&err, "flag").as_str() {
                assert!(msg.contains(&format!("flag \"{flag}\"")), "{name}: {msg} / {flag}");
            }
        }
    }
    let err = Engine::new(JsValue::from_str("{not json"))
        .err()
        .expect("bad JSON is refused");
    assert_eq!(
        (code_of(&err), prop(&err, "field")),
        ("INVALID_SNAPSHOT".into(), Value::from("(root)"))
    );
}

#[wasm_bindgen_test]
fn ramp_vectors_carry_the_skipped_stage() {
    let doc = parse(EVALUATION);
    for c in cases(&doc, "ramps") {
        let stages: Vec<f64> = cases(c, "stages").iter().filter_map(Value::as_f64).collect();
        let r = check_ramp_js(num_of(c, "current"), num_of(c, "next"), &stages);
        let want = c.get("code").and_then(Value::as_str).unwrap_or("OK");
        match r {
            Ok(()) => assert_eq!(want, "OK", "{c:?}"),
            Err(e) => {
                assert_eq!(code_of(&e), want, "{c:?}");
                if let Some(skipped) = c.get("skipped") {
                    assert_eq!(&prop(&e, "skipped"), skipped, "{c:?}");
                    assert_eq!(prop(&e, "from").as_f64(), Some(num_of(c, "current")));
                    assert_eq!(prop(&e, "to").as_f64(), Some(num_of(c, "next")));
                }
            }
        }
    }
}

#[wasm_bindgen_test]
fn condition_vectors_as_rules() {
    let doc = parse(CONDITIONS);
    let all = cases(&doc, "cases");
    assert!(all.len() >= 20);
    for c in all {
        let name = str_of(c, "name");
        let rule = Value::Object(vec![
            ("condition".into(), c.get("condition").cloned().unwrap_or_default()),
            ("rollout".into(), Value::Number(100.0)),
        ]);
        let flag = Value::Object(vec![
            ("key".into(), Value::from("f")),
            ("enabled".into(), Value::Bool(true)),
            ("rollout".into(), Value::Number(0.0)),
            ("stickiness".into(), Value::from("__unit")),
            ("rules".into(), Value::Array(vec![rule])),
        ]);
        let mut snapshot = vec![
            ("version".into(), Value::from("c")),
            ("flags".into(), Value::Array(vec![flag])),
        ];
        if let Some(groups) = c.get("savedGroups") {
            snapshot.push(("savedGroups".into(), groups.clone()));
        }
        let compile_error = c.get("compileError").and_then(Value::as_bool) == Some(true);
        match Engine::new(js(&Value::Object(snapshot))) {
            Err(e) => assert!(compile_error, "{name}: refused ({})", message_of(&e)),
            Ok(mut engine) => {
                assert!(!compile_error, "{name}: compiled, want a compile error");
                let mut ctx = c
                    .get("attributes")
                    .and_then(Value::as_object)
                    .unwrap_or_default()
                    .to_vec();
                ctx.push(("__unit".into(), Value::from("u")));
                let got = evaluate(&mut engine, "f", &Value::Object(ctx));
                assert_eq!(got.get("enabled"), c.get("expected"), "{name}");
            }
        }
    }
}

#[wasm_bindgen_test]
fn simd_batch_matches_sha2_on_random_inputs() {
    use sha2::{Digest, Sha256};
    use trimtab::bucket::positions4;
    const SALT: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-/";
    const UNIT: [char; 8] = ['a', 'Z', '7', '-', ' ', 'é', '字', '🚀'];
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    let ppm = |d: &[u8], at: usize| (u64::from_be_bytes(d[at..at + 8].try_into().expect("8 bytes")) % 1_000_000) as u32;
    for _ in 0..2_000 {
        // Lengths around the one-block limit (55 bytes of `salt:unit`) and past it.
        let salts: Vec<String> = (0..4)
            .map(|_| (0..1 + next(40)).map(|_| SALT[next(SALT.len())] as char).collect())
            .collect();
        let units: Vec<String> = (0..4)
            .map(|_| (0..1 + next(30)).map(|_| UNIT[next(UNIT.len())]).collect())
            .collect();
        let batch = positions4(
            [&salts[0], &salts[1], &salts[2], &salts[3]],
            [&units[0], &units[1], &units[2], &units[3]],
        );
        for k in 0..4 {
            let d = Sha256::digest(format!("{}:{}", salts[k], units[k]).as_bytes());
            assert_eq!(
                (batch[k].bucket, batch[k].variant),
                (ppm(&d, 0), ppm(&d, 8)),
                "{} {}",
                salts[k],
                units[k]
            );
        }
    }
}

#[wasm_bindgen(inline_js = "export function errorClass() {
  return class CustomError extends Error {
    constructor(code, message, fields) { super(message); this.code = code; Object.assign(this, fields); }
  };
}")]
extern "C" {
    #[wasm_bindgen(js_name = errorClass)]
    fn error_class() -> js_sys::Function;
}

#[wasm_bindgen_test]
fn errors_are_built_with_the_class_handed_over() {
    let class = error_class();
    trimtab::wasm::set_error_class(class.clone());
    let err = check_ramp_js(5.0, 50.0, &[5.0, 25.0, 50.0]).unwrap_err();
    assert!(err.is_instance_of::<js_sys::Error>());
    assert!(
        js_sys::Reflect::get(&err, &JsValue::from_str("constructor"))
            .ok()
            .as_ref()
            == Some(class.as_ref())
    );
    assert_eq!(
        (code_of(&err), prop(&err, "skipped")),
        ("RAMP_SKIPS_STAGE".into(), Value::Number(25.0))
    );
    assert!(message_of(&err).contains("skips the 25% stage"));
}
