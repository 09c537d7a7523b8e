//! The rollout health decision: from the old and new pipelines' metrics over a window, plus
//! thresholds, to advance one stage, hold, or roll back, with every reason.
//!
//! **Rollback** when any of these holds (all that hold are listed):
//! - `PII_LEAK`: the new pipeline reported a PII leak (at any volume);
//! - `ERROR_RATE`: the new error rate is above `max_error_rate`;
//! - `ERROR_RATE_VS_OLD`: the new error rate is above the old one's plus `error_margin`;
//! - `LATENCY`: the new p95 is above the old p95 × `max_latency_ratio`.
//!
//! The last three need volume: the new pipeline must have at least `min_rollback_sample` calls
//! (and, for the comparisons with the old pipeline, the old one too; for `LATENCY` the old p95
//! must be above 0), so one early failure does not roll a stage back.
//!
//! Otherwise **advance** only when the stage's dwell time has passed (`DWELL`), the new pipeline
//! has at least `min_sample` calls (`SAMPLE`) and its success rate is at least
//! `min_success_rate` (`SUCCESS_RATE`); the reason is then `HEALTHY`. Else **hold**, listing each
//! unmet condition.
//!
//! Inputs are sanitised, never trusted: NaN or negative counts and latencies count as 0, errors
//! above calls as calls, huge values are capped at 10^15, and a NaN threshold takes its default.
//! Messages state the numbers; rates are percentages with one decimal.

use crate::value::format_number;

/// Default: roll back above a 10 % error rate.
pub const DEFAULT_MAX_ERROR_RATE: f64 = 0.10;
/// Default: ... or above the old pipeline's error rate plus 5 points.
pub const DEFAULT_ERROR_MARGIN: f64 = 0.05;
/// Default: roll back when the new p95 exceeds 1.2 × the old one.
pub const DEFAULT_MAX_LATENCY_RATIO: f64 = 1.2;
/// Default: advance only at a success rate of at least 95 %.
pub const DEFAULT_MIN_SUCCESS_RATE: f64 = 0.95;
/// Default: advance only with at least 100 new-pipeline calls.
pub const DEFAULT_MIN_SAMPLE: u64 = 100;
/// Default: advance only after an hour at the stage.
pub const DEFAULT_DWELL_MS: i64 = 3_600_000;
/// Default: error-rate and latency rollbacks need at least 20 new-pipeline calls.
pub const DEFAULT_MIN_ROLLBACK_SAMPLE: u64 = 20;

const CAP: f64 = 1e15;

/// One pipeline's metrics over the window (numbers as JS gives them).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PipelineMetrics {
    pub calls: f64,
    pub errors: f64,
    /// p95 latency, ms (0 when no calls).
    pub p95_ms: f64,
    pub fallbacks: f64,
    pub pii_leaks: f64,
}

/// Thresholds of the decision; [`Default`] gives the plan's values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RolloutThresholds {
    pub max_error_rate: f64,
    pub error_margin: f64,
    pub max_latency_ratio: f64,
    pub min_success_rate: f64,
    pub min_sample: u64,
    pub dwell_ms: i64,
    pub min_rollback_sample: u64,
}

impl Default for RolloutThresholds {
    fn default() -> Self {
        RolloutThresholds {
            max_error_rate: DEFAULT_MAX_ERROR_RATE,
            error_margin: DEFAULT_ERROR_MARGIN,
            max_latency_ratio: DEFAULT_MAX_LATENCY_RATIO,
            min_success_rate: DEFAULT_MIN_SUCCESS_RATE,
            min_sample: DEFAULT_MIN_SAMPLE,
            dwell_ms: DEFAULT_DWELL_MS,
            min_rollback_sample: DEFAULT_MIN_ROLLBACK_SAMPLE,
        }
    }
}

/// What to do with the rollout (serialised as its JS name, [`Action::as_str`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Advance,
    Hold,
    Rollback,
}

impl Action {
    /// The JS name: `advance`, `hold`, `rollback`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Advance => "advance",
            Action::Hold => "hold",
            Action::Rollback => "rollback",
        }
    }
}

/// One reason: a stable code and a message with the numbers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Reason {
    pub code: &'static str,
    pub message: String,
}

/// The decision and every reason for it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RolloutDecision {
    pub action: Action,
    pub reasons: Vec<Reason>,
}

/// A sanitised count or latency: NaN and negatives are 0, capped at 10^15.
fn clean(x: f64) -> f64 {
    if x > 0.0 {
        x.min(CAP)
    } else {
        0.0
    }
}

fn or_default(x: f64, default: f64) -> f64 {
    if x.is_nan() {
        default
    } else {
        x.clamp(-CAP, CAP)
    }
}

/// Calls, errors (≤ calls) and error rate (0 without calls).
fn rates(m: &PipelineMetrics) -> (f64, f64, f64) {
    let calls = clean(m.calls);
    let errors = clean(m.errors).min(calls);
    let rate = if calls > 0.0 { errors / calls } else { 0.0 };
    (calls, errors, rate)
}

/// A rate as a percentage with one decimal (`0.125` → `12.5%`), without float formatting.
pub fn percent(rate: f64) -> String {
    if rate.is_nan() {
        return "NaN%".into();
    }
    let tenths = (rate.clamp(-CAP, CAP) * 1000.0).round() as i64;
    let sign = if tenths < 0 { "-" } else { "" };
    let t = tenths.unsigned_abs();
    format!("{sign}{}.{}%", t / 10, t % 10)
}

fn num(x: f64) -> String {
    format_number((x * 1000.0).round() / 1000.0)
}

fn reason(code: &'static str, message: String) -> Reason {
    Reason { code, message }
}

/// Decides whether the rollout advances one stage, holds or rolls back (see the module docs).
/// `stage_entered_ms` is when the current stage began; a clock before it counts as no time.
pub fn decide_rollout(
    old: &PipelineMetrics,
    new: &PipelineMetrics,
    t: &RolloutThresholds,
    stage_entered_ms: i64,
    now_ms: i64,
) -> RolloutDecision {
    let max_error_rate = or_default(t.max_error_rate, DEFAULT_MAX_ERROR_RATE);
    let error_margin = or_default(t.error_margin, DEFAULT_ERROR_MARGIN);
    let max_latency_ratio = or_default(t.max_latency_ratio, DEFAULT_MAX_LATENCY_RATIO);
    let min_success_rate = or_default(t.min_success_rate, DEFAULT_MIN_SUCCESS_RATE);
    let (old_calls, _, old_rate) = rates(old);
    let (new_calls, new_errors, new_rate) = rates(new);
    let (old_p95, new_p95) = (clean(old.p95_ms), clean(new.p95_ms));
    let min_rb = t.min_rollback_sample as f64;
    let volume = new_calls >= min_rb && new_calls > 0.0;
    let both = volume && old_calls >= min_rb && old_calls > 0.0;

    let mut rollback = Vec::new();
    let leaks = clean(new.pii_leaks);
    if leaks > 0.0 {
        rollback.push(reason(
            "PII_LEAK",
            format!("the new pipeline reported {} PII leak(s)", num(leaks)),
        ));
    }
    if volume && new_rate > max_error_rate {
        rollback.push(reason(
            "ERROR_RATE",
            format!(
                "new pipeline error rate {} ({} of {} calls) is above the {} limit",
                percent(new_rate),
                num(new_errors),
                num(new_calls),
                percent(max_error_rate)
            ),
        ));
    }
    if both && new_rate > old_rate + error_margin {
        rollback.push(reason(
            "ERROR_RATE_VS_OLD",
            format!(
                "new pipeline error rate {} is above the old pipeline's {} plus the {} margin",
                percent(new_rate),
                percent(old_rate),
                percent(error_margin)
            ),
        ));
    }
    if both && old_p95 > 0.0 && new_p95 > old_p95 * max_latency_ratio {
        rollback.push(reason(
            "LATENCY",
            format!(
                "new pipeline p95 {} ms is above {}× the old pipeline's {} ms",
                num(new_p95),
                num(max_latency_ratio),
                num(old_p95)
            ),
        ));
    }
    if !rollback.is_empty() {
        return RolloutDecision {
            action: Action::Rollback,
            reasons: rollback,
        };
    }

    let mut unmet = Vec::new();
    let at_stage = now_ms.saturating_sub(stage_entered_ms).max(0);
    if at_stage < t.dwell_ms {
        unmet.push(reason(
            "DWELL",
            format!("{} ms at this stage of the {} ms dwell time", at_stage, t.dwell_ms),
        ));
    }
    if new_calls < t.min_sample as f64 {
        unmet.push(reason(
            "SAMPLE",
            format!("{} new pipeline calls of the {} needed", num(new_calls), t.min_sample),
        ));
    }
    if new_calls <= 0.0 {
        unmet.push(reason(
            "SUCCESS_RATE",
            "no new pipeline calls yet: success rate unknown".into(),
        ));
    } else if (new_calls - new_errors) / new_calls < min_success_rate {
        unmet.push(reason(
            "SUCCESS_RATE",
            format!(
                "new pipeline success rate {} is below the {} needed",
                percent((new_calls - new_errors) / new_calls),
                percent(min_success_rate)
            ),
        ));
    }
    if !unmet.is_empty() {
        return RolloutDecision {
            action: Action::Hold,
            reasons: unmet,
        };
    }
    RolloutDecision {
        action: Action::Advance,
        reasons: vec![reason(
            "HEALTHY",
            format!(
                "{} ms at stage, {} new pipeline calls, success rate {}",
                at_stage,
                num(new_calls),
                percent((new_calls - new_errors) / new_calls)
            ),
        )],
    }
}
