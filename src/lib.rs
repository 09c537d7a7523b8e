//! trimtab: the deterministic core that makes shipping AI features safe.
//!
//! One crate, compiled natively for tests and to one WebAssembly module that Supabase edge
//! functions (Deno) and the browser both load, so a user lands in the same rollout bucket
//! everywhere. The domain modules are plain Rust; only [`wasm`] knows about JavaScript.
//!
//! - [`bucket`]: the one SHA-256 bucketing function (spec v1 in `design.md`).
//! - [`flags`]: snapshot validation, evaluation with reasons, ramps and schedules.
//! - [`conditions`]: GrowthBook-style targeting conditions.
//! - [`value`], [`context`], [`time`]: the small data model underneath.

pub mod bucket;
pub mod conditions;
pub mod context;
pub mod error;
pub mod flags;
pub mod host;
pub mod keymap;
pub mod time;
pub mod value;

#[cfg(target_arch = "wasm32")]
pub mod wasm;

pub use error::ErrorCode;
