//! Bucketing, spec v1 (see `design.md`): one SHA-256 derivation shared by every caller.
//!
//! ```text
//! digest  = SHA-256(UTF-8(salt + ":" + unit))
//! bucket  = u64_be(digest[0..8])  mod 1_000_000      rollout position, in ppm
//! variant = u64_be(digest[8..16]) mod 1_000_000      variant position, in ppm
//! in_rollout(p) = bucket < round(p * 10_000)
//! ```
//! The variant position reads the second 8 bytes of the same digest: statistically independent
//! of the rollout bucket (so a 1 % rollout still splits its variants by weight), stable when the
//! rollout percentage changes, and free of a second hash.
//!
//! Every SHA-256 is the `sha2` crate's ([`sha256`]); [`positions4`] is a four-lane SIMD
//! accelerator for `evaluateAll`, differentially tested against `sha2` (`tests/wasm.rs`).

mod batch;

pub use batch::positions4;

use crate::error::{ErrorCode, ErrorFields};
use core::fmt;
use sha2::{Digest, Sha256};

/// Buckets per rollout: positions are parts per million.
pub const BUCKETS: u64 = 1_000_000;

/// Longest accepted salt, in characters.
pub const MAX_SALT_LEN: usize = 128;

/// Errors from bucketing inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BucketError {
    /// The salt is empty, too long or has a character outside `[A-Za-z0-9_.\-/]`.
    InvalidSalt(String),
    /// The unit is empty.
    MissingUnit,
}

impl ErrorCode for BucketError {
    fn code(&self) -> &'static str {
        match self {
            BucketError::InvalidSalt(_) => "INVALID_SALT",
            BucketError::MissingUnit => "MISSING_UNIT",
        }
    }

    fn fields(&self) -> ErrorFields {
        match self {
            BucketError::InvalidSalt(why) => ErrorFields {
                field: Some("salt".into()),
                reason: Some(why.clone()),
                ..ErrorFields::default()
            },
            BucketError::MissingUnit => ErrorFields::default(),
        }
    }
}

impl fmt::Display for BucketError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BucketError::InvalidSalt(why) => write!(f, "invalid salt: {why}"),
            BucketError::MissingUnit => f.write_str("the unit is empty"),
        }
    }
}

/// Checks a salt against the spec: 1-128 characters of `[A-Za-z0-9_.\-/]`.
pub fn validate_salt(salt: &str) -> Result<(), BucketError> {
    if salt.is_empty() {
        return Err(BucketError::InvalidSalt("empty".into()));
    }
    if salt.len() > MAX_SALT_LEN {
        return Err(BucketError::InvalidSalt(format!(
            "longer than {MAX_SALT_LEN} characters"
        )));
    }
    match salt.bytes().find(|b| !is_salt_byte(*b)) {
        Some(b) if b.is_ascii_graphic() => Err(BucketError::InvalidSalt(format!(
            "character '{}' is not allowed (use A-Z a-z 0-9 _ . - /)",
            b as char
        ))),
        Some(b) if b.is_ascii() => Err(BucketError::InvalidSalt(format!(
            "character {b:#04x} is not allowed (use A-Z a-z 0-9 _ . - /)"
        ))),
        Some(_) => Err(BucketError::InvalidSalt("non-ASCII characters are not allowed".into())),
        None => Ok(()),
    }
}

fn is_salt_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'/')
}

/// The two positions derived from one digest: rollout bucket and variant position, in ppm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Positions {
    /// Rollout bucket, `0..=999_999`.
    pub bucket: u32,
    /// Variant position, `0..=999_999`.
    pub variant: u32,
}

/// SHA-256 of `data` (the `sha2` crate).
pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// Hashes without validating (the caller validated the salt when the snapshot was loaded).
pub fn positions(salt: &str, unit: &str) -> Positions {
    let d = Sha256::new()
        .chain_update(salt.as_bytes())
        .chain_update(b":")
        .chain_update(unit.as_bytes())
        .finalize();
    let word = |i: usize| u32::from_be_bytes([d[i], d[i + 1], d[i + 2], d[i + 3]]);
    Positions {
        bucket: ppm_of_words(word(0), word(4)),
        variant: ppm_of_words(word(8), word(12)),
    }
}

/// Big-endian u64 from two digest words, modulo one million.
pub(crate) fn ppm_of_words(hi: u32, lo: u32) -> u32 {
    ((((hi as u64) << 32) | lo as u64) % BUCKETS) as u32
}

/// The rollout bucket of `unit` under `salt`, validating both (spec v1).
pub fn bucket(salt: &str, unit: &str) -> Result<u32, BucketError> {
    validate_salt(salt)?;
    if unit.is_empty() {
        return Err(BucketError::MissingUnit);
    }
    Ok(positions(salt, unit).bucket)
}

/// The variant position of `unit` under `salt`, validating both.
pub fn variant_position(salt: &str, unit: &str) -> Result<u32, BucketError> {
    validate_salt(salt)?;
    if unit.is_empty() {
        return Err(BucketError::MissingUnit);
    }
    Ok(positions(salt, unit).variant)
}

/// A percentage in `[0, 100]` with at most 4 decimals, converted to ppm; `None` otherwise.
pub fn percent_to_ppm(p: f64) -> Option<u32> {
    if !p.is_finite() || !(0.0..=100.0).contains(&p) {
        return None;
    }
    let scaled = p * 10_000.0;
    let rounded = scaled.round();
    if (scaled - rounded).abs() > 1e-6 {
        return None;
    }
    Some(rounded as u32)
}

/// `true` when `bucket` falls inside a rollout of `ppm` parts per million.
pub fn in_rollout(bucket: u32, ppm: u32) -> bool {
    bucket < ppm
}

/// Picks a variant index from integer `weights` (any scale) for a variant position in ppm.
/// Each variant gets a share of the million proportional to its weight; `None` when all weights
/// are zero.
pub fn pick_variant<I>(position: u32, weights: I) -> Option<usize>
where
    I: Iterator<Item = u64> + Clone,
{
    let total: u128 = weights.clone().map(u128::from).sum();
    if total == 0 {
        return None;
    }
    // position / 1e6 < cum / total  <=>  position * total < cum * 1e6
    let lhs = position as u128 * total;
    let mut cum: u128 = 0;
    let mut last = None;
    for (i, w) in weights.enumerate() {
        cum += w as u128;
        if w > 0 {
            last = Some(i);
            if lhs < cum * BUCKETS as u128 {
                return Some(i);
            }
        }
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn salt_rules() {
        assert!(validate_salt("phoenix_pipeline").is_ok());
        assert!(validate_salt("a/b.c-d_e").is_ok());
        assert_eq!(validate_salt("").unwrap_err().code(), "INVALID_SALT");
        assert_eq!(validate_salt("a:b").unwrap_err().code(), "INVALID_SALT");
        assert_eq!(validate_salt("é").unwrap_err().code(), "INVALID_SALT");
        assert!(validate_salt(&"x".repeat(128)).is_ok());
        assert!(validate_salt(&"x".repeat(129)).is_err());
    }

    #[test]
    fn positions_read_the_digest_of_salt_colon_unit() {
        for n in [1usize, 40, 55, 56, 64, 119, 300] {
            let unit = "u".repeat(n);
            let d = sha256(format!("salt:{unit}").as_bytes());
            let be = |i: usize| u64::from_be_bytes(d[i..i + 8].try_into().expect("8 bytes"));
            let p = positions("salt", &unit);
            assert_eq!(p.bucket as u64, be(0) % BUCKETS, "unit length {n}");
            assert_eq!(p.variant as u64, be(8) % BUCKETS, "unit length {n}");
        }
        // FIPS 180-4's "abc" example.
        assert_eq!(
            sha256(b"abc")[..4],
            [0xba, 0x78, 0x16, 0xbf],
            "sha256(abc) starts ba7816bf"
        );
    }

    #[test]
    fn empty_unit_is_refused() {
        assert_eq!(bucket("s", "").unwrap_err(), BucketError::MissingUnit);
    }

    #[test]
    fn percent_conversion() {
        assert_eq!(percent_to_ppm(0.1), Some(1_000));
        assert_eq!(percent_to_ppm(100.0), Some(1_000_000));
        assert_eq!(percent_to_ppm(0.0001), Some(1));
        assert_eq!(percent_to_ppm(33.3333), Some(333_333));
        assert_eq!(percent_to_ppm(0.00001), None);
        assert_eq!(percent_to_ppm(-1.0), None);
        assert_eq!(percent_to_ppm(100.5), None);
        assert_eq!(percent_to_ppm(f64::NAN), None);
    }

    #[test]
    fn variant_weights() {
        assert_eq!(pick_variant(0, [50, 50].into_iter()), Some(0));
        assert_eq!(pick_variant(499_999, [50, 50].into_iter()), Some(0));
        assert_eq!(pick_variant(500_000, [50, 50].into_iter()), Some(1));
        assert_eq!(pick_variant(999_999, [50, 50].into_iter()), Some(1));
        assert_eq!(pick_variant(10, [0, 1].into_iter()), Some(1));
        assert_eq!(pick_variant(999_999, [1, 0].into_iter()), Some(0));
        assert_eq!(pick_variant(5, [0, 0].into_iter()), None);
    }
}
