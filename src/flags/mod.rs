//! Feature flags: snapshot validation, evaluation with reasons, ramps and schedules.
//!
//! A snapshot (JSON, format in `design.md`) is validated and compiled once into a
//! [`FlagEngine`]; evaluation then never fails: every outcome is an [`Evaluation`] with a
//! [`Reason`]. Resolution order (first that applies wins): unexpired per-unit override, admin
//! override, kill switch, prerequisites, first matching rule, the flag's rollout (or its
//! schedule's current step), default off.

mod compile;
mod eval;
mod model;
mod prereq;
mod ramp;

pub use eval::{now_from_slots, DigestCache, EvalContext, Evaluation, Reason};
pub use model::{
    Flag, FlagEngine, Override, Prerequisite, Rule, ScheduleStep, Variant, MAX_FLAGS, MAX_FLAG_COST, MAX_ITEMS,
    MAX_SNAPSHOT_COST,
};
pub use ramp::{check_ramp, validate_stages};

use crate::error::{ErrorCode, ErrorFields};
use crate::value::format_number as num;
use core::fmt;

/// Errors of the flags domain.
#[derive(Debug, Clone, PartialEq)]
pub enum FlagError {
    /// The snapshot is malformed; names the flag (when known) and the field.
    InvalidSnapshot {
        /// Key (or list position) of the offending flag or override, when there is one.
        flag: Option<String>,
        /// Path of the offending field, e.g. `rules[0].condition`.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// A rollout change would skip a configured stage.
    RampSkipsStage {
        /// Current percentage.
        from: f64,
        /// Requested percentage.
        to: f64,
        /// The first stage that would be skipped.
        skipped: f64,
    },
    /// A percentage outside `[0, 100]` or with more than 4 decimals.
    InvalidPercent(f64),
    /// A stage list that is not strictly increasing percentages in `(0, 100]`.
    InvalidStages(String),
}

impl FlagError {
    pub(crate) fn snapshot(flag: Option<&str>, field: &str, message: &str) -> Self {
        FlagError::InvalidSnapshot {
            flag: flag.map(str::to_owned),
            field: field.to_owned(),
            message: message.to_owned(),
        }
    }
}

impl ErrorCode for FlagError {
    fn code(&self) -> &'static str {
        match self {
            FlagError::InvalidSnapshot { .. } => "INVALID_SNAPSHOT",
            FlagError::RampSkipsStage { .. } => "RAMP_SKIPS_STAGE",
            FlagError::InvalidPercent(_) => "INVALID_PERCENT",
            FlagError::InvalidStages(_) => "INVALID_STAGES",
        }
    }

    fn fields(&self) -> ErrorFields {
        let mut out = ErrorFields::default();
        match self {
            FlagError::InvalidSnapshot { flag, field, .. } => {
                out.flag = flag.clone();
                out.field = Some(field.clone());
            }
            FlagError::RampSkipsStage { from, to, skipped } => {
                out.from = Some(*from);
                out.to = Some(*to);
                out.skipped = Some(*skipped);
            }
            FlagError::InvalidPercent(p) => out.value = Some(*p),
            FlagError::InvalidStages(why) => {
                out.field = Some("stages".into());
                out.reason = Some(why.clone());
            }
        }
        out
    }
}

impl fmt::Display for FlagError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FlagError::InvalidSnapshot {
                flag: Some(flag),
                field,
                message,
            } => {
                write!(f, "invalid snapshot: flag \"{flag}\", field \"{field}\": {message}")
            }
            FlagError::InvalidSnapshot {
                flag: None,
                field,
                message,
            } => {
                write!(f, "invalid snapshot: field \"{field}\": {message}")
            }
            FlagError::RampSkipsStage { from, to, skipped } => {
                let (from, to, skipped) = (num(*from), num(*to), num(*skipped));
                write!(
                    f,
                    "ramp from {from}% to {to}% skips the {skipped}% stage; move to {skipped}% first"
                )
            }
            FlagError::InvalidPercent(p) => {
                write!(f, "{} is not a percentage in [0, 100] with at most 4 decimals", num(*p))
            }
            FlagError::InvalidStages(why) => write!(f, "invalid stages: {why}"),
        }
    }
}
