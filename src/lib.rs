//! trimtab: the deterministic core that makes shipping AI features safe.
//!
//! One crate, compiled natively for tests and to WebAssembly that Supabase edge functions (Deno)
//! and the browser both load, so a user lands in the same rollout bucket everywhere. The domain
//! modules are plain Rust; only `wasm` knows about JavaScript.
//!
//! Two builds from this crate: the default `edge` feature compiles every domain (the edge
//! functions' module); `--no-default-features` compiles the flag core alone (bucketing, flags,
//! conditions: the browser's module). Features are additive.
//!
//! - [`bucket`]: the one SHA-256 bucketing function (spec v1 in `design.md`), on `sha2`.
//! - [`flags`]: snapshot validation, evaluation with reasons, ramps and schedules.
//! - [`conditions`]: GrowthBook-style targeting conditions.
//! - [`webhook`]: webhook signatures (WhatsApp, Standard Webhooks), event ids, the dedup window.
//! - [`voucher`]: voucher states, transitions and validation, voucher codes, E.164 phones.
//! - [`guard`]: rate limiting, the circuit breaker, the guard's thresholds, rollout health decisions,
//!   shadow comparison and the cutover check.
//! - [`prompt`]: provider request bodies (OpenAI, Anthropic), token budgets, prompt cache keys.
//! - [`redact`]: PII masking for logs and detection in model outputs.
//! - [`value`], [`context`], [`time`]: the small data model underneath.

pub mod bucket;
pub mod conditions;
pub mod context;
pub mod error;
pub mod flags;
#[cfg(feature = "edge")]
pub mod guard;
pub mod host;
pub mod keymap;
#[cfg(feature = "edge")]
pub mod prompt;
#[cfg(feature = "edge")]
pub mod redact;
pub mod time;
pub mod value;
#[cfg(feature = "edge")]
pub mod voucher;
#[cfg(feature = "edge")]
pub mod webhook;

#[cfg(target_arch = "wasm32")]
pub mod wasm;

pub use error::ErrorCode;
