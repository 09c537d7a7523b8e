//! The one trait every domain error enum implements: a stable, machine-readable code and the
//! error's structured fields.
//!
//! Each domain (bucketing, flags, conditions, ...) has its own error enum; `src/wasm/` turns any of
//! them, in one place, into the JS `TrimtabError` whose `code` is [`ErrorCode::code`] and whose
//! other properties are [`ErrorCode::fields`], so no caller parses a message.

use serde::Serialize;

/// A domain error with a stable string code (`INVALID_SNAPSHOT`, `RAMP_SKIPS_STAGE`, ...).
pub trait ErrorCode: core::fmt::Display {
    /// The stable code. Never changes meaning once published.
    fn code(&self) -> &'static str;

    /// The error's structured fields (the flag and field of a bad snapshot, the stage a ramp
    /// skips, ...). None by default.
    fn fields(&self) -> ErrorFields {
        ErrorFields::default()
    }
}

/// The structured fields an error may carry. Each error sets the ones that describe it; the rest
/// stay `None` and are left out when serialised (`TrimtabErrorFields` in TypeScript).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorFields {
    /// The flag (key or list position) of a bad snapshot entry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flag: Option<String>,
    /// The offending field: a snapshot path (`rules[0].condition`), a prompt path
    /// (`messages[2].role`), or an input name (`salt`, `amount`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// A JSON path inside a payload or condition (`entry[0].changes[1].value`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// A header name (`webhook-timestamp`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    /// Why the value was refused, when the message adds it to a field or path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A ramp's current percentage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<f64>,
    /// A ramp's requested percentage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<f64>,
    /// The first stage a refused ramp would skip (percent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<f64>,
    /// A refused number (a percentage out of range).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// A limit that was crossed (nesting depth, largest amount in minor units).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<f64>,
    /// A webhook timestamp (seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<f64>,
    /// The verifier's clock (seconds) a webhook timestamp was compared with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub now: Option<f64>,
    /// A voucher's status (`redeemed`), or an unknown status name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// When an expired voucher expired (epoch ms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expired_at_ms: Option<f64>,
    /// A currency outside the policy's allow-list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// A condition operator (`$regx`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub op: Option<String>,
    /// Estimated tokens the kept parts of a prompt need.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub needed: Option<f64>,
    /// A token budget.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget: Option<f64>,
}
