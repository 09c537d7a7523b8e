//! The cutover check: whether the shadow comparisons of a flag allow its ramp to 100 %.
//!
//! [`cutover_check`] is the plans' check on three numbers: output similarity ≥ 0.95, latency
//! ratio (new p95 / old p95) ≤ 1.1 and error rate < 1 %; NaN fails its condition.
//! [`cutover_gate`] applies it to a flag's [`ShadowSummary`] with the flag's thresholds
//! (`cutoverMinSimilarity`, `cutoverMaxLatencyRatio`, `cutoverMaxErrorRate`, and at least
//! `cutoverMinSamples` comparisons), and decides whether the check is required at all: always when
//! `requireCutover` is `true`, never when it is `false`, otherwise when the flag has any shadow
//! comparison in the window.
//!
//! Reasons: `SAMPLES` (too few comparisons; alone when there are none), `SIMILARITY`, `LATENCY`,
//! `ERROR_RATE`, each with the measured value and the threshold.

use super::rollout::{num, percent, Reason, RolloutThresholds};

/// The shadow comparisons of one flag over a window.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ShadowSummary {
    /// How many comparisons.
    pub samples: f64,
    /// Mean output similarity, 0..=1.
    pub similarity: f64,
    /// New p95 latency over old p95 latency.
    pub latency_ratio: f64,
    /// Share of comparisons where the new pipeline failed.
    pub error_rate: f64,
}

/// The check's answer: `ok` when no reason is listed; `required` says whether the gate applies.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CutoverResult {
    pub ok: bool,
    pub required: bool,
    /// One per failed condition, in the order `SAMPLES`, `SIMILARITY`, `LATENCY`, `ERROR_RATE`.
    pub reasons: Vec<Reason>,
}

fn failed(code: &'static str, message: String, value: f64, threshold: f64) -> Reason {
    Reason {
        value: Some(value.clamp(-1e15, 1e15)).filter(|v| !v.is_nan()),
        threshold: Some(threshold),
        ..Reason::plain(code, message)
    }
}

/// The three conditions with the given thresholds.
fn conditions(similarity: f64, latency_ratio: f64, error_rate: f64, t: &RolloutThresholds) -> Vec<Reason> {
    let mut reasons = Vec::new();
    if similarity.is_nan() || similarity < t.cutover_min_similarity {
        reasons.push(failed(
            "SIMILARITY",
            format!(
                "output similarity {} is below {}",
                percent(similarity),
                percent(t.cutover_min_similarity)
            ),
            similarity,
            t.cutover_min_similarity,
        ));
    }
    if latency_ratio.is_nan() || latency_ratio > t.cutover_max_latency_ratio {
        reasons.push(failed(
            "LATENCY",
            format!(
                "latency {}× the old pipeline's is above {}×",
                num(latency_ratio.clamp(-1e12, 1e12)),
                num(t.cutover_max_latency_ratio)
            ),
            latency_ratio,
            t.cutover_max_latency_ratio,
        ));
    }
    if error_rate.is_nan() || error_rate >= t.cutover_max_error_rate {
        reasons.push(failed(
            "ERROR_RATE",
            format!(
                "error rate {} is not below {}",
                percent(error_rate),
                percent(t.cutover_max_error_rate)
            ),
            error_rate,
            t.cutover_max_error_rate,
        ));
    }
    reasons
}

/// The plans' cutover check (default thresholds; no sample count). Always `required`.
pub fn cutover_check(similarity: f64, latency_ratio: f64, error_rate: f64) -> CutoverResult {
    let reasons = conditions(similarity, latency_ratio, error_rate, &RolloutThresholds::default());
    CutoverResult {
        ok: reasons.is_empty(),
        required: true,
        reasons,
    }
}

/// The cutover gate of a flag: see the module docs.
pub fn cutover_gate(s: &ShadowSummary, t: &RolloutThresholds) -> CutoverResult {
    let samples = if s.samples > 0.0 { s.samples.min(1e15) } else { 0.0 };
    let required = t.require_cutover.unwrap_or(samples > 0.0);
    if !required {
        return CutoverResult {
            ok: true,
            required: false,
            reasons: Vec::new(),
        };
    }
    let min = t.cutover_min_samples as f64;
    let mut reasons = Vec::new();
    if samples < min || samples == 0.0 {
        reasons.push(failed(
            "SAMPLES",
            format!(
                "{} shadow comparisons of the {} needed",
                num(samples),
                t.cutover_min_samples
            ),
            samples,
            min,
        ));
    }
    if samples > 0.0 {
        reasons.extend(conditions(s.similarity, s.latency_ratio, s.error_rate, t));
    }
    CutoverResult {
        ok: reasons.is_empty(),
        required: true,
        reasons,
    }
}
