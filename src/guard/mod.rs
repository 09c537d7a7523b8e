//! Guards around the AI features: per-customer rate limiting now; the safety loop (circuit
//! breaker, rollout health decisions, shadow comparison) joins here later.
//!
//! Everything is a plain state machine with the clock passed in (`now_ms`), so decisions are
//! deterministic in tests and identical natively and in Wasm.

pub mod rate_limit;

pub use rate_limit::{Decision, RateLimiter};
