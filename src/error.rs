//! The one trait every domain error enum implements: a stable, machine-readable code.
//!
//! Each domain (bucketing, flags, conditions, ...) has its own error enum; `src/wasm/mod.rs` turns
//! any of them into a JS `Error` whose `code` property is [`ErrorCode::code`].

/// A domain error with a stable string code (`INVALID_SNAPSHOT`, `RAMP_SKIPS_STAGE`, ...).
pub trait ErrorCode: core::fmt::Display {
    /// The stable code. Never changes meaning once published.
    fn code(&self) -> &'static str;
}
