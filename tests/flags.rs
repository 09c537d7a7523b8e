//! Flag evaluation natively against the shared vectors, plus properties of the engine.

mod support;

use support::*;
use trimtab::flags::{check_ramp, FlagEngine, FlagError, Reason};
use trimtab::value::Value;
use trimtab::ErrorCode;

/// 2026-11-22T00:00:00Z: the vectors pin `now` wherever the time matters.
const CLOCK: i64 = 1_795_305_600_000;

#[test]
fn evaluation_vectors() {
    let failures = evaluation_failures(CLOCK);
    assert!(
        failures.is_empty(),
        "{} failing:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn invalid_snapshots_name_flag_and_field() {
    let failures = invalid_snapshot_failures();
    assert!(
        failures.is_empty(),
        "{} failing:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn ramp_vectors() {
    let doc = parse(EVALUATION);
    for c in cases(&doc, "ramps") {
        let stages: Vec<f64> = cases(c, "stages").iter().filter_map(Value::as_f64).collect();
        let got = check_ramp(num_of(c, "current"), num_of(c, "next"), &stages);
        match (c.get("code").and_then(Value::as_str), got) {
            (None, Ok(())) => {}
            (Some(code), Err(e)) => {
                assert_eq!(e.code(), code, "{c:?}");
                if let FlagError::RampSkipsStage { skipped, .. } = e {
                    assert_eq!(skipped, num_of(c, "skipped"), "{c:?}");
                }
            }
            (want, got) => panic!("{c:?}: want {want:?}, got {got:?}"),
        }
    }
}

#[test]
fn evaluate_all_agrees_with_evaluate() {
    let doc = parse(EVALUATION);
    let engine = FlagEngine::from_value(doc.get("snapshot").unwrap()).unwrap();
    for i in 0..50 {
        let attrs = parse(&format!(
            r#"{{"userId": "user-{i}", "country": "RW", "orgId": "org-{i}", "now": "2026-12-03T00:00:00Z"}}"#
        ));
        let slots = trimtab::context::Slots::from_object(engine.slot_table(), &attrs);
        let ctx = trimtab::flags::EvalContext::new(&slots, 1_796_256_000_000);
        let cache = trimtab::flags::DigestCache::new(engine.len());
        let cached = trimtab::flags::EvalContext {
            cache: Some(&cache),
            ..ctx
        };
        let all = engine.evaluate_all(&ctx);
        for (f, e) in engine.flags().iter().zip(&all) {
            assert_eq!(*e, engine.evaluate(&f.key, &ctx), "{}", f.key);
            assert_eq!(*e, engine.evaluate(&f.key, &cached), "{} (cache miss)", f.key);
            assert_eq!(*e, engine.evaluate(&f.key, &cached), "{} (cache hit)", f.key);
        }
    }
}

#[test]
fn emergency_switch_turns_everyone_off() {
    let on = parse(r#"{"version": "1", "flags": [{"key": "f", "enabled": true, "rollout": 100}]}"#);
    let off =
        parse(r#"{"version": "2", "flags": [{"key": "f", "enabled": true, "rollout": 100, "adminOverride": "off"}]}"#);
    let (on, off) = (
        FlagEngine::from_value(&on).unwrap(),
        FlagEngine::from_value(&off).unwrap(),
    );
    for i in 0..1000 {
        let attrs = parse(&format!(r#"{{"userId": "u{i}"}}"#));
        assert!(on.evaluate_attributes("f", &attrs, CLOCK).enabled);
        let e = off.evaluate_attributes("f", &attrs, CLOCK);
        assert!(!e.enabled && e.reason == Reason::AdminOverride);
    }
}

#[test]
fn a_thousand_flags_load_and_evaluate() {
    let flags: Vec<String> = (0..1000)
        .map(|i| format!(r#"{{"key": "flag_{i}", "enabled": true, "rollout": {}, "rules": [{{"condition": {{"plan": "pro"}}, "rollout": 100}}]}}"#, i % 101))
        .collect();
    let snap = parse(&format!(r#"{{"version": "big", "flags": [{}]}}"#, flags.join(",")));
    let engine = FlagEngine::from_value(&snap).unwrap();
    assert_eq!(engine.len(), 1000);
    let attrs = parse(r#"{"userId": "user-1", "plan": "pro"}"#);
    let e = engine.evaluate_attributes("flag_0", &attrs, CLOCK);
    assert_eq!((e.enabled, e.reason, e.rule_index), (true, Reason::RuleMatch, Some(0)));
}

#[test]
fn deep_prerequisite_chains_are_refused() {
    let flags: Vec<String> = (0..40)
        .map(|i| {
            format!(
                r#"{{"key": "f{i}", "prerequisites": [{}]}}"#,
                if i > 0 {
                    format!(r#"{{"flag": "f{}"}}"#, i - 1)
                } else {
                    String::new()
                }
            )
        })
        .collect();
    let snap = parse(&format!(r#"{{"version": "1", "flags": [{}]}}"#, flags.join(",")));
    let err = FlagEngine::from_value(&snap).unwrap_err();
    assert_eq!(err.code(), "INVALID_SNAPSHOT");
    assert!(err.to_string().contains("deeper"), "{err}");
}

#[test]
fn a_digest_cache_of_the_wrong_size_only_remembers_less() {
    use trimtab::context::Slots;
    use trimtab::flags::{DigestCache, EvalContext};
    let doc = parse(EVALUATION);
    let engine = FlagEngine::from_value(doc.get("snapshot").unwrap()).unwrap();
    let attrs = parse(r#"{"userId": "user-3", "orgId": "org-1", "now": "2026-12-03T00:00:00Z"}"#);
    let slots = Slots::from_object(engine.slot_table(), &attrs);
    let plain = engine.evaluate_all(&EvalContext::new(&slots, CLOCK));
    for size in [0, 1, 5, engine.len() + 3] {
        let cache = DigestCache::new(size);
        let ctx = EvalContext {
            slots: &slots,
            now: CLOCK,
            cache: Some(&cache),
        };
        assert_eq!(engine.evaluate_all(&ctx), plain, "cache for {size} flags");
    }
}
