//! OpenAI chat completions request bodies with strict tools and structured outputs.

use super::spec::PromptSpec;
use super::{obj, s};
use crate::value::Value;

/// The text of the one system message: the system prompt, then `## Instructions`,
/// `## Context` (a `### <name>` heading per section) and `## Format`, separated by blank lines;
/// empty parts are left out. The response schema is not repeated here (structured outputs carry
/// it).
pub(crate) fn system_text(spec: &PromptSpec) -> String {
    fn part(out: &mut String, pieces: &[&str]) {
        if !out.is_empty() {
            out.push_str("\n\n");
        }
        for p in pieces {
            out.push_str(p);
        }
    }
    let mut out = String::new();
    if !spec.system.trim().is_empty() {
        part(&mut out, &[&spec.system]);
    }
    if let Some(i) = spec.instructions_text() {
        part(&mut out, &["## Instructions\n", i]);
    }
    for (n, c) in spec.context.iter().enumerate() {
        let heading = if n == 0 { "## Context\n### " } else { "### " };
        part(&mut out, &[heading, &c.name, "\n", &c.content]);
    }
    if let Some(f) = spec.format_text() {
        part(&mut out, &["## Format\n", f]);
    }
    out
}

/// An OpenAI chat completions body (`POST /v1/chat/completions`):
/// `{model, messages, max_completion_tokens?, temperature?, tools?, response_format?}`.
///
/// - `messages`: one `system` message (the system prompt, then `## Instructions`, `## Context`
///   with a `### <name>` heading per section, and `## Format`, separated by blank lines; left out
///   when all are empty), then the turns.
/// - `max_completion_tokens` (not the deprecated `max_tokens`, which o-series / reasoning
///   models reject) from `maxTokens`.
/// - `tools`: `{type: "function", function: {name, description, parameters, strict: true}}`
///   with [`strict_schema`] parameters. `parallel_tool_calls` is left to the caller: OpenAI notes
///   that parallel calls may not match strict schemas, but some models reject the parameter.
/// - `response_format`: `{type: "json_schema", json_schema: {name, schema, strict: true}}`.
pub fn build_openai(spec: &PromptSpec) -> Value {
    let mut messages = Vec::with_capacity(spec.messages.len() + 1);
    let system = system_text(spec);
    if !system.is_empty() {
        messages.push(obj(vec![("role", s("system")), ("content", Value::String(system))]));
    }
    for m in &spec.messages {
        messages.push(obj(vec![("role", s(m.role.as_str())), ("content", s(&m.content))]));
    }
    let mut body = vec![("model", s(&spec.model)), ("messages", Value::Array(messages))];
    if let Some(n) = spec.max_tokens {
        body.push(("max_completion_tokens", Value::Number(n as f64)));
    }
    if let Some(t) = spec.temperature {
        body.push(("temperature", Value::Number(t)));
    }
    if !spec.tools.is_empty() {
        let tool = |t: &super::PromptTool| {
            let function = obj(vec![
                ("name", s(&t.name)),
                ("description", s(&t.description)),
                ("parameters", strict_schema(&t.parameters)),
                ("strict", Value::Bool(true)),
            ]);
            obj(vec![("type", s("function")), ("function", function)])
        };
        body.push(("tools", Value::Array(super::vec_of(&spec.tools, &tool))));
    }
    if let Some(r) = &spec.response_schema {
        let json_schema = obj(vec![
            ("name", s(&r.name)),
            ("schema", strict_schema(&r.schema)),
            ("strict", Value::Bool(true)),
        ]);
        body.push((
            "response_format",
            obj(vec![("type", s("json_schema")), ("json_schema", json_schema)]),
        ));
    }
    obj(body)
}

/// Keywords whose value is one subschema.
const ONE: [&str; 4] = ["items", "not", "additionalProperties", "contains"];
/// Keywords whose value is an array of subschemas.
const LIST: [&str; 4] = ["anyOf", "allOf", "oneOf", "prefixItems"];
/// Keywords whose value maps names to subschemas.
const MAP: [&str; 4] = ["properties", "$defs", "definitions", "patternProperties"];

/// The schema made fit for OpenAI's strict mode, recursively (through `properties`, `items`,
/// `anyOf`/`allOf`/`oneOf`, `$defs`/`definitions`, ...; `enum`, `const`, `default` and the
/// like are data and left alone). On every object schema (`type` `"object"`, or with
/// `properties`):
/// - `additionalProperties: false` is added when the schema does not say (an explicit value is
///   kept: OpenAI then rejects the schema rather than this code silently changing it);
/// - `required` lists every property, in property order, since strict mode requires all; a
///   property that was optional becomes nullable instead (see `nullable`: `null` joins its
///   `enum` and its `type`, e.g. `"string"` → `["string", "null"]`, else its `anyOf`, else it is
///   wrapped as `{"anyOf": [<schema>, {"type": "null"}]}`), which is OpenAI's documented way to
///   express an optional field.
pub fn strict_schema(schema: &Value) -> Value {
    let Value::Object(members) = schema else {
        return schema.clone();
    };
    let mut out: Vec<(String, Value)> = Vec::with_capacity(members.len() + 2);
    for (k, v) in members {
        let v = match (k.as_str(), v) {
            (k, Value::Object(_)) if ONE.contains(&k) => strict_schema(v),
            (k, Value::Array(items)) if LIST.contains(&k) => Value::Array(super::vec_of(items, &strict_schema)),
            (k, Value::Object(m)) if MAP.contains(&k) => {
                let mut subs = Vec::with_capacity(m.len());
                for (name, sub) in m {
                    subs.push((name.clone(), strict_schema(sub)));
                }
                Value::Object(subs)
            }
            _ => v.clone(),
        };
        out.push((k.clone(), v));
    }
    let is_object = schema.get("properties").is_some()
        || match schema.get("type") {
            Some(Value::String(t)) => t == "object",
            Some(Value::Array(ts)) => ts.iter().any(|t| t.as_str() == Some("object")),
            _ => false,
        };
    if !is_object {
        return Value::Object(out);
    }
    if schema.get("additionalProperties").is_none() {
        out.push(("additionalProperties".into(), Value::Bool(false)));
    }
    let required: Vec<&str> = match schema.get("required") {
        Some(Value::Array(r)) => r.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let mut all = Vec::new();
    if let Some(Value::Object(props)) = out.iter_mut().find(|(k, _)| k == "properties").map(|(_, v)| v) {
        for (name, sub) in props.iter_mut() {
            if !required.contains(&name.as_str()) {
                *sub = nullable(core::mem::take(sub));
            }
            all.push(Value::String(name.clone()));
        }
    }
    match out.iter_mut().find(|(k, _)| k == "required") {
        Some(slot) => slot.1 = Value::Array(all),
        None => out.push(("required".into(), Value::Array(all))),
    }
    Value::Object(out)
}

/// `schema` that also accepts `null`: `null` added to its `enum` and to its `type`, else to its
/// `anyOf` (as `{"type": "null"}`), else the schema wrapped as `{"anyOf": [schema, {"type":
/// "null"}]}`.
fn nullable(schema: Value) -> Value {
    let Value::Object(mut m) = schema else {
        return schema;
    };
    let mut done = false;
    for (k, v) in m.iter_mut() {
        match (k.as_str(), &mut *v) {
            ("enum", Value::Array(vals)) => {
                done = true;
                if !vals.contains(&Value::Null) {
                    vals.push(Value::Null);
                }
            }
            ("type", Value::String(t)) => {
                done = true;
                if t != "null" {
                    *v = Value::Array(vec![Value::String(core::mem::take(t)), Value::from("null")]);
                }
            }
            ("type", Value::Array(ts)) => {
                done = true;
                if !ts.iter().any(|t| t.as_str() == Some("null")) {
                    ts.push(Value::from("null"));
                }
            }
            _ => {}
        }
    }
    let null = || obj(vec![("type", s("null"))]);
    if !done {
        if let Some((_, Value::Array(branches))) = m.iter_mut().find(|(k, _)| k == "anyOf") {
            if !branches
                .iter()
                .any(|b| b.get("type").and_then(Value::as_str) == Some("null"))
            {
                branches.push(null());
            }
            done = true;
        }
    }
    if done {
        Value::Object(m)
    } else {
        obj(vec![("anyOf", Value::Array(vec![Value::Object(m), null()]))])
    }
}
