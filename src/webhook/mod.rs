//! Webhook signatures, event ids and the in-isolate dedup window.
//!
//! - [`verify_meta_signature`]: WhatsApp / Meta `X-Hub-Signature-256: sha256=<hex>`, the
//!   HMAC-SHA256 of the raw body under the app secret.
//! - [`verify_standard`] / [`sign_standard`]: Standard Webhooks v1 (`webhook-id`,
//!   `webhook-timestamp`, `webhook-signature`; OpenAI's webhooks follow it). The signed content
//!   is `{id}.{timestamp}.{body}`, keyed with the base64-decoded `whsec_` secret; the signature
//!   header holds space-separated `v1,<base64>` entries (other versions such as `v1a` are
//!   ignored); the timestamp must be within [`TOLERANCE_SECONDS`] of the caller's clock, both
//!   ways.
//! - [`whatsapp_events`]: the events of one WhatsApp delivery (inbound messages and statuses,
//!   across all entries and changes) with their dedup ids; [`standard_event_id`]: the
//!   `webhook-id` of a Standard Webhooks delivery.
//! - [`DedupWindow`]: a bounded, TTL'd, O(1) cache of event ids seen by this isolate; the first
//!   line of defence in front of the durable dedup in the database.
//! - [`hmac_sha256`], [`ct_eq`], hex and base64 underneath: the `hmac`, `sha2`, `subtle`, `hex`
//!   and `base64` crates.
//!
//! Every failure is a [`WebhookError`] with a stable [`ErrorCode::code`]; no input panics.

mod crypto;
mod dedup;
mod events;
mod verify;

pub use crypto::{
    base64_decode, base64_encode, ct_eq, hex_decode, hex_encode, hmac_sha256, hmac_sha256_keyed, HmacSha256,
};
pub use dedup::DedupWindow;
pub use events::{whatsapp_events, InboundMessage, StatusUpdate, WhatsAppEvent};
pub use verify::{
    sign_meta, sign_standard, standard_event_id, verify_meta_signature, verify_standard, TOLERANCE_SECONDS,
};

use crate::error::{ErrorCode, ErrorFields};
use core::fmt;

/// Longest accepted event id (`webhook-id`, a WhatsApp `wamid`), in bytes.
pub const MAX_EVENT_ID_LEN: usize = 256;

/// Errors of the webhook domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookError {
    /// `MISSING_SIGNATURE`: the Meta `X-Hub-Signature-256` header is absent or empty.
    MissingSignature,
    /// `MISSING_HEADER`: a Standard Webhooks header (named) is absent or empty.
    MissingHeader(&'static str),
    /// `INVALID_HEADER`: a header is present but unusable (a timestamp that is not a whole
    /// number of seconds, an event id that is too long or not visible ASCII).
    InvalidHeader {
        /// The header, e.g. `webhook-timestamp`.
        header: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// `INVALID_SECRET`: the configured secret is empty or not valid base64.
    InvalidSecret(&'static str),
    /// `TIMESTAMP_TOO_OLD`: signed more than the tolerance before `now`.
    TimestampTooOld {
        /// The `webhook-timestamp`, in seconds.
        timestamp: i64,
        /// The verifier's clock, in seconds.
        now: i64,
    },
    /// `TIMESTAMP_TOO_NEW`: signed more than the tolerance after `now`.
    TimestampTooNew {
        /// The `webhook-timestamp`, in seconds.
        timestamp: i64,
        /// The verifier's clock, in seconds.
        now: i64,
    },
    /// `MALFORMED_SIGNATURE`: the signature header cannot be read (no `sha256=` prefix, bad hex
    /// or base64, wrong length, no `v1` entry).
    MalformedSignature(&'static str),
    /// `BAD_SIGNATURE`: well-formed, but no signature matches the content.
    BadSignature,
    /// `INVALID_ENCODING`: hex or base64 that does not decode (from the codec helpers).
    InvalidEncoding(&'static str),
    /// `MALFORMED_PAYLOAD`: a delivery body that is not the documented shape.
    MalformedPayload {
        /// Where, e.g. `entry[0].changes[1].value.messages[2].id`.
        path: String,
        /// What is wrong there.
        reason: &'static str,
    },
}

impl ErrorCode for WebhookError {
    fn code(&self) -> &'static str {
        match self {
            WebhookError::MissingSignature => "MISSING_SIGNATURE",
            WebhookError::MissingHeader(_) => "MISSING_HEADER",
            WebhookError::InvalidHeader { .. } => "INVALID_HEADER",
            WebhookError::InvalidSecret(_) => "INVALID_SECRET",
            WebhookError::TimestampTooOld { .. } => "TIMESTAMP_TOO_OLD",
            WebhookError::TimestampTooNew { .. } => "TIMESTAMP_TOO_NEW",
            WebhookError::MalformedSignature(_) => "MALFORMED_SIGNATURE",
            WebhookError::BadSignature => "BAD_SIGNATURE",
            WebhookError::InvalidEncoding(_) => "INVALID_ENCODING",
            WebhookError::MalformedPayload { .. } => "MALFORMED_PAYLOAD",
        }
    }

    fn fields(&self) -> ErrorFields {
        let mut out = ErrorFields::default();
        match self {
            WebhookError::MissingSignature => out.header = Some("x-hub-signature-256".into()),
            WebhookError::MissingHeader(h) => out.header = Some((*h).into()),
            WebhookError::InvalidHeader { header, reason } => {
                out.header = Some((*header).into());
                out.reason = Some((*reason).into());
            }
            WebhookError::TimestampTooOld { timestamp, now } | WebhookError::TimestampTooNew { timestamp, now } => {
                out.timestamp = Some(*timestamp as f64);
                out.now = Some(*now as f64);
            }
            WebhookError::MalformedPayload { path, reason } => {
                out.path = Some(path.clone());
                out.reason = Some((*reason).into());
            }
            WebhookError::InvalidSecret(why)
            | WebhookError::MalformedSignature(why)
            | WebhookError::InvalidEncoding(why) => out.reason = Some((*why).into()),
            WebhookError::BadSignature => {}
        }
        out
    }
}

impl fmt::Display for WebhookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WebhookError::MissingSignature => f.write_str("missing signature header X-Hub-Signature-256"),
            WebhookError::MissingHeader(h) => write!(f, "missing header {h}"),
            WebhookError::InvalidHeader { header, reason } => write!(f, "invalid header {header}: {reason}"),
            WebhookError::InvalidSecret(why) => write!(f, "invalid webhook secret: {why}"),
            WebhookError::TimestampTooOld { timestamp, now } => write!(
                f,
                "webhook timestamp {timestamp} is more than {TOLERANCE_SECONDS} s before now ({now})"
            ),
            WebhookError::TimestampTooNew { timestamp, now } => write!(
                f,
                "webhook timestamp {timestamp} is more than {TOLERANCE_SECONDS} s after now ({now})"
            ),
            WebhookError::MalformedSignature(why) => write!(f, "malformed signature header: {why}"),
            WebhookError::BadSignature => f.write_str("no signature matches the delivery"),
            WebhookError::InvalidEncoding(why) => write!(f, "invalid encoding: {why}"),
            WebhookError::MalformedPayload { path, reason } => write!(f, "malformed payload at {path}: {reason}"),
        }
    }
}

/// Checks an event id: non-empty, at most [`MAX_EVENT_ID_LEN`] bytes, visible ASCII only
/// (`!`..=`~`: no spaces, no control characters).
pub(crate) fn check_event_id(id: &str) -> Result<(), &'static str> {
    if id.is_empty() {
        Err("empty")
    } else if id.len() > MAX_EVENT_ID_LEN {
        Err("longer than 256 bytes")
    } else if !id.bytes().all(|b| b.is_ascii_graphic()) {
        Err("not visible ASCII")
    } else {
        Ok(())
    }
}
