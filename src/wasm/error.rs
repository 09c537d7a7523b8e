//! Errors cross the boundary once: every domain error becomes the wrapper's JS `TrimtabError`
//! (`js/error.js`), built here with its code, message and structured fields.
//!
//! The wrapper hands its class over once, at initialisation ([`set_error_class`]); until then
//! (e.g. under wasm-bindgen-test, which calls the bindings directly) errors are plain JS `Error`s
//! with the same `name`, `code` and fields.

use super::convert::to_js;
use crate::error::{ErrorCode, ErrorFields};
use core::cell::RefCell;
use core::fmt;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS_ERRORS: &str = r#"
/** Error codes the core throws (see docs/design.md, "Errors"). */
export type ErrorCode =
  | "INVALID_SNAPSHOT"
  | "RAMP_SKIPS_STAGE"
  | "INVALID_PERCENT"
  | "INVALID_STAGES"
  | "INVALID_SALT"
  | "MISSING_UNIT"
  | "INVALID_ARGUMENT"
  | "MISSING_SIGNATURE"
  | "MISSING_HEADER"
  | "INVALID_HEADER"
  | "INVALID_SECRET"
  | "TIMESTAMP_TOO_OLD"
  | "TIMESTAMP_TOO_NEW"
  | "MALFORMED_SIGNATURE"
  | "BAD_SIGNATURE"
  | "MALFORMED_PAYLOAD"
  | "VOUCHER_NOT_ISSUED"
  | "VOUCHER_EXPIRED"
  | "NOT_OWNER"
  | "INVALID_AMOUNT"
  | "INVALID_CURRENCY"
  | "INVALID_PHONE"
  | "INVALID_CODE"
  | "INVALID_EXPIRY"
  | "INVALID_STATUS"
  | "INVALID_PROMPT"
  | "PROMPT_TOO_LARGE"
  | "HOST_UNAVAILABLE"
  | "INVALID_THRESHOLD"
  | (string & Record<never, never>);

/** The structured fields a TrimtabError may carry, each set only where it describes the error. */
export interface TrimtabErrorFields {
  /** INVALID_SNAPSHOT: the flag (key or list position), when known. */
  flag?: string;
  /** INVALID_SNAPSHOT: the field path (`rules[0].condition`); INVALID_PROMPT: the prompt path;
   *  INVALID_THRESHOLD: the guard setting (`p95WarningMs`); otherwise the input (`salt`, `amount`,
   *  `currency`, `phone`, `code`, `expiresAt`, `status`). */
  field?: string;
  /** MALFORMED_PAYLOAD: where in the delivery (`entry[0].changes[1].value.messages[2].id`). */
  path?: string;
  /** MISSING_HEADER, INVALID_HEADER, MISSING_SIGNATURE: the header. */
  header?: string;
  /** Why, where the message adds it to a field, path or header. */
  reason?: string;
  /** RAMP_SKIPS_STAGE: the current and requested percentages and the first stage skipped. */
  from?: number;
  to?: number;
  skipped?: number;
  /** INVALID_PERCENT: the refused number. */
  value?: number;
  /** INVALID_AMOUNT: the largest amount (minor units). */
  limit?: number;
  /** TIMESTAMP_TOO_OLD / TIMESTAMP_TOO_NEW: the webhook timestamp and the clock (seconds). */
  timestamp?: number;
  now?: number;
  /** VOUCHER_NOT_ISSUED: the voucher's status; INVALID_STATUS: the unknown name. */
  status?: string;
  /** VOUCHER_EXPIRED: when it expired (epoch ms). */
  expiredAtMs?: number;
  /** INVALID_CURRENCY: a well-formed currency outside the allow-list. */
  currency?: string;
  /** Estimated tokens the kept parts need, and the budget (PROMPT_TOO_LARGE). */
  needed?: number;
  budget?: number;
}
"#;

thread_local! {
    static ERROR_CLASS: RefCell<Option<js_sys::Function>> = const { RefCell::new(None) };
}

/// Hands the wrapper's `TrimtabError` class to the module: errors are constructed as
/// `new TrimtabError(code, message, fields)` from then on. Called once by each wrapper at init.
#[wasm_bindgen(js_name = setErrorClass)]
pub fn set_error_class(class: js_sys::Function) {
    ERROR_CLASS.with(|c| *c.borrow_mut() = Some(class));
}

/// Any domain error as the JS `TrimtabError`: the one place where Rust errors become JS values.
pub fn js_error<E: ErrorCode>(e: &E) -> JsValue {
    build(e.code(), &e.to_string(), &e.fields())
}

fn build(code: &str, message: &str, fields: &ErrorFields) -> JsValue {
    // Serialising a struct of strings and numbers into a plain object cannot fail.
    let fields = to_js(fields).unwrap_or(JsValue::UNDEFINED);
    let class = ERROR_CLASS.with(|c| c.borrow().clone());
    if let Some(class) = class {
        let args = js_sys::Array::of3(&JsValue::from_str(code), &JsValue::from_str(message), &fields);
        if let Ok(err) = js_sys::Reflect::construct(&class, &args) {
            return err;
        }
    }
    let err = js_sys::Error::new(message);
    err.set_name("TrimtabError");
    // Setting properties on a fresh Error object cannot fail.
    let _ = js_sys::Reflect::set(&err, &JsValue::from_str("code"), &JsValue::from_str(code));
    if fields.is_object() {
        js_sys::Object::assign(&err, fields.unchecked_ref());
    }
    err.into()
}

/// `INVALID_ARGUMENT`: an argument the boundary cannot read into its Rust type (e.g. a string
/// where a breaker setting must be a number). Names the argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidArgument {
    /// The argument, e.g. `config`.
    pub name: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

impl ErrorCode for InvalidArgument {
    fn code(&self) -> &'static str {
        "INVALID_ARGUMENT"
    }

    fn fields(&self) -> ErrorFields {
        ErrorFields {
            field: Some(self.name.into()),
            reason: Some(self.reason.clone()),
            ..ErrorFields::default()
        }
    }
}

impl fmt::Display for InvalidArgument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid argument {}: {}", self.name, self.reason)
    }
}

/// `HOST_UNAVAILABLE`: the JS host lacks an API the call needs (e.g. no `crypto.getRandomValues`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostUnavailable(pub &'static str);

impl ErrorCode for HostUnavailable {
    fn code(&self) -> &'static str {
        "HOST_UNAVAILABLE"
    }
}

impl fmt::Display for HostUnavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the JavaScript host has no {}", self.0)
    }
}
