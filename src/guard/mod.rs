//! Guards around the AI features: per-customer rate limiting and the safety loop (circuit
//! breaker, the guard's thresholds, rollout health decisions, shadow comparison and the cutover
//! check).
//!
//! Everything is a plain state machine or pure function with the clock passed in (`now_ms`), so
//! decisions are deterministic in tests and identical natively and in Wasm.

pub mod breaker;
pub mod cutover;
pub mod rate_limit;
pub mod rollout;
pub mod shadow;
pub mod thresholds;

pub use breaker::{BreakerConfig, BreakerState, CircuitBreaker, Permission};
pub use cutover::{cutover_check, cutover_gate, CutoverResult, ShadowSummary};
pub use rate_limit::{Decision, RateLimiter};
pub use rollout::{decide_rollout, Action, Check, CheckState, Level, PipelineMetrics, Reason, RolloutDecision};
pub use shadow::similarity;
pub use thresholds::{RolloutThresholds, ThresholdError};
