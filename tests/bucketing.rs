//! Bucketing spec v1, natively: the shared vectors (computed by Python's hashlib) and the
//! statistical properties the spec promises.

#![cfg(not(target_arch = "wasm32"))]

mod support;

use proptest::prelude::*;
use support::*;
use trimtab::bucket::{bucket, in_rollout, percent_to_ppm, pick_variant, positions, variant_position};

#[test]
fn bucket_vectors_match() {
    let doc = parse(BUCKETING);
    let all = cases(&doc, "cases");
    assert!(all.len() >= 200, "at least 200 vectors");
    assert!(
        all.iter().any(|c| !str_of(c, "unit").is_ascii()),
        "non-ASCII units are covered"
    );
    for c in all {
        let (salt, unit) = (str_of(c, "salt"), str_of(c, "unit"));
        assert_eq!(
            bucket(salt, unit).unwrap() as f64,
            num_of(c, "bucket"),
            "salt {salt:?} unit {unit:?}"
        );
    }
}

#[test]
fn variant_vectors_match() {
    let doc = parse(VARIANTS);
    for c in cases(&doc, "cases") {
        let (salt, unit) = (str_of(c, "salt"), str_of(c, "unit"));
        let pos = variant_position(salt, unit).unwrap();
        assert_eq!(pos as f64, num_of(c, "position"), "{salt:?} {unit:?}");
        let weights: Vec<u64> = cases(c, "weights")
            .iter()
            .map(|w| percent_to_ppm(w.as_f64().unwrap()).unwrap() as u64)
            .collect();
        assert_eq!(
            pick_variant(pos, weights.iter().copied()).map(|i| i as f64),
            Some(num_of(c, "variant")),
            "{salt:?} {unit:?}"
        );
    }
}

fn share_inside(salt: &str, percent: f64, n: usize) -> f64 {
    let ppm = percent_to_ppm(percent).unwrap();
    let inside = (0..n)
        .filter(|i| in_rollout(positions(salt, &format!("user-{i}")).bucket, ppm))
        .count();
    inside as f64 * 100.0 / n as f64
}

#[test]
fn uniform_at_25_percent() {
    for salt in ["phoenix_pipeline", "agent_chat", "USE_RESPONSE_CACHE"] {
        let share = share_inside(salt, 25.0, 100_000);
        assert!((share - 25.0).abs() <= 0.5, "{salt}: {share}% inside a 25% rollout");
    }
}

#[test]
fn uniform_at_a_tenth_of_a_percent() {
    for salt in ["phoenix_pipeline", "agent_chat", "USE_RESPONSE_CACHE"] {
        let share = share_inside(salt, 0.1, 100_000);
        assert!((share - 0.1).abs() <= 0.05, "{salt}: {share}% inside a 0.1% rollout");
    }
}

#[test]
fn two_flags_buckets_are_independent() {
    let n = 100_000;
    let (mut a, mut b, mut both) = (0usize, 0usize, 0usize);
    for i in 0..n {
        let unit = format!("user-{i}");
        let in_a = positions("flag_a", &unit).bucket < 500_000;
        let in_b = positions("flag_b", &unit).bucket < 200_000;
        a += in_a as usize;
        b += in_b as usize;
        both += (in_a && in_b) as usize;
    }
    let expected = (a as f64 / n as f64) * (b as f64 / n as f64) * 100.0;
    let joint = both as f64 * 100.0 / n as f64;
    assert!((joint - expected).abs() <= 0.5, "joint {joint}% vs product {expected}%");
}

#[test]
fn variants_split_evenly_inside_a_small_rollout() {
    // The variant position is independent of the bucket: a 1 % rollout still splits 50/50.
    let (mut inside, mut treatment) = (0usize, 0usize);
    for i in 0..200_000 {
        let p = positions("phoenix_pipeline", &format!("user-{i}"));
        if p.bucket < 10_000 {
            inside += 1;
            treatment += (pick_variant(p.variant, [50u64, 50].into_iter()) == Some(1)) as usize;
        }
    }
    let share = treatment as f64 / inside as f64;
    assert!(
        inside > 1_500 && (share - 0.5).abs() < 0.05,
        "{treatment}/{inside} in treatment"
    );
}

proptest! {
    #[test]
    fn raising_a_rollout_only_adds_units(unit in "\\PC{1,40}", p1 in 0u32..=1_000_000, p2 in 0u32..=1_000_000) {
        let b = positions("monotonic", &unit).bucket;
        let (lo, hi) = (p1.min(p2), p1.max(p2));
        prop_assert!(!in_rollout(b, lo) || in_rollout(b, hi));
    }

    #[test]
    fn bucket_is_in_range_and_stable(salt in "[A-Za-z0-9_./-]{1,128}", unit in "\\PC{1,200}") {
        let b = bucket(&salt, &unit).unwrap();
        prop_assert!(b < 1_000_000);
        prop_assert_eq!(b, bucket(&salt, &unit).unwrap());
    }

    #[test]
    fn zero_and_hundred_are_absolute(unit in "\\PC{1,40}") {
        let b = positions("edges", &unit).bucket;
        prop_assert!(!in_rollout(b, 0));
        prop_assert!(in_rollout(b, 1_000_000));
    }
}

proptest! {
    #[test]
    fn the_simd_batch_matches_sha2(salts in proptest::array::uniform4("[A-Za-z0-9_./-]{1,40}"),
                                   units in proptest::array::uniform4("\\PC{1,40}")) {
        // Natively the batch is the scalar path; tests/wasm.rs runs the SIMD lanes in Wasm.
        let batch = trimtab::bucket::positions4(
            [&salts[0], &salts[1], &salts[2], &salts[3]],
            [&units[0], &units[1], &units[2], &units[3]],
        );
        for k in 0..4 {
            prop_assert_eq!(batch[k], positions(&salts[k], &units[k]));
        }
    }
}
