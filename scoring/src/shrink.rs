//! Empirical-Bayes shrinkage of unit estimates toward their grand mean.

/// Method-of-moments empirical Bayes: with the units' estimates mᵢ, standard errors
/// sᵢ and weights wᵢ (e.g. n_eff, or 1 each),
///
/// ```text
/// grand = Σ wᵢmᵢ / Σ wᵢ
/// τ²    = max(0, var(m) − mean(s²))        (var with g − 1; 0 for one unit)
/// Bᵢ    = τ² / (τ² + sᵢ²)                   (0 when τ² = 0)
/// ebᵢ   = Bᵢ·mᵢ + (1 − Bᵢ)·grand
/// ```
///
/// Units without an estimate or a standard error get `None` and do not count.
pub fn eb_shrink(estimates: &[Option<(f64, f64)>], weights: &[f64]) -> Vec<Option<f64>> {
    let usable: Vec<usize> = (0..estimates.len())
        .filter(|&i| {
            estimates[i].is_some_and(|(m, s)| m.is_finite() && s.is_finite())
                && weights.get(i).is_some_and(|w| w.is_finite() && *w > 0.0)
        })
        .collect();
    let mut out = vec![None; estimates.len()];
    if usable.is_empty() {
        return out;
    }
    let est = |i: usize| estimates[i].unwrap_or((0.0, 0.0));
    let (mut num, mut den) = (0.0, 0.0);
    for &i in &usable {
        num += est(i).0 * weights[i];
        den += weights[i];
    }
    let grand = num / den;
    let g = usable.len() as f64;
    let tau2 = if usable.len() > 1 {
        let mean_of_means = usable.iter().map(|&i| est(i).0).sum::<f64>() / g;
        let var_means = usable
            .iter()
            .map(|&i| (est(i).0 - mean_of_means).powi(2))
            .sum::<f64>()
            / (g - 1.0);
        let mean_se2 = usable.iter().map(|&i| est(i).1.powi(2)).sum::<f64>() / g;
        (var_means - mean_se2).max(0.0)
    } else {
        0.0
    };
    for &i in &usable {
        let (m, s) = est(i);
        let b = if tau2 > 0.0 {
            tau2 / (tau2 + s * s)
        } else {
            0.0
        };
        let eb = b * m + (1.0 - b) * grand;
        out[i] = eb.is_finite().then_some(eb);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_units_move_most_toward_the_grand_mean() {
        // Means 60, 70, 80 (var 100), se 2, 2, 10 → mean s² = 36, τ² = 64.
        let eb = eb_shrink(
            &[
                Some((60.0, 2.0)),
                Some((70.0, 2.0)),
                Some((80.0, 10.0)),
                None,
            ],
            &[1.0; 4],
        );
        let b_small = 64.0 / (64.0 + 4.0);
        let b_large = 64.0 / (64.0 + 100.0);
        let near = |a: Option<f64>, b: f64| assert!((a.expect("eb") - b).abs() < 1e-12);
        near(eb[0], b_small * 60.0 + (1.0 - b_small) * 70.0);
        near(eb[2], b_large * 80.0 + (1.0 - b_large) * 70.0);
        assert_eq!(eb[3], None);
        // No spread beyond noise: everything at the grand mean.
        let flat = eb_shrink(&[Some((70.0, 5.0)), Some((71.0, 5.0))], &[1.0, 1.0]);
        near(flat[0], 70.5);
    }
}
