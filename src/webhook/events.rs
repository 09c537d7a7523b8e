//! Event ids of a WhatsApp Cloud API delivery.
//!
//! One POST may batch several entries, each with several changes; a `messages` change carries
//! inbound `messages` and/or `statuses` of messages the business sent. Each inbound message is
//! one event (dedup id: its `wamid`), each status one event (dedup id: `wamid:status`, so
//! `sent`, `delivered` and `read` of one message are three events). Changes of other fields
//! (`account_update`, templates, ...) are skipped.

use super::{check_event_id, WebhookError};
use crate::value::Value;

/// An inbound message from a WhatsApp user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundMessage {
    /// The `wamid`; also the dedup id.
    pub id: String,
    /// The sender's WhatsApp id (phone number digits).
    pub from: String,
    /// The message type: `text`, `image`, `interactive`, ...
    pub kind: String,
    /// `text.body` of a text message.
    pub text: Option<String>,
    /// Unix seconds, as Meta sends them (a string of digits).
    pub timestamp: String,
    /// The business phone number that received it (`metadata.phone_number_id`).
    pub phone_number_id: String,
}

/// A status update of a message the business sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusUpdate {
    /// The dedup id: `wamid + ":" + status`.
    pub id: String,
    /// The `wamid` of the message the status is about.
    pub message_id: String,
    /// `sent`, `delivered`, `read`, `failed`, ... (passed through as given).
    pub status: String,
    /// `recipient_id`: the WhatsApp id the message went to.
    pub recipient: String,
    /// Unix seconds as a string, when given.
    pub timestamp: Option<String>,
    /// The business phone number that sent the message (`metadata.phone_number_id`).
    pub phone_number_id: String,
}

/// One event of a WhatsApp delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WhatsAppEvent {
    /// An inbound message.
    Message(InboundMessage),
    /// A status of an outbound message.
    Status(StatusUpdate),
}

impl WhatsAppEvent {
    /// The dedup id: the `wamid` of a message, `wamid:status` of a status.
    pub fn dedup_id(&self) -> &str {
        match self {
            WhatsAppEvent::Message(m) => &m.id,
            WhatsAppEvent::Status(s) => &s.id,
        }
    }
}

/// Where in the payload we are, turned into `entry[0].changes[1]...` only for an error.
struct At<'a> {
    entry: usize,
    change: Option<usize>,
    item: Option<(&'a str, usize)>,
}

impl At<'_> {
    fn err(&self, field: &str, reason: &'static str) -> WebhookError {
        let mut path = String::from("entry[");
        path.push_str(&self.entry.to_string());
        path.push(']');
        if let Some(c) = self.change {
            path.push_str(".changes[");
            path.push_str(&c.to_string());
            path.push(']');
        }
        if let Some((list, i)) = self.item {
            path.push_str(".value.");
            path.push_str(list);
            path.push('[');
            path.push_str(&i.to_string());
            path.push(']');
        }
        if !field.is_empty() {
            path.push('.');
            path.push_str(field);
        }
        WebhookError::MalformedPayload { path, reason }
    }

    fn string(&self, obj: &Value, field: &str) -> Result<String, WebhookError> {
        match obj.get(field) {
            Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
            Some(Value::String(_)) => Err(self.err(field, "is empty")),
            None => Err(self.err(field, "is missing")),
            Some(_) => Err(self.err(field, "is not a string")),
        }
    }

    fn id(&self, obj: &Value, field: &str) -> Result<String, WebhookError> {
        let s = self.string(obj, field)?;
        check_event_id(&s).map_err(|reason| self.err(field, reason))?;
        Ok(s)
    }

    /// Unix seconds, a string of digits as Meta sends them; absent or `null` is `None`.
    fn seconds(&self, obj: &Value, field: &str) -> Result<Option<String>, WebhookError> {
        match obj.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if !s.is_empty() && s.len() <= 18 && s.bytes().all(|b| b.is_ascii_digit()) => {
                Ok(Some(s.clone()))
            }
            Some(_) => Err(self.err(field, "is not unix seconds (a string of digits)")),
        }
    }
}

/// An optional array member: absent or `null` is empty.
fn list<'v>(value: &'v Value, field: &str, path: &str, at: &At) -> Result<&'v [Value], WebhookError> {
    match value.get(field) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(_) => Err(at.err(path, "is not an array")),
    }
}

/// The events of one WhatsApp delivery, in delivery order: entries, then changes, then within
/// a change its `messages` followed by its `statuses`.
///
/// The payload is the parsed body (`{object: "whatsapp_business_account", entry: [...]}`).
/// Changes whose `field` is not `messages` are skipped. Anything else off the documented
/// shape (not an object, another `object`, `entry` or `changes` not arrays, a message without
/// an `id`, ...) is `MALFORMED_PAYLOAD` naming the path; ids must be non-empty visible ASCII of
/// at most 256 bytes.
pub fn whatsapp_events(payload: &Value) -> Result<Vec<WhatsAppEvent>, WebhookError> {
    let malformed = |path: &str, reason| WebhookError::MalformedPayload {
        path: path.to_owned(),
        reason,
    };
    if payload.as_object().is_none() {
        return Err(malformed("$", "is not an object"));
    }
    if payload.get("object").and_then(Value::as_str) != Some("whatsapp_business_account") {
        return Err(malformed("object", "is not \"whatsapp_business_account\""));
    }
    let entries = payload
        .get("entry")
        .and_then(Value::as_array)
        .ok_or_else(|| malformed("entry", "is not an array"))?;
    let mut events = Vec::new();
    for (e, entry) in entries.iter().enumerate() {
        let mut at = At {
            entry: e,
            change: None,
            item: None,
        };
        if entry.as_object().is_none() {
            return Err(at.err("", "is not an object"));
        }
        let changes = entry
            .get("changes")
            .and_then(Value::as_array)
            .ok_or_else(|| at.err("changes", "is not an array"))?;
        for (c, change) in changes.iter().enumerate() {
            at.change = Some(c);
            at.item = None;
            if change.as_object().is_none() {
                return Err(at.err("", "is not an object"));
            }
            if at.string(change, "field")? != "messages" {
                continue;
            }
            let value = change
                .get("value")
                .filter(|v| v.as_object().is_some())
                .ok_or_else(|| at.err("value", "is not an object"))?;
            let messages = list(value, "messages", "value.messages", &at)?;
            let statuses = list(value, "statuses", "value.statuses", &at)?;
            if messages.is_empty() && statuses.is_empty() {
                continue;
            }
            let phone_number_id = match value.get("metadata") {
                Some(m) => at
                    .string(m, "phone_number_id")
                    .map_err(|_| at.err("value.metadata.phone_number_id", "is not a non-empty string"))?,
                None => return Err(at.err("value.metadata", "is missing")),
            };
            for (i, m) in messages.iter().enumerate() {
                let at = At {
                    item: Some(("messages", i)),
                    ..at
                };
                if m.as_object().is_none() {
                    return Err(at.err("", "is not an object"));
                }
                let text = m.get("text").and_then(|t| t.get("body")).and_then(Value::as_str);
                events.push(WhatsAppEvent::Message(InboundMessage {
                    id: at.id(m, "id")?,
                    from: at.string(m, "from")?,
                    kind: at.string(m, "type")?,
                    text: text.map(str::to_owned),
                    timestamp: at
                        .seconds(m, "timestamp")?
                        .ok_or_else(|| at.err("timestamp", "is missing"))?,
                    phone_number_id: phone_number_id.clone(),
                }));
            }
            for (i, s) in statuses.iter().enumerate() {
                let at = At {
                    item: Some(("statuses", i)),
                    ..at
                };
                if s.as_object().is_none() {
                    return Err(at.err("", "is not an object"));
                }
                let message_id = at.id(s, "id")?;
                let status = at.id(s, "status")?;
                let mut id = String::with_capacity(message_id.len() + 1 + status.len());
                id.push_str(&message_id);
                id.push(':');
                id.push_str(&status);
                events.push(WhatsAppEvent::Status(StatusUpdate {
                    id,
                    message_id,
                    status,
                    recipient: at.string(s, "recipient_id")?,
                    timestamp: at.seconds(s, "timestamp")?,
                    phone_number_id: phone_number_id.clone(),
                }));
            }
        }
    }
    Ok(events)
}
