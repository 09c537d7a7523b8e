//! Anthropic messages request bodies: XML-tagged system blocks and prompt-cache breakpoints.

use super::json::to_json;
use super::spec::PromptSpec;
use super::tokens::message_cost;
use super::{obj, s};
use crate::value::Value;

/// `max_tokens` when the spec sets none (Anthropic requires the field).
pub const DEFAULT_ANTHROPIC_MAX_TOKENS: u32 = 1024;
/// Anthropic accepts at most this many `cache_control` breakpoints per request.
pub const MAX_CACHE_BREAKPOINTS: usize = 4;

/// The minimum cacheable prompt length (tokens) Anthropic documents for `model`; a shorter
/// prefix is silently not cached. 4096 for Claude Opus 4.5 / 4.6 / 4.7 and Haiku 4.5 and later
/// Haikus; 2048 for Sonnet 4.6 and the Claude 3 / 3.5 Haikus; 1024 for the other Sonnet and Opus
/// models (Sonnet 4.5, 4, 3.7, Opus 4.1, 4, ...). An unknown model gets 4096, so that a
/// breakpoint is never placed where it could not cache.
pub fn min_cacheable_tokens(model: &str) -> u32 {
    let m = model.to_ascii_lowercase();
    // A byte search (str::contains would pull a two-way searcher into the module).
    let has = |parts: &[&str]| {
        parts
            .iter()
            .any(|p| m.as_bytes().windows(p.len()).any(|w| w == p.as_bytes()))
    };
    if has(&["3-haiku", "3-5-haiku", "haiku-3"]) {
        2048
    } else if has(&["haiku", "opus-4-5", "opus-4-6", "opus-4-7"]) {
        4096
    } else if has(&["sonnet-4-6"]) {
        2048
    } else if has(&["sonnet", "opus"]) {
        1024
    } else {
        4096
    }
}

/// Escapes `&`, `<`, `>` and `"` for an XML attribute value.
fn attr(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// The system blocks, in order, each with whether it ends a stable prefix worth a breakpoint:
/// the system prompt as given; `<instructions>\n…\n</instructions>`;
/// `<context>\n<section name="…">\n…\n</section>\n…</context>` (the name attribute escaped,
/// texts verbatim); `<format>\n…\n</format>`, which also carries the response schema when there
/// is one. Empty parts are left out (Anthropic rejects empty text blocks). The boundaries are
/// the last block and the block just before `<context>` (context is often retrieved per
/// request, while what precedes it is not).
pub(crate) fn system_blocks(spec: &PromptSpec) -> Vec<(String, bool)> {
    fn tagged(tag: &str, text: &str) -> String {
        let mut out = String::with_capacity(text.len() + 2 * tag.len() + 7);
        for p in ["<", tag, ">\n", text, "\n</", tag, ">"] {
            out.push_str(p);
        }
        out
    }
    let mut blocks: Vec<(String, bool)> = Vec::new();
    if !spec.system.trim().is_empty() {
        blocks.push((spec.system.clone(), false));
    }
    if let Some(i) = spec.instructions_text() {
        blocks.push((tagged("instructions", i), false));
    }
    if !spec.context.is_empty() {
        if let Some(prev) = blocks.last_mut() {
            prev.1 = true;
        }
        let mut text = String::new();
        for c in &spec.context {
            for p in [
                "<section name=\"",
                &attr(&c.name),
                "\">\n",
                &c.content,
                "\n</section>\n",
            ] {
                text.push_str(p);
            }
        }
        text.pop();
        blocks.push((tagged("context", &text), false));
    }
    let mut format = String::new();
    if let Some(f) = spec.format_text() {
        format.push_str(f);
    }
    if let Some(r) = &spec.response_schema {
        if !format.is_empty() {
            format.push_str("\n\n");
        }
        for p in [
            "Reply with only a JSON object that matches this JSON schema (",
            &r.name,
            "):\n",
            &to_json(&r.schema),
        ] {
            format.push_str(p);
        }
    }
    if !format.is_empty() {
        blocks.push((tagged("format", &format), false));
    }
    if let Some(last) = blocks.last_mut() {
        last.1 = true;
    }
    blocks
}

/// Each tool as Anthropic receives it: `{name, description, input_schema}`.
fn tools(spec: &PromptSpec) -> Vec<Value> {
    let tool = |t: &super::PromptTool| {
        obj(vec![
            ("name", s(&t.name)),
            ("description", s(&t.description)),
            ("input_schema", t.parameters.clone()),
        ])
    };
    super::vec_of(&spec.tools, &tool)
}

/// The JSON text of each tool, for estimates.
pub(crate) fn tool_texts(spec: &PromptSpec) -> Vec<String> {
    let mut out = Vec::new();
    for t in tools(spec) {
        out.push(to_json(&t));
    }
    out
}

fn ephemeral() -> (String, Value) {
    ("cache_control".into(), obj(vec![("type", s("ephemeral"))]))
}

fn text_block(text: &str, cache: bool) -> Value {
    let mut b = vec![("type".to_owned(), s("text")), ("text".to_owned(), s(text))];
    if cache {
        b.push(ephemeral());
    }
    Value::Object(b)
}

/// An Anthropic messages body (`POST /v1/messages`): `{model, max_tokens, system?, messages,
/// tools?, temperature?}`.
///
/// - `max_tokens`: `maxTokens`, else [`DEFAULT_ANTHROPIC_MAX_TOKENS`].
/// - `system`: text blocks (see the XML sections in the module docs); `messages`: each turn as
///   `{role, content: [{type: "text", text}]}`; `tools`: `{name, description, input_schema}`;
///   `temperature` capped at 1 (Anthropic's range is 0..1).
/// - `cache_control: {type: "ephemeral"}` on at most [`MAX_CACHE_BREAKPOINTS`] blocks, only at
///   stable prefix boundaries (in Anthropic's cache order tools → system → messages): the last
///   tool; the system block before `<context>` and the last system block; the last turn before
///   the latest user turn (the conversation prefix, which the next request repeats). A boundary
///   gets one only when the estimated prefix up to it ([`super::estimate_tokens`] per item plus
///   overhead, as in [`super::estimate_spec_tokens`]) reaches [`min_cacheable_tokens`] for the
///   model.
pub fn build_anthropic(spec: &PromptSpec) -> Value {
    let min = u64::from(min_cacheable_tokens(&spec.model));
    let mut prefix: u64 = 0;

    let mut tools = tools(spec);
    for t in &tools {
        prefix += message_cost(&to_json(t));
    }
    if prefix >= min {
        if let Some(Value::Object(last)) = tools.last_mut() {
            last.push(ephemeral());
        }
    }

    let mut system = Vec::new();
    for (text, boundary) in system_blocks(spec) {
        prefix += message_cost(&text);
        system.push(text_block(&text, boundary && prefix >= min));
    }

    let n = spec.messages.len();
    for m in spec.messages.iter().take(n.saturating_sub(1)) {
        prefix += message_cost(&m.content);
    }
    let mut messages = Vec::with_capacity(n);
    for (i, m) in spec.messages.iter().enumerate() {
        let cache = n >= 2 && i == n - 2 && prefix >= min;
        let content = Value::Array(vec![text_block(&m.content, cache)]);
        messages.push(obj(vec![("role", s(m.role.as_str())), ("content", content)]));
    }

    let max_tokens = spec.max_tokens.unwrap_or(DEFAULT_ANTHROPIC_MAX_TOKENS);
    let mut body = vec![
        ("model", s(&spec.model)),
        ("max_tokens", Value::Number(max_tokens as f64)),
    ];
    if !system.is_empty() {
        body.push(("system", Value::Array(system)));
    }
    body.push(("messages", Value::Array(messages)));
    if !tools.is_empty() {
        body.push(("tools", Value::Array(tools)));
    }
    if let Some(t) = spec.temperature {
        body.push(("temperature", Value::Number(t.min(1.0))));
    }
    obj(body)
}
