//! JS bindings of [`crate::webhook`]: signature checks, WhatsApp events, the dedup window.
//! Events cross as objects (serde); signatures and bodies as strings and bytes.

use super::convert::{text_of, to_js, value_from_js};
use super::error::js_error;
use super::web;
use crate::webhook::{self, WebhookError, WhatsAppEvent};
use serde::Serialize;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS_WEBHOOKS: &str = r#"
/** Headers of a Standard Webhooks delivery (also OpenAI's webhooks). */
export interface StandardWebhookHeaders {
  id: string | null;
  timestamp: string | null;
  signature: string | null;
}

/** One event of a WhatsApp Cloud API delivery; `dedupId` is what durable dedup keys on. */
export type WhatsAppEvent =
  | {
    kind: "message";
    dedupId: string;
    wamid: string;
    from: string;
    type: string;
    text?: string;
    timestamp?: string;
    phoneNumberId?: string;
  }
  | {
    kind: "status";
    dedupId: string;
    wamid: string;
    status: string;
    recipient?: string;
    timestamp?: string;
    phoneNumberId?: string;
  };
"#;

fn err(e: WebhookError) -> JsValue {
    js_error(&e)
}

/// Checks Meta's `X-Hub-Signature-256` over the raw body. Throws `MISSING_SIGNATURE`,
/// `MALFORMED_SIGNATURE`, `INVALID_SECRET` or `BAD_SIGNATURE`.
#[wasm_bindgen(js_name = verifyMetaSignature)]
pub fn verify_meta_signature_js(app_secret: &[u8], raw_body: &[u8], header: Option<String>) -> Result<(), JsValue> {
    webhook::verify_meta_signature(app_secret, raw_body, header.as_deref()).map_err(err)
}

/// Checks a Standard Webhooks v1 delivery against `now_seconds` (default: the clock).
#[wasm_bindgen(js_name = verifyStandardWebhook)]
pub fn verify_standard_js(
    secret: &str,
    id: Option<String>,
    timestamp: Option<String>,
    signature: Option<String>,
    body: &[u8],
    now_seconds: Option<f64>,
) -> Result<(), JsValue> {
    let now = now_seconds.unwrap_or_else(|| (js_sys::Date::now() / 1000.0).floor());
    webhook::verify_standard(
        secret,
        id.as_deref(),
        timestamp.as_deref(),
        signature.as_deref(),
        body,
        now as i64,
    )
    .map_err(err)
}

/// Signs like a Standard Webhooks sender: `v1,<base64>`.
#[wasm_bindgen(js_name = signStandardWebhook)]
pub fn sign_standard_js(secret: &str, id: &str, timestamp_seconds: f64, body: &[u8]) -> Result<String, JsValue> {
    webhook::sign_standard(secret, id, timestamp_seconds as i64, body).map_err(err)
}

/// HMAC-SHA256 of `message` under `key`, lowercase hex.
#[wasm_bindgen(js_name = hmacSha256Hex)]
pub fn hmac_sha256_hex_js(key: &[u8], message: &[u8]) -> Result<String, JsValue> {
    Ok(webhook::hex_encode(&webhook::hmac_sha256(key, message).map_err(err)?))
}

/// One event as the JS API shows it (`WhatsAppEvent` in TypeScript).
#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
enum EventOut {
    Message(MessageOut),
    Status(StatusOut),
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MessageOut {
    dedup_id: String,
    wamid: String,
    from: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timestamp: Option<String>,
    phone_number_id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StatusOut {
    dedup_id: String,
    wamid: String,
    status: String,
    recipient: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    timestamp: Option<String>,
    phone_number_id: String,
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

impl From<WhatsAppEvent> for EventOut {
    fn from(e: WhatsAppEvent) -> Self {
        match e {
            WhatsAppEvent::Message(m) => EventOut::Message(MessageOut {
                dedup_id: m.id.clone(),
                wamid: m.id,
                from: m.from,
                kind: m.kind,
                text: non_empty(m.text),
                timestamp: non_empty(Some(m.timestamp)),
                phone_number_id: m.phone_number_id,
            }),
            WhatsAppEvent::Status(s) => EventOut::Status(StatusOut {
                dedup_id: s.id,
                wamid: s.message_id,
                status: s.status,
                recipient: s.recipient,
                timestamp: non_empty(s.timestamp),
                phone_number_id: s.phone_number_id,
            }),
        }
    }
}

/// Every message and status of a WhatsApp delivery, in order (`WhatsAppEvent[]`). Throws
/// `MALFORMED_PAYLOAD` naming the path.
#[wasm_bindgen(js_name = whatsappEvents, unchecked_return_type = "WhatsAppEvent[]")]
pub fn whatsapp_events_js(payload: JsValue) -> Result<JsValue, JsValue> {
    let value = value_from_js(&payload).map_err(|_| {
        err(WebhookError::MalformedPayload {
            path: String::from("(root)"),
            reason: "not a JSON value",
        })
    })?;
    let events = webhook::whatsapp_events(&value).map_err(err)?;
    to_js(&events.into_iter().map(EventOut::from).collect::<Vec<_>>())
}

/// A bounded in-isolate dedup window with a TTL.
#[wasm_bindgen(js_name = DedupWindow)]
pub struct DedupWindow(webhook::DedupWindow);

#[wasm_bindgen(js_class = DedupWindow)]
impl DedupWindow {
    /// Remembers at most `capacity` ids (default 10,000) for `ttl_ms` each (default 10 minutes).
    #[wasm_bindgen(constructor)]
    pub fn new(capacity: Option<u32>, ttl_ms: Option<f64>) -> DedupWindow {
        DedupWindow(webhook::DedupWindow::new(
            capacity.unwrap_or(10_000) as usize,
            ttl_ms.unwrap_or(600_000.0) as i64,
        ))
    }

    /// True the first time `id` (read as `String(id)`) is seen within the TTL (clock: `now_ms`,
    /// default the isolate's).
    #[wasm_bindgen(js_name = firstSeen)]
    pub fn first_seen(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
        now_ms: Option<f64>,
    ) -> bool {
        self.0.check_and_insert(&text_of(id), web::clock(now_ms))
    }

    /// Forgets `id`; true when it was held.
    pub fn forget(&mut self, #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue) -> bool {
        self.0.forget(&text_of(id))
    }

    /// Ids remembered now.
    #[wasm_bindgen(getter)]
    pub fn size(&self) -> u32 {
        self.0.len() as u32
    }
}
