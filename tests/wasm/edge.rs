//! The edge domains' vector files through their JS bindings (full build only): webhooks (HMAC,
//! Standard Webhooks, Meta, WhatsApp events and the dedup window), vouchers, the safety loop and
//! prompts. Part of `tests/wasm.rs`.

use super::{code_of, js, outcome, prop, val};
use crate::support::*;
use trimtab::value::Value;
use trimtab::wasm::{guard as g, prompt as p, voucher as v, webhook as w};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

const WEBHOOKS: &str = include_str!("../vectors/webhooks.json");
const VOUCHERS: &str = include_str!("../vectors/vouchers.json");
const GUARD: &str = include_str!("../vectors/guard.json");
const PROMPTS: &str = include_str!("../vectors/prompts.json");

fn opt<'a>(c: &'a Value, f: &str) -> Option<&'a Value> {
    c.get(f).filter(|v| !v.is_null())
}

fn opt_str(c: &Value, f: &str) -> Option<String> {
    opt(c, f).and_then(Value::as_str).map(String::from)
}

fn obj(pairs: &[(&str, Value)]) -> Value {
    Value::Object(pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect())
}

fn unhex(s: &str) -> Vec<u8> {
    trimtab::webhook::hex_decode(s).expect("hex in the vectors")
}

#[wasm_bindgen_test]
fn webhook_signature_vectors() {
    let doc = parse(WEBHOOKS);
    let hmac = cases(&doc, "hmac");
    assert!(hmac.len() >= 40);
    for c in hmac {
        let got = w::hmac_sha256_hex_js(&unhex(str_of(c, "key")), &unhex(str_of(c, "msg")));
        assert_eq!(got.ok().as_deref(), Some(str_of(c, "mac")), "{c:?}");
    }
    for c in cases(&doc, "standardSign") {
        let body = str_of(c, "body").as_bytes();
        let got = w::sign_standard_js(str_of(c, "secret"), str_of(c, "id"), num_of(c, "timestamp"), body);
        assert_eq!(got.ok().as_deref(), Some(str_of(c, "signature")), "{c:?}");
    }
    for c in cases(&doc, "standardVerify") {
        let got = outcome(w::verify_standard_js(
            str_of(c, "secret"),
            opt_str(c, "id"),
            opt_str(c, "timestamp"),
            opt_str(c, "signature"),
            str_of(c, "body").as_bytes(),
            Some(num_of(c, "now")),
        ));
        assert_eq!(got, str_of(c, "expected"), "{c:?}");
    }
    for c in cases(&doc, "meta") {
        let got = outcome(w::verify_meta_signature_js(
            str_of(c, "appSecret").as_bytes(),
            str_of(c, "body").as_bytes(),
            opt_str(c, "header"),
        ));
        assert_eq!(got, str_of(c, "expected"), "{c:?}");
    }
}

/// An event as the vectors spell it: `id` for `dedupId`, a status's `messageId` for `wamid`.
fn as_vector(event: &Value) -> Value {
    let status = event.get("kind").and_then(Value::as_str) == Some("status");
    let members = event.as_object().unwrap_or_default().iter().map(|(k, v)| {
        let k = match k.as_str() {
            "dedupId" => "id",
            "wamid" if status => "messageId",
            k => k,
        };
        (k.to_owned(), v.clone())
    });
    Value::Object(members.filter(|(k, _)| k != "wamid").collect())
}

#[wasm_bindgen_test]
fn whatsapp_event_vectors() {
    let doc = parse(WEBHOOKS);
    for c in cases(&doc, "whatsapp") {
        let got = val(&w::whatsapp_events_js(js(c.get("payload").expect("payload"))).expect("valid delivery"));
        let got: Vec<Value> = got.as_array().expect("an array").iter().map(as_vector).collect();
        let want: Vec<Value> = cases(c, "events")
            .iter()
            .map(|e| {
                Value::Object(
                    e.as_object()
                        .unwrap_or_default()
                        .iter()
                        .filter(|(_, v)| !v.is_null())
                        .cloned()
                        .collect(),
                )
            })
            .collect();
        assert_eq!(got.len(), want.len(), "{}", str_of(c, "name"));
        for (g, w) in got.iter().zip(&want) {
            assert!(same(g, w), "{}: {g:?} vs {w:?}", str_of(c, "name"));
        }
    }
    for c in cases(&doc, "whatsappInvalid") {
        let err = w::whatsapp_events_js(js(c.get("payload").expect("payload"))).expect_err(str_of(c, "name"));
        assert_eq!(code_of(&err), str_of(c, "code"), "{c:?}");
        assert_eq!(prop(&err, "path").as_str(), Some(str_of(c, "path")), "{c:?}");
    }
}

fn dedup_ids(payload: &Value) -> Vec<String> {
    let events = val(&w::whatsapp_events_js(js(payload)).expect("valid delivery"));
    let events = events.as_array().expect("an array");
    events
        .iter()
        .map(|e| e.get("dedupId").and_then(Value::as_str).expect("dedupId").to_owned())
        .collect()
}

#[wasm_bindgen_test]
fn the_dedup_cases_through_the_window() {
    let doc = parse(WEBHOOKS);
    let deliveries = cases(&doc, "whatsapp");
    let batched = dedup_ids(deliveries[1].get("payload").expect("payload"));
    let mut window = w::DedupWindow::new(Some(1000), Some(60_000.0));
    // Four statuses of one message are four distinct events: all fresh.
    assert!(batched
        .iter()
        .all(|id| window.first_seen(JsValue::from_str(id), Some(0.0))));
    assert_eq!(window.size() as usize, batched.len());
    // Redelivered a minute later minus one millisecond: every one a duplicate.
    assert!(batched
        .iter()
        .all(|id| !window.first_seen(JsValue::from_str(id), Some(59_999.0))));
    // The text delivery carries a message that the batch already held.
    let single = dedup_ids(deliveries[0].get("payload").expect("payload"));
    assert!(!window.first_seen(JsValue::from_str(&single[0]), Some(1.0)));
    // A delivery holding the same message twice: two events, one of them fresh.
    assert!(str_of(&deliveries[2], "name").starts_with("a duplicate inside"));
    let twice = dedup_ids(deliveries[2].get("payload").expect("payload"));
    let mut window = w::DedupWindow::new(None, None);
    let fresh = twice
        .iter()
        .filter(|id| window.first_seen(JsValue::from_str(id), Some(0.0)))
        .count();
    assert_eq!((twice.len(), fresh), (2, 1));
    // Forgotten ids are new again; ids expire after the TTL.
    assert!(window.forget(JsValue::from_str(&twice[0])) && window.first_seen(JsValue::from_str(&twice[0]), Some(0.0)));
    assert!(window.first_seen(JsValue::from_str(&twice[0]), Some(600_000.0)));
}

fn voucher_view(status: &str, holder: &str, expires: Option<&Value>) -> JsValue {
    js(&obj(&[
        ("status", Value::from(status)),
        ("holderPhone", Value::from(holder)),
        ("expiresAt", expires.cloned().unwrap_or_default()),
    ]))
}

#[wasm_bindgen_test]
fn voucher_code_and_phone_vectors() {
    let doc = parse(VOUCHERS);
    let codes = doc.get("codes").expect("codes");
    for c in cases(codes, "valid") {
        assert_eq!(
            v::validate_code_js(str_of(c, "input")).ok().as_deref(),
            Some(str_of(c, "canonical"))
        );
    }
    for c in cases(codes, "invalid") {
        assert_eq!(
            outcome(v::validate_code_js(str_of(c, "input"))),
            "INVALID_CODE",
            "{c:?}"
        );
    }
    let phones = doc.get("phones").expect("phones");
    for c in cases(phones, "valid") {
        assert_eq!(
            v::normalize_phone_js(str_of(c, "input")).ok().as_deref(),
            Some(str_of(c, "normalized"))
        );
    }
    for c in cases(phones, "invalid") {
        assert_eq!(
            outcome(v::normalize_phone_js(str_of(c, "input"))),
            "INVALID_PHONE",
            "{c:?}"
        );
    }
    let mut seen = std::collections::HashSet::new();
    for _ in 0..200 {
        let code = v::generate_code_js().expect("crypto.getRandomValues is there");
        assert_eq!(v::validate_code_js(&code).ok().as_ref(), Some(&code));
        seen.insert(code);
    }
    assert_eq!(seen.len(), 200);
    assert_eq!(
        v::redact_js("call +250 788 123 456 or a@b.co"),
        "call [phone ..56] or [email]"
    );
}

#[wasm_bindgen_test]
fn voucher_issue_vectors() {
    let doc = parse(VOUCHERS);
    for c in cases(&doc, "issue") {
        let name = str_of(c, "name");
        let policy = js(c.get("policy").expect("policy"));
        let got = v::validate_issue_js(policy, js(c.get("request").expect("request")), Some(num_of(c, "now")));
        if let Some(code) = opt_str(c, "code") {
            assert_eq!(outcome(got), code, "{name}");
            continue;
        }
        let got = val(&got.unwrap_or_else(|e| panic!("{name}: {}", code_of(&e))));
        let want = c.get("expected").expect("expected");
        for k in ["amountMinor", "currency", "holderPhone"] {
            assert_eq!(got.get(k), want.get(k), "{name}: {k}");
        }
        let expires = got.get("expiresAt").and_then(Value::as_str).map(js_sys::Date::parse);
        assert_eq!(expires, opt(want, "expiresAtMs").and_then(Value::as_f64), "{name}");
    }
    let request = |amount: &Value, currency: &str| {
        js(&obj(&[
            ("amount", amount.clone()),
            ("currency", Value::from(currency)),
            ("holderPhone", Value::from("+250788000000")),
        ]))
    };
    for c in cases(&doc, "amounts") {
        let policy = js(&obj(&[("maxAmountMinor", c.get("max").cloned().unwrap_or_default())]));
        let got = v::validate_issue_js(policy, request(c.get("amount").expect("amount"), "RWF"), Some(0.0));
        match opt_str(c, "code") {
            Some(code) => assert_eq!(outcome(got), code, "{c:?}"),
            None => assert_eq!(val(&got.expect("valid")).get("amountMinor"), c.get("minor"), "{c:?}"),
        }
    }
    for c in cases(&doc, "currencies") {
        let policy = js(&obj(&[
            ("maxAmountMinor", Value::Number(1e6)),
            ("currencies", c.get("allowed").cloned().unwrap_or_default()),
        ]));
        let got = outcome(v::validate_issue_js(
            policy,
            request(&Value::Number(100.0), str_of(c, "currency")),
            Some(0.0),
        ));
        let ok = c.get("ok").and_then(Value::as_bool) == Some(true);
        assert_eq!(got, if ok { "OK" } else { "INVALID_CURRENCY" }, "{c:?}");
    }
}

#[wasm_bindgen_test]
fn voucher_redeem_void_and_transition_vectors() {
    let doc = parse(VOUCHERS);
    for c in cases(&doc, "redeem") {
        let view = c.get("voucher").expect("voucher");
        let js_view = voucher_view(
            str_of(view, "status"),
            str_of(view, "holderPhone"),
            opt(view, "expiresAtMs"),
        );
        let got = outcome(v::check_redeem_js(js_view, str_of(c, "caller"), Some(num_of(c, "now"))));
        assert_eq!(
            got,
            opt_str(c, "code").unwrap_or_else(|| "OK".into()),
            "{}",
            str_of(c, "name")
        );
    }
    for c in cases(&doc, "void") {
        let got = outcome(v::check_void_js(voucher_view(
            str_of(c, "status"),
            "",
            opt(c, "expiresAtMs"),
        )));
        assert_eq!(got, opt_str(c, "code").unwrap_or_else(|| "OK".into()), "{c:?}");
    }
    for c in cases(&doc, "transitions") {
        let (from, phone) = (str_of(c, "from"), "+250788000000");
        let got = match str_of(c, "action") {
            "redeem" => v::check_redeem_js(voucher_view(from, phone, None), phone, Some(0.0)),
            _ => v::check_void_js(voucher_view(from, phone, None)),
        };
        assert_eq!(outcome(got), opt_str(c, "code").unwrap_or_else(|| "OK".into()), "{c:?}");
    }
    let err = v::check_void_js(voucher_view("lost", "", None)).unwrap_err();
    assert_eq!(
        (code_of(&err), prop(&err, "status")),
        ("INVALID_STATUS".into(), Value::from("lost"))
    );
    let err = v::check_void_js(voucher_view("voided", "", None)).unwrap_err();
    assert_eq!(prop(&err, "status"), Value::from("voided"));
}

#[wasm_bindgen_test]
fn rate_limiter_through_the_binding() {
    let mut rl = v::RateLimiter::new(Some(2), Some(2), Some(10));
    let d: Vec<Value> = (0..3)
        .map(|_| val(&rl.check("k".into(), Some(0.0)).expect("decision")))
        .collect();
    let allowed: Vec<_> = d.iter().map(|x| x.get("allowed").and_then(Value::as_bool)).collect();
    assert_eq!(allowed, [Some(true), Some(true), Some(false)]);
    assert_eq!(d[1].get("remaining"), Some(&Value::Number(0.0)));
    assert!(d[2]
        .get("retryAfterMs")
        .and_then(Value::as_f64)
        .is_some_and(|ms| ms > 0.0));
}

#[wasm_bindgen_test]
fn guard_vectors() {
    let doc = parse(GUARD);
    for c in cases(&doc, "breaker") {
        let name = str_of(c, "name");
        let mut b = g::CircuitBreaker::new(js(c.get("config").unwrap_or(&Value::Null))).expect("config");
        for st in cases(c, "steps") {
            let now = Some(num_of(st, "now"));
            let reps = opt(st, "repeat").and_then(Value::as_f64).unwrap_or(1.0) as usize;
            for i in 0..reps {
                let got = match str_of(st, "op") {
                    "record" => val(&b
                        .record(st.get("success").and_then(Value::as_bool) == Some(true), now)
                        .unwrap()),
                    "allow" => val(&b.allow(now).unwrap()),
                    _ => val(&b.state(now).unwrap()),
                };
                let want = match str_of(st, "op") {
                    "allow" => obj(&[
                        ("allowed", st.get("allowed").cloned().unwrap_or_default()),
                        ("trial", st.get("trial").cloned().unwrap_or_default()),
                        ("state", st.get("state").cloned().unwrap_or_default()),
                    ]),
                    _ => st.get("state").cloned().unwrap_or_default(),
                };
                // Repeated steps state the outcome of their last repetition.
                assert!(i + 1 < reps || same(&got, &want), "{name}: {st:?} -> {got:?}");
            }
        }
    }
    for c in cases(&doc, "rollout") {
        let d = g::decide_rollout_js(
            js(c.get("old").expect("old")),
            js(c.get("new").expect("new")),
            js(c.get("thresholds").unwrap_or(&Value::Null)),
            Some(num_of(c, "stageEnteredMs")),
            Some(num_of(c, "nowMs")),
        );
        let d = val(&d.expect("decision"));
        let field = |f: &str, keys: [&str; 2]| -> Value {
            Value::Array(
                d.get(f)
                    .and_then(Value::as_array)
                    .unwrap_or_default()
                    .iter()
                    .map(|x| match keys[1] {
                        "" => x.get(keys[0]).cloned().unwrap_or_default(),
                        k => Value::Array(vec![
                            x.get(keys[0]).cloned().unwrap_or_default(),
                            x.get(k).cloned().unwrap_or_default(),
                        ]),
                    })
                    .collect(),
            )
        };
        let name = str_of(c, "name");
        assert_eq!(d.get("action"), c.get("action"), "{name}");
        assert_eq!(Some(&field("reasons", ["code", ""])), c.get("codes"), "{name}");
        assert_eq!(Some(&field("breaches", ["code", "level"])), c.get("breaches"), "{name}");
        assert_eq!(Some(&field("checks", ["code", "state"])), c.get("checks"), "{name}");
    }
    for c in cases(&doc, "gate") {
        let r = val(&g::cutover_gate_js(
            js(c.get("summary").expect("summary")),
            js(c.get("thresholds").unwrap_or(&Value::Null)),
        )
        .expect("gate"));
        let codes: Vec<Value> = r
            .get("reasons")
            .and_then(Value::as_array)
            .unwrap_or_default()
            .iter()
            .filter_map(|x| x.get("code").cloned())
            .collect();
        assert_eq!(
            (r.get("ok"), r.get("required"), Some(&Value::Array(codes))),
            (c.get("ok"), c.get("required"), c.get("codes")),
            "{}",
            str_of(c, "name")
        );
    }
    for c in cases(&doc, "pii") {
        let r = val(&v::scan_pii_js(str_of(c, "text")).expect("scan"));
        for k in ["phones", "emails", "vouchers"] {
            assert_eq!(r.get(k), c.get(k), "{c:?}");
        }
        assert_eq!(r.get("text").and_then(Value::as_str), Some(str_of(c, "masked")));
    }
    let ok = val(&g::validate_rollout_thresholds_js(js(&obj(&[("p95WarningMs", Value::Number(2500.0))]))).unwrap());
    assert_eq!(ok.get("p95WarningMs"), Some(&Value::Number(2500.0)));
    assert_eq!(ok.get("maxErrorRate"), Some(&Value::Number(0.1)));
    assert_eq!(ok.get("requireCutover"), Some(&Value::Null));
    let e = g::validate_rollout_thresholds_js(js(&obj(&[("bogus", Value::Bool(true))]))).unwrap_err();
    assert_eq!(code_of(&e), "INVALID_THRESHOLD");
    for c in cases(&doc, "similarity") {
        let got = g::output_similarity_js(js(c.get("old").expect("old")), js(c.get("new").expect("new")));
        let ok = match opt(c, "score").and_then(Value::as_f64) {
            Some(s) => (got - s).abs() < 1e-9,
            None => {
                opt(c, "min").and_then(Value::as_f64).is_none_or(|m| got >= m)
                    && opt(c, "max").and_then(Value::as_f64).is_none_or(|m| got <= m)
            }
        };
        assert!(ok, "{}: {got}", str_of(c, "name"));
    }
    for c in cases(&doc, "cutover") {
        let r = val(&g::cutover_check_js(
            num_of(c, "similarity"),
            num_of(c, "latencyRatio"),
            num_of(c, "errorRate"),
        )
        .unwrap());
        let codes: Vec<Value> = r
            .get("reasons")
            .and_then(Value::as_array)
            .unwrap_or_default()
            .iter()
            .filter_map(|x| x.get("code").cloned())
            .collect();
        assert_eq!(
            (r.get("ok"), Some(&Value::Array(codes))),
            (c.get("ok"), c.get("codes")),
            "{c:?}"
        );
    }
}

fn json_text(v: &JsValue) -> String {
    js_sys::JSON::stringify(v).map(String::from).unwrap_or_default()
}

#[wasm_bindgen_test]
fn prompt_vectors() {
    let doc = parse(PROMPTS);
    for c in cases(&doc, "specs") {
        let name = str_of(c, "name");
        let spec = js(c.get("spec").expect("spec"));
        let openai = p::build_openai_js(spec.clone()).expect("valid spec");
        let anthropic = p::build_anthropic_js(spec.clone()).expect("valid spec");
        match opt_str(c, "openaiJson") {
            Some(text) => assert_eq!(json_text(&openai), text, "{name}: openai"),
            None => assert!(same(&val(&openai), c.get("openai").expect("openai")), "{name}: openai"),
        }
        match opt_str(c, "anthropicJson") {
            Some(text) => assert_eq!(json_text(&anthropic), text, "{name}: anthropic"),
            None => assert!(
                same(&val(&anthropic), c.get("anthropic").expect("anthropic")),
                "{name}: anthropic"
            ),
        }
        assert_eq!(
            p::cache_key_js(spec.clone()).ok().as_deref(),
            Some(str_of(c, "cacheKey")),
            "{name}"
        );
        assert_eq!(
            p::cache_key_js(openai).ok().as_deref(),
            Some(str_of(c, "openaiCacheKey")),
            "{name}"
        );
        for t in cases(c, "truncate") {
            let got = p::truncate_js(spec.clone(), num_of(t, "budget") as u32);
            if let Some(code) = opt_str(t, "code") {
                assert_eq!(outcome(got), code, "{name} @ {t:?}");
                continue;
            }
            let got = val(&got.expect("fits"));
            assert_eq!(got.get("droppedTurns"), t.get("dropped"), "{name} @ {t:?}");
            let kept = got.get("messages").and_then(Value::as_array).map(<[Value]>::len);
            assert_eq!(
                kept.map(|n| n as f64),
                opt(t, "messages").and_then(Value::as_f64),
                "{name} @ {t:?}"
            );
        }
    }
    for c in cases(&doc, "estimates") {
        assert_eq!(
            p::estimate_tokens_js(str_of(c, "text")) as f64,
            num_of(c, "tokens"),
            "{c:?}"
        );
    }
    for c in cases(&doc, "cacheKeys") {
        assert_eq!(
            p::cache_key_js(js(c.get("value").expect("value"))).ok().as_deref(),
            Some(str_of(c, "key"))
        );
    }
    for c in cases(&doc, "invalid") {
        let err = p::build_openai_js(js(c.get("spec").expect("spec"))).expect_err(str_of(c, "name"));
        assert_eq!(
            (code_of(&err), prop(&err, "field")),
            (
                str_of(c, "code").to_owned(),
                c.get("field").cloned().unwrap_or_default()
            )
        );
    }
}
