//! The rollout guard's settings: every threshold of the migration plans, with the plans' values
//! as defaults, and their validation from a JSON-like object (a flag's `metadata.guard`).
//!
//! | setting (camelCase) | default | level | meaning |
//! |---|---|---|---|
//! | `errorRateWarning` / `maxErrorRate` | 0.01 / 0.10 | warning / critical | new pipeline error rate above |
//! | `minSuccessRate` / `successRateCritical` | 0.95 / 0.90 | warning / critical | success rate below |
//! | `errorMarginWarning` / `errorMargin` | 0 / 0.05 | warning / critical | error rate above the old one's plus |
//! | `maxLatencyRatio` | 1.2 | critical | new p95 above old p95 × |
//! | `p95TargetMs` | 2000 | advance | a stage advances only at a p95 at most this |
//! | `p95WarningMs` / `p95CriticalMs` | 3000 / 5000 | warning / critical | new p95 above (ms) |
//! | `costPerConversationWarning` / `costPerConversationCritical` | 0.10 / 0.20 | warning / critical | USD per conversation above |
//! | `costSpikeRatio` | 2.0 | warning | cost per conversation above the old one's × |
//! | `minSample`, `dwellMs`, `minRollbackSample` | 100, 3 600 000, 20 | | advance volume, dwell time, breach volume |
//! | `cutoverMinSimilarity`, `cutoverMaxLatencyRatio`, `cutoverMaxErrorRate` | 0.95, 1.1, 0.01 | | the cutover check |
//! | `cutoverMinSamples` | 100 | | shadow comparisons the cutover check needs |
//! | `requireCutover` | unset | | `true`: a ramp to 100 % always needs the cutover check; `false`: never; unset: when the flag has shadow comparisons |
//!
//! [`RolloutThresholds::from_value`] reads such an object. Strictly (what an admin writes): an
//! unknown key, a wrong type, a value out of range or a warning level beyond its critical level is
//! `INVALID_THRESHOLD` naming the setting. Leniently (what the decision reads): any of those takes
//! its default instead. `null` always means the default.

use crate::error::{ErrorCode, ErrorFields};
use crate::value::{format_number, Value};
use core::fmt;

/// The thresholds and settings of the rollout guard; [`Default`] gives the plans' values.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RolloutThresholds {
    /// Critical: new pipeline error rate above this (0.10).
    pub max_error_rate: f64,
    /// Warning: new pipeline error rate above this (0.01: the plans' "errors < 1 %").
    pub error_rate_warning: f64,
    /// Warning: success rate below this (0.95); also needed to advance.
    pub min_success_rate: f64,
    /// Critical: success rate below this (0.90).
    pub success_rate_critical: f64,
    /// Critical: error rate above the old pipeline's plus this (0.05).
    pub error_margin: f64,
    /// Warning: error rate above the old pipeline's plus this (0: "same or better than old").
    pub error_margin_warning: f64,
    /// Critical: new p95 above the old p95 × this (1.2).
    pub max_latency_ratio: f64,
    /// A stage advances only at a new p95 of at most this, ms (2000: the plans' "p95 < 2 s").
    pub p95_target_ms: f64,
    /// Warning: new p95 above this, ms (3000).
    pub p95_warning_ms: f64,
    /// Critical: new p95 above this, ms (5000).
    pub p95_critical_ms: f64,
    /// Warning: new pipeline cost per conversation above this, USD (0.10).
    pub cost_per_conversation_warning: f64,
    /// Critical: new pipeline cost per conversation above this, USD (0.20).
    pub cost_per_conversation_critical: f64,
    /// Warning: cost per conversation above the old pipeline's × this (2.0: "> 200 %").
    pub cost_spike_ratio: f64,
    /// Advance only with at least this many new-pipeline calls (100).
    pub min_sample: u64,
    /// Advance only after this long at the stage, ms (one hour).
    pub dwell_ms: i64,
    /// Rate, latency and cost breaches need at least this many new-pipeline calls (and, when
    /// compared with the old pipeline, old calls too) (20). A PII leak needs none.
    pub min_rollback_sample: u64,
    /// Cutover: output similarity at least this (0.95).
    pub cutover_min_similarity: f64,
    /// Cutover: latency ratio (new p95 / old p95) at most this (1.1).
    pub cutover_max_latency_ratio: f64,
    /// Cutover: error rate below this (0.01).
    pub cutover_max_error_rate: f64,
    /// Cutover: at least this many shadow comparisons (100).
    pub cutover_min_samples: u64,
    /// Whether a ramp to 100 % needs the cutover check: always (`true`), never (`false`), or
    /// when the flag has shadow comparisons (`None`).
    pub require_cutover: Option<bool>,
}

impl Default for RolloutThresholds {
    fn default() -> Self {
        RolloutThresholds {
            max_error_rate: 0.10,
            error_rate_warning: 0.01,
            min_success_rate: 0.95,
            success_rate_critical: 0.90,
            error_margin: 0.05,
            error_margin_warning: 0.0,
            max_latency_ratio: 1.2,
            p95_target_ms: 2000.0,
            p95_warning_ms: 3000.0,
            p95_critical_ms: 5000.0,
            cost_per_conversation_warning: 0.10,
            cost_per_conversation_critical: 0.20,
            cost_spike_ratio: 2.0,
            min_sample: 100,
            dwell_ms: 3_600_000,
            min_rollback_sample: 20,
            cutover_min_similarity: 0.95,
            cutover_max_latency_ratio: 1.1,
            cutover_max_error_rate: 0.01,
            cutover_min_samples: 100,
            require_cutover: None,
        }
    }
}

/// What kind of number a setting is: its range.
#[derive(Clone, Copy)]
enum Kind {
    /// A share, 0..=1.
    Rate,
    /// A finite number ≥ 0 (ratios, milliseconds, dollars).
    NonNegative,
    /// A whole number ≥ 0, at most 2^53 − 1.
    Count,
    /// `true` or `false`.
    Bool,
}

type Setter = fn(&mut RolloutThresholds, &Value);

/// Every setting: its name, kind and how it is stored (the value is checked first).
const SETTINGS: &[(&str, Kind, Setter)] = &[
    ("maxErrorRate", Kind::Rate, |t, v| t.max_error_rate = num(v)),
    ("errorRateWarning", Kind::Rate, |t, v| t.error_rate_warning = num(v)),
    ("minSuccessRate", Kind::Rate, |t, v| t.min_success_rate = num(v)),
    ("successRateCritical", Kind::Rate, |t, v| {
        t.success_rate_critical = num(v)
    }),
    ("errorMargin", Kind::Rate, |t, v| t.error_margin = num(v)),
    ("errorMarginWarning", Kind::Rate, |t, v| t.error_margin_warning = num(v)),
    ("maxLatencyRatio", Kind::NonNegative, |t, v| {
        t.max_latency_ratio = num(v)
    }),
    ("p95TargetMs", Kind::NonNegative, |t, v| t.p95_target_ms = num(v)),
    ("p95WarningMs", Kind::NonNegative, |t, v| t.p95_warning_ms = num(v)),
    ("p95CriticalMs", Kind::NonNegative, |t, v| t.p95_critical_ms = num(v)),
    ("costPerConversationWarning", Kind::NonNegative, |t, v| {
        t.cost_per_conversation_warning = num(v)
    }),
    ("costPerConversationCritical", Kind::NonNegative, |t, v| {
        t.cost_per_conversation_critical = num(v)
    }),
    ("costSpikeRatio", Kind::NonNegative, |t, v| t.cost_spike_ratio = num(v)),
    ("minSample", Kind::Count, |t, v| t.min_sample = num(v) as u64),
    ("dwellMs", Kind::Count, |t, v| t.dwell_ms = num(v) as i64),
    ("minRollbackSample", Kind::Count, |t, v| {
        t.min_rollback_sample = num(v) as u64
    }),
    ("cutoverMinSimilarity", Kind::Rate, |t, v| {
        t.cutover_min_similarity = num(v)
    }),
    ("cutoverMaxLatencyRatio", Kind::NonNegative, |t, v| {
        t.cutover_max_latency_ratio = num(v)
    }),
    ("cutoverMaxErrorRate", Kind::Rate, |t, v| {
        t.cutover_max_error_rate = num(v)
    }),
    ("cutoverMinSamples", Kind::Count, |t, v| {
        t.cutover_min_samples = num(v) as u64
    }),
    ("requireCutover", Kind::Bool, |t, v| t.require_cutover = v.as_bool()),
];

/// The largest count a setting may hold (JS's largest safe integer).
const MAX_COUNT: f64 = 9_007_199_254_740_991.0;

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or(0.0)
}

/// The names of every setting, in table order.
pub fn setting_names() -> impl Iterator<Item = &'static str> {
    SETTINGS.iter().map(|(name, _, _)| *name)
}

/// Why `v` does not fit `kind`, if it does not.
fn misfit(kind: Kind, v: &Value) -> Option<String> {
    if let Kind::Bool = kind {
        return v
            .as_bool()
            .is_none()
            .then(|| format!("must be a boolean, got {}", v.type_name()));
    }
    let Some(n) = v.as_f64() else {
        return Some(format!("must be a number, got {}", v.type_name()));
    };
    let ok = match kind {
        Kind::Rate => (0.0..=1.0).contains(&n),
        Kind::NonNegative => n.is_finite() && n >= 0.0,
        Kind::Count => (0.0..=MAX_COUNT).contains(&n) && n.fract() == 0.0,
        Kind::Bool => true,
    };
    (!ok).then(|| {
        let range = match kind {
            Kind::Rate => "a share from 0 to 1",
            Kind::Count => "a whole number from 0",
            _ => "a finite number from 0",
        };
        format!("must be {range}, got {}", format_number(n))
    })
}

/// `INVALID_THRESHOLD`: a guard setting an admin may not write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThresholdError {
    /// The setting (`p95WarningMs`), or `guard` for the object itself.
    pub field: String,
    /// Why it is refused.
    pub reason: String,
}

impl ErrorCode for ThresholdError {
    fn code(&self) -> &'static str {
        "INVALID_THRESHOLD"
    }

    fn fields(&self) -> ErrorFields {
        ErrorFields {
            field: Some(self.field.clone()),
            reason: Some(self.reason.clone()),
            ..ErrorFields::default()
        }
    }
}

impl fmt::Display for ThresholdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "guard setting {}: {}", self.field, self.reason)
    }
}

fn refuse(field: &str, reason: String) -> ThresholdError {
    ThresholdError {
        field: field.chars().take(100).collect(),
        reason,
    }
}

impl RolloutThresholds {
    /// The defaults overridden by the settings in `v` (an object; `null` is no settings). When
    /// `strict`, anything unusable is an error (see the module docs); otherwise it is skipped.
    pub fn from_value(v: &Value, strict: bool) -> Result<RolloutThresholds, ThresholdError> {
        let mut t = RolloutThresholds::default();
        let members = match v {
            Value::Null => return Ok(t),
            Value::Object(m) => m,
            other if strict => {
                return Err(refuse("guard", format!("must be an object, got {}", other.type_name())));
            }
            _ => return Ok(t),
        };
        for (key, value) in members {
            let Some((_, kind, set)) = SETTINGS.iter().find(|(name, _, _)| name == key) else {
                if strict {
                    return Err(refuse(key, "is not a guard setting".into()));
                }
                continue;
            };
            if value.is_null() {
                continue;
            }
            match misfit(*kind, value) {
                None => set(&mut t, value),
                Some(why) if strict => return Err(refuse(key, why)),
                Some(_) => {}
            }
        }
        if strict {
            t.check_levels()?;
        }
        Ok(t)
    }

    /// Each warning level is on the safe side of its critical level.
    fn check_levels(&self) -> Result<(), ThresholdError> {
        let pairs = [
            (
                "errorRateWarning",
                self.error_rate_warning,
                "maxErrorRate",
                self.max_error_rate,
            ),
            (
                "errorMarginWarning",
                self.error_margin_warning,
                "errorMargin",
                self.error_margin,
            ),
            (
                "p95WarningMs",
                self.p95_warning_ms,
                "p95CriticalMs",
                self.p95_critical_ms,
            ),
            (
                "costPerConversationWarning",
                self.cost_per_conversation_warning,
                "costPerConversationCritical",
                self.cost_per_conversation_critical,
            ),
            (
                "successRateCritical",
                self.success_rate_critical,
                "minSuccessRate",
                self.min_success_rate,
            ),
        ];
        for (low_name, low, high_name, high) in pairs {
            if low > high {
                return Err(refuse(
                    low_name,
                    format!("{} is above {high_name} ({})", format_number(low), format_number(high)),
                ));
            }
        }
        Ok(())
    }
}
