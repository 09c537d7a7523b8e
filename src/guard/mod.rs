//! Guards around the AI features: per-customer rate limiting and the safety loop (circuit
//! breaker, rollout health decisions, shadow comparison).
//!
//! Everything is a plain state machine or pure function with the clock passed in (`now_ms`), so
//! decisions are deterministic in tests and identical natively and in Wasm.

pub mod breaker;
pub mod rate_limit;
pub mod rollout;
pub mod shadow;

pub use breaker::{BreakerConfig, BreakerState, CircuitBreaker, Permission};
pub use rate_limit::{Decision, RateLimiter};
pub use rollout::{decide_rollout, Action, PipelineMetrics, Reason, RolloutDecision, RolloutThresholds};
pub use shadow::{cutover_check, similarity, CutoverResult};
