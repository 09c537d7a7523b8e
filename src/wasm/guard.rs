//! JS bindings of the safety loop in [`crate::guard`]: the circuit breaker, the rollout health
//! decision and the shadow comparison. Settings, metrics, thresholds and results cross as objects
//! (serde); a missing or `null` setting takes its default.

use super::convert::{from_js, to_js, value_from_js};
use super::web;
use crate::guard::{self, BreakerConfig, PipelineMetrics, RolloutThresholds};
use serde::Deserialize;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS_GUARD: &str = r#"
export interface BreakerConfig {
  /** Rolling window (ms), default 60000. */
  windowMs?: number;
  /** Fewest calls in the window before the breaker may open, default 10. */
  minCalls?: number;
  /** Error share (0..1) that opens it, default 0.5. */
  errorThreshold?: number;
  /** Time open before one trial call is let through (half-open), default 30000. */
  resetTimeoutMs?: number;
}

export type BreakerState = "closed" | "open" | "half_open";

/** The answer of CircuitBreaker.allow: `trial` when it is the half-open state's one trial call. */
export interface BreakerPermission {
  allowed: boolean;
  trial: boolean;
  state: BreakerState;
}

/** One pipeline's metrics over the window. */
export interface PipelineMetrics {
  calls: number;
  errors: number;
  /** p95 latency, ms (0 when no calls). */
  p95Ms: number;
  fallbacks?: number;
  piiLeaks?: number;
}

export interface RolloutThresholds {
  /** Roll back above this error rate of the new pipeline, default 0.10. */
  maxErrorRate?: number;
  /** ... or above the old one's plus this margin, default 0.05. */
  errorMargin?: number;
  /** Roll back when new p95 > old p95 × this, default 1.2. */
  maxLatencyRatio?: number;
  /** Advance only at success rate ≥ this, default 0.95. */
  minSuccessRate?: number;
  /** Advance only with at least this many new-pipeline calls, default 100. */
  minSample?: number;
  /** Advance only after this long at the stage (ms), default 3600000. */
  dwellMs?: number;
  /** Error and latency rollbacks need at least this many calls (each pipeline), default 20; a
   *  PII leak rolls back at any volume. */
  minRollbackSample?: number;
}

export interface RolloutReason {
  code: string;
  message: string;
}

/** advance | hold | rollback, with every reason. */
export interface RolloutDecision {
  action: "advance" | "hold" | "rollback";
  reasons: RolloutReason[];
}

/** The cutover check: ok when no reason is listed. */
export interface CutoverResult {
  ok: boolean;
  reasons: RolloutReason[];
}
"#;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct BreakerConfigIn {
    window_ms: Option<f64>,
    min_calls: Option<f64>,
    error_threshold: Option<f64>,
    reset_timeout_ms: Option<f64>,
}

/// A circuit breaker per provider.
#[wasm_bindgen(js_name = CircuitBreaker)]
pub struct CircuitBreaker(guard::CircuitBreaker);

#[wasm_bindgen(js_class = CircuitBreaker)]
impl CircuitBreaker {
    /// A breaker with `config` (`BreakerConfig`; every setting optional).
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "BreakerConfig | undefined")] config: JsValue,
    ) -> Result<CircuitBreaker, JsValue> {
        let c: BreakerConfigIn = if config.is_null() || config.is_undefined() {
            BreakerConfigIn::default()
        } else {
            from_js(config, "config")?
        };
        let d = BreakerConfig::default();
        Ok(CircuitBreaker(guard::CircuitBreaker::new(BreakerConfig {
            window_ms: c.window_ms.map_or(d.window_ms, |v| v as i64),
            min_calls: c.min_calls.map_or(d.min_calls, |v| v as u32),
            error_threshold: c.error_threshold.unwrap_or(d.error_threshold),
            reset_timeout_ms: c.reset_timeout_ms.map_or(d.reset_timeout_ms, |v| v as i64),
        })))
    }

    /// May a call go out now (`BreakerPermission`)? The clock is `now_ms`, by default
    /// `performance.timeOrigin + performance.now()`.
    #[wasm_bindgen(unchecked_return_type = "BreakerPermission")]
    pub fn allow(&mut self, now_ms: Option<f64>) -> Result<JsValue, JsValue> {
        to_js(&self.0.allow(web::clock(now_ms)))
    }

    /// Records a call's outcome; returns the state.
    #[wasm_bindgen(unchecked_return_type = "BreakerState")]
    pub fn record(&mut self, success: bool, now_ms: Option<f64>) -> Result<JsValue, JsValue> {
        to_js(&self.0.record(success, web::clock(now_ms)))
    }

    /// The state at `now_ms`.
    #[wasm_bindgen(unchecked_return_type = "BreakerState")]
    pub fn state(&self, now_ms: Option<f64>) -> Result<JsValue, JsValue> {
        to_js(&self.0.state(web::clock(now_ms)))
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct MetricsIn {
    calls: Option<f64>,
    errors: Option<f64>,
    p95_ms: Option<f64>,
    fallbacks: Option<f64>,
    pii_leaks: Option<f64>,
}

impl From<MetricsIn> for PipelineMetrics {
    /// Missing counts are 0; the domain sanitises the rest (NaN and negatives count as 0).
    fn from(m: MetricsIn) -> Self {
        PipelineMetrics {
            calls: m.calls.unwrap_or(0.0),
            errors: m.errors.unwrap_or(0.0),
            p95_ms: m.p95_ms.unwrap_or(0.0),
            fallbacks: m.fallbacks.unwrap_or(0.0),
            pii_leaks: m.pii_leaks.unwrap_or(0.0),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct ThresholdsIn {
    max_error_rate: Option<f64>,
    error_margin: Option<f64>,
    max_latency_ratio: Option<f64>,
    min_success_rate: Option<f64>,
    min_sample: Option<f64>,
    dwell_ms: Option<f64>,
    min_rollback_sample: Option<f64>,
}

impl From<ThresholdsIn> for RolloutThresholds {
    /// A missing, `null` or non-finite threshold takes its default.
    fn from(t: ThresholdsIn) -> Self {
        let d = RolloutThresholds::default();
        let finite = |v: Option<f64>| v.filter(|v| v.is_finite());
        RolloutThresholds {
            max_error_rate: finite(t.max_error_rate).unwrap_or(d.max_error_rate),
            error_margin: finite(t.error_margin).unwrap_or(d.error_margin),
            max_latency_ratio: finite(t.max_latency_ratio).unwrap_or(d.max_latency_ratio),
            min_success_rate: finite(t.min_success_rate).unwrap_or(d.min_success_rate),
            min_sample: finite(t.min_sample).map_or(d.min_sample, |v| v.max(0.0) as u64),
            dwell_ms: finite(t.dwell_ms).map_or(d.dwell_ms, |v| v as i64),
            min_rollback_sample: finite(t.min_rollback_sample).map_or(d.min_rollback_sample, |v| v.max(0.0) as u64),
        }
    }
}

fn object_or_default<T: Default + serde::de::DeserializeOwned>(v: JsValue, name: &'static str) -> Result<T, JsValue> {
    if v.is_null() || v.is_undefined() {
        Ok(T::default())
    } else {
        from_js(v, name)
    }
}

/// advance | hold | rollback for a ramping flag with every reason (`RolloutDecision`), from the
/// old and new pipelines' `PipelineMetrics` and `RolloutThresholds` (each optional).
#[wasm_bindgen(js_name = decideRollout, unchecked_return_type = "RolloutDecision")]
pub fn decide_rollout_js(
    #[wasm_bindgen(unchecked_param_type = "PipelineMetrics")] old: JsValue,
    #[wasm_bindgen(unchecked_param_type = "PipelineMetrics")] new: JsValue,
    #[wasm_bindgen(unchecked_param_type = "RolloutThresholds | undefined")] thresholds: JsValue,
    stage_entered_ms: Option<f64>,
    now_ms: Option<f64>,
) -> Result<JsValue, JsValue> {
    let old: MetricsIn = object_or_default(old, "oldMetrics")?;
    let new: MetricsIn = object_or_default(new, "newMetrics")?;
    let t: ThresholdsIn = object_or_default(thresholds, "thresholds")?;
    let d = guard::decide_rollout(
        &old.into(),
        &new.into(),
        &t.into(),
        stage_entered_ms.unwrap_or(0.0) as i64,
        now_ms.unwrap_or_else(js_sys::Date::now) as i64,
    );
    to_js(&d)
}

/// Similarity 0..1 of two outputs (text or structured tool calls).
#[wasm_bindgen(js_name = outputSimilarity)]
pub fn output_similarity_js(old: JsValue, new: JsValue) -> f64 {
    match (value_from_js(&old), value_from_js(&new)) {
        (Ok(a), Ok(b)) => guard::similarity(&a, &b),
        _ => 0.0, // functions, symbols, cycles: nothing comparable
    }
}

/// The plan's cutover check (`CutoverResult`).
#[wasm_bindgen(js_name = cutoverCheck, unchecked_return_type = "CutoverResult")]
pub fn cutover_check_js(similarity: f64, latency_ratio: f64, error_rate: f64) -> Result<JsValue, JsValue> {
    to_js(&guard::cutover_check(similarity, latency_ratio, error_rate))
}
