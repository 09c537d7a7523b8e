//! A small JSON value model shared by snapshots, contexts and conditions.
//!
//! It serialises and deserialises with serde: natively from serde_json (the tests' vectors), in
//! Wasm from and to JS values through serde-wasm-bindgen (`src/wasm/`). The core never depends on
//! a JSON library.

/// A JSON value. Objects keep their keys in input order; lookups are linear, which is fastest
/// for the handful of keys a flag definition or a condition has.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// `null`, and also `undefined` coming from JS.
    #[default]
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// Every JSON number, as an IEEE double (as in JS).
    Number(f64),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Value>),
    /// An object, keys in input order.
    Object(Vec<(String, Value)>),
}

impl Value {
    /// The member `key` of an object; `None` for a missing key or a non-object.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Follows a dotted path (`"user.plan"`) through nested objects.
    pub fn get_path(&self, path: &str) -> Option<&Value> {
        let mut cur = self;
        for part in path.split('.') {
            cur = cur.get(part)?;
        }
        Some(cur)
    }

    /// The string inside, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The number inside, if this is a number.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Number(n) => Some(*n),
            _ => None,
        }
    }

    /// The boolean inside, if this is a boolean.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The elements, if this is an array.
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The members, if this is an object.
    pub fn as_object(&self) -> Option<&[(String, Value)]> {
        match self {
            Value::Object(o) => Some(o),
            _ => None,
        }
    }

    /// `true` for `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The JSON type name, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        }
    }
}

/// Formats a number for messages without pulling float formatting into the Wasm module:
/// up to 9 decimals, trailing zeros trimmed (`25`, `0.1`, `-3.5`, `NaN`).
pub fn format_number(n: f64) -> String {
    if n.is_nan() {
        return "NaN".into();
    }
    if n.is_infinite() {
        return if n > 0.0 { "Infinity".into() } else { "-Infinity".into() };
    }
    let sign = if n < 0.0 { "-" } else { "" };
    let a = n.abs();
    if a >= 1e9 {
        return format!("{sign}{}", a as u64);
    }
    let nanos = (a * 1e9).round() as u64;
    let (int, frac) = (nanos / 1_000_000_000, nanos % 1_000_000_000);
    if frac == 0 {
        return format!("{}{int}", if int == 0 { "" } else { sign });
    }
    let digits = format!("{frac:09}");
    format!("{sign}{int}.{}", digits.trim_end_matches('0'))
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}

impl From<f64> for Value {
    fn from(n: f64) -> Self {
        Value::Number(n)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

/// Deepest nesting of arrays and objects accepted when deserialising a [`Value`] (guards against
/// cyclic JS objects and runaway recursion).
pub const MAX_DEPTH: usize = 64;

mod serde_impl {
    use super::{Value, MAX_DEPTH};
    use core::fmt;
    use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
    use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

    /// Objects keep their key order; `null` is a unit.
    impl Serialize for Value {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            match self {
                Value::Null => s.serialize_unit(),
                Value::Bool(b) => s.serialize_bool(*b),
                Value::Number(n) => s.serialize_f64(*n),
                Value::String(t) => s.serialize_str(t),
                Value::Array(items) => {
                    let mut seq = s.serialize_seq(Some(items.len()))?;
                    for v in items {
                        seq.serialize_element(v)?;
                    }
                    seq.end()
                }
                Value::Object(members) => {
                    let mut map = s.serialize_map(Some(members.len()))?;
                    for (k, v) in members {
                        map.serialize_entry(k, v)?;
                    }
                    map.end()
                }
            }
        }
    }

    /// Any self-describing serde source (serde_json natively, serde-wasm-bindgen from JS), at most
    /// [`MAX_DEPTH`] levels deep. A unit (JSON `null`, JS `null` or `undefined`) is `Null`; bytes
    /// (a JS `Uint8Array`) are an array of numbers.
    impl<'de> de::Deserialize<'de> for Value {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
            At(0).deserialize(d)
        }
    }

    /// A value at a nesting depth.
    struct At(usize);

    impl<'de> DeserializeSeed<'de> for At {
        type Value = Value;

        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
            d.deserialize_any(self)
        }
    }

    impl At {
        fn deeper<E: de::Error>(&self) -> Result<At, E> {
            if self.0 >= MAX_DEPTH {
                return Err(E::custom("value nested more than 64 levels deep (or cyclic)"));
            }
            Ok(At(self.0 + 1))
        }
    }

    impl<'de> Visitor<'de> for At {
        type Value = Value;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a JSON value")
        }
        fn visit_unit<E>(self) -> Result<Value, E> {
            Ok(Value::Null)
        }
        fn visit_none<E>(self) -> Result<Value, E> {
            Ok(Value::Null)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
            d.deserialize_any(self)
        }
        fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
            Ok(Value::Bool(b))
        }
        fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
            Ok(Value::Number(n as f64))
        }
        fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
            Ok(Value::Number(n as f64))
        }
        fn visit_f64<E>(self, n: f64) -> Result<Value, E> {
            Ok(Value::Number(n))
        }
        fn visit_str<E>(self, s: &str) -> Result<Value, E> {
            Ok(Value::String(s.to_owned()))
        }
        fn visit_string<E>(self, s: String) -> Result<Value, E> {
            Ok(Value::String(s))
        }
        fn visit_bytes<E>(self, b: &[u8]) -> Result<Value, E> {
            Ok(Value::Array(b.iter().map(|&x| Value::Number(x.into())).collect()))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
            while let Some(v) = seq.next_element_seed(self.deeper()?)? {
                out.push(v);
            }
            Ok(Value::Array(out))
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
            let mut out: Vec<(String, Value)> = Vec::new();
            while let Some(k) = map.next_key::<String>()? {
                let v = map.next_value_seed(self.deeper()?)?;
                // Later duplicates win, as in JSON.parse.
                match out.iter_mut().find(|(key, _)| *key == k) {
                    Some(slot) => slot.1 = v,
                    None => out.push((k, v)),
                }
            }
            Ok(Value::Object(out))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_is_capped() {
        let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(serde_json::from_str::<Value>(&deep(MAX_DEPTH)).is_ok());
        let err = serde_json::from_str::<Value>(&deep(MAX_DEPTH + 1)).unwrap_err();
        assert!(err.to_string().contains("64 levels"), "{err}");
    }

    #[test]
    fn round_trips_through_serde_keeping_key_order() {
        let text = r#"{"b":1,"a":[true,null,"x",2.5],"c":{"z":{},"y":[]}}"#;
        let v: Value = serde_json::from_str(text).unwrap();
        assert_eq!(
            serde_json::to_string(&v).unwrap(),
            r#"{"b":1.0,"a":[true,null,"x",2.5],"c":{"z":{},"y":[]}}"#
        );
        let dup: Value = serde_json::from_str(r#"{"a":1,"a":2}"#).unwrap();
        assert_eq!(dup, Value::Object(vec![("a".into(), Value::Number(2.0))]));
    }
}
