//! Sample sizes and reproducible random selection (双随机、一公开: the seed is published,
//! and anyone can redraw the same list).

use crate::dist::normal_quantile;
use crate::error::{ScoringError, check_confidence};

/// Respondents needed for a margin of error `moe` (as a proportion, e.g. 0.05) at a
/// confidence level, for an expected proportion `p` (0.5 is the safe choice), with
/// the finite population correction when `population` is given:
///
/// ```text
/// n₀ = z²·p(1 − p)/moe²,   n = ⌈n₀ / (1 + (n₀ − 1)/N)⌉
/// ```
pub fn sample_size(
    moe: f64,
    confidence: f64,
    p: f64,
    population: Option<u64>,
) -> Result<u64, ScoringError> {
    check_confidence(confidence)?;
    if !(moe > 0.0 && moe < 1.0) {
        return Err(ScoringError::parameter(
            "moe",
            format!("{moe} is not between 0 and 1"),
        ));
    }
    if !(0.0..=1.0).contains(&p) {
        return Err(ScoringError::parameter(
            "p",
            format!("{p} is not a proportion"),
        ));
    }
    let z = normal_quantile(0.5 + confidence / 2.0);
    let n0 = z * z * p * (1.0 - p) / (moe * moe);
    let n = match population {
        Some(0) => return Ok(0),
        Some(big_n) => n0 / (1.0 + (n0 - 1.0) / big_n as f64),
        None => n0,
    };
    // Guard against 385.00000000001 becoming 386.
    let n = (n - 1e-9).ceil().max(1.0) as u64;
    Ok(population.map_or(n, |big_n| n.min(big_n)))
}

/// Case files to review for an agency-year with `cases` cases (案卷评查 sampling rule):
/// ≤ 20 → all; 21–50 → 40%; 51–100 → 30%; 101–200 → 20%; > 200 → 50 (the minimum the
/// rule demands). Percentages round up.
pub fn case_review_sample_size(cases: u64) -> u64 {
    let pct = |p: u64| (cases * p).div_ceil(100);
    match cases {
        0..=20 => cases,
        21..=50 => pct(40),
        51..=100 => pct(30),
        101..=200 => pct(20),
        _ => 50,
    }
}

/// SplitMix64: a tiny, fully specified generator (same numbers on every platform).
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator started from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform integer in 0..bound (bound > 0), without modulo bias (rejection).
    pub fn below(&mut self, bound: u64) -> u64 {
        let zone = u64::MAX - (u64::MAX % bound) - 1;
        loop {
            let v = self.next_u64();
            if v <= zone {
                return v % bound;
            }
        }
    }
}

/// Selects `k` distinct indices out of `0..n` from `seed` (partial Fisher–Yates on
/// SplitMix64), returned in ascending order. The same seed gives the same selection
/// everywhere.
pub fn select(n: u64, k: u64, seed: u64) -> Result<Vec<u64>, ScoringError> {
    if k > n {
        return Err(ScoringError::parameter(
            "k",
            format!("cannot select {k} out of {n}"),
        ));
    }
    let mut rng = SplitMix64::new(seed);
    // Sparse Fisher–Yates: only swapped positions are stored.
    let mut swapped = std::collections::HashMap::new();
    let mut chosen = Vec::with_capacity(k as usize);
    for i in 0..k {
        let j = i + rng.below(n - i);
        let at_j = *swapped.get(&j).unwrap_or(&j);
        let at_i = *swapped.get(&i).unwrap_or(&i);
        swapped.insert(j, at_i);
        chosen.push(at_j);
    }
    chosen.sort_unstable();
    Ok(chosen)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_size_matches_the_textbook_385() {
        assert_eq!(sample_size(0.05, 0.95, 0.5, None).unwrap(), 385);
        // With N = 1000: 384.146 / (1 + 383.146/1000) = 277.7 → 278
        assert_eq!(sample_size(0.05, 0.95, 0.5, Some(1000)).unwrap(), 278);
    }

    #[test]
    fn case_review_rule_follows_the_bands() {
        let cases = [
            (0, 0),
            (20, 20),
            (21, 9),
            (50, 20),
            (51, 16),
            (100, 30),
            (101, 21),
            (200, 40),
            (201, 50),
            (5000, 50),
        ];
        for (n, expected) in cases {
            assert_eq!(case_review_sample_size(n), expected, "{n} cases");
        }
    }

    #[test]
    fn the_same_seed_selects_the_same_items() {
        assert_eq!(select(100, 10, 42).unwrap(), select(100, 10, 42).unwrap());
        assert_ne!(select(100, 10, 42).unwrap(), select(100, 10, 43).unwrap());
        // Pinned output: a change here breaks every published selection.
        assert_eq!(select(20, 5, 2026).unwrap(), PINNED);
        assert_eq!(select(5, 5, 1).unwrap(), vec![0, 1, 2, 3, 4]);
        assert!(select(3, 4, 1).is_err());
    }

    const PINNED: [u64; 5] = [8, 10, 11, 12, 13];

    #[test]
    fn splitmix64_matches_the_reference_sequence() {
        // Vigna's splitmix64.c with seed 1234567.
        let mut rng = SplitMix64::new(1_234_567);
        let first: Vec<u64> = (0..5).map(|_| rng.next_u64()).collect();
        assert_eq!(
            first,
            [
                6457827717110365317,
                3203168211198807973,
                9817491932198370423,
                4593380528125082431,
                16408922859458223821
            ]
        );
    }
}
