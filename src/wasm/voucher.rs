//! JS bindings of [`crate::voucher`], [`crate::redact`] and [`crate::guard`]'s rate limiter.
//! Requests, voucher views and results cross as objects (serde).

use super::convert::{from_js, text_of, to_js, Num, Text};
use super::error::{js_error, HostUnavailable};
use super::web;
use crate::guard;
use crate::voucher::{self, IssueRequest, Status, VoucherError, VoucherPolicy, VoucherView, CODE_RANDOM_BYTES};
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[wasm_bindgen(typescript_custom_section)]
const TS_VOUCHERS: &str = r#"
export type VoucherStatus = "issued" | "redeemed" | "voided";

export interface VoucherPolicy {
  /** Largest amount in minor units. */
  maxAmountMinor: number;
  /** Allowed ISO 4217 codes; empty or missing: any 3-letter code. */
  currencies?: string[];
  /** Expiry when a request gives none (days). */
  defaultTtlDays?: number;
}

export interface IssueRequest {
  amount: number;
  currency: string;
  holderPhone: string;
  expiresAt?: string | null;
}

export interface IssueChecked {
  amountMinor: number;
  currency: string;
  holderPhone: string;
  /** RFC 3339; absent when neither the request nor the policy sets an expiry. */
  expiresAt?: string;
}

export interface VoucherView {
  status: VoucherStatus | string;
  holderPhone: string;
  /** RFC 3339 string, epoch ms or Date; null or absent: never expires. */
  expiresAt?: string | number | Date | null;
}

/** What scanPii found: the masked text and how many of each kind it masked. */
export interface PiiScan {
  text: string;
  phones: number;
  emails: number;
  vouchers: number;
  total: number;
}

/** The answer of a RateLimiter. */
export interface RateDecision {
  allowed: boolean;
  remaining: number;
  retryAfterMs: number;
}
"#;

fn err(e: VoucherError) -> JsValue {
    js_error(&e)
}

fn wall_clock(now_ms: Option<f64>) -> i64 {
    now_ms.unwrap_or_else(js_sys::Date::now) as i64
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct PolicyIn {
    max_amount_minor: Num,
    currencies: Vec<Text>,
    default_ttl_days: Option<Num>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct IssueIn {
    amount: Num,
    currency: Text,
    holder_phone: Text,
    expires_at: Option<Text>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct IssueOut {
    amount_minor: u64,
    currency: String,
    holder_phone: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct ViewIn {
    status: Text,
    holder_phone: Text,
    #[serde(with = "serde_wasm_bindgen::preserve")]
    expires_at: JsValue,
}

impl ViewIn {
    fn status(&self) -> Result<Status, JsValue> {
        Status::parse(&self.status.0).ok_or_else(|| err(VoucherError::InvalidStatus(self.status.0.clone())))
    }

    /// The expiry in epoch ms: a number, a `Date` or a date string (as `Date.parse` reads it);
    /// `null` or absent: never expires.
    fn expires_at_ms(&self) -> Result<Option<i64>, JsValue> {
        let v = &self.expires_at;
        if v.is_null() || v.is_undefined() {
            return Ok(None);
        }
        let ms = if let Some(d) = v.dyn_ref::<js_sys::Date>() {
            d.get_time()
        } else if let Some(n) = v.as_f64() {
            n
        } else if let Some(s) = v.as_string() {
            js_sys::Date::parse(&s)
        } else {
            f64::NAN
        };
        if ms.is_finite() {
            Ok(Some(ms as i64))
        } else {
            Err(err(VoucherError::InvalidExpiry("expiresAt is not a date")))
        }
    }
}

/// Validates an issue request against the policy (`IssueChecked`).
#[wasm_bindgen(js_name = validateIssue, unchecked_return_type = "IssueChecked")]
pub fn validate_issue_js(
    #[wasm_bindgen(unchecked_param_type = "VoucherPolicy")] policy: JsValue,
    #[wasm_bindgen(unchecked_param_type = "IssueRequest")] request: JsValue,
    now_ms: Option<f64>,
) -> Result<JsValue, JsValue> {
    let p: PolicyIn = from_js(policy, "policy")?;
    let r: IssueIn = from_js(request, "request")?;
    let max = p.max_amount_minor.0;
    let policy = VoucherPolicy {
        max_amount_minor: if max.is_finite() && max > 0.0 { max as u64 } else { 0 },
        currencies: p.currencies.into_iter().map(|t| t.0).collect(),
        default_ttl_days: p
            .default_ttl_days
            .map(|d| d.0)
            .filter(|d| d.is_finite() && *d >= 0.0)
            .map(|d| d as u32),
    };
    let req = IssueRequest {
        amount: r.amount.0,
        currency: &r.currency.0,
        holder_phone: &r.holder_phone.0,
        expires_at: r.expires_at.as_ref().map(|t| t.0.as_str()),
    };
    let ok = voucher::validate_issue(&policy, &req, wall_clock(now_ms)).map_err(err)?;
    to_js(&IssueOut {
        amount_minor: ok.amount_minor,
        currency: ok.currency,
        holder_phone: ok.holder_phone,
        expires_at: ok
            .expires_at_ms
            .map(|ms| String::from(js_sys::Date::new(&JsValue::from_f64(ms as f64)).to_iso_string())),
    })
}

/// Throws `VOUCHER_NOT_ISSUED`, `VOUCHER_EXPIRED`, `NOT_OWNER`, `INVALID_PHONE`, or
/// `INVALID_STATUS` / `INVALID_EXPIRY` for a view it cannot read.
#[wasm_bindgen(js_name = checkRedeem)]
pub fn check_redeem_js(
    #[wasm_bindgen(unchecked_param_type = "VoucherView")] voucher: JsValue,
    caller: &str,
    now_ms: Option<f64>,
) -> Result<(), JsValue> {
    let v: ViewIn = from_js(voucher, "voucher")?;
    let view = VoucherView {
        status: v.status()?,
        holder_phone: &v.holder_phone.0,
        expires_at_ms: v.expires_at_ms()?,
    };
    voucher::check_redeem(&view, caller, wall_clock(now_ms)).map_err(err)
}

/// Throws `VOUCHER_NOT_ISSUED` (or `INVALID_STATUS`).
#[wasm_bindgen(js_name = checkVoid)]
pub fn check_void_js(#[wasm_bindgen(unchecked_param_type = "VoucherView")] voucher: JsValue) -> Result<(), JsValue> {
    let v: ViewIn = from_js(voucher, "voucher")?;
    let view = VoucherView {
        status: v.status()?,
        holder_phone: "",
        expires_at_ms: None,
    };
    voucher::check_void(&view).map_err(err)
}

/// The canonical form of a voucher code; throws `INVALID_CODE`.
#[wasm_bindgen(js_name = validateVoucherCode)]
pub fn validate_code_js(input: &str) -> Result<String, JsValue> {
    voucher::validate_code(input).map_err(err)
}

/// A new voucher code from 40 bits of `crypto.getRandomValues`; throws `HOST_UNAVAILABLE`
/// where there is no Web Crypto.
#[wasm_bindgen(js_name = generateVoucherCode)]
pub fn generate_code_js() -> Result<String, JsValue> {
    let mut random = [0u8; CODE_RANDOM_BYTES];
    web::random_bytes(&mut random).ok_or_else(|| js_error(&HostUnavailable("crypto.getRandomValues")))?;
    Ok(voucher::generate_code(&random))
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

/// Masks like `redact` and counts what it masked, by kind (`PiiScan`).
#[wasm_bindgen(js_name = scanPii, unchecked_return_type = "PiiScan")]
pub fn scan_pii_js(text: &str) -> Result<JsValue, JsValue> {
    #[derive(Serialize)]
    struct Out {
        text: String,
        phones: u32,
        emails: u32,
        vouchers: u32,
        total: u32,
    }
    let s = crate::redact::scan(text);
    to_js(&Out {
        total: s.total(),
        phones: s.phones,
        emails: s.emails,
        vouchers: s.vouchers,
        text: s.text,
    })
}

/// A token bucket per key, bounded in memory.
#[wasm_bindgen(js_name = RateLimiter)]
pub struct RateLimiter(guard::RateLimiter);

#[wasm_bindgen(js_class = RateLimiter)]
impl RateLimiter {
    /// `capacity` tokens per key (default 10), refilled at `refill_per_minute` (default 10), at
    /// most `max_keys` keys (default 10,000).
    #[wasm_bindgen(constructor)]
    pub fn new(capacity: Option<u32>, refill_per_minute: Option<u32>, max_keys: Option<u32>) -> RateLimiter {
        RateLimiter(guard::RateLimiter::new(
            capacity.unwrap_or(guard::rate_limit::DEFAULT_CAPACITY),
            refill_per_minute.unwrap_or(guard::rate_limit::DEFAULT_REFILL_PER_MINUTE),
            max_keys.map_or(guard::rate_limit::DEFAULT_MAX_KEYS, |n| n as usize),
        ))
    }

    /// Takes a token for `key` (read as `String(key)`; `RateDecision`; clock: `now_ms`, default
    /// the isolate's).
    #[wasm_bindgen(unchecked_return_type = "RateDecision")]
    pub fn check(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "string")] key: JsValue,
        now_ms: Option<f64>,
    ) -> Result<JsValue, JsValue> {
        to_js(&self.0.check(&text_of(key), web::clock(now_ms)))
    }
}
