//! JS bindings of the safety loop in [`crate::guard`]: the circuit breaker, the guard's
//! thresholds, the rollout health decision, the shadow comparison and the cutover check.
//! Settings, metrics, thresholds and results cross as objects (serde); a missing or `null`
//! setting takes its default.

use super::convert::{from_js, to_js, value_from_js, Num};
use super::error::js_error;
use super::web;
use crate::guard::{self, BreakerConfig, PipelineMetrics, RolloutThresholds, ShadowSummary, ThresholdError};
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
  /** Total cost over the window, USD. */
  costUsd?: number;
  /** Distinct conversations over the window. */
  conversations?: number;
}

/** The guard's thresholds and settings (a flag's `metadata.guard`); every one optional, a missing
 *  or `null` one takes the plans' default. */
export interface RolloutThresholds {
  /** Critical: new pipeline error rate above this, default 0.10. */
  maxErrorRate?: number;
  /** Warning: error rate above this, default 0.01. */
  errorRateWarning?: number;
  /** Warning (and needed to advance): success rate below this, default 0.95. */
  minSuccessRate?: number;
  /** Critical: success rate below this, default 0.90. */
  successRateCritical?: number;
  /** Critical: error rate above the old one's plus this, default 0.05. */
  errorMargin?: number;
  /** Warning: error rate above the old one's plus this, default 0 ("same or better than old"). */
  errorMarginWarning?: number;
  /** Critical: new p95 > old p95 × this, default 1.2. */
  maxLatencyRatio?: number;
  /** Advance only at a new p95 of at most this (ms), default 2000. */
  p95TargetMs?: number;
  /** Warning / critical: new p95 above this (ms), defaults 3000 / 5000. */
  p95WarningMs?: number;
  p95CriticalMs?: number;
  /** Warning / critical: cost per conversation above this (USD), defaults 0.10 / 0.20. */
  costPerConversationWarning?: number;
  costPerConversationCritical?: number;
  /** Warning: cost per conversation above the old one's × this, default 2. */
  costSpikeRatio?: number;
  /** Advance only with at least this many new-pipeline calls, default 100. */
  minSample?: number;
  /** Advance only after this long at the stage (ms), default 3600000. */
  dwellMs?: number;
  /** Rate, latency and cost breaches need at least this many calls (each pipeline compared),
   *  default 20; a PII leak rolls back at any volume. */
  minRollbackSample?: number;
  /** Cutover check: similarity ≥, latency ratio ≤, error rate <, comparisons ≥ (defaults 0.95,
   *  1.1, 0.01, 100). */
  cutoverMinSimilarity?: number;
  cutoverMaxLatencyRatio?: number;
  cutoverMaxErrorRate?: number;
  cutoverMinSamples?: number;
  /** A ramp to 100 % needs the cutover check: always (true), never (false), or when the flag has
   *  shadow comparisons (unset). */
  requireCutover?: boolean | null;
}

/** A breach's level: a warning holds the ramp, a critical one rolls it back. */
export type BreachLevel = "warning" | "critical";

export interface RolloutReason {
  code: string;
  message: string;
  /** Breaches only: the level, the measured value and the threshold crossed. */
  level?: BreachLevel;
  value?: number;
  threshold?: number;
}

/** One check of the decision, passed or not (`no_data`: too little volume to judge). */
export interface RolloutCheck {
  code: string;
  value: number;
  warning: number | null;
  critical: number | null;
  state: "ok" | "warning" | "critical" | "no_data";
}

/** advance | hold | rollback, with every reason, every breach and every check. */
export interface RolloutDecision {
  action: "advance" | "hold" | "rollback";
  reasons: RolloutReason[];
  breaches: RolloutReason[];
  checks: RolloutCheck[];
}

/** A flag's shadow comparisons over a window. */
export interface ShadowSummary {
  samples: number;
  /** Mean output similarity, 0..1. */
  similarity: number;
  /** New p95 latency / old p95 latency. */
  latencyRatio: number;
  /** Share of comparisons where the new pipeline failed. */
  errorRate: number;
}

/** The cutover check: ok when no reason is listed; `required` false when the gate does not apply. */
export interface CutoverResult {
  ok: boolean;
  required: boolean;
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
    cost_usd: Option<f64>,
    conversations: Option<f64>,
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
            cost_usd: m.cost_usd.unwrap_or(0.0),
            conversations: m.conversations.unwrap_or(0.0),
        }
    }
}

/// Thresholds read leniently: anything unusable takes its default (the decision never throws
/// on a bad setting; admins' writes are checked with `validateRolloutThresholds`).
fn thresholds_from_js(v: &JsValue) -> RolloutThresholds {
    value_from_js(v)
        .ok()
        .and_then(|v| RolloutThresholds::from_value(&v, false).ok())
        .unwrap_or_default()
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
    let d = guard::decide_rollout(
        &old.into(),
        &new.into(),
        &thresholds_from_js(&thresholds),
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

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct SummaryIn {
    samples: Num,
    similarity: Num,
    latency_ratio: Num,
    error_rate: Num,
}

/// The cutover gate of a flag (`CutoverResult`) from its `ShadowSummary` and thresholds (read
/// leniently). A missing or non-numeric figure is NaN, which fails its condition.
#[wasm_bindgen(js_name = cutoverGate, unchecked_return_type = "CutoverResult")]
pub fn cutover_gate_js(
    #[wasm_bindgen(unchecked_param_type = "ShadowSummary")] summary: JsValue,
    #[wasm_bindgen(unchecked_param_type = "RolloutThresholds | undefined")] thresholds: JsValue,
) -> Result<JsValue, JsValue> {
    let s: SummaryIn = object_or_default(summary, "summary")?;
    let summary = ShadowSummary {
        samples: s.samples.0,
        similarity: s.similarity.0,
        latency_ratio: s.latency_ratio.0,
        error_rate: s.error_rate.0,
    };
    to_js(&guard::cutover_gate(&summary, &thresholds_from_js(&thresholds)))
}

/// A flag's guard settings checked strictly (`metadata.guard`: unknown keys, wrong types, values
/// out of range and warning levels beyond critical ones throw `INVALID_THRESHOLD` naming the
/// setting); returns every threshold in force (`Required<RolloutThresholds>`).
#[wasm_bindgen(js_name = validateRolloutThresholds, unchecked_return_type = "Required<RolloutThresholds>")]
pub fn validate_rollout_thresholds_js(
    #[wasm_bindgen(unchecked_param_type = "unknown")] settings: JsValue,
) -> Result<JsValue, JsValue> {
    let v = value_from_js(&settings).map_err(|reason| {
        js_error(&ThresholdError {
            field: "guard".into(),
            reason,
        })
    })?;
    to_js(&RolloutThresholds::from_value(&v, true).map_err(|e| js_error(&e))?)
}
