//! JS bindings of [`crate::webhook`]: signature checks, WhatsApp event ids, the dedup window.
//!
//! Events cross the boundary as a flat list of strings, eight per event, which the wrapper turns
//! into objects (cheaper in module size than building JS objects here):
//! `kind, dedupId, wamid, from|status, type|recipient, text, timestamp, phoneNumberId`
//! (`""` for an absent text or timestamp).

use super::{js_error, value_from_js};
use crate::webhook::{self, WebhookError, WhatsAppEvent};
use wasm_bindgen::prelude::*;

fn err(e: WebhookError) -> JsValue {
    js_error(&e)
}

/// Checks Meta's `X-Hub-Signature-256` over the raw body. Throws `MISSING_SIGNATURE`,
/// `MALFORMED_SIGNATURE`, `INVALID_SECRET` or `BAD_SIGNATURE`.
#[wasm_bindgen(js_name = verifyMetaSignature)]
pub fn verify_meta_signature_js(app_secret: &[u8], raw_body: &[u8], header: Option<String>) -> Result<(), JsValue> {
    webhook::verify_meta_signature(app_secret, raw_body, header.as_deref()).map_err(err)
}

/// Checks a Standard Webhooks v1 delivery against `now_seconds`.
#[wasm_bindgen(js_name = verifyStandardWebhook)]
pub fn verify_standard_js(
    secret: &str,
    id: Option<String>,
    timestamp: Option<String>,
    signature: Option<String>,
    body: &[u8],
    now_seconds: f64,
) -> Result<(), JsValue> {
    webhook::verify_standard(
        secret,
        id.as_deref(),
        timestamp.as_deref(),
        signature.as_deref(),
        body,
        now_seconds as i64,
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
pub fn hmac_sha256_hex_js(key: &[u8], message: &[u8]) -> String {
    webhook::hex_encode(&webhook::hmac_sha256(key, message))
}

/// The events of a WhatsApp delivery, flattened (see the module docs).
#[wasm_bindgen(js_name = whatsappEventFields)]
pub fn whatsapp_event_fields_js(payload: JsValue) -> Result<Vec<String>, JsValue> {
    let value = value_from_js(&payload).map_err(|reason| {
        err(WebhookError::MalformedPayload {
            path: String::from("(root)"),
            reason,
        })
    })?;
    let events = webhook::whatsapp_events(&value).map_err(err)?;
    let mut out = Vec::with_capacity(events.len() * 8);
    for e in events {
        match e {
            WhatsAppEvent::Message(m) => out.extend([
                String::from("message"),
                m.id.clone(),
                m.id,
                m.from,
                m.kind,
                m.text.unwrap_or_default(),
                m.timestamp,
                m.phone_number_id,
            ]),
            WhatsAppEvent::Status(s) => out.extend([
                String::from("status"),
                s.id,
                s.message_id,
                s.status,
                s.recipient,
                String::new(),
                s.timestamp.unwrap_or_default(),
                s.phone_number_id,
            ]),
        }
    }
    Ok(out)
}

/// A bounded in-isolate dedup window with a TTL.
#[wasm_bindgen(js_name = DedupWindow)]
pub struct DedupWindow(webhook::DedupWindow);

#[wasm_bindgen(js_class = DedupWindow)]
impl DedupWindow {
    /// Remembers at most `capacity` ids for `ttl_ms` each.
    #[wasm_bindgen(constructor)]
    pub fn new(capacity: u32, ttl_ms: f64) -> DedupWindow {
        DedupWindow(webhook::DedupWindow::new(capacity as usize, ttl_ms as i64))
    }

    /// True the first time `id` is seen within the TTL.
    #[wasm_bindgen(js_name = firstSeen)]
    pub fn first_seen(&mut self, id: &str, now_ms: f64) -> bool {
        self.0.check_and_insert(id, now_ms as i64)
    }

    /// Forgets `id`; true when it was held.
    pub fn forget(&mut self, id: &str) -> bool {
        self.0.forget(id)
    }

    /// Ids remembered now.
    #[wasm_bindgen(getter)]
    pub fn size(&self) -> u32 {
        self.0.len() as u32
    }
}
