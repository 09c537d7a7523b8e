//! JavaScript value semantics that GrowthBook's `evalCondition` relies on: truthiness, `String(x)`,
//! `Number(x)`, `===`, `Array.prototype.includes`, `JSON.stringify` equality, relational `<`, and
//! GrowthBook's `paddedVersionString`. A missing attribute is `null`, as GrowthBook's `getPath`
//! returns `null` for it. No function here recurses on attribute data.

use crate::value::Value;
use core::cmp::Ordering;

/// `!!v`.
pub(crate) fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => *n != 0.0 && !n.is_nan(),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// `typeof`, with GrowthBook's `"null"` and `"array"`.
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// `Number.prototype.toString()`, from the host (see [`crate::host`]).
pub(crate) fn number_to_string(n: f64) -> String {
    crate::host::number_to_string(n)
}

fn scalar_to_string(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&number_to_string(*n)),
        Value::String(s) => out.push_str(s),
        Value::Array(_) | Value::Object(_) => out.push_str("[object Object]"),
    }
}

/// `String(v)`; arrays are joined with `,` (nulls as empty), iteratively.
pub(crate) fn to_js_string(v: &Value) -> std::borrow::Cow<'_, str> {
    let items = match v {
        Value::String(s) => return std::borrow::Cow::Borrowed(s),
        Value::Array(items) => items,
        other => {
            let mut out = String::new();
            scalar_to_string(other, &mut out);
            return out.into();
        }
    };
    let mut out = String::new();
    let mut stack = vec![(items.iter(), true)];
    while let Some((iter, first)) = stack.last_mut() {
        let Some(item) = iter.next() else {
            stack.pop();
            continue;
        };
        if !*first {
            out.push(',');
        }
        *first = false;
        match item {
            Value::Null => {}
            Value::Array(inner) => stack.push((inner.iter(), true)),
            other => scalar_to_string(other, &mut out),
        }
    }
    out.into()
}

fn radix_to_number(digits: &str, radix: u32) -> f64 {
    if digits.is_empty() {
        return f64::NAN;
    }
    let mut n = 0.0f64;
    for c in digits.chars() {
        match c.to_digit(radix) {
            Some(d) => n = n * f64::from(radix) + f64::from(d),
            None => return f64::NAN,
        }
    }
    n
}

/// `Number(s)` (StringToNumber).
pub(crate) fn string_to_number(s: &str) -> f64 {
    let s = s.trim_matches(super::regex::is_js_space);
    if s.is_empty() {
        return 0.0;
    }
    let lower = s.get(..2).map(str::to_ascii_lowercase);
    match (lower.as_deref(), s.get(2..)) {
        (Some("0x"), Some(rest)) => return radix_to_number(rest, 16),
        (Some("0o"), Some(rest)) => return radix_to_number(rest, 8),
        (Some("0b"), Some(rest)) => return radix_to_number(rest, 2),
        _ => {}
    }
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    if unsigned == "Infinity" {
        return if s.starts_with('-') {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        };
    }
    // StrDecimalLiteral: digits [. digits] | . digits, then an optional exponent.
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(i) => (unsigned.get(..i).unwrap_or(""), unsigned.get(i + 1..)),
        None => (unsigned, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all_digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    let exp_ok = exponent.map_or(true, |e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && all_digits(e)
    });
    if int.len() + frac.len() == 0 || !all_digits(int) || !all_digits(frac) || !exp_ok {
        return f64::NAN;
    }
    crate::host::parse_decimal(s)
}

/// `Number(v)` (`v * 1`).
pub(crate) fn to_number(v: &Value) -> f64 {
    match v {
        Value::Null => 0.0,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::Number(n) => *n,
        Value::String(s) => string_to_number(s),
        Value::Array(_) => string_to_number(&to_js_string(v)),
        Value::Object(_) => f64::NAN,
    }
}

/// `a === b` between two distinct JSON values (arrays and objects are never identical).
pub(crate) fn strict_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Number(x), Value::Number(y)) => x == y,
        (Value::String(x), Value::String(y)) => x == y,
        _ => false,
    }
}

/// SameValueZero, as `Array.prototype.includes` uses.
fn same_value_zero(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y || (x.is_nan() && y.is_nan()),
        _ => strict_eq(a, b),
    }
}

/// GrowthBook's `isIn`: an array attribute matches when any element is in `list`.
pub(crate) fn is_in(actual: &Value, list: &[Value]) -> bool {
    let included = |v: &Value| list.iter().any(|x| same_value_zero(v, x));
    match actual {
        Value::Array(items) => items.iter().any(included),
        other => included(other),
    }
}

/// `JSON.stringify(a) === JSON.stringify(b)`; key order matters, non-finite numbers are `null`.
/// Recursion is bounded by `depth` (the condition literal's nesting, capped at compile time).
pub(crate) fn json_eq(a: &Value, b: &Value, depth: usize) -> bool {
    let norm = |v: &Value| matches!(v, Value::Number(n) if !n.is_finite());
    match (a, b) {
        _ if depth == 0 => false,
        (Value::Null, Value::Null) => true,
        (Value::Null, x) | (x, Value::Null) => norm(x),
        (Value::Number(x), Value::Number(y)) => x == y || (norm(a) && norm(b)),
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q, depth - 1))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((kp, p), (kq, q))| kp == kq && json_eq(p, q, depth - 1))
        }
        _ => false,
    }
}

/// The ordering behind JS `<`, `<=`, `>`, `>=` (`None` when either side is NaN): two strings
/// (after ToPrimitive) compare by UTF-16 code units, anything else numerically.
pub(crate) fn js_compare(a: &Value, b: &Value) -> Option<Ordering> {
    let prim = |v: &Value| matches!(v, Value::String(_) | Value::Array(_) | Value::Object(_));
    if prim(a) && prim(b) {
        return Some(
            to_js_string(a)
                .encode_utf16()
                .cmp(to_js_string(b).encode_utf16()),
        );
    }
    let num = |v: &Value| match v {
        Value::Array(_) | Value::Object(_) => string_to_number(&to_js_string(v)),
        other => to_number(other),
    };
    num(a).partial_cmp(&num(b))
}

/// GrowthBook's `paddedVersionString`: drops a leading `v` and `+build`, splits on `-` and `.`,
/// appends `~` to a plain `x.y.z`, left-pads numeric parts to 5 and joins with `-`.
pub(crate) fn padded_version(v: &Value) -> String {
    let owned;
    let input = match v {
        Value::Number(n) => {
            owned = number_to_string(*n);
            owned.as_str()
        }
        Value::String(s) if !s.is_empty() => s.as_str(),
        _ => "0",
    };
    let input = input.strip_prefix('v').unwrap_or(input);
    // `\+.*$`: the first `+` after which no line terminator follows.
    let tail_start = input
        .rfind(['\n', '\r', '\u{2028}', '\u{2029}'])
        .unwrap_or(0);
    let input = match input.get(tail_start..).and_then(|t| t.find('+')) {
        Some(i) => input.get(..tail_start + i).unwrap_or(input),
        None => input,
    };
    let mut parts: Vec<&str> = input.split(['-', '.']).collect();
    if parts.len() == 3 {
        parts.push("~");
    }
    let mut out = String::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push('-');
        }
        if !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()) && part.len() < 5 {
            out.extend(core::iter::repeat(' ').take(5 - part.len()));
        }
        out.push_str(part);
    }
    out
}

/// Compares two padded version strings as JS compares strings.
pub(crate) fn compare_utf16(a: &str, b: &str) -> Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}
