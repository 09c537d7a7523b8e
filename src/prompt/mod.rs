//! Prompt optimisation, deterministic and offline: one provider-neutral [`PromptSpec`] turned
//! into provider request bodies, token estimates, truncation to a budget and a stable cache key.
//!
//! - [`build_openai`]: an OpenAI chat completions body (`POST /v1/chat/completions`): one system
//!   message (system prompt, then `## Instructions`, `## Context`, `## Format` sections), the
//!   conversation, strict function tools and strict structured outputs (`response_format`
//!   `json_schema`); schemas are made strict-compatible by [`strict_schema`].
//! - [`build_anthropic`]: an Anthropic messages body (`POST /v1/messages`): XML-tagged system
//!   blocks (`<instructions>`, `<context><section name="…">`, `<format>`) and at most four
//!   `cache_control` breakpoints, placed only at stable prefix boundaries whose prefix reaches the
//!   model's minimum cacheable length ([`min_cacheable_tokens`]).
//! - [`estimate_tokens`] / [`estimate_spec_tokens`]: a deterministic estimate that errs high.
//! - [`truncate`]: keeps the system part and the latest user turn, drops the oldest turns first.
//! - [`to_json`], [`canonical_json`], [`cache_key`]: a compact JSON writer, the canonical form
//!   (sorted keys, normalised whitespace) and its SHA-256, equal in Deno and the browser since
//!   both run this code.
//!
//! Nothing here panics on input; every failure is a [`PromptError`] with a stable code.

mod anthropic;
mod json;
mod openai;
mod spec;
mod tokens;

pub use anthropic::{build_anthropic, min_cacheable_tokens, DEFAULT_ANTHROPIC_MAX_TOKENS, MAX_CACHE_BREAKPOINTS};
pub use json::{cache_key, canonical_json, normalize_whitespace, to_json};
pub use openai::{build_openai, strict_schema};
pub use spec::{PromptMessage, PromptSection, PromptSpec, PromptTool, ResponseSchema, Role};
pub use tokens::{estimate_spec_tokens, estimate_tokens, truncate, ITEM_OVERHEAD, REQUEST_OVERHEAD};

use crate::error::{ErrorCode, ErrorFields};
use crate::value::Value;
use core::fmt;

/// Errors of the prompt domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptError {
    /// `INVALID_PROMPT`: a field of the prompt description is missing or unusable.
    Invalid {
        /// Where, e.g. `messages[2].role`.
        field: String,
        /// What is wrong there.
        reason: &'static str,
    },
    /// `PROMPT_TOO_LARGE`: the parts that are always kept (system part, tools, latest user
    /// turn) alone exceed the token budget.
    TooLarge {
        /// Estimated tokens of the kept parts.
        needed: u32,
        /// The budget.
        budget: u32,
    },
}

impl ErrorCode for PromptError {
    fn code(&self) -> &'static str {
        match self {
            PromptError::Invalid { .. } => "INVALID_PROMPT",
            PromptError::TooLarge { .. } => "PROMPT_TOO_LARGE",
        }
    }

    fn fields(&self) -> ErrorFields {
        let mut out = ErrorFields::default();
        match self {
            PromptError::Invalid { field, reason } => {
                out.field = Some(field.clone());
                out.reason = Some((*reason).into());
            }
            PromptError::TooLarge { needed, budget } => {
                out.needed = Some(f64::from(*needed));
                out.budget = Some(f64::from(*budget));
            }
        }
        out
    }
}

impl fmt::Display for PromptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PromptError::Invalid { field, reason } => write!(f, "invalid prompt: {field}: {reason}"),
            PromptError::TooLarge { needed, budget } => write!(
                f,
                "prompt too large: the system part and the latest user turn need ~{needed} tokens, budget {budget}"
            ),
        }
    }
}

/// An object from `(key, value)` pairs, in order.
pub(crate) fn obj(pairs: Vec<(&str, Value)>) -> Value {
    Value::Object(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

/// `f` of each item (one loop behind a `dyn`, instead of an iterator chain per caller, keeps
/// the Wasm small).
pub(crate) fn vec_of<T>(items: &[T], f: &dyn Fn(&T) -> Value) -> Vec<Value> {
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        out.push(f(item));
    }
    out
}

/// A string value.
pub(crate) fn s(text: &str) -> Value {
    Value::String(text.to_owned())
}
