//! JS bindings of [`crate::prompt`]: request bodies, token estimates, truncation, cache keys.
//! Bodies cross as JSON text (the wrapper parses it): one string instead of a tree of JS objects.

use super::{js_error, value_from_js};
use crate::prompt::{self, PromptError, PromptSpec};
use crate::value::Value;
use wasm_bindgen::prelude::*;

fn value(v: &JsValue) -> Result<Value, JsValue> {
    value_from_js(v).map_err(|reason| {
        js_error(&PromptError::Invalid {
            field: String::from("(root)"),
            reason,
        })
    })
}

fn spec(v: &JsValue) -> Result<PromptSpec, JsValue> {
    PromptSpec::from_value(&value(v)?).map_err(|e| js_error(&e))
}

/// The OpenAI chat completions body for a prompt spec, as JSON text.
#[wasm_bindgen(js_name = buildOpenAIJson)]
pub fn build_openai_js(spec_js: JsValue) -> Result<String, JsValue> {
    Ok(prompt::to_json(&prompt::build_openai(&spec(&spec_js)?)))
}

/// The Anthropic messages body for a prompt spec, as JSON text.
#[wasm_bindgen(js_name = buildAnthropicJson)]
pub fn build_anthropic_js(spec_js: JsValue) -> Result<String, JsValue> {
    Ok(prompt::to_json(&prompt::build_anthropic(&spec(&spec_js)?)))
}

/// A deterministic, conservative token estimate.
#[wasm_bindgen(js_name = estimateTokens)]
pub fn estimate_tokens_js(text: &str) -> u32 {
    prompt::estimate_tokens(text)
}

/// The spec cut to `budget` tokens, as JSON text with `droppedTurns`.
#[wasm_bindgen(js_name = truncatePromptJson)]
pub fn truncate_js(spec_js: JsValue, budget: u32) -> Result<String, JsValue> {
    let (kept, dropped) = prompt::truncate(spec(&spec_js)?, budget).map_err(|e| js_error(&e))?;
    let mut v = kept.to_value();
    if let Value::Object(members) = &mut v {
        members.push((String::from("droppedTurns"), Value::Number(dropped as f64)));
    }
    Ok(prompt::to_json(&v))
}

/// Lowercase hex SHA-256 of the canonical form of any JSON-like value.
#[wasm_bindgen(js_name = promptCacheKey)]
pub fn cache_key_js(v: JsValue) -> Result<String, JsValue> {
    Ok(prompt::cache_key(&value(&v)?))
}
