//! The provider-neutral prompt description and its reading from JSON (camelCase fields, as in
//! `js/trimtab.d.ts`).

use super::{obj, s, vec_of, PromptError};
use crate::value::Value;

/// Who wrote a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `"user"`.
    User,
    /// `"assistant"`.
    Assistant,
}

impl Role {
    /// `"user"` / `"assistant"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

/// One turn of the conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct PromptMessage {
    /// Who wrote it.
    pub role: Role,
    /// The text (contains non-whitespace).
    pub content: String,
}

/// A named context section (retrieved documents, account facts, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct PromptSection {
    /// The section's name (non-empty).
    pub name: String,
    /// Its text.
    pub content: String,
}

/// A function the model may call.
#[derive(Debug, Clone, PartialEq)]
pub struct PromptTool {
    /// 1-64 characters of `[A-Za-z0-9_-]` (both providers' rule).
    pub name: String,
    /// What it does.
    pub description: String,
    /// A JSON schema of its arguments (an object schema).
    pub parameters: Value,
}

/// A JSON schema for the reply.
#[derive(Debug, Clone, PartialEq)]
pub struct ResponseSchema {
    /// 1-64 characters of `[A-Za-z0-9_-]`.
    pub name: String,
    /// The schema (a JSON object).
    pub schema: Value,
}

/// One provider-neutral description of a prompt.
#[derive(Debug, Clone, PartialEq)]
pub struct PromptSpec {
    /// The model id, e.g. `gpt-4o-mini` or `claude-sonnet-4-5`.
    pub model: String,
    /// The system prompt (kept whatever the budget; may be empty).
    pub system: String,
    /// Stable instructions.
    pub instructions: Option<String>,
    /// Context sections, in order.
    pub context: Vec<PromptSection>,
    /// How to answer.
    pub format: Option<String>,
    /// The conversation, oldest first; the last one is the latest user turn.
    pub messages: Vec<PromptMessage>,
    /// Functions the model may call.
    pub tools: Vec<PromptTool>,
    /// A JSON schema for the reply.
    pub response_schema: Option<ResponseSchema>,
    /// Most tokens to generate (1..=1_000_000).
    pub max_tokens: Option<u32>,
    /// Sampling temperature, 0..=2.
    pub temperature: Option<f64>,
}

fn invalid(field: impl Into<String>, reason: &'static str) -> PromptError {
    PromptError::Invalid {
        field: field.into(),
        reason,
    }
}

/// Where a field sits: `key`, or `list[i].key` (built only for an error message).
#[derive(Clone, Copy)]
struct At<'a>(&'a str, Option<usize>);

impl At<'_> {
    fn err(self, key: &str, reason: &'static str) -> PromptError {
        let field = match self.1 {
            Some(i) => format!("{}[{i}].{key}", self.0),
            None if self.0.is_empty() => key.to_owned(),
            None => format!("{}.{key}", self.0),
        };
        invalid(field, reason)
    }
}

/// The member `key`, with `null` (JS `undefined`) read as absent.
fn member<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.get(key).filter(|m| !m.is_null())
}

/// An optional string member.
fn opt_string(v: &Value, key: &str, at: At) -> Result<Option<String>, PromptError> {
    match member(v, key) {
        None => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(at.err(key, "must be a string")),
    }
}

/// A required string member; `non_blank` also rejects whitespace-only text.
fn string(v: &Value, key: &str, at: At, non_blank: bool) -> Result<String, PromptError> {
    match opt_string(v, key, at)? {
        None => Err(at.err(key, "is required")),
        Some(text) if non_blank && text.trim().is_empty() => Err(at.err(key, "must not be empty")),
        Some(text) => Ok(text),
    }
}

fn array<'a>(v: &'a Value, key: &str) -> Result<&'a [Value], PromptError> {
    match member(v, key) {
        None => Ok(&[]),
        Some(m) => m.as_array().ok_or_else(|| invalid(key, "must be an array")),
    }
}

/// A tool or schema name: 1-64 characters of `[A-Za-z0-9_-]`.
fn name(v: &Value, at: At) -> Result<String, PromptError> {
    let name = string(v, "name", at, false)?;
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(name)
    } else {
        Err(at.err("name", "must be 1-64 characters of A-Z a-z 0-9 _ -"))
    }
}

fn schema_object(v: &Value, key: &str, at: At) -> Result<Value, PromptError> {
    match member(v, key) {
        Some(m @ Value::Object(_)) => Ok(m.clone()),
        Some(_) => Err(at.err(key, "must be a JSON schema object")),
        None => Err(at.err(key, "is required")),
    }
}

/// An optional number member within `range`.
fn number(
    v: &Value,
    key: &str,
    lo: f64,
    hi: f64,
    whole: bool,
    reason: &'static str,
) -> Result<Option<f64>, PromptError> {
    match member(v, key) {
        None => Ok(None),
        Some(Value::Number(n)) if *n >= lo && *n <= hi && (!whole || n.fract() == 0.0) => Ok(Some(*n)),
        Some(_) => Err(invalid(key, reason)),
    }
}

impl PromptSpec {
    /// Reads and validates a prompt description (camelCase fields; unknown fields are ignored,
    /// `null` reads as absent). Errors name the field: `messages[1].role`, `tools[0].name`, ...
    pub fn from_value(v: &Value) -> Result<PromptSpec, PromptError> {
        let top = At("", None);
        if v.as_object().is_none() {
            return Err(invalid("spec", "must be an object"));
        }
        let model = string(v, "model", top, true)?;
        let system = string(v, "system", top, false)?;
        let mut context = Vec::new();
        for (i, c) in array(v, "context")?.iter().enumerate() {
            let at = At("context", Some(i));
            let name = string(c, "name", at, true)?;
            context.push(PromptSection {
                name,
                content: string(c, "content", at, false)?,
            });
        }
        let mut messages = Vec::new();
        for (i, m) in array(v, "messages")?.iter().enumerate() {
            let at = At("messages", Some(i));
            let role = match string(m, "role", at, false)?.as_str() {
                "user" => Role::User,
                "assistant" => Role::Assistant,
                _ => return Err(at.err("role", "must be \"user\" or \"assistant\"")),
            };
            messages.push(PromptMessage {
                role,
                content: string(m, "content", at, true)?,
            });
        }
        match messages.last() {
            None => return Err(invalid("messages", "must hold at least the latest user turn")),
            Some(m) if m.role != Role::User => return Err(invalid("messages", "the last turn must be the user's")),
            Some(_) => {}
        }
        let mut tools: Vec<PromptTool> = Vec::new();
        for (i, t) in array(v, "tools")?.iter().enumerate() {
            let at = At("tools", Some(i));
            let name = name(t, at)?;
            if tools.iter().any(|x| x.name == name) {
                return Err(at.err("name", "is a duplicate"));
            }
            let description = string(t, "description", at, false)?;
            tools.push(PromptTool {
                name,
                description,
                parameters: schema_object(t, "parameters", at)?,
            });
        }
        let response_schema = match member(v, "responseSchema") {
            None => None,
            Some(r) => {
                let at = At("responseSchema", None);
                Some(ResponseSchema {
                    name: name(r, at)?,
                    schema: schema_object(r, "schema", at)?,
                })
            }
        };
        let max_tokens = number(
            v,
            "maxTokens",
            1.0,
            1e6,
            true,
            "must be a whole number from 1 to 1000000",
        )?;
        Ok(PromptSpec {
            model,
            system,
            instructions: opt_string(v, "instructions", top)?,
            context,
            format: opt_string(v, "format", top)?,
            messages,
            tools,
            response_schema,
            max_tokens: max_tokens.map(|n| n as u32),
            temperature: number(v, "temperature", 0.0, 2.0, false, "must be a number from 0 to 2")?,
        })
    }

    /// The description as JSON (camelCase; absent and empty optional fields left out), as
    /// [`PromptSpec::from_value`] reads it.
    pub fn to_value(&self) -> Value {
        let mut m = vec![("model", s(&self.model)), ("system", s(&self.system))];
        if let Some(i) = &self.instructions {
            m.push(("instructions", s(i)));
        }
        if !self.context.is_empty() {
            let section = |c: &PromptSection| obj(vec![("name", s(&c.name)), ("content", s(&c.content))]);
            m.push(("context", Value::Array(vec_of(&self.context, &section))));
        }
        if let Some(f) = &self.format {
            m.push(("format", s(f)));
        }
        let turn = |t: &PromptMessage| obj(vec![("role", s(t.role.as_str())), ("content", s(&t.content))]);
        m.push(("messages", Value::Array(vec_of(&self.messages, &turn))));
        if !self.tools.is_empty() {
            let tool = |t: &PromptTool| {
                let parameters = t.parameters.clone();
                obj(vec![
                    ("name", s(&t.name)),
                    ("description", s(&t.description)),
                    ("parameters", parameters),
                ])
            };
            m.push(("tools", Value::Array(vec_of(&self.tools, &tool))));
        }
        if let Some(r) = &self.response_schema {
            m.push((
                "responseSchema",
                obj(vec![("name", s(&r.name)), ("schema", r.schema.clone())]),
            ));
        }
        if let Some(n) = self.max_tokens {
            m.push(("maxTokens", Value::Number(n as f64)));
        }
        if let Some(t) = self.temperature {
            m.push(("temperature", Value::Number(t)));
        }
        obj(m)
    }

    /// `instructions` when it holds non-whitespace text.
    pub(crate) fn instructions_text(&self) -> Option<&str> {
        self.instructions.as_deref().filter(|t| !t.trim().is_empty())
    }

    /// `format` when it holds non-whitespace text.
    pub(crate) fn format_text(&self) -> Option<&str> {
        self.format.as_deref().filter(|t| !t.trim().is_empty())
    }
}
