//! Shadow comparison: how similar the new pipeline's output is to the old one's (the cutover
//! check that reads these scores is in [`super::cutover`]).
//!
//! [`similarity`] is symmetric and in `0..=1`:
//! - `null` vs `null` is 1; values of different JSON types are 0; booleans and numbers are 1
//!   when equal, else 0.
//! - **Text**: both strings are normalised (ASCII and Latin-1 letters lowercased, punctuation
//!   dropped without splitting words, Unicode whitespace collapsed) and split into words; the
//!   score is the Dice coefficient `2·|A∩B| / (|A|+|B|)` over the multisets of word unigrams and
//!   bigrams together (compared by 64-bit hash). Identical texts score 1, texts with no word in
//!   common 0; two texts empty after normalisation score 1.
//! - **Tool calls**: an object with a string `name` (or an OpenAI-style `function` object holding
//!   one) is a call. Calls with different names score 0; otherwise the score is the share of
//!   argument fields (the union of both sides' keys) whose values are equal. Arguments given as
//!   a JSON string (as OpenAI sends them) are compared as strings with the whitespace outside
//!   string literals removed (1 or 0); an object against a string scores 0.
//! - **Arrays** (such as a list of tool calls) are aligned by position: the mean of the
//!   elements' scores over the longer length, so a missing call counts 0. Two empty arrays are 1.
//! - Other **objects**: the share of fields (union of keys) with equal values.

use crate::value::Value;

/// The similarity of two outputs, in `0..=1` (see the module docs).
pub fn similarity(old: &Value, new: &Value) -> f64 {
    match (old, new) {
        (Value::Null, Value::Null) => 1.0,
        (Value::String(a), Value::String(b)) => text_similarity(a, b),
        (Value::Array(a), Value::Array(b)) => {
            let n = a.len().max(b.len());
            if n == 0 {
                return 1.0;
            }
            let sum: f64 = a.iter().zip(b).map(|(x, y)| similarity(x, y)).sum();
            sum / n as f64
        }
        (Value::Object(_), Value::Object(_)) => match (call_of(old), call_of(new)) {
            (Some((na, aa)), Some((nb, ab))) if na == nb => arguments_similarity(aa, ab),
            (Some(_), Some(_)) => 0.0,
            (None, None) => field_share(old, new),
            _ => 0.0,
        },
        _ => f64::from(u8::from(equal(old, new))),
    }
}

/// The name and arguments of a tool call, if `v` is one.
fn call_of(v: &Value) -> Option<(&str, Option<&Value>)> {
    let v = match v.get("function") {
        Some(f @ Value::Object(_)) if v.get("name").is_none() => f,
        _ => v,
    };
    let name = v.get("name")?.as_str()?;
    Some((name, v.get("arguments").filter(|a| !a.is_null())))
}

fn arguments_similarity(a: Option<&Value>, b: Option<&Value>) -> f64 {
    let empty = Value::Object(Vec::new());
    match (a.unwrap_or(&empty), b.unwrap_or(&empty)) {
        (Value::String(x), Value::String(y)) => f64::from(u8::from(strip_json_space(x) == strip_json_space(y))),
        (x @ Value::Object(_), y @ Value::Object(_)) => field_share(x, y),
        (x, y) => f64::from(u8::from(equal(x, y))),
    }
}

/// Share of keys (union of both objects') whose values are equal; 1 for two empty objects.
fn field_share(a: &Value, b: &Value) -> f64 {
    let (Some(x), Some(y)) = (a.as_object(), b.as_object()) else {
        return 0.0;
    };
    let extra = y.iter().filter(|(k, _)| a.get(k).is_none()).count();
    let total = x.len() + extra;
    if total == 0 {
        return 1.0;
    }
    let same = x.iter().filter(|(k, v)| b.get(k).is_some_and(|w| equal(v, w))).count();
    same as f64 / total as f64
}

/// Structural equality, object key order ignored.
fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| b.get(k).is_some_and(|w| equal(v, w)))
        }
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(v, w)| equal(v, w)),
        (Value::Number(x), Value::Number(y)) => x == y || (x.is_nan() && y.is_nan()),
        _ => a == b,
    }
}

/// JSON text without the whitespace outside string literals.
fn strip_json_space(s: &str) -> String {
    let (mut out, mut in_str, mut escaped) = (String::with_capacity(s.len()), false, false);
    for c in s.chars() {
        if in_str {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_str = false;
            }
        } else if c == '"' {
            in_str = true;
        } else if matches!(c, ' ' | '\t' | '\n' | '\r') {
            continue;
        }
        out.push(c);
    }
    out
}

/// Lowercases ASCII and Latin-1 letters (no Unicode case tables in the Wasm module).
fn lower(c: char) -> char {
    match c {
        'A'..='Z' | '\u{C0}'..='\u{DE}' if c != '\u{D7}' => char::from_u32(c as u32 + 32).unwrap_or(c),
        _ => c,
    }
}

/// Letters and digits: ASCII alphanumerics and every non-ASCII character except whitespace,
/// Latin-1 punctuation and symbols, general punctuation (U+2000..U+206F) and CJK punctuation.
fn is_word_char(c: char) -> bool {
    match c as u32 {
        0..=0x7F => c.is_ascii_alphanumeric(),
        0x80..=0xBF | 0xD7 | 0xF7 | 0x2000..=0x206F | 0x3000..=0x303F | 0xFEFF => false,
        _ => true,
    }
}

/// Unicode `White_Space` (without the Unicode tables).
fn is_space(c: char) -> bool {
    matches!(c as u32, 0x09..=0x0D | 0x20 | 0x85 | 0xA0 | 0x1680 | 0x2000..=0x200A | 0x2028 | 0x2029 | 0x202F | 0x205F | 0x3000)
}

/// FNV-1a hashes of the normalised words of `s`.
fn words(s: &str) -> Vec<u64> {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    let (mut out, mut h, mut in_word) = (Vec::new(), OFFSET, false);
    for c in s.chars() {
        if is_word_char(c) {
            let mut buf = [0; 4];
            for byte in lower(c).encode_utf8(&mut buf).bytes() {
                h = (h ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
            }
            in_word = true;
        } else if is_space(c) && in_word {
            out.push(h);
            (h, in_word) = (OFFSET, false);
        }
        // Other characters (punctuation, symbols) are dropped without splitting the word:
        // "e-mail" is "email", "don't" is "dont".
    }
    if in_word {
        out.push(h);
    }
    out
}

/// Unigram and bigram hashes, sorted. A bigram's hash mixes both words' hashes (64-bit, so a
/// collision between distinct features is negligible).
fn features(s: &str) -> Vec<u64> {
    let w = words(s);
    let mut f: Vec<u64> = w
        .windows(2)
        .map(|p| (p[0].rotate_left(29) ^ p[1]).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x5bd1_e995)
        .collect();
    f.extend(w);
    heap_sort(&mut f);
    f
}

/// A small in-place heap sort (keeps the generic standard sort out of the Wasm module).
fn heap_sort(v: &mut [u64]) {
    fn sift(v: &mut [u64], mut root: usize, end: usize) {
        loop {
            let mut child = 2 * root + 1;
            if child >= end {
                return;
            }
            if child + 1 < end && v[child] < v[child + 1] {
                child += 1;
            }
            if v[root] >= v[child] {
                return;
            }
            v.swap(root, child);
            root = child;
        }
    }
    for i in (0..v.len() / 2).rev() {
        sift(v, i, v.len());
    }
    for end in (1..v.len()).rev() {
        v.swap(0, end);
        sift(v, 0, end);
    }
}

/// Dice coefficient over word unigrams and bigrams of the normalised texts.
pub fn text_similarity(a: &str, b: &str) -> f64 {
    let (x, y) = (features(a), features(b));
    if x.is_empty() && y.is_empty() {
        return 1.0;
    }
    let (mut i, mut j, mut common) = (0, 0, 0usize);
    while i < x.len() && j < y.len() {
        if x[i] < y[j] {
            i += 1;
        } else if x[i] > y[j] {
            j += 1;
        } else {
            common += 1;
            i += 1;
            j += 1;
        }
    }
    (2 * common) as f64 / (x.len() + y.len()) as f64
}
