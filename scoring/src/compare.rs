//! Change and comparison: Welch's t-test, the two-proportion z-test and the
//! Benjamini–Hochberg adjustment.

use crate::dist::{normal_cdf, t_two_sided_p};
use crate::error::ScoringError;

/// Summary of one sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Sample mean.
    pub mean: f64,
    /// Sample variance (ddof 1).
    pub variance: f64,
    /// Number of observations.
    pub n: f64,
}

impl Sample {
    /// Summary of raw observations.
    pub fn of(values: &[f64]) -> Result<Self, ScoringError> {
        if values.len() < 2 {
            return Err(ScoringError::parameter(
                "values",
                "at least two observations are needed",
            ));
        }
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
        Ok(Self { mean, variance, n })
    }
}

/// A test statistic with its two-sided p-value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TestResult {
    /// t or z.
    pub statistic: f64,
    /// Degrees of freedom (Welch–Satterthwaite); `None` for z-tests.
    pub df: Option<f64>,
    /// Two-sided p-value.
    pub p_value: f64,
}

/// Welch's t-test of mean(a) − mean(b):
///
/// ```text
/// t  = (m₁ − m₂) / √(v₁/n₁ + v₂/n₂)
/// df = (v₁/n₁ + v₂/n₂)² / ((v₁/n₁)²/(n₁−1) + (v₂/n₂)²/(n₂−1))
/// ```
///
/// `None` when both variances are zero.
pub fn welch(a: Sample, b: Sample) -> Option<TestResult> {
    let (ua, ub) = (a.variance / a.n, b.variance / b.n);
    let se2 = ua + ub;
    if !(se2 > 0.0 && a.n > 1.0 && b.n > 1.0) {
        return None;
    }
    let t = (a.mean - b.mean) / se2.sqrt();
    let df = se2 * se2 / (ua * ua / (a.n - 1.0) + ub * ub / (b.n - 1.0));
    Some(TestResult {
        statistic: t,
        df: Some(df),
        p_value: t_two_sided_p(t, df),
    })
}

/// Pooled two-proportion z-test of x₁/n₁ − x₂/n₂:
/// z = (p₁ − p₂)/√(p(1 − p)(1/n₁ + 1/n₂)), p = (x₁ + x₂)/(n₁ + n₂).
/// `None` when the pooled proportion is 0 or 1.
pub fn two_proportion_z(
    x1: f64,
    n1: f64,
    x2: f64,
    n2: f64,
) -> Result<Option<TestResult>, ScoringError> {
    for (name, x, n) in [("x1", x1, n1), ("x2", x2, n2)] {
        if !(n > 0.0 && x >= 0.0 && x <= n) {
            return Err(ScoringError::parameter(
                name,
                format!("{x} successes out of {n} is impossible"),
            ));
        }
    }
    let p = (x1 + x2) / (n1 + n2);
    let se = (p * (1.0 - p) * (1.0 / n1 + 1.0 / n2)).sqrt();
    if se <= 0.0 {
        return Ok(None);
    }
    let z = (x1 / n1 - x2 / n2) / se;
    Ok(Some(TestResult {
        statistic: z,
        df: None,
        p_value: 2.0 * normal_cdf(-z.abs()),
    }))
}

/// Benjamini–Hochberg: adjusted p-values (q-values, in input order) and which
/// hypotheses are rejected at false discovery rate `level`.
///
/// ```text
/// q₍ᵢ₎ = min over j ≥ i of p₍ⱼ₎·m/j, capped at 1   (p sorted ascending)
/// ```
pub fn benjamini_hochberg(
    p_values: &[f64],
    level: f64,
) -> Result<(Vec<f64>, Vec<bool>), ScoringError> {
    if let Some(p) = p_values.iter().find(|p| !(0.0..=1.0).contains(*p)) {
        return Err(ScoringError::parameter(
            "p_values",
            format!("{p} is not a probability"),
        ));
    }
    let m = p_values.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p_values[a].total_cmp(&p_values[b]));
    let mut adjusted = vec![0.0; m];
    let mut running = 1.0f64;
    for (rank, &i) in order.iter().enumerate().rev() {
        running = running.min(p_values[i] * m as f64 / (rank as f64 + 1.0));
        adjusted[i] = running.min(1.0);
    }
    let rejected = adjusted.iter().map(|&q| q <= level).collect();
    Ok((adjusted, rejected))
}

/// z-test of the change between two independent estimates with standard errors
/// (e.g. an index this period and the last):
///
/// ```text
/// z = (a − b) / √(se_a² + se_b²),   p = 2·(1 − Φ(|z|))
/// ```
///
/// `None` when both standard errors are zero or not finite.
pub fn z_difference(a: f64, se_a: f64, b: f64, se_b: f64) -> Option<TestResult> {
    let se2 = se_a * se_a + se_b * se_b;
    if !(se2 > 0.0 && se2.is_finite() && a.is_finite() && b.is_finite()) {
        return None;
    }
    let z = (a - b) / se2.sqrt();
    Some(TestResult {
        statistic: z,
        df: None,
        p_value: (2.0 * (1.0 - crate::dist::normal_cdf(z.abs()))).clamp(0.0, 1.0),
    })
}

#[cfg(test)]
mod z_difference_tests {
    use super::*;

    #[test]
    fn a_change_of_two_standard_errors_is_p_0_0455() {
        // z = 2 → p = 2(1 − Φ(2)) = 0.0455003 (scipy.stats.norm.sf(2)·2).
        let r = z_difference(62.0, 0.6, 60.0, 0.8).expect("test");
        assert!((r.statistic - 2.0).abs() < 1e-12);
        assert!(
            (r.p_value - 0.045_500_263_896_358_4).abs() < 1e-9,
            "{}",
            r.p_value
        );
        assert!(z_difference(1.0, 0.0, 2.0, 0.0).is_none());
    }
}
