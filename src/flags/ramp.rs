//! Staged ramps: a rollout may rise only to the next stage, never past one.

use super::FlagError;
use crate::bucket::percent_to_ppm;
use crate::value::format_number as num;

/// Converts a percentage to ppm or fails with `INVALID_PERCENT`.
pub(crate) fn ppm(p: f64) -> Result<u32, FlagError> {
    percent_to_ppm(p).ok_or(FlagError::InvalidPercent(p))
}

/// Checks that `stages` are strictly increasing percentages in `(0, 100]` with at most 4
/// decimals, and returns them in ppm.
pub fn validate_stages(stages: &[f64]) -> Result<Vec<u32>, FlagError> {
    let mut out = Vec::with_capacity(stages.len());
    for (i, s) in stages.iter().enumerate() {
        let v = percent_to_ppm(*s).filter(|v| *v > 0).ok_or_else(|| {
            FlagError::InvalidStages(format!("stages[{i}] = {} is not a percentage in (0, 100]", num(*s)))
        })?;
        if out.last().is_some_and(|prev| *prev >= v) {
            return Err(FlagError::InvalidStages(format!(
                "stages[{i}] = {} is not above the stage before it",
                num(*s)
            )));
        }
        out.push(v);
    }
    Ok(out)
}

/// Refuses a rollout change from `current` to `next` percent that skips a stage.
///
/// Lowering a rollout (a rollback) is always allowed; raising it may reach at most the first
/// stage above `current`. With no stages every change within `[0, 100]` is allowed.
pub fn check_ramp(current: f64, next: f64, stages: &[f64]) -> Result<(), FlagError> {
    let from = ppm(current)?;
    let to = ppm(next)?;
    let stages_ppm = validate_stages(stages)?;
    check_ramp_ppm(from, to, &stages_ppm).map_err(|skipped| FlagError::RampSkipsStage {
        from: current,
        to: next,
        skipped: skipped as f64 / 10_000.0,
    })
}

/// The ppm form of [`check_ramp`]; the error is the first skipped stage, in ppm.
pub(crate) fn check_ramp_ppm(from: u32, to: u32, stages: &[u32]) -> Result<(), u32> {
    match stages.iter().find(|s| **s > from && **s < to) {
        Some(skipped) => Err(*skipped),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    const STAGES: [f64; 5] = [0.1, 5.0, 25.0, 50.0, 100.0];

    #[test]
    fn one_stage_at_a_time() {
        assert!(check_ramp(0.0, 0.1, &STAGES).is_ok());
        assert!(check_ramp(5.0, 25.0, &STAGES).is_ok());
        assert!(check_ramp(5.0, 10.0, &STAGES).is_ok());
        assert!(check_ramp(50.0, 0.0, &STAGES).is_ok(), "rollback is always allowed");
        assert!(check_ramp(25.0, 25.0, &STAGES).is_ok());
        let err = check_ramp(5.0, 50.0, &STAGES).unwrap_err();
        assert_eq!(err.code(), "RAMP_SKIPS_STAGE");
        assert_eq!(
            err,
            FlagError::RampSkipsStage {
                from: 5.0,
                to: 50.0,
                skipped: 25.0
            }
        );
        assert!(err.to_string().contains("25%"));
        assert!(
            matches!(check_ramp(0.0, 5.0, &STAGES), Err(FlagError::RampSkipsStage { skipped, .. }) if skipped == 0.1)
        );
        assert!(check_ramp(3.0, 25.0, &STAGES).is_err(), "3 -> 25 skips 5");
    }

    #[test]
    fn bad_inputs_have_codes() {
        assert_eq!(check_ramp(-1.0, 5.0, &STAGES).unwrap_err().code(), "INVALID_PERCENT");
        assert_eq!(check_ramp(1.0, 5.00001, &STAGES).unwrap_err().code(), "INVALID_PERCENT");
        assert_eq!(check_ramp(1.0, 5.0, &[5.0, 1.0]).unwrap_err().code(), "INVALID_STAGES");
        assert_eq!(check_ramp(1.0, 5.0, &[0.0, 1.0]).unwrap_err().code(), "INVALID_STAGES");
        assert!(check_ramp(0.0, 100.0, &[]).is_ok());
    }
}
