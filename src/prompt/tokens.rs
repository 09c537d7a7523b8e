//! Token estimates and truncation to a budget.

use super::spec::{PromptSpec, Role};
use super::{anthropic, PromptError};

/// Estimated tokens of the framing of one item (a message, a system block, a tool): role and
/// delimiters. OpenAI documents 3-4 per message.
pub const ITEM_OVERHEAD: u32 = 4;
/// Estimated tokens of a request's framing (reply priming).
pub const REQUEST_OVERHEAD: u32 = 3;

/// A deterministic estimate of the tokens of `text`, meant to err high against the OpenAI
/// (o200k / cl100k) and Claude tokenizers without shipping one:
///
/// `max(ceil(units / 4), ceil(words × 1.3))`, where each ASCII letter or whitespace character
/// is 1 unit, each ASCII digit, punctuation or control character 2 units (code and JSON
/// tokenise densely) and every other character 4 units (one token per character: CJK and
/// emoji), and `words` counts whitespace-separated runs. Empty text is 0.
pub fn estimate_tokens(text: &str) -> u32 {
    let mut units: u64 = 0;
    let mut words: u64 = 0;
    let mut in_word = false;
    for c in text.chars() {
        units += match c {
            c if c.is_ascii_alphabetic() || c.is_ascii_whitespace() => 1,
            c if c.is_ascii() => 2,
            _ => 4,
        };
        let space = c.is_whitespace();
        if !space && !in_word {
            words += 1;
        }
        in_word = !space;
    }
    let tokens = units.div_ceil(4).max((words * 13).div_ceil(10));
    u32::try_from(tokens).unwrap_or(u32::MAX)
}

/// Estimated tokens of one message: its text plus [`ITEM_OVERHEAD`].
pub(crate) fn message_cost(content: &str) -> u64 {
    u64::from(estimate_tokens(content)) + u64::from(ITEM_OVERHEAD)
}

/// Estimated tokens of the parts sent with every request, whatever the conversation: each
/// tool (its JSON as Anthropic receives it) and each system block (as
/// [`super::build_anthropic`] renders them, which includes the response schema), each plus
/// [`ITEM_OVERHEAD`], plus [`REQUEST_OVERHEAD`].
pub(crate) fn fixed_cost(spec: &PromptSpec) -> u64 {
    let tools: u64 = anthropic::tool_texts(spec).iter().map(|t| message_cost(t)).sum();
    let system: u64 = anthropic::system_blocks(spec)
        .iter()
        .map(|(b, _)| message_cost(b))
        .sum();
    u64::from(REQUEST_OVERHEAD) + tools + system
}

/// Estimated input tokens of the whole prompt: the fixed parts (tools, system blocks, response
/// schema) and every message, each with [`ITEM_OVERHEAD`], plus [`REQUEST_OVERHEAD`]. Uses the
/// Anthropic rendering, whose XML tags are a little longer than OpenAI's headings.
pub fn estimate_spec_tokens(spec: &PromptSpec) -> u32 {
    let total = fixed_cost(spec) + spec.messages.iter().map(|m| message_cost(&m.content)).sum::<u64>();
    u32::try_from(total).unwrap_or(u32::MAX)
}

/// `spec` cut to `budget` estimated tokens ([`estimate_spec_tokens`]), with the number of
/// turns dropped. Keeps the system part (system, instructions, context, format, tools,
/// response schema) and the latest turn; drops the oldest turns first, and keeps dropping while
/// the conversation would start with an assistant turn, so assistant/user pairs go together
/// and the result starts with a user turn. A spec already within budget comes back unchanged.
///
/// Errors: `PROMPT_TOO_LARGE` when the kept parts alone exceed the budget; `INVALID_PROMPT`
/// when there are no messages.
pub fn truncate(mut spec: PromptSpec, budget: u32) -> Result<(PromptSpec, usize), PromptError> {
    let costs: Vec<u64> = spec.messages.iter().map(|m| message_cost(&m.content)).collect();
    let Some(&last) = costs.last() else {
        return Err(PromptError::Invalid {
            field: "messages".into(),
            reason: "must hold at least the latest user turn",
        });
    };
    let fixed = fixed_cost(&spec);
    let mut total = fixed + costs.iter().sum::<u64>();
    let budget64 = u64::from(budget);
    if total <= budget64 {
        return Ok((spec, 0));
    }
    if fixed + last > budget64 {
        let needed = u32::try_from(fixed + last).unwrap_or(u32::MAX);
        return Err(PromptError::TooLarge { needed, budget });
    }
    let n = costs.len();
    let mut cut = 0;
    while cut + 1 < n && (total > budget64 || spec.messages[cut].role != Role::User) {
        total -= costs[cut];
        cut += 1;
    }
    spec.messages = spec.messages.split_off(cut);
    Ok((spec, cut))
}
