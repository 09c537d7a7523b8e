//! The JS boundary: the only module that knows `wasm_bindgen`, `js_sys`, `web_sys` and `JsValue`.
//!
//! - Values cross through serde and serde-wasm-bindgen ([`convert`]): snapshots, prompt specs,
//!   webhook payloads and events, voucher requests and results, breaker, limiter and rollout
//!   results. The one exception is evaluation ([`engine`]): a packed number per flag, for speed.
//! - Errors cross once ([`error`]): every domain error becomes the wrapper's `TrimtabError` with
//!   its code, message and structured fields.
//! - The TypeScript types of every value that crosses are declared here, next to the bindings
//!   (`typescript_custom_section`), and land in the generated `pkg/*.d.ts`.
//!
//! The flag core's bindings are always compiled; the edge domains' (webhooks, vouchers, prompts,
//! the safety loop, redaction) only with the `edge` feature.

use crate::bucket;
use crate::conditions;
use crate::flags::{self, Reason};
use serde::Serialize;
use wasm_bindgen::prelude::*;

pub mod convert;
pub mod engine;
pub mod error;
#[cfg(feature = "edge")]
pub mod guard;
#[cfg(feature = "edge")]
pub mod prompt;
#[cfg(feature = "edge")]
pub mod voucher;
#[cfg(feature = "edge")]
mod web;
#[cfg(feature = "edge")]
pub mod webhook;

pub use convert::value_from_js;
pub use engine::Engine;
pub use error::{js_error, set_error_class};

#[cfg(not(target_feature = "atomics"))]
#[global_allocator]
static TALC: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

/// Installs the JS engine's number conversions for the core (see `crate::host`).
#[wasm_bindgen(start)]
pub fn start() {
    install_host();
}

pub(crate) fn install_host() {
    crate::host::install(crate::host::Host {
        number_to_string: |n| {
            String::from(
                js_sys::Number::from(n)
                    .to_string_with_radix(10)
                    .unwrap_or_else(|_| js_sys::JsString::from("NaN")),
            )
        },
        parse_decimal: |s| js_sys::parse_float(s),
    });
}

/// Salt and unit as strings: a salt that is not a string is `INVALID_SALT`, a unit that is not
/// one is `MISSING_UNIT` (numbers are not units). Taken as `JsValue`, not `&str`: wasm-bindgen
/// does not check the type of a string argument, and anything else must not reach its encoder.
fn salt_and_unit(salt: &JsValue, unit: &JsValue) -> Result<(String, String), JsValue> {
    let salt = salt
        .as_string()
        .ok_or_else(|| js_error(&bucket::BucketError::InvalidSalt("not a string".into())))?;
    let unit = unit
        .as_string()
        .ok_or_else(|| js_error(&bucket::BucketError::MissingUnit))?;
    Ok((salt, unit))
}

/// The rollout bucket (0..=999999) of `unit` under `salt`. Throws `INVALID_SALT` or
/// `MISSING_UNIT`.
#[wasm_bindgen(js_name = bucket)]
pub fn bucket_js(
    #[wasm_bindgen(unchecked_param_type = "string")] salt: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] unit: JsValue,
) -> Result<u32, JsValue> {
    let (salt, unit) = salt_and_unit(&salt, &unit)?;
    bucket::bucket(&salt, &unit).map_err(|e| js_error(&e))
}

/// The variant position (0..=999999) of `unit` under `salt`, independent of its bucket.
#[wasm_bindgen(js_name = variantPosition)]
pub fn variant_position_js(
    #[wasm_bindgen(unchecked_param_type = "string")] salt: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] unit: JsValue,
) -> Result<u32, JsValue> {
    let (salt, unit) = salt_and_unit(&salt, &unit)?;
    bucket::variant_position(&salt, &unit).map_err(|e| js_error(&e))
}

/// Refuses a rollout change that skips a stage. Throws `RAMP_SKIPS_STAGE` (with `from`, `to`
/// and `skipped`), `INVALID_PERCENT` or `INVALID_STAGES`.
#[wasm_bindgen(js_name = checkRamp)]
pub fn check_ramp_js(current: f64, next: f64, stages: &[f64]) -> Result<(), JsValue> {
    flags::check_ramp(current, next, stages).map_err(|e| js_error(&e))
}

/// Reason names, indexed by the reason code packed into evaluation results.
#[wasm_bindgen(js_name = reasonNames)]
pub fn reason_names() -> Vec<String> {
    Reason::ALL.iter().map(|r| r.as_str().to_owned()).collect()
}

#[wasm_bindgen(typescript_custom_section)]
const TS_LIMITS: &str = r#"
/** The core's input limits (docs/design.md, sections 3 and 4), for callers that validate first. */
export interface Limits {
  /** Deepest nesting of a JS value the core converts (snapshots, contexts, payloads). */
  maxJsonDepth: number;
  /** Deepest nesting of a condition. */
  maxConditionDepth: number;
  /** Longest text, in bytes of UTF-8, a `$regex` is tested against (longer: CONDITION_ERROR). */
  maxRegexText: number;
  /** Largest compiled `$regex` program, in instructions. */
  maxRegexProgram: number;
  /** Condition cost budgets, in steps, of one flag and of a whole snapshot. */
  maxFlagCost: number;
  maxSnapshotCost: number;
  /** Most flags in a snapshot; most items in each of a flag's lists. */
  maxFlags: number;
  maxListItems: number;
}
"#;

/// The core's limits, as [`limits`] returns them.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Limits {
    max_json_depth: usize,
    max_condition_depth: usize,
    max_regex_text: usize,
    max_regex_program: usize,
    max_flag_cost: u64,
    max_snapshot_cost: u64,
    max_flags: usize,
    max_list_items: usize,
}

/// The core's input limits, so that a caller validates with the same numbers.
#[wasm_bindgen(unchecked_return_type = "Limits")]
pub fn limits() -> Result<JsValue, JsValue> {
    convert::to_js(&Limits {
        max_json_depth: crate::value::MAX_DEPTH,
        max_condition_depth: conditions::MAX_DEPTH,
        max_regex_text: conditions::MAX_TEXT,
        max_regex_program: conditions::MAX_REGEX_PROGRAM,
        max_flag_cost: flags::MAX_FLAG_COST,
        max_snapshot_cost: flags::MAX_SNAPSHOT_COST,
        max_flags: flags::MAX_FLAGS,
        max_list_items: flags::MAX_ITEMS,
    })
}
