//! JS bindings of the safety loop in [`crate::guard`]: the circuit breaker, the rollout health
//! decision and the shadow comparison. Results cross as packed numbers or short string lists
//! (`[action, code, message, code, message, ...]`) that the wrapper turns into objects.

use super::value_from_js;
use crate::guard::{self, BreakerConfig, PipelineMetrics, Reason, RolloutThresholds};
use wasm_bindgen::prelude::*;

fn state_index(s: guard::BreakerState) -> u32 {
    match s {
        guard::BreakerState::Closed => 0,
        guard::BreakerState::Open => 1,
        guard::BreakerState::HalfOpen => 2,
    }
}

/// A circuit breaker per provider.
#[wasm_bindgen(js_name = CircuitBreaker)]
pub struct CircuitBreaker(guard::CircuitBreaker);

#[wasm_bindgen(js_class = CircuitBreaker)]
impl CircuitBreaker {
    /// Window, minimum calls, error share that opens it, time open before a trial.
    #[wasm_bindgen(constructor)]
    pub fn new(window_ms: f64, min_calls: u32, error_threshold: f64, reset_timeout_ms: f64) -> CircuitBreaker {
        CircuitBreaker(guard::CircuitBreaker::new(BreakerConfig {
            window_ms: window_ms as i64,
            min_calls,
            error_threshold,
            reset_timeout_ms: reset_timeout_ms as i64,
        }))
    }

    /// `allowed | trial << 1 | state << 2`.
    pub fn allow(&mut self, now_ms: f64) -> u32 {
        let p = self.0.allow(now_ms as i64);
        p.allowed as u32 | (p.trial as u32) << 1 | state_index(p.state) << 2
    }

    /// Records a call's outcome; returns the state index.
    pub fn record(&mut self, success: bool, now_ms: f64) -> u32 {
        state_index(self.0.record(success, now_ms as i64))
    }

    /// The state index at `now_ms`.
    pub fn state(&self, now_ms: f64) -> u32 {
        state_index(self.0.state(now_ms as i64))
    }
}

fn metrics(m: &[f64]) -> PipelineMetrics {
    let at = |i: usize| m.get(i).copied().unwrap_or(0.0);
    PipelineMetrics {
        calls: at(0),
        errors: at(1),
        p95_ms: at(2),
        fallbacks: at(3),
        pii_leaks: at(4),
    }
}

fn thresholds(t: &[f64]) -> RolloutThresholds {
    let d = RolloutThresholds::default();
    let at = |i: usize| t.get(i).copied().filter(|v| v.is_finite());
    RolloutThresholds {
        max_error_rate: at(0).unwrap_or(d.max_error_rate),
        error_margin: at(1).unwrap_or(d.error_margin),
        max_latency_ratio: at(2).unwrap_or(d.max_latency_ratio),
        min_success_rate: at(3).unwrap_or(d.min_success_rate),
        min_sample: at(4).map_or(d.min_sample, |v| v.max(0.0) as u64),
        dwell_ms: at(5).map_or(d.dwell_ms, |v| v as i64),
        min_rollback_sample: at(6).map_or(d.min_rollback_sample, |v| v.max(0.0) as u64),
    }
}

fn flatten(head: &str, reasons: Vec<Reason>) -> Vec<String> {
    let mut out = Vec::with_capacity(1 + reasons.len() * 2);
    out.push(String::from(head));
    for r in reasons {
        out.push(String::from(r.code));
        out.push(r.message);
    }
    out
}

/// `[action, code, message, ...]` for old/new metrics `[calls, errors, p95Ms, fallbacks,
/// piiLeaks]` and thresholds `[maxErrorRate, errorMargin, maxLatencyRatio, minSuccessRate,
/// minSample, dwellMs, minRollbackSample]` (NaN: the default).
#[wasm_bindgen(js_name = decideRolloutFields)]
pub fn decide_rollout_js(old: &[f64], new: &[f64], t: &[f64], stage_entered_ms: f64, now_ms: f64) -> Vec<String> {
    let d = guard::decide_rollout(
        &metrics(old),
        &metrics(new),
        &thresholds(t),
        stage_entered_ms as i64,
        now_ms as i64,
    );
    flatten(d.action.as_str(), d.reasons)
}

/// Similarity 0..1 of two outputs (text or structured tool calls).
#[wasm_bindgen(js_name = outputSimilarity)]
pub fn output_similarity_js(old: JsValue, new: JsValue) -> f64 {
    match (value_from_js(&old), value_from_js(&new)) {
        (Ok(a), Ok(b)) => guard::similarity(&a, &b),
        _ => 0.0, // functions, symbols, cycles: nothing comparable
    }
}

/// `["ok" | "fail", code, message, ...]`: the plan's cutover check.
#[wasm_bindgen(js_name = cutoverCheckFields)]
pub fn cutover_check_js(similarity: f64, latency_ratio: f64, error_rate: f64) -> Vec<String> {
    let r = guard::cutover_check(similarity, latency_ratio, error_rate);
    flatten(if r.ok { "ok" } else { "fail" }, r.reasons)
}
