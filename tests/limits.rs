//! Hostile conditions: the cost budgets refuse what would be slow to evaluate, and a regex test
//! beyond the matcher's limits never makes a rule apply.

#![cfg(not(target_arch = "wasm32"))]

use proptest::prelude::*;
use trimtab::conditions::{Condition, MatchLimit, MAX_TEXT};
use trimtab::context::SlotTable;
use trimtab::flags::{FlagEngine, FlagError, Reason, MAX_FLAG_COST, MAX_SNAPSHOT_COST};
use trimtab::value::Value;
use trimtab::ErrorCode;

fn json(text: &str) -> Value {
    serde_json::from_str(text).expect("valid JSON")
}

fn flag_with_rules(key: &str, conditions: &[Value]) -> Value {
    let rules = conditions
        .iter()
        .map(|c| Value::Object(vec![("condition".into(), c.clone())]))
        .collect();
    Value::Object(vec![
        ("key".into(), Value::from(key)),
        ("enabled".into(), Value::Bool(true)),
        ("rollout".into(), Value::Number(0.0)),
        ("rules".into(), Value::Array(rules)),
    ])
}

fn snapshot(flags: Vec<Value>) -> Value {
    Value::Object(vec![
        ("version".into(), Value::from("1")),
        ("flags".into(), Value::Array(flags)),
    ])
}

fn regex_on(attr: &str, pattern: &str) -> Value {
    Value::Object(vec![(
        attr.into(),
        Value::Object(vec![("$regex".into(), Value::from(pattern))]),
    )])
}

fn refusal(snap: &Value) -> (Option<String>, String, String) {
    match FlagEngine::from_value(snap) {
        Ok(_) => panic!("accepted"),
        Err(e) => {
            assert_eq!(e.code(), "INVALID_SNAPSHOT");
            let msg = e.to_string();
            match e {
                FlagError::InvalidSnapshot { flag, field, .. } => (flag, field, msg),
                other => panic!("{other:?}"),
            }
        }
    }
}

/// The reported flag: 797 rules of a 3,902-instruction pattern, accepted before and then
/// 1.4 s of CPU per evaluation of every flag.
#[test]
fn the_reported_heavy_snapshot_is_refused_naming_the_rule() {
    let heavy = regex_on("email", "(?:a?){1300}(?:a){1300}b");
    let snap = snapshot(vec![flag_with_rules("heavy", &vec![heavy; 797])]);
    let (flag, field, msg) = refusal(&snap);
    assert_eq!((flag.as_deref(), field.as_str()), (Some("heavy"), "rules[0].condition"));
    assert!(
        msg.contains("the flag's") && msg.contains(&MAX_FLAG_COST.to_string()),
        "{msg}"
    );
    // 3,902 instructions x 513 positions, plus the condition object and the attribute path.
    assert!(msg.contains("condition cost 2001728 steps"), "{msg}");
}

#[test]
fn the_vectors_assume_the_core_limits() {
    let doc = json(include_str!("vectors/evaluation.json"));
    let limits = doc.get("limits").expect("limits");
    let num = |name: &str| limits.get(name).and_then(Value::as_f64);
    assert_eq!(num("maxRegexText"), Some(MAX_TEXT as f64));
    assert_eq!(num("maxFlagCost"), Some(MAX_FLAG_COST as f64));
    assert_eq!(num("maxSnapshotCost"), Some(MAX_SNAPSHOT_COST as f64));
    assert_eq!(num("maxJsonDepth"), Some(trimtab::value::MAX_DEPTH as f64));
    assert_eq!(num("maxConditionDepth"), Some(trimtab::conditions::MAX_DEPTH as f64));
}

/// A rule made to cost exactly `steps` (1 for the condition object, 1 for the path, the rest
/// in `$in` items), so the budgets can be probed at their edge.
fn rule_costing(steps: u64) -> Value {
    let items = (0..steps - 3).map(|i| Value::Number(i as f64)).collect();
    Value::Object(vec![(
        "n".into(),
        Value::Object(vec![("$in".into(), Value::Array(items))]),
    )])
}

#[test]
fn budgets_hold_at_their_edge() {
    let mut slots = SlotTable::default();
    let c = Condition::compile(&rule_costing(1000), &mut slots).expect("compiles");
    assert_eq!(c.cost().steps, 1000);
    assert_eq!(c.cost().regex, 0);

    // A flag exactly at its budget loads; one step more is refused at the rule that crossed.
    let half = MAX_FLAG_COST / 2;
    let at = snapshot(vec![flag_with_rules("f", &[rule_costing(half), rule_costing(half)])]);
    let engine = FlagEngine::from_value(&at).expect("a flag at its budget loads");
    assert_eq!(engine.condition_cost(), MAX_FLAG_COST);
    let over = snapshot(vec![flag_with_rules(
        "f",
        &[rule_costing(half), rule_costing(half + 1)],
    )]);
    let (flag, field, _) = refusal(&over);
    assert_eq!((flag.as_deref(), field.as_str()), (Some("f"), "rules[1].condition"));

    // The snapshot's budget: flags at their own budget fill it; a step more names the next flag.
    let full = MAX_SNAPSHOT_COST / MAX_FLAG_COST;
    let mut flags: Vec<Value> = (0..full)
        .map(|i| flag_with_rules(&format!("f{i}"), &[rule_costing(MAX_FLAG_COST)]))
        .collect();
    let engine = FlagEngine::from_value(&snapshot(flags.clone())).expect("a snapshot at its budget loads");
    assert_eq!(engine.condition_cost(), MAX_SNAPSHOT_COST);
    flags.push(flag_with_rules("last", &[json(r#"{"a": 1}"#), rule_costing(4)]));
    let (flag, field, msg) = refusal(&snapshot(flags));
    assert_eq!((flag.as_deref(), field.as_str()), (Some("last"), "rules[0].condition"));
    assert!(msg.contains("the snapshot's"), "{msg}");
}

#[test]
fn costs_follow_the_model() {
    let cost = |text: &str| {
        let c = Condition::compile(&json(text), &mut SlotTable::default()).expect("compiles");
        (c.cost().steps, c.cost().regex)
    };
    let positions = MAX_TEXT as u64 + 1;
    // `a$` is three instructions (literal, end, match).
    assert_eq!(cost(r#"{"e": {"$regex": "a$"}}"#), (2 + 3 * positions, 3 * positions));
    assert_eq!(
        cost(r#"{"e": {"$not": {"$regexi": "a$"}}}"#),
        (3 + 3 * positions, 3 * positions)
    );
    // The condition object, the path and its two segments below the attribute, the test.
    assert_eq!(cost(r#"{"a.b.c": 1}"#), (5, 0));
    assert_eq!(
        cost(r#"{"a": {"$in": [1, 2, 3]}, "b": [1, [2]]}"#),
        (1 + 1 + 4 + 1 + 4, 0)
    );
    assert_eq!(
        cost(r#"{"$or": [{"a": 1}, {"t": {"$elemMatch": {"$regex": "^x"}}}]}"#),
        (1 + 1 + 2 + 1 + 1 + 1 + 1 + 1 + 3 * positions, 3 * positions)
    );
}

fn eval(cond: &str, attrs: &str) -> Result<bool, MatchLimit> {
    let mut slots = SlotTable::default();
    let c = Condition::compile(&json(cond), &mut slots).expect("compiles");
    let attrs = json(attrs);
    let values: Vec<Option<Value>> = slots.names().iter().map(|k| attrs.get(k).cloned()).collect();
    c.eval(&values)
}

#[test]
fn a_test_beyond_the_limits_is_an_error_through_every_combinator() {
    let long = format!("{}@blocked.example", "x".repeat(MAX_TEXT));
    let ctx = |country: &str| format!(r#"{{"email": "{long}", "country": "{country}"}}"#);
    let re = r#"{"email": {"$regex": "@blocked\\.example$"}}"#;
    let err = Err(MatchLimit::TextTooLong);
    for cond in [
        re.to_owned(),
        r#"{"email": {"$not": {"$regex": "@blocked\\.example$"}}}"#.to_owned(),
        format!(r#"{{"$not": {re}}}"#),
        format!(r#"{{"$nor": [{re}]}}"#),
        format!(r#"{{"$not": {{"$not": {re}}}}}"#),
        format!(r#"{{"$or": [{{"country": "RW"}}, {re}]}}"#),
        format!(r#"{{"$and": [{{"country": "KE"}}, {re}]}}"#),
        format!(r#"{{"$nor": [{{"country": "RW"}}, {{"$not": {re}}}]}}"#),
    ] {
        assert_eq!(eval(&cond, &ctx("KE")), err, "{cond}");
    }
    // A known answer stays known: the erroring test could not change it.
    assert_eq!(
        eval(&format!(r#"{{"$or": [{{"country": "RW"}}, {re}]}}"#), &ctx("RW")),
        Ok(true)
    );
    assert_eq!(
        eval(&format!(r#"{{"$and": [{re}, {{"country": "RW"}}]}}"#), &ctx("KE")),
        Ok(false)
    );
    assert_eq!(
        eval(&format!(r#"{{"$nor": [{re}, {{"country": "KE"}}]}}"#), &ctx("KE")),
        Ok(false)
    );
    // The same address within the cap is tested.
    let short = r#"{"email": "ana@blocked.example", "country": "KE"}"#;
    assert_eq!(eval(&format!(r#"{{"$not": {re}}}"#), short), Ok(false));
}

#[test]
fn array_elements_share_the_condition_allowance() {
    // `^vip-` is six instructions: 6 x 513 states in all; each 12-byte tag takes 6 x 13.
    let cond = r#"{"tags": {"$elemMatch": {"$regex": "^vip-"}}}"#;
    let tags = |n: usize, last: &str| {
        let mut items: Vec<String> = (0..n).map(|i| format!("\"tag-{i:08}\"")).collect();
        items.push(format!("\"{last}\""));
        format!(r#"{{"tags": [{}]}}"#, items.join(","))
    };
    assert_eq!(eval(cond, &tags(37, "vip-gold")), Ok(true), "38 tags fit");
    assert_eq!(eval(cond, &tags(37, "none-of-these")), Ok(false));
    assert_eq!(eval(cond, &tags(100, "vip-gold")), Err(MatchLimit::OverBudget));
    let all = r#"{"tags": {"$all": [{"$regex": "^vip-"}]}}"#;
    assert_eq!(eval(all, &tags(100, "vip-gold")), Err(MatchLimit::OverBudget));
    assert_eq!(eval(all, &tags(3, "vip-gold")), Ok(true));
}

#[test]
fn an_erroring_rule_turns_the_flag_off_and_names_the_rule() {
    let snap = json(
        r#"{"version": "1", "flags": [
          {"key": "guarded", "enabled": true, "rollout": 100, "rules": [
            {"condition": {"country": "UG"}},
            {"condition": {"email": {"$regex": "@blocked\\.example$"}}, "rollout": 0},
            {"condition": {"country": "RW"}}]},
          {"key": "dependent", "enabled": true, "rollout": 100,
           "prerequisites": [{"flag": "guarded", "enabled": false}]},
          {"key": "forced", "enabled": true, "adminOverride": "on",
           "rules": [{"condition": {"email": {"$regex": "x"}}}]}]}"#,
    );
    let engine = FlagEngine::from_value(&snap).expect("loads");
    let long = "y".repeat(MAX_TEXT + 1);
    let ctx = json(&format!(r#"{{"userId": "u", "country": "RW", "email": "{long}"}}"#));
    let e = engine.evaluate_attributes("guarded", &ctx, 0);
    assert_eq!(
        (e.enabled, e.reason, e.rule_index, e.bucket),
        (false, Reason::ConditionError, Some(1), None)
    );
    assert_eq!(
        engine.evaluate_attributes("dependent", &ctx, 0).reason,
        Reason::PrerequisiteFailed
    );
    // Steps before the rules still apply; a rule that matched before the erroring one decides.
    assert_eq!(
        engine.evaluate_attributes("forced", &ctx, 0).reason,
        Reason::AdminOverride
    );
    let uganda = json(&format!(r#"{{"userId": "u", "country": "UG", "email": "{long}"}}"#));
    let e = engine.evaluate_attributes("guarded", &uganda, 0);
    assert_eq!((e.enabled, e.reason, e.rule_index), (true, Reason::RuleMatch, Some(0)));
    assert_eq!(Reason::ConditionError.as_str(), "CONDITION_ERROR");
    assert_eq!(Reason::ALL[Reason::ConditionError as usize], Reason::ConditionError);
}

/// A condition tree over one country test and one regex test, as JSON.
fn tree() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just(r#"{"country": "RW"}"#.to_owned()),
        Just(r#"{"email": {"$regex": "@b\\.example$"}}"#.to_owned()),
        Just(r#"{"email": {"$not": {"$regex": "^a"}}}"#.to_owned()),
    ];
    leaf.prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            inner.clone().prop_map(|c| format!(r#"{{"$not": {c}}}"#)),
            prop::collection::vec(inner.clone(), 0..3).prop_map(|v| format!(r#"{{"$and": [{}]}}"#, v.join(","))),
            prop::collection::vec(inner.clone(), 0..3).prop_map(|v| format!(r#"{{"$or": [{}]}}"#, v.join(","))),
            prop::collection::vec(inner, 0..3).prop_map(|v| format!(r#"{{"$nor": [{}]}}"#, v.join(","))),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Kleene's logic is sound: when a condition answers despite an unanswerable regex test,
    /// the answer is the one it gives for texts that make every regex test true, and false.
    #[test]
    fn an_answer_never_depends_on_an_unanswered_test(cond in tree(), rw in any::<bool>()) {
        let country = if rw { "RW" } else { "KE" };
        let over = format!(r#"{{"country": "{country}", "email": "{}"}}"#, "c".repeat(MAX_TEXT + 1));
        // "x@b.example" passes both regex leaves; "a@y.example" fails both.
        let all_true = format!(r#"{{"country": "{country}", "email": "x@b.example"}}"#);
        let all_false = format!(r#"{{"country": "{country}", "email": "a@y.example"}}"#);
        let known = [eval(&cond, &all_true), eval(&cond, &all_false)];
        prop_assert!(known.iter().all(Result::is_ok));
        match eval(&cond, &over) {
            Ok(b) => prop_assert_eq!(known, [Ok(b), Ok(b)], "{}", cond),
            // Kleene's logic may leave a constant answer unknown (`x or not x`), never the reverse.
            Err(e) => prop_assert_eq!(e, MatchLimit::TextTooLong),
        }
    }
}
