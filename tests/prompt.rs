//! Prompt optimisation, natively: the shared vectors (tests/vectors/prompts.json, written by an
//! independent Python implementation, with cache keys from Python's hashlib and json.dumps) and
//! properties of the cache key, the estimate and truncation.

#![cfg(not(target_arch = "wasm32"))]

mod support;

use proptest::prelude::*;
use support::*;
use trimtab::prompt::*;
use trimtab::value::Value;
use trimtab::ErrorCode;

const PROMPTS: &str = include_str!("vectors/prompts.json");

fn spec_of(case: &Value) -> PromptSpec {
    PromptSpec::from_value(case.get("spec").expect("spec")).unwrap_or_else(|e| panic!("{}: {e}", str_of(case, "name")))
}

#[test]
fn request_bodies_match_the_vectors() {
    let doc = parse(PROMPTS);
    let all = cases(&doc, "specs");
    assert!(all.len() >= 9);
    for c in all {
        let name = str_of(c, "name");
        let spec = spec_of(c);
        let openai = build_openai(&spec);
        let anthropic = build_anthropic(&spec);
        assert_eq!(to_json(&openai), to_json(c.get("openai").unwrap()), "{name}: openai");
        assert_eq!(&openai, c.get("openai").unwrap(), "{name}: openai");
        assert_eq!(
            to_json(&anthropic),
            to_json(c.get("anthropic").unwrap()),
            "{name}: anthropic"
        );
        if let Some(json) = c.get("openaiJson") {
            assert_eq!(to_json(&openai), json.as_str().unwrap(), "{name}: openai JSON text");
        }
        if let Some(json) = c.get("anthropicJson") {
            assert_eq!(
                to_json(&anthropic),
                json.as_str().unwrap(),
                "{name}: anthropic JSON text"
            );
        }
        let breakpoints = to_json(&anthropic).matches("\"cache_control\"").count();
        assert_eq!(breakpoints as f64, num_of(c, "breakpoints"), "{name}");
        assert!(breakpoints <= MAX_CACHE_BREAKPOINTS);
        assert_eq!(
            estimate_spec_tokens(&spec) as f64,
            num_of(c, "tokens"),
            "{name}: tokens"
        );
        assert_eq!(
            cache_key(c.get("spec").unwrap()),
            str_of(c, "cacheKey"),
            "{name}: spec key"
        );
        assert_eq!(cache_key(&openai), str_of(c, "openaiCacheKey"), "{name}: body key");
        // The spec survives its own round trip.
        assert_eq!(
            PromptSpec::from_value(&spec.to_value()).unwrap(),
            spec,
            "{name}: round trip"
        );
    }
}

#[test]
fn truncation_matches_the_vectors() {
    let doc = parse(PROMPTS);
    for c in cases(&doc, "specs") {
        let name = str_of(c, "name");
        let spec = spec_of(c);
        for t in cases(c, "truncate") {
            let budget = num_of(t, "budget") as u32;
            match truncate(spec.clone(), budget) {
                Ok((cut, dropped)) => {
                    assert_eq!(dropped as f64, num_of(t, "dropped"), "{name} @ {budget}");
                    assert_eq!(cut.messages.len() as f64, num_of(t, "messages"), "{name} @ {budget}");
                    assert!(estimate_spec_tokens(&cut) <= budget, "{name} @ {budget}");
                    assert_eq!(
                        cut.messages[..],
                        spec.messages[dropped..],
                        "{name}: keeps the newest turns"
                    );
                    if dropped > 0 {
                        assert_eq!(
                            cut.messages[0].role,
                            Role::User,
                            "{name} @ {budget}: starts with a user turn"
                        );
                    }
                    assert_eq!(cut.system, spec.system);
                    assert_eq!(cut.context, spec.context);
                }
                Err(e) => {
                    assert_eq!(e.code(), str_of(t, "code"), "{name} @ {budget}: {e}");
                    assert!(e.to_string().contains("budget"));
                }
            }
        }
    }
}

#[test]
fn estimates_match_the_vectors() {
    let doc = parse(PROMPTS);
    for c in cases(&doc, "estimates") {
        let text = str_of(c, "text");
        assert_eq!(estimate_tokens(text) as f64, num_of(c, "tokens"), "{text:?}");
    }
}

#[test]
fn cache_keys_match_python() {
    let doc = parse(PROMPTS);
    for c in cases(&doc, "cacheKeys") {
        let v = c.get("value").unwrap();
        assert_eq!(canonical_json(v), str_of(c, "canonical"));
        assert_eq!(cache_key(v), str_of(c, "key"));
    }
}

#[test]
fn invalid_specs_name_the_field() {
    let doc = parse(PROMPTS);
    for c in cases(&doc, "invalid") {
        let name = str_of(c, "name");
        let err = PromptSpec::from_value(c.get("spec").unwrap()).expect_err(name);
        assert_eq!(err.code(), str_of(c, "code"), "{name}");
        let field = str_of(c, "field");
        assert!(
            matches!(&err, PromptError::Invalid { field: f, .. } if f == field),
            "{name}: {err:?} should name {field}"
        );
        assert!(err.to_string().contains(field), "{name}: {err}");
    }
}

fn parse_json(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

#[test]
fn equal_prompts_share_a_key_and_different_ones_do_not() {
    let a = parse_json(r#"{"model":"m","messages":[{"role":"user","content":"Hello   world"}],"temperature":0.5}"#);
    let b = parse_json(
        "{\"temperature\":0.5,\"messages\":[{\"content\":\"\\n Hello\\tworld \",\"role\":\"user\"}],\"model\":\"m\"}",
    );
    let c = parse_json(r#"{"model":"m","messages":[{"role":"user","content":"Hello world!"}],"temperature":0.5}"#);
    let d = parse_json(r#"{"model":"m","messages":[{"role":"user","content":"Hello world"}],"temperature":0.25}"#);
    assert_eq!(cache_key(&a), cache_key(&b));
    assert_eq!(canonical_json(&a), canonical_json(&b));
    assert_ne!(cache_key(&a), cache_key(&c));
    assert_ne!(cache_key(&a), cache_key(&d));
    assert_eq!(cache_key(&a).len(), 64);
    assert!(cache_key(&a)
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    // Array order matters; key order does not.
    assert_ne!(cache_key(&parse_json("[1,2]")), cache_key(&parse_json("[2,1]")));
}

#[test]
fn writer_escapes_like_json_stringify() {
    let v = Value::from("q\" b\\ \u{1} \u{8}\u{c}\n\r\t \u{7f} \u{2028} é 😀");
    assert_eq!(
        to_json(&v),
        "\"q\\\" b\\\\ \\u0001 \\b\\f\\n\\r\\t \u{7f} \u{2028} é 😀\""
    );
    let n = Value::Array(vec![
        1.0.into(),
        (-2.0).into(),
        0.7.into(),
        f64::NAN.into(),
        f64::INFINITY.into(),
    ]);
    assert_eq!(to_json(&n), "[1,-2,0.7,null,null]");
    let parsed: serde_json::Value = serde_json::from_str(&to_json(&v)).unwrap();
    assert_eq!(parsed.as_str(), v.as_str());
}

#[test]
fn breakpoint_thresholds_by_model() {
    assert_eq!(min_cacheable_tokens("claude-sonnet-4-5-20250929"), 1024);
    assert_eq!(min_cacheable_tokens("claude-opus-4-1"), 1024);
    assert_eq!(min_cacheable_tokens("claude-3-7-sonnet-latest"), 1024);
    assert_eq!(min_cacheable_tokens("claude-sonnet-4-6"), 2048);
    assert_eq!(min_cacheable_tokens("claude-3-5-haiku-20241022"), 2048);
    assert_eq!(min_cacheable_tokens("claude-3-haiku-20240307"), 2048);
    assert_eq!(min_cacheable_tokens("claude-haiku-4-5"), 4096);
    assert_eq!(min_cacheable_tokens("claude-opus-4-5-20251101"), 4096);
    assert_eq!(min_cacheable_tokens("gpt-4o"), 4096);
}

#[test]
fn strict_schema_keeps_explicit_choices() {
    let s = parse_json(
        r#"{"type":"object","properties":{"a":{"type":"null"},"b":{"type":"object","properties":{},"additionalProperties":true}},"required":["b"]}"#,
    );
    let want = r#"{"type":"object","properties":{"a":{"type":"null"},"b":{"type":"object","properties":{},"additionalProperties":true,"required":[]}},"required":["a","b"],"additionalProperties":false}"#;
    assert_eq!(to_json(&strict_schema(&s)), want);
    // Not a schema object: unchanged.
    assert_eq!(strict_schema(&Value::Bool(true)), Value::Bool(true));
}

#[test]
fn truncate_without_messages_is_an_error() {
    let mut spec = PromptSpec::from_value(&parse_json(
        r#"{"model":"m","system":"s","messages":[{"role":"user","content":"x"}]}"#,
    ))
    .unwrap();
    spec.messages.clear();
    assert_eq!(truncate(spec, 100).unwrap_err().code(), "INVALID_PROMPT");
}

fn turn() -> impl Strategy<Value = (bool, String)> {
    (any::<bool>(), "[a-z ]{1,40}[a-z]")
}

proptest! {
    #[test]
    fn estimate_is_monotonic_under_appending(a in ".{0,80}", b in ".{0,80}") {
        let joined = format!("{a}{b}");
        prop_assert!(estimate_tokens(&joined) >= estimate_tokens(&a));
    }

    #[test]
    fn canonical_json_is_stable(a in "[ \\ta-z\\u{3000}]{0,30}", b in "[ \\ta-z]{0,30}") {
        let x = Value::Object(vec![("k".into(), Value::from(a.as_str())), ("j".into(), Value::from(b.as_str()))]);
        let y = Value::Object(vec![("j".into(), Value::from(normalize_whitespace(&b).as_str())), ("k".into(), Value::from(a.as_str()))]);
        prop_assert_eq!(cache_key(&x), cache_key(&y));
    }

    #[test]
    fn truncation_fits_and_keeps_the_latest_turn(turns in prop::collection::vec(turn(), 0..12), budget in 0u32..400) {
        let mut messages: Vec<Value> = turns.iter().map(|(user, text)| {
            let role = if *user { "user" } else { "assistant" };
            Value::Object(vec![("role".into(), role.into()), ("content".into(), text.as_str().into())])
        }).collect();
        messages.push(Value::Object(vec![("role".into(), "user".into()), ("content".into(), "latest".into())]));
        let v = Value::Object(vec![
            ("model".into(), "claude-sonnet-4-5".into()),
            ("system".into(), "Be brief.".into()),
            ("messages".into(), Value::Array(messages)),
        ]);
        let spec = PromptSpec::from_value(&v).unwrap();
        match truncate(spec.clone(), budget) {
            Ok((cut, dropped)) => {
                prop_assert!(estimate_spec_tokens(&cut) <= budget);
                prop_assert_eq!(cut.messages.len() + dropped, spec.messages.len());
                prop_assert_eq!(&cut.messages.last().unwrap().content, "latest");
                if dropped > 0 {
                    prop_assert_eq!(cut.messages[0].role, Role::User);
                    // Dropping one turn fewer would not have fitted (or would start with an assistant turn).
                    let mut more = spec.clone();
                    more.messages.drain(..dropped - 1);
                    prop_assert!(estimate_spec_tokens(&more) > budget || more.messages[0].role == Role::Assistant);
                }
            }
            Err(e) => prop_assert_eq!(e.code(), "PROMPT_TOO_LARGE"),
        }
    }
}
