//! The rollout health decision: from the old and new pipelines' metrics over a window and the
//! thresholds ([`RolloutThresholds`]), advance one stage, hold, or roll back, with every reason.
//!
//! **Checks**, in this order, each giving at most one breach (critical when its critical level is
//! crossed, else warning when its warning level is):
//!
//! | code | warning | critical | needs |
//! |---|---|---|---|
//! | `PII_LEAK` | – | any leak | nothing (any volume) |
//! | `ERROR_RATE` | rate > `errorRateWarning` | rate > `maxErrorRate` | volume |
//! | `SUCCESS_RATE` | success < `minSuccessRate` | success < `successRateCritical` | volume |
//! | `ERROR_RATE_VS_OLD` | rate > old + `errorMarginWarning` | rate > old + `errorMargin` | both volumes |
//! | `LATENCY` | – | p95 > old p95 × `maxLatencyRatio` | both volumes, old p95 > 0 |
//! | `P95_LATENCY` | p95 > `p95WarningMs` | p95 > `p95CriticalMs` | volume |
//! | `COST_PER_CONVERSATION` | cost > `costPerConversationWarning` | cost > `costPerConversationCritical` | volume, conversations |
//! | `COST_SPIKE` | cost > old cost × `costSpikeRatio` | – | both volumes, old cost > 0 |
//!
//! Volume: the new pipeline has at least `minRollbackSample` calls (both volumes: the old one
//! too), so one early failure does not roll a stage back. Rates are of calls; a call that is not
//! `ok` is an error; cost per conversation is the window's cost over its distinct conversations.
//!
//! **Rollback** when any breach is critical (the reasons: every critical breach). Otherwise
//! **hold** when there is a warning or an advance condition is unmet (the reasons: the warnings,
//! then `DWELL` (the stage's dwell time has not passed), `SAMPLE` (fewer than `minSample` new
//! calls), `SUCCESS_RATE` (no calls yet, or below `minSuccessRate` at any volume) and
//! `P95_TARGET` (p95 above `p95TargetMs`)). Otherwise **advance**, reason `HEALTHY`.
//!
//! Every breach is also listed in [`RolloutDecision::breaches`] with its level, the measured value
//! and the threshold crossed; [`RolloutDecision::checks`] holds every check's value, levels and
//! state, also when it passed or lacked the volume to be judged.
//!
//! Inputs are sanitised, never trusted: NaN or negative counts, latencies and costs count as 0,
//! errors above calls as calls, huge values are capped at 10^15, and a NaN threshold takes its
//! default. Messages state the numbers; rates are percentages with one decimal.

pub use super::thresholds::RolloutThresholds;
use crate::value::format_number;

/// Default: roll back above a 10 % error rate.
pub const DEFAULT_MAX_ERROR_RATE: f64 = 0.10;
/// Default: error-rate, latency and cost breaches need at least 20 new-pipeline calls.
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
    /// Total cost over the window, USD.
    pub cost_usd: f64,
    /// Distinct conversations over the window.
    pub conversations: f64,
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

/// How serious a breach is: a warning holds the ramp (and alerts), a critical one rolls it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Warning,
    Critical,
}

/// One reason: a stable code and a message with the numbers; for a breach also its level, the
/// measured value and the threshold crossed.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Reason {
    pub code: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<Level>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
}

impl Reason {
    /// A reason without a level (an unmet condition, `HEALTHY`).
    pub fn plain(code: &'static str, message: String) -> Reason {
        Reason {
            code,
            message,
            level: None,
            value: None,
            threshold: None,
        }
    }
}

/// A check's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckState {
    Ok,
    Warning,
    Critical,
    /// Not judged: too little volume (or no old pipeline figure to compare with).
    NoData,
}

/// One check of the table above: what was measured and against what.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Check {
    pub code: &'static str,
    /// The measured value (a rate, a difference of rates, a ratio, ms, USD, a count).
    pub value: f64,
    /// The warning level, when the check has one.
    pub warning: Option<f64>,
    /// The critical level, when the check has one.
    pub critical: Option<f64>,
    pub state: CheckState,
}

/// The decision and every reason for it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RolloutDecision {
    pub action: Action,
    /// Why this action: the critical breaches (rollback), the warnings and unmet conditions
    /// (hold), or `HEALTHY` (advance).
    pub reasons: Vec<Reason>,
    /// Every breach, warning or critical, in check order.
    pub breaches: Vec<Reason>,
    /// Every check, passed or not.
    pub checks: Vec<Check>,
}

/// A sanitised count, latency or cost: NaN and negatives are 0, capped at 10^15.
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

/// The sanitised figures of one pipeline.
struct Figures {
    calls: f64,
    errors: f64,
    rate: f64,
    p95: f64,
    conversations: f64,
    /// Cost per conversation (0 without conversations).
    cost: f64,
}

fn figures(m: &PipelineMetrics) -> Figures {
    let calls = clean(m.calls);
    let errors = clean(m.errors).min(calls);
    let conversations = clean(m.conversations);
    Figures {
        calls,
        errors,
        rate: if calls > 0.0 { errors / calls } else { 0.0 },
        p95: clean(m.p95_ms),
        conversations,
        cost: if conversations > 0.0 {
            clean(m.cost_usd) / conversations
        } else {
            0.0
        },
    }
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

/// A number rounded to 3 decimals, as JS would print it.
pub(crate) fn num(x: f64) -> String {
    format_number((x * 1000.0).round() / 1000.0)
}

/// The thresholds with NaN replaced by the defaults and the rest capped.
fn sane(t: &RolloutThresholds) -> RolloutThresholds {
    let d = RolloutThresholds::default();
    RolloutThresholds {
        max_error_rate: or_default(t.max_error_rate, d.max_error_rate),
        error_rate_warning: or_default(t.error_rate_warning, d.error_rate_warning),
        min_success_rate: or_default(t.min_success_rate, d.min_success_rate),
        success_rate_critical: or_default(t.success_rate_critical, d.success_rate_critical),
        error_margin: or_default(t.error_margin, d.error_margin),
        error_margin_warning: or_default(t.error_margin_warning, d.error_margin_warning),
        max_latency_ratio: or_default(t.max_latency_ratio, d.max_latency_ratio),
        p95_target_ms: or_default(t.p95_target_ms, d.p95_target_ms),
        p95_warning_ms: or_default(t.p95_warning_ms, d.p95_warning_ms),
        p95_critical_ms: or_default(t.p95_critical_ms, d.p95_critical_ms),
        cost_per_conversation_warning: or_default(t.cost_per_conversation_warning, d.cost_per_conversation_warning),
        cost_per_conversation_critical: or_default(t.cost_per_conversation_critical, d.cost_per_conversation_critical),
        cost_spike_ratio: or_default(t.cost_spike_ratio, d.cost_spike_ratio),
        ..*t
    }
}

/// Collects checks and breaches.
struct Judge {
    checks: Vec<Check>,
    breaches: Vec<Reason>,
}

impl Judge {
    /// Records a check. `crossed(level)` says whether the value crosses that level's threshold;
    /// `message(level, threshold)` describes the breach. `judged` false: no data.
    #[allow(clippy::too_many_arguments)]
    fn check(
        &mut self,
        code: &'static str,
        judged: bool,
        value: f64,
        warning: Option<f64>,
        critical: Option<f64>,
        crossed: impl Fn(f64) -> bool,
        message: impl Fn(Level, f64) -> String,
    ) {
        let level = if !judged {
            None
        } else if critical.is_some_and(&crossed) {
            Some(Level::Critical)
        } else if warning.is_some_and(&crossed) {
            Some(Level::Warning)
        } else {
            None
        };
        let state = match (judged, level) {
            (false, _) => CheckState::NoData,
            (true, None) => CheckState::Ok,
            (true, Some(Level::Warning)) => CheckState::Warning,
            (true, Some(Level::Critical)) => CheckState::Critical,
        };
        self.checks.push(Check {
            code,
            value,
            warning,
            critical,
            state,
        });
        if let Some(level) = level {
            let threshold = if level == Level::Critical { critical } else { warning }.unwrap_or(0.0);
            self.breaches.push(Reason {
                code,
                message: message(level, threshold),
                level: Some(level),
                value: Some(value),
                threshold: Some(threshold),
            });
        }
    }

    fn has(&self, code: &str) -> bool {
        self.breaches.iter().any(|b| b.code == code)
    }
}

/// "limit" for a critical level, "warning level" for a warning.
fn level_word(level: Level) -> &'static str {
    match level {
        Level::Critical => "limit",
        Level::Warning => "warning level",
    }
}

/// Runs every check of the module docs.
fn judge(old: &Figures, new: &Figures, leaks: f64, t: &RolloutThresholds) -> Judge {
    let mut j = Judge {
        checks: Vec::new(),
        breaches: Vec::new(),
    };
    let min_rb = t.min_rollback_sample as f64;
    let volume = new.calls >= min_rb && new.calls > 0.0;
    let both = volume && old.calls >= min_rb && old.calls > 0.0;
    let success = if new.calls > 0.0 { 1.0 - new.rate } else { 0.0 };
    let rate = new.rate;

    j.check(
        "PII_LEAK",
        true,
        leaks,
        None,
        Some(0.0),
        |l| leaks > l,
        |_, _| format!("the new pipeline reported {} PII leak(s)", num(leaks)),
    );
    j.check(
        "ERROR_RATE",
        volume,
        rate,
        Some(t.error_rate_warning),
        Some(t.max_error_rate),
        |l| rate > l,
        |level, l| {
            format!(
                "new pipeline error rate {} ({} of {} calls) is above the {} {}",
                percent(rate),
                num(new.errors),
                num(new.calls),
                percent(l),
                level_word(level)
            )
        },
    );
    j.check(
        "SUCCESS_RATE",
        volume,
        success,
        Some(t.min_success_rate),
        Some(t.success_rate_critical),
        |l| success < l,
        |level, l| {
            format!(
                "new pipeline success rate {} is below the {} {}",
                percent(success),
                percent(l),
                level_word(level)
            )
        },
    );
    let diff = rate - old.rate;
    j.check(
        "ERROR_RATE_VS_OLD",
        both,
        diff,
        Some(t.error_margin_warning),
        Some(t.error_margin),
        |l| rate > old.rate + l,
        |_, l| {
            format!(
                "new pipeline error rate {} is above the old pipeline's {} plus the {} margin",
                percent(rate),
                percent(old.rate),
                percent(l)
            )
        },
    );
    let ratio = if old.p95 > 0.0 { new.p95 / old.p95 } else { 0.0 };
    j.check(
        "LATENCY",
        both && old.p95 > 0.0,
        ratio,
        None,
        Some(t.max_latency_ratio),
        |l| new.p95 > old.p95 * l,
        |_, l| {
            format!(
                "new pipeline p95 {} ms is above {}× the old pipeline's {} ms",
                num(new.p95),
                num(l),
                num(old.p95)
            )
        },
    );
    j.check(
        "P95_LATENCY",
        volume,
        new.p95,
        Some(t.p95_warning_ms),
        Some(t.p95_critical_ms),
        |l| new.p95 > l,
        |level, l| {
            format!(
                "new pipeline p95 {} ms is above the {} ms {}",
                num(new.p95),
                num(l),
                level_word(level)
            )
        },
    );
    j.check(
        "COST_PER_CONVERSATION",
        volume && new.conversations > 0.0,
        new.cost,
        Some(t.cost_per_conversation_warning),
        Some(t.cost_per_conversation_critical),
        |l| new.cost > l,
        |level, l| {
            format!(
                "new pipeline cost per conversation {} USD is above the {} USD {}",
                num(new.cost),
                num(l),
                level_word(level)
            )
        },
    );
    let spike = if old.cost > 0.0 { new.cost / old.cost } else { 0.0 };
    j.check(
        "COST_SPIKE",
        both && new.conversations > 0.0 && old.cost > 0.0,
        spike,
        Some(t.cost_spike_ratio),
        None,
        |l| new.cost > old.cost * l,
        |_, l| {
            format!(
                "new pipeline cost per conversation {} USD is above {}× the old pipeline's {} USD",
                num(new.cost),
                num(l),
                num(old.cost)
            )
        },
    );
    j
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
    let t = sane(t);
    let (o, n) = (figures(old), figures(new));
    let j = judge(&o, &n, clean(new.pii_leaks), &t);
    let critical: Vec<Reason> = j
        .breaches
        .iter()
        .filter(|b| b.level == Some(Level::Critical))
        .cloned()
        .collect();
    if !critical.is_empty() {
        return RolloutDecision {
            action: Action::Rollback,
            reasons: critical,
            breaches: j.breaches,
            checks: j.checks,
        };
    }

    let mut hold: Vec<Reason> = j.breaches.clone();
    let at_stage = now_ms.saturating_sub(stage_entered_ms).max(0);
    if at_stage < t.dwell_ms {
        hold.push(Reason::plain(
            "DWELL",
            format!("{} ms at this stage of the {} ms dwell time", at_stage, t.dwell_ms),
        ));
    }
    if n.calls < t.min_sample as f64 {
        hold.push(Reason::plain(
            "SAMPLE",
            format!("{} new pipeline calls of the {} needed", num(n.calls), t.min_sample),
        ));
    }
    let success = if n.calls > 0.0 { 1.0 - n.rate } else { 0.0 };
    if n.calls <= 0.0 {
        hold.push(Reason::plain(
            "SUCCESS_RATE",
            "no new pipeline calls yet: success rate unknown".into(),
        ));
    } else if success < t.min_success_rate && !j.has("SUCCESS_RATE") {
        hold.push(Reason::plain(
            "SUCCESS_RATE",
            format!(
                "new pipeline success rate {} is below the {} needed",
                percent(success),
                percent(t.min_success_rate)
            ),
        ));
    }
    if n.calls > 0.0 && n.p95 > t.p95_target_ms && !j.has("P95_LATENCY") {
        hold.push(Reason::plain(
            "P95_TARGET",
            format!(
                "new pipeline p95 {} ms is above the {} ms needed",
                num(n.p95),
                num(t.p95_target_ms)
            ),
        ));
    }
    if !hold.is_empty() {
        return RolloutDecision {
            action: Action::Hold,
            reasons: hold,
            breaches: j.breaches,
            checks: j.checks,
        };
    }
    RolloutDecision {
        action: Action::Advance,
        reasons: vec![Reason::plain(
            "HEALTHY",
            format!(
                "{} ms at stage, {} new pipeline calls, success rate {}",
                at_stage,
                num(n.calls),
                percent(success)
            ),
        )],
        breaches: j.breaches,
        checks: j.checks,
    }
}
