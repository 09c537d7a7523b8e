//! JS bindings of [`crate::voucher`], [`crate::redact`] and [`crate::guard`]'s rate limiter.
//!
//! Arguments cross as primitives and results as short string lists or packed numbers, which the
//! wrapper (`js/trimtab.js`) turns into objects: building JS objects here costs module size.

use super::js_error;
use crate::guard;
use crate::voucher::{self, IssueRequest, Status, VoucherError, VoucherPolicy, VoucherView};
use wasm_bindgen::prelude::*;

fn err(e: VoucherError) -> JsValue {
    js_error(&e)
}

fn ms(v: f64) -> Option<i64> {
    v.is_finite().then_some(v as i64)
}

/// Validates an issue request: `[amountMinor, currency, holderPhone, expiresAtMs | ""]`.
#[wasm_bindgen(js_name = validateIssueFields)]
#[allow(clippy::too_many_arguments)]
pub fn validate_issue_js(
    max_amount_minor: f64,
    currencies: Vec<String>,
    default_ttl_days: Option<u32>,
    amount: f64,
    currency: &str,
    holder_phone: &str,
    expires_at: Option<String>,
    now_ms: f64,
) -> Result<Vec<String>, JsValue> {
    let policy = VoucherPolicy {
        max_amount_minor: max_amount_minor as u64,
        currencies,
        default_ttl_days,
    };
    let req = IssueRequest {
        amount,
        currency,
        holder_phone,
        expires_at: expires_at.as_deref(),
    };
    let ok = voucher::validate_issue(&policy, &req, now_ms as i64).map_err(err)?;
    let expiry = ok
        .expires_at_ms
        .map(|m| crate::value::format_number(m as f64))
        .unwrap_or_default();
    Ok(vec![
        crate::value::format_number(ok.amount_minor as f64),
        ok.currency,
        ok.holder_phone,
        expiry,
    ])
}

/// Throws `VOUCHER_NOT_ISSUED`, `VOUCHER_EXPIRED`, `NOT_OWNER` or `INVALID_PHONE`.
#[wasm_bindgen(js_name = checkRedeemFields)]
pub fn check_redeem_js(
    status: u8,
    holder_phone: &str,
    expires_at_ms: f64,
    caller: &str,
    now_ms: f64,
) -> Result<(), JsValue> {
    let view = VoucherView {
        status: status_of(status),
        holder_phone,
        expires_at_ms: ms(expires_at_ms),
    };
    voucher::check_redeem(&view, caller, now_ms as i64).map_err(err)
}

/// Throws `VOUCHER_NOT_ISSUED`.
#[wasm_bindgen(js_name = checkVoidFields)]
pub fn check_void_js(status: u8) -> Result<(), JsValue> {
    let view = VoucherView {
        status: status_of(status),
        holder_phone: "",
        expires_at_ms: None,
    };
    voucher::check_void(&view).map_err(err)
}

/// 0 issued, 1 redeemed, anything else voided (the wrapper refuses unknown names first).
fn status_of(n: u8) -> Status {
    match n {
        0 => Status::Issued,
        1 => Status::Redeemed,
        _ => Status::Voided,
    }
}

/// The canonical form of a voucher code; throws `INVALID_CODE`.
#[wasm_bindgen(js_name = validateVoucherCode)]
pub fn validate_code_js(input: &str) -> Result<String, JsValue> {
    voucher::validate_code(input).map_err(err)
}

/// A voucher code from 5 random bytes.
#[wasm_bindgen(js_name = voucherCodeFrom)]
pub fn generate_code_js(random: &[u8]) -> String {
    voucher::generate_code(random)
}

/// E.164 normalisation; throws `INVALID_PHONE`.
#[wasm_bindgen(js_name = normalizePhone)]
pub fn normalize_phone_js(input: &str) -> Result<String, JsValue> {
    voucher::normalize_phone(input).map_err(err)
}

/// Masks phone numbers, emails and voucher codes.
#[wasm_bindgen(js_name = redact)]
pub fn redact_js(text: &str) -> String {
    crate::redact::redact(text)
}

/// A token bucket per key, bounded in memory.
#[wasm_bindgen(js_name = RateLimiter)]
pub struct RateLimiter(guard::RateLimiter);

#[wasm_bindgen(js_class = RateLimiter)]
impl RateLimiter {
    /// `capacity` tokens per key, refilled at `refill_per_minute`, at most `max_keys` keys.
    #[wasm_bindgen(constructor)]
    pub fn new(capacity: u32, refill_per_minute: u32, max_keys: u32) -> RateLimiter {
        RateLimiter(guard::RateLimiter::new(capacity, refill_per_minute, max_keys as usize))
    }

    /// Takes a token for `key`: `retryAfterMs * 2^32 + remaining * 2 + allowed`.
    pub fn check(&mut self, key: &str, now_ms: f64) -> f64 {
        let d = self.0.check(key, now_ms as i64);
        d.retry_after_ms.max(0) as f64 * 4_294_967_296.0 + d.remaining as f64 * 2.0 + d.allowed as u8 as f64
    }
}
