//! A compact JSON writer, the canonical form and the cache key.
//!
//! Numbers: finite numbers as [`format_number`] writes them (integers exactly, with no `.0`,
//! up to 2^64; other values rounded to 9 decimals below 1e9 and to integers above, which keeps
//! float formatting out of the Wasm module); non-finite numbers as `null`, as `JSON.stringify`
//! does. Strings are escaped as `JSON.stringify` and Python's `json.dumps(ensure_ascii=False)`
//! escape them: `\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`, other control characters as
//! `\u00xx`; everything else verbatim.

use crate::bucket::sha256;
use crate::value::{format_number, Value};

/// Compact JSON (no insignificant whitespace), object keys in their order.
pub fn to_json(v: &Value) -> String {
    let mut out = String::new();
    write(&mut out, v, false);
    out
}

/// The canonical form: compact JSON with object keys sorted by their UTF-8 bytes (code point
/// order) and every string value passed through [`normalize_whitespace`]. Keys are kept as they
/// are (two keys differing only in whitespace stay distinct).
pub fn canonical_json(v: &Value) -> String {
    let mut out = String::new();
    write(&mut out, v, true);
    out
}

/// Lowercase hex SHA-256 of the UTF-8 bytes of [`canonical_json`]: equal prompts (up to key
/// order and whitespace inside strings) get equal keys.
pub fn cache_key(v: &Value) -> String {
    hex::encode(sha256(canonical_json(v).as_bytes()))
}

/// Trims the string and turns every run of whitespace (Unicode `White_Space`, as
/// [`char::is_whitespace`]) into one space.
pub fn normalize_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

fn write(out: &mut String, v: &Value, canonical: bool) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) if n.is_finite() => out.push_str(&format_number(*n)),
        Value::Number(_) => out.push_str("null"),
        Value::String(text) if canonical => write_str(out, &normalize_whitespace(text)),
        Value::String(text) => write_str(out, text),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(out, item, canonical);
            }
            out.push(']');
        }
        Value::Object(members) => {
            // Binary insertion keeps the sort's code small (the std sorts cost kilobytes of
            // Wasm); objects here have few keys.
            let mut refs: Vec<&(String, Value)> = Vec::with_capacity(members.len());
            for m in members {
                let at = if canonical {
                    refs.partition_point(|r| r.0 < m.0)
                } else {
                    refs.len()
                };
                refs.insert(at, m);
            }
            out.push('{');
            for (i, (k, item)) in refs.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(out, k);
                out.push(':');
                write(out, item, canonical);
            }
            out.push('}');
        }
    }
}

fn write_str(out: &mut String, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                out.push_str("\\u00");
                out.push(HEX[(c as usize) >> 4] as char);
                out.push(HEX[(c as usize) & 15] as char);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}
