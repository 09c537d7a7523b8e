//! Unit tests of the case-insensitive operators and the folding rule, and of saved groups.

use super::fold::{any_variant, fold, fold_str};
use super::regex::Regex;
use super::*;

fn obj(members: &[(&str, Value)]) -> Value {
    Value::Object(members.iter().map(|(k, v)| (k.to_string(), v.clone())).collect())
}

fn s(x: &str) -> Value {
    Value::String(x.into())
}

fn strs(items: &[&str]) -> Value {
    Value::Array(items.iter().map(|x| s(x)).collect())
}

/// `{attr: {op: arg}}` against `{attr: value}`, with `groups`.
fn eval_op(op: &str, arg: Value, value: Value, groups: &SavedGroups) -> bool {
    let mut slots = SlotTable::default();
    let cond = obj(&[("a", obj(&[(op, arg)]))]);
    let c = Condition::compile_with_groups(&cond, &mut slots, groups).expect("compiles");
    c.eval(&[Some(value)]).expect("within the matcher's limits")
}

fn no_groups() -> SavedGroups {
    SavedGroups::default()
}

/// Every character that folds like `c`, sorted.
fn variants(c: char) -> Vec<char> {
    let mut out = Vec::new();
    any_variant(c, |v| {
        out.push(v);
        false
    });
    out.sort_unstable();
    out.dedup();
    out
}

/// JS's `Canonicalize` for a non-Unicode `RegExp` with the `i` flag: the uppercase when it is
/// one character, unless that maps a non-ASCII character to ASCII.
fn js_canonicalize(c: char) -> char {
    let mut upper = c.to_uppercase();
    match (upper.len(), upper.next()) {
        (1, Some(u)) if c.is_ascii() || !u.is_ascii() => u,
        _ => c,
    }
}

#[test]
fn folding_is_unicode_simple_case_folding_where_it_applies() {
    let mut folded = 0;
    for c in (0..=0x10FFFF).filter_map(char::from_u32) {
        let f = fold(c);
        assert_eq!(fold(f), f, "folding {c:?} is idempotent");
        if f == c {
            continue;
        }
        folded += 1;
        let mut lower = c.to_lowercase();
        if lower.len() == 1 && lower.next() == Some(f) {
            continue; // an uppercase letter folds to its lowercase
        }
        // A variant form (ς, µ, ϐ, ...) folds to the letter it shares an uppercase with.
        assert!(c.is_lowercase() || c == '\u{345}', "{c:?} is a lowercase variant form");
        assert_eq!(
            js_canonicalize(c),
            js_canonicalize(f),
            "{c:?} and {f:?} share an uppercase"
        );
    }
    // ASCII 26, Latin-1 31, Extended-A 62, Greek 43, Cyrillic 148 + 8, Armenian 38,
    // Latin Extended Additional 124, fullwidth Latin 26.
    assert_eq!(folded, 506, "characters that fold");
    for c in ['İ', 'ı', 'ſ', 'ß', 'ẞ', '\u{212A}', '\u{212B}', 'Ƀ', 'Ⴀ', '中', '😀'] {
        assert_eq!(fold(c), c, "{c:?} is left alone");
    }
    assert_eq!(variants('σ'), ['Σ', 'ς', 'σ']);
    assert_eq!(
        fold_str("ÉCOLE Ωmega ПРИВЕТ Việt ＡＢＣ"),
        "école ωmega привет việt ａｂｃ"
    );
    assert!(matches!(fold_str("already lower"), std::borrow::Cow::Borrowed(_)));
}

/// Where the rule applies, two characters fold alike exactly when a JS `i` pattern treats them
/// as the same letter; elsewhere every character stands for itself. (The BMP: a non-Unicode
/// pattern compares UTF-16 units, and no character beyond it folds.)
#[test]
fn folding_partitions_like_a_case_insensitive_js_regexp() {
    use std::collections::HashMap;
    let all: Vec<char> = (0..=0xFFFF).filter_map(char::from_u32).collect();
    let mut by_fold: HashMap<char, Vec<char>> = HashMap::new();
    let mut by_js: HashMap<char, Vec<char>> = HashMap::new();
    for &c in &all {
        by_fold.entry(fold(c)).or_default().push(c);
        by_js.entry(js_canonicalize(c)).or_default().push(c);
    }
    let mut checked = 0;
    for &c in &all {
        let ours = &by_fold[&fold(c)];
        let js = &by_js[&js_canonicalize(c)];
        if ours.len() > 1 || js.iter().any(|x| fold(*x) != *x) {
            checked += 1;
            assert_eq!(ours, js, "{c:?} (U+{:04X})", c as u32);
            assert_eq!(&variants(c), ours, "variants of {c:?}");
        }
    }
    assert!(checked > 900, "{checked} characters in folded classes");
}

#[test]
fn ini_and_nini_follow_growthbook() {
    let g = no_groups();
    assert!(eval_op("$ini", strs(&["us", "uk"]), s("US"), &g));
    assert!(eval_op("$ini", strs(&["ÉCOLE"]), s("école"), &g));
    assert!(!eval_op("$ini", strs(&["us"]), s("USA"), &g));
    // Non-strings compare with ===: no coercion between 1 and "1".
    assert!(eval_op(
        "$ini",
        Value::Array(vec![Value::Number(1.0)]),
        Value::Number(1.0),
        &g
    ));
    assert!(!eval_op("$ini", strs(&["1"]), Value::Number(1.0), &g));
    // An array attribute intersects; nested arrays are never equal to an item.
    assert!(eval_op("$ini", strs(&["b"]), strs(&["a", "B"]), &g));
    assert!(!eval_op("$ini", strs(&["a"]), Value::Array(vec![strs(&["A"])]), &g));
    // A non-array list never passes, for either operator.
    assert!(!eval_op("$ini", s("us"), s("us"), &g));
    assert!(!eval_op("$nini", s("us"), s("ca"), &g));
    assert!(eval_op("$nini", strs(&["us"]), s("CA"), &g));
    assert!(!eval_op("$nini", strs(&["us"]), s("Us"), &g));
    // A missing attribute is null: not in any list of strings.
    assert!(eval_op("$nini", strs(&["null"]), Value::Null, &g));
}

#[test]
fn alli_folds_plain_strings_only() {
    let g = no_groups();
    let tags = strs(&["ONE", "two", "Ünï"]);
    assert!(eval_op("$alli", strs(&["one", "üNÏ"]), tags.clone(), &g));
    assert!(!eval_op("$all", strs(&["one"]), tags.clone(), &g));
    // Operator items keep their case-sensitive meaning, as in GrowthBook.
    let item = obj(&[("$eq", s("one"))]);
    assert!(!eval_op("$alli", Value::Array(vec![item]), tags.clone(), &g));
    assert!(!eval_op("$alli", s("one"), tags, &g));
}

#[test]
fn regexi_folds_literals_and_classes() {
    let cases: &[(&str, &str, bool)] = &[
        ("(mobile|tablet)", "Android Mobile", true),
        ("^ÉCOLE$", "école", true),
        ("^[a-c]+$", "AbC", true),
        ("^[A-C]+$", "abc", true),
        ("^[^a-c]+$", "ABC", false),
        ("^[σ]+$", "ΣσΣς", true),
        ("^[à-þ]+$", "ÀÉÎ", true),
        ("\\u0041", "a", true),
        ("^\\w+$", "ÀB", false),
        ("k", "\u{212A}", false),
        ("ß", "SS", false),
        ("^µ$", "Μ", true),
        ("^İ$", "i", false),
    ];
    for &(p, text, want) in cases {
        let re = Regex::new(p, true).unwrap_or_else(|e| panic!("{p}: {e}"));
        assert_eq!(re.is_match(text), want, "/{p}/i on {text:?}");
    }
    let plain = Regex::new("^[a-c]+$", false).expect("compiles");
    assert!(!plain.is_match("AbC"), "$regex stays case-sensitive");
    let g = no_groups();
    assert!(
        eval_op("$regexi", s("^TRUE$"), Value::Bool(true), &g),
        "tested against String(v)"
    );
}

#[test]
fn saved_groups_resolve_at_compile_time() {
    let groups = SavedGroups::from_value(Some(&obj(&[
        ("beta", Value::Array(vec![Value::Number(1.0), s("2")])),
        ("empty", Value::Array(vec![])),
    ])))
    .expect("valid groups");
    assert_eq!(groups.len(), 2);
    assert!(eval_op("$inGroup", s("beta"), Value::Number(1.0), &groups));
    assert!(eval_op("$inGroup", s("beta"), s("2"), &groups));
    assert!(!eval_op("$inGroup", s("beta"), s("1"), &groups), "=== membership");
    assert!(
        eval_op("$inGroup", s("beta"), strs(&["x", "2"]), &groups),
        "an array attribute intersects"
    );
    assert!(!eval_op("$inGroup", s("empty"), s("2"), &groups));
    assert!(
        !eval_op("$inGroup", s("nope"), s("2"), &groups),
        "an unknown group is empty"
    );
    assert!(eval_op("$notInGroup", s("nope"), s("2"), &groups));
    assert!(!eval_op("$notInGroup", s("beta"), s("2"), &groups));
    assert!(eval_op("$inGroup", s("beta"), s("2"), &groups) && !eval_op("$inGroup", s("beta"), s("2"), &no_groups()));
}

#[test]
fn saved_groups_are_validated() {
    let err = |v: Value| SavedGroups::from_value(Some(&v)).expect_err("invalid").to_string();
    assert_eq!(
        err(Value::Array(vec![])),
        "savedGroups: expected an object of group id to array of values, got array"
    );
    assert_eq!(
        err(obj(&[("g", s("x"))])),
        "savedGroups.g: expected an array, got string"
    );
    assert_eq!(
        err(obj(&[("g", Value::Array(vec![s("a"), Value::Bool(true)]))])),
        "savedGroups.g[1]: expected a string or a number, got boolean"
    );
    assert_eq!(
        err(obj(&[("", strs(&[]))])),
        "savedGroups: a group id must be 1-200 bytes"
    );
    let big = Value::Array((0..=MAX_GROUP_VALUES).map(|i| Value::Number(i as f64)).collect());
    assert_eq!(err(obj(&[("g", big)])), "savedGroups.g: more than 1000 values");
    let many = Value::Object((0..=MAX_GROUPS).map(|i| (format!("g{i}"), strs(&[]))).collect());
    assert_eq!(err(many), "savedGroups: more than 1000 saved groups");
    assert!(SavedGroups::from_value(None).is_ok_and(|g| g.is_empty()));
    assert!(SavedGroups::from_value(Some(&Value::Null)).is_ok_and(|g| g.is_empty()));
    let e = SavedGroups::from_value(Some(&s("x"))).expect_err("invalid");
    assert_eq!(e.code(), "INVALID_CONDITION");
}
