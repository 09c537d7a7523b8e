//! Vouchers: states and transitions, issue and redeem rules, voucher codes, E.164 phones.
//!
//! A voucher is `issued`, then either `redeemed` or `voided`; both are terminal. The database
//! applies a transition atomically (`UPDATE ... WHERE status = 'issued'`); these functions decide
//! beforehand whether a request may go there at all, with stable error codes:
//!
//! | code | when |
//! |---|---|
//! | `VOUCHER_NOT_ISSUED` | redeem or void of a voucher that is not `issued` |
//! | `VOUCHER_EXPIRED` | redeem at or after the expiry |
//! | `NOT_OWNER` | the caller's phone is not the holder's |
//! | `INVALID_AMOUNT` | not a whole number of minor units in `1 ..= max_amount_minor` |
//! | `INVALID_CURRENCY` | not 3 uppercase letters, or not in the policy's allow-list |
//! | `INVALID_PHONE` | not an E.164 number ([`normalize_phone`]) |
//! | `INVALID_CODE` | a voucher code of the wrong shape or with a wrong check character |
//! | `INVALID_EXPIRY` | not RFC 3339, or not in the future at issue time |
//! | `INVALID_STATUS` | a status name other than `issued`, `redeemed`, `voided` |
//!
//! Codes ([`generate_code`], [`validate_code`]) are `TT-XXXX-XXXX-C`; see [`code`].

pub mod code;
pub mod phone;

pub use code::{generate_code, validate_code, CODE_RANDOM_BYTES};
pub use phone::normalize_phone;

use crate::error::{ErrorCode, ErrorFields};
use crate::time::parse_rfc3339;
use core::fmt;

/// Errors of the voucher domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VoucherError {
    /// Redeem or void of a voucher in this (non-issued) state.
    NotIssued(Status),
    /// The voucher expired at this instant (epoch ms).
    Expired {
        /// The expiry, epoch milliseconds.
        expired_at_ms: i64,
    },
    /// The caller is not the voucher's holder.
    NotOwner,
    /// The amount is not a whole number of minor units in `1 ..= max`.
    InvalidAmount {
        /// The configured maximum.
        max: u64,
    },
    /// `None`: not 3 uppercase letters; `Some(code)`: well formed but not in the allow-list.
    InvalidCurrency(Option<String>),
    /// Not an E.164 phone number; says why.
    InvalidPhone(&'static str),
    /// A malformed or mistyped voucher code; says why.
    InvalidCode(&'static str),
    /// A bad expiry; says why.
    InvalidExpiry(&'static str),
    /// A voucher status that is not `issued`, `redeemed` or `voided` (the name given).
    InvalidStatus(String),
}

impl ErrorCode for VoucherError {
    fn code(&self) -> &'static str {
        match self {
            VoucherError::NotIssued(_) => "VOUCHER_NOT_ISSUED",
            VoucherError::Expired { .. } => "VOUCHER_EXPIRED",
            VoucherError::NotOwner => "NOT_OWNER",
            VoucherError::InvalidAmount { .. } => "INVALID_AMOUNT",
            VoucherError::InvalidCurrency(_) => "INVALID_CURRENCY",
            VoucherError::InvalidPhone(_) => "INVALID_PHONE",
            VoucherError::InvalidCode(_) => "INVALID_CODE",
            VoucherError::InvalidExpiry(_) => "INVALID_EXPIRY",
            VoucherError::InvalidStatus(_) => "INVALID_STATUS",
        }
    }

    fn fields(&self) -> ErrorFields {
        let mut out = ErrorFields::default();
        match self {
            VoucherError::NotIssued(status) => out.status = Some(status.as_str().into()),
            VoucherError::Expired { expired_at_ms } => out.expired_at_ms = Some(*expired_at_ms as f64),
            VoucherError::InvalidAmount { max } => {
                out.field = Some("amount".into());
                out.limit = Some(*max as f64);
            }
            VoucherError::InvalidCurrency(code) => {
                out.field = Some("currency".into());
                out.currency = code.clone();
            }
            VoucherError::InvalidPhone(_) => out.field = Some("phone".into()),
            VoucherError::InvalidCode(_) => out.field = Some("code".into()),
            VoucherError::InvalidExpiry(_) => out.field = Some("expiresAt".into()),
            VoucherError::InvalidStatus(name) => {
                out.field = Some("status".into());
                out.status = Some(name.clone());
            }
            VoucherError::NotOwner => {}
        }
        out
    }
}

impl fmt::Display for VoucherError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VoucherError::NotIssued(status) => {
                f.write_str("voucher is ")?;
                f.write_str(status.as_str())?;
                f.write_str("; only an issued voucher can be redeemed or voided")
            }
            VoucherError::Expired { .. } => f.write_str("voucher has expired"),
            VoucherError::NotOwner => f.write_str("voucher belongs to another customer"),
            VoucherError::InvalidAmount { max } => {
                f.write_str("amount must be a whole number of minor units from 1 to ")?;
                fmt::Display::fmt(max, f)
            }
            VoucherError::InvalidCurrency(None) => {
                f.write_str("currency must be an ISO 4217 code: 3 uppercase letters")
            }
            VoucherError::InvalidCurrency(Some(code)) => {
                f.write_str("currency ")?;
                f.write_str(code)?;
                f.write_str(" is not accepted")
            }
            VoucherError::InvalidPhone(why) | VoucherError::InvalidCode(why) | VoucherError::InvalidExpiry(why) => {
                f.write_str(why)
            }
            VoucherError::InvalidStatus(name) => {
                f.write_str("unknown voucher status ")?;
                fmt::Debug::fmt(name, f)
            }
        }
    }
}

/// A voucher's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Issued, not yet used: the only state that accepts a transition.
    Issued,
    /// Redeemed (terminal).
    Redeemed,
    /// Voided (terminal).
    Voided,
}

impl Status {
    /// `"issued"`, `"redeemed"` or `"voided"` (as stored in the database).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Issued => "issued",
            Status::Redeemed => "redeemed",
            Status::Voided => "voided",
        }
    }

    /// The inverse of [`Status::as_str`] (exact, lowercase); `None` for anything else.
    pub fn parse(s: &str) -> Option<Status> {
        match s {
            "issued" => Some(Status::Issued),
            "redeemed" => Some(Status::Redeemed),
            "voided" => Some(Status::Voided),
            _ => None,
        }
    }
}

/// What a request wants to do to a voucher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// The holder uses the voucher.
    Redeem,
    /// An operator cancels the voucher.
    Void,
}

impl Action {
    /// `"redeem"` or `"void"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Redeem => "redeem",
            Action::Void => "void",
        }
    }

    /// The inverse of [`Action::as_str`]; `None` for anything else.
    pub fn parse(s: &str) -> Option<Action> {
        match s {
            "redeem" => Some(Action::Redeem),
            "void" => Some(Action::Void),
            _ => None,
        }
    }
}

/// The state after `action`: issued → redeemed, issued → voided; anything from a terminal state
/// is `VOUCHER_NOT_ISSUED`.
pub fn transition(from: Status, action: Action) -> Result<Status, VoucherError> {
    match (from, action) {
        (Status::Issued, Action::Redeem) => Ok(Status::Redeemed),
        (Status::Issued, Action::Void) => Ok(Status::Voided),
        (from, _) => Err(VoucherError::NotIssued(from)),
    }
}

/// Issuing rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoucherPolicy {
    /// Largest amount, in minor units (inclusive).
    pub max_amount_minor: u64,
    /// Accepted currencies (ISO 4217 codes); empty accepts any well-formed code.
    pub currencies: Vec<String>,
    /// Expiry given to a voucher issued without one, in days; `None`: such vouchers never expire.
    pub default_ttl_days: Option<u32>,
}

impl Default for VoucherPolicy {
    /// Up to 1,000,000 minor units, any currency, 30 days.
    fn default() -> Self {
        VoucherPolicy {
            max_amount_minor: 1_000_000,
            currencies: Vec::new(),
            default_ttl_days: Some(30),
        }
    }
}

/// A request to issue a voucher, as it arrives (amount as a JS number).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IssueRequest<'a> {
    /// Amount in minor units (e.g. cents; RWF has none, so RWF 10,000 is `10000`).
    pub amount: f64,
    /// ISO 4217 currency code.
    pub currency: &'a str,
    /// The holder's phone number, any accepted E.164 spelling.
    pub holder_phone: &'a str,
    /// RFC 3339 expiry; `None` applies the policy's default.
    pub expires_at: Option<&'a str>,
}

/// A validated issue request, normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueChecked {
    /// Amount in minor units.
    pub amount_minor: u64,
    /// The currency code.
    pub currency: String,
    /// The holder's phone, E.164 (`+250788000000`).
    pub holder_phone: String,
    /// Expiry in epoch milliseconds; `None`: never expires.
    pub expires_at_ms: Option<i64>,
}

/// What the redeem and void checks need to know about a stored voucher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VoucherView<'a> {
    /// The current state.
    pub status: Status,
    /// The holder's phone (E.164 as stored; normalised again before comparing).
    pub holder_phone: &'a str,
    /// Expiry in epoch milliseconds; `None`: never expires.
    pub expires_at_ms: Option<i64>,
}

/// `Number.MAX_SAFE_INTEGER`: above it a JS number no longer names one integer.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

const MS_PER_DAY: i64 = 86_400_000;

/// A JS number as an amount in minor units: a whole number in `1 ..= max` (and at most
/// `Number.MAX_SAFE_INTEGER`); fractions, NaN, infinities, zero and negatives are refused.
pub fn parse_amount(amount: f64, max: u64) -> Result<u64, VoucherError> {
    let bad = VoucherError::InvalidAmount { max };
    if !(1.0..=MAX_SAFE_INTEGER).contains(&amount) {
        return Err(bad);
    }
    let whole = amount as u64; // exact for the range above
    if whole as f64 != amount || whole > max {
        return Err(bad);
    }
    Ok(whole)
}

/// Checks a currency code: 3 ASCII uppercase letters, and in `allowed` unless it is empty.
pub fn validate_currency(currency: &str, allowed: &[String]) -> Result<(), VoucherError> {
    let b = currency.as_bytes();
    if b.len() != 3 || !b.iter().all(u8::is_ascii_uppercase) {
        return Err(VoucherError::InvalidCurrency(None));
    }
    if !allowed.is_empty() && !allowed.iter().any(|c| c == currency) {
        return Err(VoucherError::InvalidCurrency(Some(currency.to_owned())));
    }
    Ok(())
}

/// Validates and normalises an issue request at `now_ms`.
///
/// Checks, in order: amount, currency, phone, expiry (given: RFC 3339 and after `now_ms`; absent:
/// `now_ms + default_ttl_days`, or no expiry).
pub fn validate_issue(
    policy: &VoucherPolicy,
    req: &IssueRequest<'_>,
    now_ms: i64,
) -> Result<IssueChecked, VoucherError> {
    let amount_minor = parse_amount(req.amount, policy.max_amount_minor)?;
    validate_currency(req.currency, &policy.currencies)?;
    let holder_phone = normalize_phone(req.holder_phone)?;
    let expires_at_ms = match req.expires_at {
        Some(text) => {
            let at = parse_rfc3339(text).ok_or(VoucherError::InvalidExpiry("expiry must be an RFC 3339 timestamp"))?;
            if at <= now_ms {
                return Err(VoucherError::InvalidExpiry("expiry must be in the future"));
            }
            Some(at)
        }
        None => policy
            .default_ttl_days
            .map(|days| now_ms.saturating_add(MS_PER_DAY.saturating_mul(i64::from(days)))),
    };
    Ok(IssueChecked {
        amount_minor,
        currency: req.currency.to_owned(),
        holder_phone,
        expires_at_ms,
    })
}

/// May `caller_phone` redeem `voucher` at `now_ms`?
///
/// Checks, in order: the caller's phone is E.164 (`INVALID_PHONE`), it is the holder's
/// (`NOT_OWNER`; checked first so a stranger learns nothing about someone else's voucher), the
/// voucher is issued (`VOUCHER_NOT_ISSUED`), it has not expired (`VOUCHER_EXPIRED`: expired when
/// `now_ms >= expires_at_ms`).
pub fn check_redeem(voucher: &VoucherView<'_>, caller_phone: &str, now_ms: i64) -> Result<(), VoucherError> {
    let caller = normalize_phone(caller_phone)?;
    if normalize_phone(voucher.holder_phone).ok().as_deref() != Some(caller.as_str()) {
        return Err(VoucherError::NotOwner);
    }
    transition(voucher.status, Action::Redeem)?;
    match voucher.expires_at_ms {
        Some(at) if now_ms >= at => Err(VoucherError::Expired { expired_at_ms: at }),
        _ => Ok(()),
    }
}

/// May `voucher` be voided? Only an issued one (expired or not); `VOUCHER_NOT_ISSUED` otherwise.
pub fn check_void(voucher: &VoucherView<'_>) -> Result<(), VoucherError> {
    transition(voucher.status, Action::Void).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip() {
        for s in [Status::Issued, Status::Redeemed, Status::Voided] {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        assert_eq!(Status::parse("Issued"), None);
        assert_eq!(Action::parse("void"), Some(Action::Void));
    }

    #[test]
    fn messages_and_codes() {
        let e = transition(Status::Redeemed, Action::Void).unwrap_err();
        assert_eq!(e.code(), "VOUCHER_NOT_ISSUED");
        assert_eq!(
            e.to_string(),
            "voucher is redeemed; only an issued voucher can be redeemed or voided"
        );
        let e = parse_amount(0.5, 100).unwrap_err();
        assert_eq!(
            e.to_string(),
            "amount must be a whole number of minor units from 1 to 100"
        );
        let e = validate_currency("EUR", &["RWF".to_owned()]).unwrap_err();
        assert_eq!(e.to_string(), "currency EUR is not accepted");
    }

    #[test]
    fn amounts() {
        assert_eq!(parse_amount(10_000.0, u64::MAX), Ok(10_000));
        assert_eq!(parse_amount(MAX_SAFE_INTEGER, u64::MAX), Ok(9_007_199_254_740_991));
        for bad in [0.0, -0.0, -1.0, 1.5, f64::NAN, f64::INFINITY, 9_007_199_254_740_992.0] {
            assert!(parse_amount(bad, u64::MAX).is_err(), "{bad}");
        }
        assert!(parse_amount(101.0, 100).is_err());
    }

    #[test]
    fn default_expiry() {
        let p = VoucherPolicy::default();
        let req = IssueRequest {
            amount: 10_000.0,
            currency: "RWF",
            holder_phone: "+250 788 000 000",
            expires_at: None,
        };
        let ok = validate_issue(&p, &req, 0).unwrap();
        assert_eq!(ok.expires_at_ms, Some(30 * MS_PER_DAY));
        assert_eq!(ok.holder_phone, "+250788000000");
        let never = VoucherPolicy {
            default_ttl_days: None,
            ..p
        };
        assert_eq!(validate_issue(&never, &req, 0).unwrap().expires_at_ms, None);
    }
}
