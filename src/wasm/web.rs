//! Web platform APIs through `web-sys`, found on `globalThis` so they work alike in Deno, browsers
//! and workers (no `window`): `crypto.getRandomValues` and `performance`. The objects are not
//! checked with `instanceof` (a runtime may provide `crypto` without exposing its `Crypto` class);
//! a missing method is an error or a non-finite time, and handled as such.

use wasm_bindgen::{JsCast, JsValue};

fn global(name: &str) -> Option<JsValue> {
    js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str(name))
        .ok()
        .filter(|v| v.is_object())
}

/// Fills `buf` from `globalThis.crypto.getRandomValues`; `None` where there is no Web Crypto.
pub fn random_bytes(buf: &mut [u8]) -> Option<()> {
    let crypto: web_sys::Crypto = global("crypto")?.unchecked_into();
    crypto.get_random_values_with_u8_array(buf).ok().map(|_| ())
}

/// A monotonic clock in epoch milliseconds: `performance.timeOrigin + performance.now()`
/// (`Date.now()` where there is no `performance`). The default clock of the breaker, the rate
/// limiter and the dedup window; callers may pass their own instead.
pub fn now_ms() -> f64 {
    global("performance")
        .map(|p| p.unchecked_into::<web_sys::Performance>())
        .map(|p| p.time_origin() + p.now())
        .filter(|t| t.is_finite())
        .unwrap_or_else(js_sys::Date::now)
}

/// `now_ms` when given (an injected clock), else [`now_ms`].
pub fn clock(now_ms_given: Option<f64>) -> i64 {
    now_ms_given.unwrap_or_else(now_ms) as i64
}
