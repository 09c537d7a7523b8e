//! JavaScript value semantics that GrowthBook's `evalCondition` relies on: truthiness, `String(x)`,
//! `Number(x)`, `===`, `Array.prototype.includes`, `JSON.stringify` equality, relational `<`, and
//! GrowthBook's `paddedVersionString`. A missing attribute is `null`, as GrowthBook's `getPath`
//! returns `null` for it. No function here recurses on attribute data.

/// `Number.prototype.toString()`, from the host (see [`crate::host`]).
pub(crate) use crate::host::number_to_string;
use crate::value::Value;
use core::cmp::Ordering;
use std::borrow::Cow;

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

/// `String(v)`; arrays are joined with `,` (nulls inside them as empty), iteratively.
pub(crate) fn to_js_string(v: &Value) -> Cow<'_, str> {
    match v {
        Value::String(s) => return Cow::Borrowed(s),
        Value::Null => return Cow::Borrowed("null"),
        _ => {}
    }
    let mut out = String::new();
    let mut stack = vec![core::slice::from_ref(v).iter()];
    let mut comma = false;
    while let Some(items) = stack.last_mut() {
        let Some(item) = items.next() else {
            stack.pop();
            comma = true;
            continue;
        };
        if comma {
            out.push(',');
        }
        comma = true;
        match item {
            Value::Null => {}
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Number(n) => out.push_str(&number_to_string(*n)),
            Value::String(s) => out.push_str(s),
            Value::Array(inner) => {
                stack.push(inner.iter());
                comma = false;
            }
            Value::Object(_) => out.push_str("[object Object]"),
        }
    }
    Cow::Owned(out)
}

/// `Number(s)` (StringToNumber).
pub(crate) fn string_to_number(s: &str) -> f64 {
    // Trim JS white space and line terminators.
    let (mut start, mut end) = (s.len(), 0);
    for (i, c) in s.char_indices() {
        if !super::regex::is_js_space(c) {
            start = start.min(i);
            end = i + c.len_utf8();
        }
    }
    if end == 0 {
        return 0.0; // empty or all space
    }
    let s = s.get(start..end).unwrap_or_default();
    let b = s.as_bytes();
    // 0x, 0o, 0b literals.
    let radix = match b {
        [b'0', p, ..] => match p | 0x20 {
            b'x' => 16,
            b'o' => 8,
            b'b' => 2,
            _ => 0,
        },
        _ => 0,
    };
    if radix != 0 {
        let digits = b.get(2..b.len()).unwrap_or_default();
        let mut n = if digits.is_empty() { f64::NAN } else { 0.0 };
        for &d in digits {
            match char::from(d).to_digit(radix) {
                Some(d) => n = n * f64::from(radix) + f64::from(d),
                None => return f64::NAN,
            }
        }
        return n;
    }
    let body = match b.first() {
        Some(b'+' | b'-') => b.get(1..b.len()).unwrap_or_default(),
        _ => b,
    };
    // StrDecimalLiteral: `Infinity`, or digits [. digits] | . digits, then an optional exponent.
    if body == b"Infinity" {
        return crate::host::parse_decimal(s);
    }
    let mut mantissa = 0; // digits before the exponent
    let mut exponent = None; // digits after it
    let mut dot = false;
    let mut prev = 0u8;
    for &c in body {
        match (c, &mut exponent) {
            (b'0'..=b'9', Some(n)) => *n += 1,
            (b'0'..=b'9', None) => mantissa += 1,
            (b'.', None) if !dot => dot = true,
            (b'e' | b'E', None) if mantissa > 0 => exponent = Some(0),
            (b'+' | b'-', Some(0)) if prev | 0x20 == b'e' => {}
            _ => return f64::NAN,
        }
        prev = c;
    }
    if mantissa == 0 || exponent == Some(0) {
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

/// GrowthBook's `isIn`: an array attribute matches when any element is in `list`
/// (SameValueZero, as `Array.prototype.includes`).
pub(crate) fn is_in(actual: &Value, list: &[Value]) -> bool {
    let candidates = match actual {
        Value::Array(items) => items.as_slice(),
        other => core::slice::from_ref(other),
    };
    for v in candidates {
        for x in list {
            let nan = |v: &Value| matches!(v, Value::Number(n) if n.is_nan());
            if strict_eq(v, x) || (nan(v) && nan(x)) {
                return true;
            }
        }
    }
    false
}

/// `JSON.stringify(a) === JSON.stringify(b)`; key order matters, non-finite numbers are `null`.
/// Recursion is bounded by `depth` (the condition literal's nesting, capped at compile time).
pub(crate) fn json_eq(a: &Value, b: &Value, depth: usize) -> bool {
    fn json(v: &Value) -> &Value {
        static NULL: Value = Value::Null;
        match v {
            Value::Number(n) if !n.is_finite() => &NULL,
            other => other,
        }
    }
    if depth == 0 {
        return false;
    }
    match (json(a), json(b)) {
        (Value::Array(x), Value::Array(y)) => {
            if x.len() != y.len() {
                return false;
            }
            for (p, q) in x.iter().zip(y) {
                if !json_eq(p, q, depth - 1) {
                    return false;
                }
            }
            true
        }
        (Value::Object(x), Value::Object(y)) => {
            if x.len() != y.len() {
                return false;
            }
            for ((kp, p), (kq, q)) in x.iter().zip(y) {
                if kp != kq || !json_eq(p, q, depth - 1) {
                    return false;
                }
            }
            true
        }
        (a, b) => strict_eq(a, b),
    }
}

/// The ordering behind JS `<`, `<=`, `>`, `>=` (`None` when either side is NaN): two strings
/// (after ToPrimitive) compare by UTF-16 code units, anything else numerically.
pub(crate) fn js_compare(a: &Value, b: &Value) -> Option<Ordering> {
    let prim = |v: &Value| matches!(v, Value::String(_) | Value::Array(_) | Value::Object(_));
    if prim(a) && prim(b) {
        return Some(compare_utf16(&to_js_string(a), &to_js_string(b)));
    }
    to_number(a).partial_cmp(&to_number(b))
}

/// GrowthBook's `paddedVersionString(v)`, compared (as JS compares strings) with `padded`, an
/// already padded version, byte by byte as it is produced; or, given `out`, written there.
///
/// `paddedVersionString` drops a leading `v` and a `+build` suffix (`/\+.*$/`: the first `+`
/// with no line terminator after it), splits on `-` and `.`, left-pads numeric parts to 5 with
/// spaces, joins the parts with `-` and appends `-~` when there are exactly three.
fn version_walk(v: &Value, mut padded: &[u8], mut out: Option<&mut String>) -> Ordering {
    let owned;
    let input = match v {
        Value::Number(n) => {
            owned = number_to_string(*n);
            owned.as_str()
        }
        Value::String(s) if !s.is_empty() => s,
        _ => "0",
    };
    let input = match input.as_bytes().first() {
        Some(b'v') => input.get(1..).unwrap_or_default(),
        _ => input,
    };
    let b = input.as_bytes();
    // A separator and up to four spaces of padding (`..6 - len` pads a numeric part to 5).
    const LEAD: &str = "-    ";
    // A `+` at or after this offset starts the suffix; found when the first `+` is met.
    let mut suffix_from = usize::MAX;
    let (mut start, mut parts, mut last) = (0, 0, false);
    while !last {
        // The part runs to `-`, `.`, the `+build` suffix or the end.
        let (mut end, mut digits) = (start, true);
        last = true;
        while let Some(&c) = b.get(end) {
            if c == b'-' || c == b'.' {
                last = false;
                break;
            }
            if c == b'+' {
                if suffix_from == usize::MAX {
                    suffix_from = after_last_line_terminator(input);
                }
                if end >= suffix_from {
                    break;
                }
            }
            digits &= c.is_ascii_digit();
            end += 1;
        }
        let part = input.get(start..end).unwrap_or_default();
        let pad = match part.len() {
            n @ 1..=4 if digits => 6 - n,
            _ => 1,
        };
        let lead = LEAD.get(usize::from(parts == 0)..pad).unwrap_or_default();
        parts += 1;
        start = end + 1;
        let tail = if last && parts == 3 { "-~" } else { "" };
        for piece in &[lead, part, tail] {
            if let Some(ord) = feed(piece, &mut padded, &mut out) {
                return ord;
            }
        }
    }
    if padded.is_empty() {
        Ordering::Equal
    } else {
        Ordering::Less
    }
}

/// Appends `piece` to `out`; or, without `out`, compares it with the start of `padded` and
/// advances past it, returning the order where they differ.
fn feed(piece: &str, padded: &mut &[u8], out: &mut Option<&mut String>) -> Option<Ordering> {
    if let Some(out) = out {
        out.push_str(piece);
        return None;
    }
    for c in piece.bytes() {
        let [p, ref rest @ ..] = **padded else {
            return Some(Ordering::Greater);
        };
        if p != c {
            return Some(utf16_key(c).cmp(&utf16_key(p)));
        }
        *padded = rest;
    }
    None
}

/// The offset just past the last line terminator in `s` (0 when there is none).
fn after_last_line_terminator(s: &str) -> usize {
    let mut after = 0;
    for (i, c) in s.char_indices() {
        if super::regex::is_line_terminator(c) {
            after = i + c.len_utf8();
        }
    }
    after
}

/// GrowthBook's `paddedVersionString(v)`, as UTF-8.
pub(crate) fn padded_version(v: &Value) -> String {
    let mut out = String::new();
    version_walk(v, &[], Some(&mut out));
    out
}

/// Compares `paddedVersionString(v)` with an already padded version, as JS compares strings.
pub(crate) fn compare_version(v: &Value, padded: &str) -> Ordering {
    version_walk(v, padded.as_bytes(), None)
}

/// Compares two strings as JS does, by UTF-16 code units. UTF-8 bytes order like code points,
/// which differs only in that U+E000..U+FFFF (lead bytes EE, EF) sort after supplementary
/// characters (lead bytes F0..F4, surrogate pairs in UTF-16) instead of before them. Where two
/// strings first differ both sit at the same kind of byte (they share the prefix), so remapping
/// those two lead bytes above F4 is enough.
pub(crate) fn compare_utf16(a: &str, b: &str) -> Ordering {
    for (x, y) in a.bytes().zip(b.bytes()) {
        if x != y {
            return utf16_key(x).cmp(&utf16_key(y));
        }
    }
    a.len().cmp(&b.len())
}

/// The order key of a UTF-8 byte where two strings first differ (see [`compare_utf16`]).
fn utf16_key(c: u8) -> u8 {
    if c & 0xFE == 0xEE {
        c | 0x10
    } else {
        c
    }
}
