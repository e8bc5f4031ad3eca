//! Proportions and counts: Wilson intervals and exact Poisson intervals.

use crate::dist::{gamma_quantile, normal_quantile};
use crate::error::{ScoringError, check_confidence};

/// A point estimate with a confidence interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    /// The point estimate.
    pub estimate: f64,
    /// Lower bound.
    pub lo: f64,
    /// Upper bound.
    pub hi: f64,
}

/// Wilson score interval for a proportion `p` observed on `n` (possibly an effective
/// sample size) with normal quantile `z`:
///
/// ```text
/// centre = (p + z²/2n) / (1 + z²/n)
/// half   = z·√(p(1−p)/n + z²/4n²) / (1 + z²/n)
/// ```
///
/// Returns `None` when `n ≤ 0` or `p` is outside [0, 1].
pub fn wilson(p: f64, n: f64, z: f64) -> Option<(f64, f64)> {
    if !(n > 0.0 && n.is_finite() && (0.0..=1.0).contains(&p)) {
        return None;
    }
    let den = 1.0 + z * z / n;
    let centre = (p + z * z / (2.0 * n)) / den;
    let half = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / den;
    Some(((centre - half).max(0.0), (centre + half).min(1.0)))
}

/// Wilson interval for `successes` out of `n` at a confidence level.
pub fn wilson_ci(
    successes: u64,
    n: u64,
    confidence: f64,
) -> Result<Option<Interval>, ScoringError> {
    check_confidence(confidence)?;
    if successes > n {
        return Err(ScoringError::parameter(
            "successes",
            format!("{successes} exceeds n = {n}"),
        ));
    }
    if n == 0 {
        return Ok(None);
    }
    let p = successes as f64 / n as f64;
    let z = normal_quantile(0.5 + confidence / 2.0);
    Ok(wilson(p, n as f64, z).map(|(lo, hi)| Interval {
        estimate: p,
        lo,
        hi,
    }))
}

/// Exact (Garwood) Poisson interval for an observed count:
///
/// ```text
/// lo = Γ⁻¹(α/2; x, 1)        (0 when x = 0)
/// hi = Γ⁻¹(1 − α/2; x + 1, 1)
/// ```
///
/// i.e. half the χ² quantiles with 2x and 2x + 2 degrees of freedom.
pub fn poisson_ci(count: u64, confidence: f64) -> Result<Interval, ScoringError> {
    check_confidence(confidence)?;
    let alpha = 1.0 - confidence;
    let x = count as f64;
    let lo = if count == 0 {
        0.0
    } else {
        gamma_quantile(alpha / 2.0, x)
    };
    let hi = gamma_quantile(1.0 - alpha / 2.0, x + 1.0);
    Ok(Interval {
        estimate: x,
        lo,
        hi,
    })
}

/// A count per 100 cases (e.g. complaints per 100 enforcement cases) with the exact
/// Poisson interval scaled the same way. `None` when there were no cases.
pub fn rate_per_100(
    count: u64,
    cases: u64,
    confidence: f64,
) -> Result<Option<Interval>, ScoringError> {
    let ci = poisson_ci(count, confidence)?;
    if cases == 0 {
        return Ok(None);
    }
    let scale = 100.0 / cases as f64;
    Ok(Some(Interval {
        estimate: ci.estimate * scale,
        lo: ci.lo * scale,
        hi: ci.hi * scale,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_seven_of_ten_matches_statsmodels() {
        let ci = wilson_ci(7, 10, 0.95).unwrap().unwrap();
        assert!((ci.lo - 0.396778).abs() < 1e-6, "{ci:?}");
        assert!((ci.hi - 0.892209).abs() < 1e-6, "{ci:?}");
    }

    #[test]
    fn poisson_interval_of_zero_starts_at_zero() {
        let ci = poisson_ci(0, 0.95).unwrap();
        assert_eq!(ci.lo, 0.0);
        // −ln(0.025) = 3.688879…
        assert!((ci.hi - 3.688_879_454_113_936).abs() < 1e-9, "{ci:?}");
    }

    #[test]
    fn rate_scales_count_and_interval() {
        let r = rate_per_100(5, 200, 0.95).unwrap().unwrap();
        assert!((r.estimate - 2.5).abs() < 1e-12);
        assert!(r.lo < 2.5 && r.hi > 2.5);
        assert!(rate_per_100(5, 0, 0.95).unwrap().is_none());
    }
}
