//! Values across the boundary, through serde and serde-wasm-bindgen in both directions.
//!
//! Results are serialised with [`Serializer::json_compatible`]: plain objects (not `Map`s),
//! `null` for a missing value, numbers for integers. Inputs deserialise into their Rust types;
//! JSON-like inputs (snapshots, prompt specs, payloads, attribute values) into [`Value`], at
//! most [`MAX_DEPTH`](crate::value::MAX_DEPTH) levels deep.

use super::error::{js_error, InvalidArgument};
use crate::value::Value;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_wasm_bindgen::Serializer;
use wasm_bindgen::JsValue;

/// A Rust value as a plain JS value.
pub fn to_js<T: Serialize + ?Sized>(v: &T) -> Result<JsValue, JsValue> {
    v.serialize(&Serializer::json_compatible()).map_err(JsValue::from)
}

/// A JSON-like JS value (what `JSON.parse` produces) as a [`Value`]. `undefined` reads as
/// `null`; functions, symbols and values nested more than 64 levels deep (or cyclic) are refused
/// with serde-wasm-bindgen's message.
pub fn value_from_js(v: &JsValue) -> Result<Value, String> {
    serde_wasm_bindgen::from_value(v.clone()).map_err(|e| e.to_string())
}

/// An argument as its Rust type; `INVALID_ARGUMENT` naming it when it does not fit.
pub fn from_js<T: DeserializeOwned>(v: JsValue, name: &'static str) -> Result<T, JsValue> {
    serde_wasm_bindgen::from_value(v).map_err(|e| {
        js_error(&InvalidArgument {
            name,
            reason: e.to_string(),
        })
    })
}

#[cfg(feature = "edge")]
pub use lenient::{Num, Text};

/// A JS argument as text, the way [`Text`] reads it (`String(x ?? "")` for strings, numbers and
/// booleans; `""` otherwise). For text arguments of the classes the wrapper exports as they are:
/// wasm-bindgen does not check the type of a `&str` argument.
#[cfg(feature = "edge")]
pub fn text_of(v: JsValue) -> String {
    match v.as_string() {
        Some(s) => s,
        None => serde_wasm_bindgen::from_value::<Text>(v)
            .map(|t| t.0)
            .unwrap_or_default(),
    }
}

#[cfg(feature = "edge")]
mod lenient {
    use crate::value::Value;
    use serde::de::{Deserialize, Deserializer};

    /// A JS value read as `String(x ?? "")` reads it, for fields whose domain check gives the error
    /// code (a missing phone is `INVALID_PHONE`, not a type error): strings as they are, numbers and
    /// booleans as their text, anything else as `""`.
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct Text(pub String);

    impl<'de> Deserialize<'de> for Text {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Text, D::Error> {
            Ok(Text(match Value::deserialize(d)? {
                Value::String(s) => s,
                Value::Number(n) => crate::host::number_to_string(n),
                Value::Bool(b) => String::from(if b { "true" } else { "false" }),
                _ => String::new(),
            }))
        }
    }

    /// A JS value read as a number where only a number counts: anything else is NaN, which the
    /// domain check refuses with its own code.
    #[derive(Debug, Clone, Copy, PartialEq)]
    pub struct Num(pub f64);

    impl Default for Num {
        fn default() -> Self {
            Num(f64::NAN)
        }
    }

    impl<'de> Deserialize<'de> for Num {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Num, D::Error> {
            Ok(Num(Value::deserialize(d)?.as_f64().unwrap_or(f64::NAN)))
        }
    }
}
