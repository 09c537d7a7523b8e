//! The safety loop's decisions, natively: the shared cases in tests/vectors/guard.json (breaker
//! scripts on an injected clock, rollout decisions on crafted metric windows with their breaches
//! and checks, similarity, the cutover check and gate, PII scans), plus the validation of the
//! guard's settings, NaN and extreme inputs and properties of the similarity score.

#![cfg(not(target_arch = "wasm32"))]

mod support;

use proptest::prelude::*;
use support::*;
use trimtab::guard::rollout::{percent, DEFAULT_MIN_ROLLBACK_SAMPLE};
use trimtab::guard::thresholds::setting_names;
use trimtab::guard::*;
use trimtab::redact::scan;
use trimtab::value::Value;
use trimtab::ErrorCode;

const GUARD: &str = include_str!("vectors/guard.json");

fn opt_num(v: &Value, field: &str) -> Option<f64> {
    v.get(field).and_then(Value::as_f64)
}

fn codes(v: &Value) -> Vec<String> {
    cases(v, "codes")
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect()
}

fn metrics(v: &Value) -> PipelineMetrics {
    PipelineMetrics {
        calls: num_of(v, "calls"),
        errors: num_of(v, "errors"),
        p95_ms: num_of(v, "p95Ms"),
        fallbacks: opt_num(v, "fallbacks").unwrap_or(0.0),
        pii_leaks: opt_num(v, "piiLeaks").unwrap_or(0.0),
        cost_usd: opt_num(v, "costUsd").unwrap_or(0.0),
        conversations: opt_num(v, "conversations").unwrap_or(0.0),
    }
}

/// The vectors' thresholds, checked strictly (they are all valid settings).
fn thresholds(v: Option<&Value>) -> RolloutThresholds {
    RolloutThresholds::from_value(v.unwrap_or(&Value::Null), true).expect("valid vector thresholds")
}

/// `[[a, b], ...]` of a vector as pairs of strings.
fn pairs(v: &Value, field: &str) -> Vec<(String, String)> {
    cases(v, field)
        .iter()
        .map(|p| {
            let p = p.as_array().expect("a pair");
            (p[0].as_str().unwrap().to_owned(), p[1].as_str().unwrap().to_owned())
        })
        .collect()
}

fn level_name(l: Option<Level>) -> String {
    match l {
        Some(Level::Warning) => "warning".into(),
        Some(Level::Critical) => "critical".into(),
        None => "none".into(),
    }
}

fn state_name(s: CheckState) -> &'static str {
    match s {
        CheckState::Ok => "ok",
        CheckState::Warning => "warning",
        CheckState::Critical => "critical",
        CheckState::NoData => "no_data",
    }
}

fn breaker_config(v: &Value) -> BreakerConfig {
    let d = BreakerConfig::default();
    BreakerConfig {
        window_ms: opt_num(v, "windowMs").map_or(d.window_ms, |n| n as i64),
        min_calls: opt_num(v, "minCalls").map_or(d.min_calls, |n| n as u32),
        error_threshold: opt_num(v, "errorThreshold").unwrap_or(d.error_threshold),
        reset_timeout_ms: opt_num(v, "resetTimeoutMs").map_or(d.reset_timeout_ms, |n| n as i64),
    }
}

#[test]
fn breaker_vectors() {
    let doc = parse(GUARD);
    for case in cases(&doc, "breaker") {
        let name = str_of(case, "name");
        let mut b = CircuitBreaker::new(breaker_config(case.get("config").unwrap()));
        for (i, step) in cases(case, "steps").iter().enumerate() {
            let now = num_of(step, "now") as i64;
            let want = str_of(step, "state");
            for _ in 0..opt_num(step, "repeat").unwrap_or(1.0) as usize {
                let got = match str_of(step, "op") {
                    "allow" => {
                        let p = b.allow(now);
                        assert_eq!(
                            (p.allowed, p.trial),
                            (
                                step.get("allowed") == Some(&Value::Bool(true)),
                                step.get("trial") == Some(&Value::Bool(true))
                            ),
                            "{name}, step {i}"
                        );
                        p.state
                    }
                    "record" => b.record(step.get("success") == Some(&Value::Bool(true)), now),
                    _ => b.state(now),
                };
                assert_eq!(got.as_str(), want, "{name}, step {i}");
            }
        }
    }
}

#[test]
fn rollout_vectors() {
    let doc = parse(GUARD);
    let all = cases(&doc, "rollout");
    assert!(all.len() >= 20);
    for case in all {
        let name = str_of(case, "name");
        let d = decide_rollout(
            &metrics(case.get("old").unwrap()),
            &metrics(case.get("new").unwrap()),
            &thresholds(case.get("thresholds")),
            num_of(case, "stageEnteredMs") as i64,
            num_of(case, "nowMs") as i64,
        );
        let got: Vec<&str> = d.reasons.iter().map(|r| r.code).collect();
        assert_eq!(d.action.as_str(), str_of(case, "action"), "{name}: {:?}", d.reasons);
        assert_eq!(got, codes(case), "{name}: {:?}", d.reasons);
        assert!(d.reasons.iter().all(|r| !r.message.is_empty()));
        let breaches: Vec<(String, String)> = d
            .breaches
            .iter()
            .map(|b| (b.code.to_owned(), level_name(b.level)))
            .collect();
        assert_eq!(breaches, pairs(case, "breaches"), "{name}");
        let checks: Vec<(String, String)> = d
            .checks
            .iter()
            .map(|c| (c.code.to_owned(), state_name(c.state).to_owned()))
            .collect();
        assert_eq!(checks, pairs(case, "checks"), "{name}");
        for b in &d.breaches {
            assert!(
                b.value.is_some_and(f64::is_finite) && b.threshold.is_some_and(f64::is_finite),
                "{b:?}"
            );
        }
    }
}

#[test]
fn gate_vectors() {
    let doc = parse(GUARD);
    for case in cases(&doc, "gate") {
        let s = case.get("summary").unwrap();
        let summary = ShadowSummary {
            samples: num_of(s, "samples"),
            similarity: num_of(s, "similarity"),
            latency_ratio: num_of(s, "latencyRatio"),
            error_rate: num_of(s, "errorRate"),
        };
        let r = cutover_gate(&summary, &thresholds(case.get("thresholds")));
        let got: Vec<&str> = r.reasons.iter().map(|r| r.code).collect();
        let name = str_of(case, "name");
        assert_eq!(r.ok, case.get("ok") == Some(&Value::Bool(true)), "{name}");
        assert_eq!(r.required, case.get("required") == Some(&Value::Bool(true)), "{name}");
        assert_eq!(got, codes(case), "{name}: {r:?}");
    }
}

#[test]
fn pii_vectors() {
    let doc = parse(GUARD);
    for case in cases(&doc, "pii") {
        let s = scan(str_of(case, "text"));
        assert_eq!(s.text, str_of(case, "masked"));
        let counts = [s.phones, s.emails, s.vouchers].map(f64::from);
        let want = ["phones", "emails", "vouchers"].map(|k| num_of(case, k));
        assert_eq!(counts, want, "{case:?}");
        assert_eq!(f64::from(s.total()), want.iter().sum::<f64>());
    }
}

#[test]
fn settings_are_validated_strictly_for_admins_and_leniently_for_decisions() {
    let obj =
        |members: &[(&str, Value)]| Value::Object(members.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect());
    let refused = |v: Value| RolloutThresholds::from_value(&v, true).expect_err("refused");
    let e = refused(obj(&[("p95WarnMs", Value::Number(1.0))]));
    assert_eq!(
        (e.code(), e.field.as_str(), e.reason.as_str()),
        ("INVALID_THRESHOLD", "p95WarnMs", "is not a guard setting")
    );
    let e = refused(obj(&[("maxErrorRate", Value::from("10%"))]));
    assert_eq!(
        (e.field.as_str(), e.reason.as_str()),
        ("maxErrorRate", "must be a number, got string")
    );
    let e = refused(obj(&[("maxErrorRate", Value::Number(1.5))]));
    assert_eq!(e.reason, "must be a share from 0 to 1, got 1.5");
    let e = refused(obj(&[("minSample", Value::Number(2.5))]));
    assert_eq!(e.reason, "must be a whole number from 0, got 2.5");
    let e = refused(obj(&[("p95WarningMs", Value::Number(-1.0))]));
    assert_eq!(e.reason, "must be a finite number from 0, got -1");
    let e = refused(obj(&[("requireCutover", Value::Number(1.0))]));
    assert_eq!(e.reason, "must be a boolean, got number");
    let e = refused(obj(&[("p95WarningMs", Value::Number(6000.0))]));
    assert_eq!(
        (e.field.as_str(), e.reason.as_str()),
        ("p95WarningMs", "6000 is above p95CriticalMs (5000)")
    );
    let e = refused(Value::Array(vec![]));
    assert_eq!(
        (e.field.as_str(), e.reason.as_str()),
        ("guard", "must be an object, got array")
    );
    assert_eq!(e.to_string(), "guard setting guard: must be an object, got array");

    // Every setting is accepted with a value in range; null is the default.
    let all: Vec<(&str, Value)> = setting_names()
        .map(|n| {
            (
                n,
                if n == "requireCutover" {
                    Value::Bool(true)
                } else {
                    Value::Number(0.0)
                },
            )
        })
        .collect();
    let t = RolloutThresholds::from_value(&obj(&all), true).expect("all settings");
    assert_eq!(
        (t.max_error_rate, t.min_sample, t.require_cutover),
        (0.0, 0, Some(true))
    );
    assert_eq!(setting_names().count(), 21);
    let t = RolloutThresholds::from_value(&obj(&[("maxErrorRate", Value::Null)]), true).unwrap();
    assert_eq!(t, RolloutThresholds::default());

    // Leniently, anything unusable is the default and unknown keys are ignored.
    let t = RolloutThresholds::from_value(
        &obj(&[
            ("maxErrorRate", Value::from("x")),
            ("nope", Value::Bool(true)),
            ("dwellMs", Value::Number(0.0)),
            ("minSample", Value::Number(f64::NAN)),
        ]),
        false,
    )
    .unwrap();
    assert_eq!((t.max_error_rate, t.dwell_ms, t.min_sample), (0.10, 0, 100));
    assert_eq!(
        RolloutThresholds::from_value(&Value::from("x"), false).unwrap(),
        RolloutThresholds::default()
    );
}

#[test]
fn similarity_vectors() {
    let doc = parse(GUARD);
    for case in cases(&doc, "similarity") {
        let (a, b) = (case.get("old").unwrap(), case.get("new").unwrap());
        let want = num_of(case, "score");
        let name = str_of(case, "name");
        assert!((similarity(a, b) - want).abs() < 1e-12, "{name}: {}", similarity(a, b));
        assert!((similarity(b, a) - want).abs() < 1e-12, "{name} (swapped)");
    }
}

#[test]
fn cutover_vectors() {
    let doc = parse(GUARD);
    assert!(cases(&doc, "gate").len() >= 8 && cases(&doc, "pii").len() >= 5);
    for case in cases(&doc, "cutover") {
        let r = cutover_check(
            num_of(case, "similarity"),
            num_of(case, "latencyRatio"),
            num_of(case, "errorRate"),
        );
        let got: Vec<&str> = r.reasons.iter().map(|r| r.code).collect();
        assert_eq!(r.ok, case.get("ok") == Some(&Value::Bool(true)), "{case:?}");
        assert_eq!(got, codes(case), "{case:?}");
    }
}

#[test]
fn cutover_nan_fails_everything() {
    let r = cutover_check(f64::NAN, f64::NAN, f64::NAN);
    assert!(!r.ok);
    assert_eq!(r.reasons.len(), 3);
    let r = cutover_check(f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY);
    assert!(r.ok);
    let r = cutover_check(0.9, 1.25, 0.05);
    let msgs: Vec<&str> = r.reasons.iter().map(|r| r.message.as_str()).collect();
    assert_eq!(
        msgs,
        [
            "output similarity 90.0% is below 95.0%",
            "latency 1.25× the old pipeline's is above 1.1×",
            "error rate 5.0% is not below 1.0%"
        ]
    );
}

fn m(calls: f64, errors: f64, p95: f64) -> PipelineMetrics {
    PipelineMetrics {
        calls,
        errors,
        p95_ms: p95,
        ..PipelineMetrics::default()
    }
}

#[test]
fn rollout_messages_state_the_numbers() {
    let t = RolloutThresholds::default();
    let d = decide_rollout(&m(1000.0, 10.0, 800.0), &m(200.0, 25.0, 1000.0), &t, 0, 0);
    assert_eq!(d.action, Action::Rollback);
    let msgs: Vec<&str> = d.reasons.iter().map(|r| r.message.as_str()).collect();
    assert_eq!(
        msgs,
        [
            "new pipeline error rate 12.5% (25 of 200 calls) is above the 10.0% limit",
            "new pipeline success rate 87.5% is below the 90.0% limit",
            "new pipeline error rate 12.5% is above the old pipeline's 1.0% plus the 5.0% margin",
            "new pipeline p95 1000 ms is above 1.2× the old pipeline's 800 ms",
        ]
    );
    let first = &d.reasons[0];
    assert_eq!(
        (first.level, first.value, first.threshold),
        (Some(Level::Critical), Some(0.125), Some(0.10))
    );
    let d = decide_rollout(&m(0.0, 0.0, 0.0), &m(50.0, 3.0, 0.0), &t, 0, 1_000);
    let msgs: Vec<&str> = d.reasons.iter().map(|r| r.message.as_str()).collect();
    assert_eq!(
        msgs,
        [
            "new pipeline error rate 6.0% (3 of 50 calls) is above the 1.0% warning level",
            "new pipeline success rate 94.0% is below the 95.0% warning level",
            "1000 ms at this stage of the 3600000 ms dwell time",
            "50 new pipeline calls of the 100 needed",
        ]
    );
    let mut costly = m(100.0, 0.0, 3500.0);
    costly.cost_usd = 15.0;
    costly.conversations = 100.0;
    let mut cheap = m(1000.0, 0.0, 3400.0);
    cheap.cost_usd = 5.0;
    cheap.conversations = 100.0;
    let d = decide_rollout(&cheap, &costly, &t, 0, 3_600_000);
    let msgs: Vec<&str> = d.reasons.iter().map(|r| r.message.as_str()).collect();
    assert_eq!(
        msgs,
        [
            "new pipeline p95 3500 ms is above the 3000 ms warning level",
            "new pipeline cost per conversation 0.15 USD is above the 0.1 USD warning level",
            "new pipeline cost per conversation 0.15 USD is above 2× the old pipeline's 0.05 USD",
        ]
    );
    let mut leaky = m(5.0, 0.0, 2500.0);
    leaky.pii_leaks = 2.0;
    let d = decide_rollout(&cheap, &leaky, &t, 0, 0);
    assert_eq!(d.reasons[0].message, "the new pipeline reported 2 PII leak(s)");
    let d = decide_rollout(&cheap, &m(5.0, 0.0, 2500.0), &t, 0, 3_600_000);
    assert_eq!(
        d.reasons.iter().map(|r| r.message.as_str()).collect::<Vec<_>>(),
        [
            "5 new pipeline calls of the 100 needed",
            "new pipeline p95 2500 ms is above the 2000 ms needed"
        ]
    );
}

#[test]
fn rollout_survives_nan_and_extremes() {
    let t = RolloutThresholds::default();
    let nan = m(f64::NAN, f64::NAN, f64::NAN);
    // NaN calls are no calls: hold, never advance or roll back on garbage.
    let d = decide_rollout(&m(1000.0, 0.0, 800.0), &nan, &t, 0, i64::MAX);
    assert_eq!(d.action, Action::Hold);
    assert_eq!(
        d.reasons.iter().map(|r| r.code).collect::<Vec<_>>(),
        ["SAMPLE", "SUCCESS_RATE"]
    );
    // NaN errors are no errors; a NaN old p95 disables the latency comparison; NaN costs are 0.
    let mut no_cost = m(200.0, f64::NAN, 900.0);
    no_cost.cost_usd = f64::NAN;
    no_cost.conversations = f64::NAN;
    let d = decide_rollout(&nan, &no_cost, &t, 0, 3_600_000);
    assert_eq!(d.action, Action::Advance);
    // A NaN PII count is not a leak; an infinite one is.
    let mut leak = m(200.0, 0.0, 800.0);
    leak.pii_leaks = f64::NAN;
    assert_eq!(decide_rollout(&nan, &leak, &t, 0, 3_600_000).action, Action::Advance);
    leak.pii_leaks = f64::INFINITY;
    assert_eq!(decide_rollout(&nan, &leak, &t, 0, 0).action, Action::Rollback);
    // Huge and infinite numbers.
    let huge = m(f64::INFINITY, f64::INFINITY, f64::INFINITY);
    let d = decide_rollout(&m(f64::MAX, 0.0, f64::MAX), &huge, &t, i64::MIN, i64::MAX);
    assert_eq!(d.action, Action::Rollback);
    assert!(d.reasons.iter().all(|r| !r.message.is_empty()));
    let d = decide_rollout(&huge, &m(f64::MAX, f64::MIN, f64::MAX), &t, i64::MAX, i64::MIN);
    assert_eq!(d.action, Action::Rollback, "an absurd p95 is over the limit");
    assert_eq!(d.reasons.iter().map(|r| r.code).collect::<Vec<_>>(), ["P95_LATENCY"]);
    // NaN thresholds take their defaults; extreme ones do not panic.
    let weird = RolloutThresholds {
        max_error_rate: f64::NAN,
        error_margin: f64::NAN,
        max_latency_ratio: f64::NAN,
        min_success_rate: f64::NAN,
        ..t
    };
    let d = decide_rollout(&m(1000.0, 0.0, 800.0), &m(100.0, 11.0, 800.0), &weird, 0, 0);
    assert_eq!(
        d.reasons.iter().map(|r| r.code).collect::<Vec<_>>(),
        ["ERROR_RATE", "SUCCESS_RATE", "ERROR_RATE_VS_OLD"]
    );
    let extreme = RolloutThresholds {
        max_error_rate: f64::NEG_INFINITY,
        error_margin: f64::INFINITY,
        max_latency_ratio: f64::MAX,
        min_success_rate: f64::MIN,
        p95_critical_ms: f64::NAN,
        cost_per_conversation_critical: f64::NEG_INFINITY,
        min_sample: u64::MAX,
        dwell_ms: i64::MIN,
        min_rollback_sample: 0,
        ..t
    };
    let d = decide_rollout(&m(0.0, 0.0, 0.0), &m(0.0, 0.0, 0.0), &extreme, 0, 0);
    assert_eq!(d.action, Action::Hold, "no calls never roll back on error rate");
    let d = decide_rollout(&m(1.0, 0.0, 1.0), &m(1.0, 0.0, 1.0), &extreme, 0, 0);
    assert_eq!(d.action, Action::Rollback);
    assert_eq!(DEFAULT_MIN_ROLLBACK_SAMPLE, 20);
}

#[test]
fn percent_formats_one_decimal() {
    assert_eq!(percent(0.125), "12.5%");
    assert_eq!(percent(0.1), "10.0%");
    assert_eq!(percent(0.0), "0.0%");
    assert_eq!(percent(1.0), "100.0%");
    assert_eq!(percent(0.00049), "0.0%");
    assert_eq!(percent(0.0005), "0.1%");
    assert_eq!(percent(-0.05), "-5.0%");
    assert_eq!(percent(f64::NAN), "NaN%");
    assert!(percent(f64::INFINITY).ends_with('%'));
}

#[test]
fn breaker_corrects_its_config_and_survives_extreme_clocks() {
    let mut b = CircuitBreaker::new(BreakerConfig {
        window_ms: -1,
        min_calls: 0,
        error_threshold: f64::NAN,
        reset_timeout_ms: -5,
    });
    let c = b.config();
    assert_eq!(
        (c.window_ms, c.min_calls, c.error_threshold, c.reset_timeout_ms),
        (10, 1, 0.5, 0)
    );
    assert_eq!(b.record(false, i64::MIN), BreakerState::Open);
    // Reset timeout 0: half-open at once.
    assert!(b.allow(i64::MIN).trial);
    assert_eq!(b.record(true, i64::MAX), BreakerState::Closed);
    assert_eq!(b.record(false, i64::MAX), BreakerState::Open);
    let mut b = CircuitBreaker::new(BreakerConfig {
        window_ms: i64::MAX,
        min_calls: u32::MAX,
        error_threshold: f64::INFINITY,
        reset_timeout_ms: i64::MAX,
    });
    for now in [i64::MIN, 0, i64::MAX, -1] {
        assert!(b.allow(now).allowed);
        assert_eq!(b.record(false, now), BreakerState::Closed);
    }
    // i64::MIN has aged out of the window ending at i64::MAX.
    assert_eq!(b.window(0), (3, 3));
}

#[test]
fn breaker_in_shadow_mode_reports_would_have_blocked() {
    // Shadow mode: ask, log, call anyway, record. The breaker's view is the enforce mode's.
    let mut b = CircuitBreaker::new(BreakerConfig {
        min_calls: 2,
        ..BreakerConfig::default()
    });
    let mut would_block = 0;
    for i in 0..10 {
        if !b.allow(i).allowed {
            would_block += 1;
        }
        b.record(false, i);
    }
    assert_eq!(would_block, 8);
    assert_eq!(b.state(9), BreakerState::Open);
}

/// An object as JSON makes it: later duplicate keys win.
fn object(members: Vec<(String, Value)>) -> Value {
    let mut out: Vec<(String, Value)> = Vec::new();
    for (k, v) in members {
        match out.iter_mut().find(|(key, _)| *key == k) {
            Some(slot) => slot.1 = v,
            None => out.push((k, v)),
        }
    }
    Value::Object(out)
}

fn arb_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-3i32..3).prop_map(|n| Value::Number(n as f64)),
        "[a-cA-C ,.!é]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(("[a-c]", inner.clone()), 0..3).prop_map(object),
            ("[fg]", prop::collection::vec(("[a-c]", inner), 0..3)).prop_map(|(n, args)| {
                Value::Object(vec![
                    ("name".into(), Value::String(n)),
                    ("arguments".into(), object(args)),
                ])
            }),
        ]
    })
}

proptest! {
    #[test]
    fn similarity_is_symmetric_bounded_and_reflexive(a in arb_value(), b in arb_value()) {
        let s = similarity(&a, &b);
        prop_assert!((0.0..=1.0).contains(&s), "{s}");
        prop_assert_eq!(s, similarity(&b, &a));
        prop_assert_eq!(similarity(&a, &a), 1.0);
    }

    #[test]
    fn text_similarity_properties(a in "\\PC{0,40}", b in "\\PC{0,40}") {
        let (x, y) = (Value::String(a.clone()), Value::String(b));
        let s = similarity(&x, &y);
        prop_assert!((0.0..=1.0).contains(&s));
        prop_assert_eq!(s, similarity(&y, &x));
        prop_assert_eq!(similarity(&x, &x), 1.0);
        let shouted = Value::String(format!("  {}!! ", a.to_ascii_uppercase()));
        prop_assert_eq!(similarity(&x, &shouted), 1.0);
    }

    #[test]
    fn breaker_never_panics_and_allows_one_trial_at_a_time(
        ops in prop::collection::vec((any::<bool>(), any::<bool>(), -50_000i64..200_000), 0..200)
    ) {
        let mut b = CircuitBreaker::new(BreakerConfig { min_calls: 3, reset_timeout_ms: 1_000, ..BreakerConfig::default() });
        for (ask, success, now) in ops {
            if ask {
                let p = b.allow(now);
                prop_assert_eq!(p.trial, p.allowed && p.state == BreakerState::HalfOpen);
                prop_assert!(p.allowed || p.state != BreakerState::Closed);
                if p.trial {
                    let again = b.allow(now);
                    prop_assert!(!again.allowed && again.state == BreakerState::HalfOpen);
                }
            } else {
                b.record(success, now);
            }
        }
    }
}
