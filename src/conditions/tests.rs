//! Unit tests: JS coercions, version padding, compile errors and robustness (the regex engine
//! has its own, in `regex/tests.rs`).
//! GrowthBook's conformance cases live in `tests/conditions.rs`.

use super::js::{number_to_string, padded_version, string_to_number, to_js_string};
use super::*;
use core::cmp::Ordering;

fn obj(members: &[(&str, Value)]) -> Value {
    Value::Object(members.iter().map(|(k, v)| (k.to_string(), v.clone())).collect())
}

fn s(x: &str) -> Value {
    Value::String(x.into())
}

fn n(x: f64) -> Value {
    Value::Number(x)
}

fn arr(items: &[Value]) -> Value {
    Value::Array(items.to_vec())
}

/// Compiles `cond`, evaluates it against the attribute object `attrs`.
fn check(cond: &Value, attrs: &Value) -> bool {
    let mut slots = SlotTable::default();
    let c = Condition::compile(cond, &mut slots).expect("compiles");
    let values: Vec<Option<Value>> = slots.names().iter().map(|k| attrs.get(k).cloned()).collect();
    c.eval(&values).expect("within the matcher's limits")
}

fn compile_err(cond: &Value) -> ConditionError {
    Condition::compile(cond, &mut SlotTable::default()).expect_err("should not compile")
}

#[test]
fn js_number_formatting() {
    for (x, want) in [
        (0.0, "0"),
        (-0.0, "0"),
        (10.0, "10"),
        (-1.5, "-1.5"),
        (0.1, "0.1"),
        (1e21, "1e+21"),
        (1e20, "100000000000000000000"),
        (1.5e-7, "1.5e-7"),
        (0.000001, "0.000001"),
        (123456789.125, "123456789.125"),
        (f64::NAN, "NaN"),
        (f64::INFINITY, "Infinity"),
    ] {
        assert_eq!(number_to_string(x), want);
    }
    assert_eq!(
        to_js_string(&arr(&[n(1.0), Value::Null, arr(&[s("a"), n(2.0)])])),
        "1,,a,2"
    );
    assert_eq!(to_js_string(&obj(&[])), "[object Object]");
}

#[test]
fn js_string_to_number() {
    for (x, want) in [
        ("8", 8.0),
        (" 8 ", 8.0),
        ("", 0.0),
        ("0x1F", 31.0),
        ("1e3", 1000.0),
        (".5", 0.5),
        ("5.", 5.0),
        ("-Infinity", f64::NEG_INFINITY),
    ] {
        assert_eq!(string_to_number(x), want, "{x:?}");
    }
    for x in ["abc", "1,2", "inf", "NaN", "1e", "--1", "0x", "+0x1", "."] {
        assert!(string_to_number(x).is_nan(), "{x:?}");
    }
}

#[test]
fn growthbook_version_compare_cases() {
    // GrowthBook's `versionCompare` cases (cases.json, specVersion 0.5.4).
    let lt = [
        ("0.9.99", "1.0.0"),
        ("0.9.0", "0.10.0"),
        ("1.0.0-0.0", "1.0.0-0.0.0"),
        ("1.0.0-9999", "1.0.0--"),
        ("1.0.0-99", "1.0.0-100"),
        ("1.0.0-alpha", "1.0.0-alpha.1"),
        ("1.0.0-alpha.1", "1.0.0-alpha.beta"),
        ("1.0.0-alpha.beta", "1.0.0-beta"),
        ("1.0.0-beta", "1.0.0-beta.2"),
        ("1.0.0-beta.2", "1.0.0-beta.11"),
        ("1.0.0-beta.11", "1.0.0-rc.1"),
        ("1.0.0-rc.1", "1.0.0"),
        ("1.0.0-0", "1.0.0--1"),
        ("1.0.0-0", "1.0.0-1"),
        ("1.0.0-1.0", "1.0.0-1.-1"),
    ];
    let gt = [
        ("0.0.0", "0.0.0-foo", true),
        ("0.0.1", "0.0.0", true),
        ("1.0.0", "0.9.9", true),
        ("0.10.0", "0.9.0", true),
        ("0.99.0", "0.10.0", true),
        ("2.0.0", "1.2.3", true),
        ("v0.0.0", "0.0.0-foo", true),
        ("v0.0.1", "0.0.0", true),
        ("v1.0.0", "0.9.9", true),
        ("v0.10.0", "0.9.0", true),
        ("v0.99.0", "0.10.0", true),
        ("v2.0.0", "1.2.3", true),
        ("0.0.0", "v0.0.0-foo", true),
        ("0.0.1", "v0.0.0", true),
        ("1.0.0", "v0.9.9", true),
        ("0.10.0", "v0.9.0", true),
        ("0.99.0", "v0.10.0", true),
        ("2.0.0", "v1.2.3", true),
        ("1.2.3", "1.2.3-asdf", true),
        ("1.2.3", "1.2.3-4", true),
        ("1.2.3", "1.2.3-4-foo", true),
        ("1.2.3-5-foo", "1.2.3-5", true),
        ("1.2.3-5", "1.2.3-4", true),
        ("1.2.3-5-foo", "1.2.3-5-Foo", true),
        ("3.0.0", "2.7.2+asdf", true),
        ("1.2.3-a.10", "1.2.3-a.5", true),
        ("1.2.3-a.b", "1.2.3-a.5", true),
        ("1.2.3-a.b", "1.2.3-a", true),
        ("1.2.3-a.b.c", "1.2.3-a.b.c.d", false),
        ("1.2.3-a.b.c.10.d.5", "1.2.3-a.b.c.5.d.100", true),
        ("1.2.3-r2", "1.2.3-r100", true),
        ("1.2.3-r100", "1.2.3-R2", true),
        ("a.b.c.d.e.f", "1.2.3", true),
        ("10.0.0", "9.0.0", true),
        ("10000.0.0", "9999.0.0", true),
    ];
    let eq = [
        ("1.2.3", "1.2.3"),
        ("1.2.3", "v1.2.3"),
        ("1.2.3-0", "v1.2.3-0"),
        ("1.2.3-1", "1.2.3-1"),
        ("1.2.3-1", "v1.2.3-1"),
        ("1.2.3-beta", "1.2.3-beta"),
        ("1.2.3-beta", "v1.2.3-beta"),
        ("1.2.3-beta+build", "1.2.3-beta+otherbuild"),
        ("1.2.3-beta+build", "v1.2.3-beta+otherbuild"),
        ("1-2-3", "1.2.3"),
        ("1-2-3", "1-2.3+build99"),
        ("1-2-3", "v1.2.3"),
        ("1.2.3.4", "1.2.3-4"),
    ];
    let cmp = |a: &str, b: &str| js::compare_version(&s(a), &padded_version(&s(b)));
    for (a, b) in lt {
        assert_eq!(cmp(a, b), Ordering::Less, "{a} < {b}");
        assert!(check(&obj(&[("v", obj(&[("$vlt", s(b))]))]), &obj(&[("v", s(a))])));
    }
    for (a, b, want) in gt {
        assert_eq!(cmp(a, b) == Ordering::Greater, want, "{a} > {b}");
    }
    for (a, b) in eq {
        assert_eq!(cmp(a, b), Ordering::Equal, "{a} == {b}");
        assert!(check(&obj(&[("v", obj(&[("$veq", s(b))]))]), &obj(&[("v", s(a))])));
    }
    assert_eq!(padded_version(&n(2.0)), padded_version(&s("2")));
    assert_eq!(padded_version(&Value::Null), "    0");
}

#[test]
fn compile_errors_name_the_path() {
    let e = compile_err(&obj(&[(
        "$and",
        arr(&[obj(&[]), obj(&[("country", obj(&[("$foo", n(1.0))]))])]),
    )]));
    assert_eq!(
        e,
        ConditionError::UnknownOperator {
            path: "$and[1].country".into(),
            op: "$foo".into()
        }
    );
    assert_eq!(e.to_string(), "$and[1].country: unknown operator $foo");
    assert_eq!(e.code(), "INVALID_CONDITION");

    let e = compile_err(&obj(&[("name", obj(&[("$regex", s("a(b"))]))]));
    assert!(
        matches!(&e, ConditionError::BadRegex { path, .. } if path == "name"),
        "{e}"
    );
    assert!(e.to_string().starts_with("name: invalid regular expression: "), "{e}");

    let e = compile_err(&obj(&[("id", obj(&[("$inGroup", n(3.0))]))]));
    assert_eq!(
        e.to_string(),
        "id: $inGroup needs a saved group id (a string), found number"
    );
    let e = compile_err(&obj(&[("ua", obj(&[("$regexi", s("(?=x)"))]))]));
    assert!(matches!(e, ConditionError::BadRegex { .. }), "{e}");
    let e = compile_err(&obj(&[("ua", obj(&[("$notRegex", s("x"))]))]));
    assert!(matches!(e, ConditionError::UnknownOperator { .. }), "{e}");

    let e = compile_err(&obj(&[(
        "tags",
        obj(&[("$elemMatch", obj(&[("x", obj(&[("$bad", n(1.0))]))]))]),
    )]));
    assert_eq!(e.to_string(), "tags.$elemMatch.x: unknown operator $bad");

    assert_eq!(
        compile_err(&arr(&[])).to_string(),
        "<root>: expected a condition object, found array"
    );
    for bad in [
        obj(&[("$and", obj(&[]))]),
        obj(&[("$or", arr(&[s("x")]))]),
        obj(&[("$nor", s("x"))]),
        obj(&[("$not", arr(&[]))]),
        obj(&[("a", obj(&[("$elemMatch", n(5.0))]))]),
        obj(&[("a", obj(&[("$regex", n(5.0))]))]),
        obj(&[("a", obj(&[("$regexi", Value::Null)]))]),
        obj(&[("a", obj(&[("$notInGroup", arr(&[]))]))]),
        obj(&[("a", obj(&[("$type", s("integer"))]))]),
    ] {
        assert!(
            matches!(compile_err(&bad), ConditionError::BadOperand { .. }),
            "{bad:?}"
        );
    }
}

#[test]
fn depth_is_capped() {
    let mut cond = obj(&[("a", n(1.0))]);
    for _ in 0..MAX_DEPTH - 1 {
        cond = obj(&[("$not", cond)]);
    }
    assert!(Condition::compile(&cond, &mut SlotTable::default()).is_ok());
    let cond = obj(&[("$not", cond)]);
    assert!(matches!(
        compile_err(&cond),
        ConditionError::TooDeep { limit: MAX_DEPTH, .. }
    ));

    let mut ops = n(1.0);
    for _ in 0..100 {
        ops = obj(&[("$not", ops)]);
    }
    assert!(matches!(
        compile_err(&obj(&[("a", ops)])),
        ConditionError::TooDeep { .. }
    ));

    let mut literal = arr(&[]);
    for _ in 0..100 {
        literal = arr(&[literal]);
    }
    assert!(matches!(
        compile_err(&obj(&[("a", literal)])),
        ConditionError::TooDeep { .. }
    ));
}

#[test]
fn coercions_follow_growthbook() {
    let attrs = obj(&[
        ("n", s(" 8 ")),
        ("w", s("8")),
        ("t", arr(&[n(5.0)])),
        ("z", n(0.0)),
        ("b", s("yes")),
        ("u", arr(&[obj(&[("id", n(1.0))]), obj(&[("id", n(2.0))])])),
    ]);
    let yes = |cond: Value| assert!(check(&cond, &attrs), "{cond:?}");
    let no = |cond: Value| assert!(!check(&cond, &attrs), "{cond:?}");
    yes(obj(&[("n", n(8.0))]));
    yes(obj(&[("t", n(5.0))]));
    yes(obj(&[("t", s("5"))]));
    yes(obj(&[("z", s("0"))]));
    yes(obj(&[("b", Value::Bool(true))]));
    yes(obj(&[("z", Value::Bool(false))]));
    no(obj(&[("missing", Value::Bool(false))]));
    yes(obj(&[("missing", s("null"))]));
    yes(obj(&[("missing", obj(&[("$type", s("null"))]))]));
    yes(obj(&[("missing", obj(&[("$in", arr(&[Value::Null]))]))]));
    yes(obj(&[("u.1.id", n(2.0))]));
    yes(obj(&[("u.length", n(2.0))]));
    no(obj(&[("u.01.id", n(2.0))]));
    yes(obj(&[(
        "u",
        obj(&[("$elemMatch", obj(&[("id", obj(&[("$gt", n(1.0))]))]))]),
    )]));
    yes(obj(&[("u", obj(&[("$size", obj(&[("$gte", n(2.0))]))]))]));
    no(obj(&[("t", obj(&[("$eq", arr(&[n(5.0)]))]))]));
    yes(obj(&[("t", obj(&[("$ne", arr(&[n(5.0)]))]))]));
    yes(obj(&[("w", obj(&[("$gt", s("10"))]))])); // "8" > "10" as strings
    yes(obj(&[("w", obj(&[("$lt", n(10.0))]))])); // 8 < 10 as numbers
    no(obj(&[("n", obj(&[("$gt", s("10"))]))])); // " 8 " < "10": a space sorts first
    yes(obj(&[("$nor", arr(&[obj(&[("z", n(1.0))])]))]));
    no(obj(&[("$nor", arr(&[]))]));
    yes(obj(&[("u", obj(&[("$exists", n(1.0))]))]));
    yes(obj(&[("u", obj(&[("$regex", s("^\\[object"))]))]));
}

#[test]
fn eval_never_panics_on_odd_inputs() {
    let conds = [
        obj(&[("a", n(1.0)), ("b.c.d", obj(&[("$gt", s("x")), ("$size", n(0.0))]))]),
        obj(&[("a", obj(&[("$elemMatch", obj(&[("x.y", obj(&[("$vgt", n(1.5))]))]))]))]),
        obj(&[("a", obj(&[("$all", arr(&[obj(&[("$regex", s("^(a+)+$"))])]))]))]),
        obj(&[("a", arr(&[n(f64::NAN), Value::Null]))]),
        obj(&[("a", obj(&[("$in", arr(&[n(f64::NAN)])), ("$veq", obj(&[]))]))]),
    ];
    // Deep, but not so deep that `Value`'s own derived Clone/Drop overflow the test stack.
    let mut deep = Value::Null;
    for _ in 0..500 {
        deep = Value::Array(vec![deep]);
    }
    let odd = [
        None,
        Some(Value::Null),
        Some(n(f64::NAN)),
        Some(n(f64::INFINITY)),
        Some(s("\u{2028}+\u{0}\u{1f600}")),
        Some(deep.clone()),
        Some(obj(&[("x", deep)])),
        Some(arr(&[n(-0.0), s(""), Value::Bool(false), obj(&[])])),
    ];
    for cond in &conds {
        let mut slots = SlotTable::default();
        let c = Condition::compile(cond, &mut slots).expect("compiles");
        for v in &odd {
            let _ = c.eval(&[v.clone(), v.clone()]);
            let _ = c.eval(std::slice::from_ref(v));
        }
        let _ = c.eval(&[]);
    }
    assert!(check(
        &obj(&[("a", obj(&[("$in", arr(&[n(f64::NAN)]))]))]),
        &obj(&[("a", n(f64::NAN))])
    ));
}
