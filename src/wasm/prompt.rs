//! JS bindings of [`crate::prompt`]: request bodies, token estimates, truncation, cache keys.
//! Specs and bodies cross as objects (serde): a spec deserialises into a [`Value`] and is
//! validated by [`PromptSpec::from_value`] (`INVALID_PROMPT` naming the field); bodies serialise
//! with their keys in order.

use super::convert::{to_js, value_from_js};
use super::error::js_error;
use crate::prompt::{self, PromptError, PromptSpec};
use crate::value::Value;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS_PROMPTS: &str = r#"
export interface PromptMessage {
  role: "user" | "assistant";
  content: string;
}
export interface PromptTool {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}
export interface PromptSection {
  name: string;
  content: string;
}

/** One provider-neutral description of a prompt. */
export interface PromptSpec {
  model: string;
  /** The system prompt (kept whatever the budget). */
  system: string;
  /** Stable instructions (Anthropic: <instructions>; OpenAI: appended to the system message). */
  instructions?: string;
  /** Retrieved or stable context sections (Anthropic: <context><section name="…">…</section></context>). */
  context?: PromptSection[];
  /** How to answer (Anthropic: <format>; OpenAI: with `responseSchema`, structured outputs). */
  format?: string;
  /** The conversation, oldest first; the last one is the latest user turn. */
  messages: PromptMessage[];
  tools?: PromptTool[];
  /** A JSON schema for the reply (OpenAI structured outputs, strict). */
  responseSchema?: { name: string; schema: Record<string, unknown> };
  maxTokens?: number;
  temperature?: number;
}

/** A spec cut to a budget, with the number of turns dropped. */
export type TruncatedPrompt = PromptSpec & { droppedTurns: number };
"#;

fn value(v: &JsValue) -> Result<Value, JsValue> {
    value_from_js(v).map_err(|_| {
        js_error(&PromptError::Invalid {
            field: String::from("(root)"),
            reason: "not a JSON value (a function, a symbol, or nested more than 64 levels deep)",
        })
    })
}

fn spec(v: &JsValue) -> Result<PromptSpec, JsValue> {
    PromptSpec::from_value(&value(v)?).map_err(|e| js_error(&e))
}

/// The OpenAI chat completions body for a prompt spec.
#[wasm_bindgen(js_name = buildOpenAIRequest, unchecked_return_type = "Record<string, unknown>")]
pub fn build_openai_js(
    #[wasm_bindgen(unchecked_param_type = "PromptSpec")] spec_js: JsValue,
) -> Result<JsValue, JsValue> {
    to_js(&prompt::build_openai(&spec(&spec_js)?))
}

/// The Anthropic messages body for a prompt spec.
#[wasm_bindgen(js_name = buildAnthropicRequest, unchecked_return_type = "Record<string, unknown>")]
pub fn build_anthropic_js(
    #[wasm_bindgen(unchecked_param_type = "PromptSpec")] spec_js: JsValue,
) -> Result<JsValue, JsValue> {
    to_js(&prompt::build_anthropic(&spec(&spec_js)?))
}

/// A deterministic, conservative token estimate.
#[wasm_bindgen(js_name = estimateTokens)]
pub fn estimate_tokens_js(text: &str) -> u32 {
    prompt::estimate_tokens(text)
}

/// The spec cut to `budget` tokens, with `droppedTurns` (`TruncatedPrompt`).
#[wasm_bindgen(js_name = truncatePrompt, unchecked_return_type = "TruncatedPrompt")]
pub fn truncate_js(
    #[wasm_bindgen(unchecked_param_type = "PromptSpec")] spec_js: JsValue,
    budget: u32,
) -> Result<JsValue, JsValue> {
    let (kept, dropped) = prompt::truncate(spec(&spec_js)?, budget).map_err(|e| js_error(&e))?;
    let mut v = kept.to_value();
    if let Value::Object(members) = &mut v {
        members.push((String::from("droppedTurns"), Value::Number(dropped as f64)));
    }
    to_js(&v)
}

/// Lowercase hex SHA-256 of the canonical form of any JSON-like value.
#[wasm_bindgen(js_name = promptCacheKey)]
pub fn cache_key_js(v: JsValue) -> Result<String, JsValue> {
    Ok(prompt::cache_key(&value(&v)?))
}
