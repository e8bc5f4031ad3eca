//! Indicator weights: AHP (层次分析法) and the entropy weight method (熵权法).

use crate::error::ScoringError;

/// Saaty's random consistency index RI for n = 1..=15.
pub const SAATY_RI: [f64; 15] = [
    0.0, 0.0, 0.58, 0.90, 1.12, 1.24, 1.32, 1.41, 1.45, 1.49, 1.51, 1.48, 1.56, 1.57, 1.59,
];

/// Result of an AHP computation.
#[derive(Debug, Clone, PartialEq)]
pub struct Ahp {
    /// Normalised principal eigenvector (sums to 1).
    pub weights: Vec<f64>,
    /// Principal eigenvalue λmax.
    pub lambda_max: f64,
    /// Consistency index CI = (λmax − n)/(n − 1).
    pub ci: f64,
    /// Consistency ratio CR = CI/RI(n); 0 when RI(n) = 0 (n ≤ 2).
    pub cr: f64,
}

impl Ahp {
    /// Conventional acceptance: CR < 0.1.
    pub fn is_consistent(&self) -> bool {
        self.cr < 0.1
    }
}

/// AHP weights from a positive reciprocal pairwise comparison matrix `a` (row-major
/// n×n, `a[i][j]` = importance of i over j): w is the principal (Perron) eigenvector,
/// found by power iteration, λmax = mean of (Aw)ᵢ/wᵢ. `ri` gives RI(n) by index n − 1
/// (pass [`SAATY_RI`] for Saaty's table).
pub fn ahp(a: &[Vec<f64>], ri: &[f64]) -> Result<Ahp, ScoringError> {
    let n = a.len();
    if n == 0 {
        return Err(ScoringError::Empty);
    }
    for (i, row) in a.iter().enumerate() {
        if row.len() != n {
            return Err(ScoringError::InvalidMatrix {
                row: i + 1,
                column: row.len(),
                reason: format!("the matrix must be square ({n}×{n})"),
            });
        }
        for (j, &v) in row.iter().enumerate() {
            let bad = |reason: String| ScoringError::InvalidMatrix {
                row: i + 1,
                column: j + 1,
                reason,
            };
            if !(v.is_finite() && v > 0.0) {
                return Err(bad(format!("{v} is not a positive number")));
            }
            if i == j && (v - 1.0).abs() > 1e-9 {
                return Err(bad(format!("diagonal entries must be 1, got {v}")));
            }
            if (v * a[j][i] - 1.0).abs() > 1e-6 {
                return Err(bad(format!(
                    "not reciprocal: a[{i}][{j}]·a[{j}][{i}] = {}",
                    v * a[j][i]
                )));
            }
        }
    }
    let ri_n = *ri.get(n - 1).ok_or_else(|| {
        ScoringError::parameter(
            "ri",
            format!("no random index for n = {n} (table has {})", ri.len()),
        )
    })?;
    let mut w = vec![1.0 / n as f64; n];
    for _ in 0..10_000 {
        let mut next: Vec<f64> = (0..n)
            .map(|i| (0..n).map(|j| a[i][j] * w[j]).sum())
            .collect();
        let total: f64 = next.iter().sum();
        next.iter_mut().for_each(|v| *v /= total);
        let change = next
            .iter()
            .zip(&w)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max);
        w = next;
        if change < 1e-15 {
            break;
        }
    }
    let lambda_max = (0..n)
        .map(|i| (0..n).map(|j| a[i][j] * w[j]).sum::<f64>() / w[i])
        .sum::<f64>()
        / n as f64;
    let ci = if n > 1 {
        (lambda_max - n as f64) / (n as f64 - 1.0)
    } else {
        0.0
    };
    let cr = if ri_n > 0.0 { ci / ri_n } else { 0.0 };
    Ok(Ahp {
        weights: w,
        lambda_max,
        ci,
        cr,
    })
}

/// Whether more of an indicator is better (benefit) or worse (cost, e.g. complaints).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// More is better (satisfaction, pass rates).
    Benefit,
    /// Less is better (complaints, overdue tickets).
    Cost,
}

/// Result of the entropy weight method.
#[derive(Debug, Clone, PartialEq)]
pub struct Entropy {
    /// Entropy Eⱼ of each indicator (1 = no information).
    pub entropy: Vec<f64>,
    /// wⱼ = (1 − Eⱼ)/Σ(1 − E).
    pub weights: Vec<f64>,
}

/// Entropy weights for an m×n matrix (m units, n indicators):
///
/// ```text
/// zᵢⱼ = (xᵢⱼ − minⱼ)/(maxⱼ − minⱼ)   (cost: 1 − that)
/// pᵢⱼ = zᵢⱼ / Σᵢ zᵢⱼ
/// Eⱼ  = −Σᵢ pᵢⱼ ln pᵢⱼ / ln m          (0·ln 0 = 0)
/// wⱼ  = (1 − Eⱼ) / Σⱼ (1 − Eⱼ)
/// ```
///
/// An indicator equal for every unit carries no information: E = 1, weight 0.
pub fn entropy_weights(x: &[Vec<f64>], directions: &[Direction]) -> Result<Entropy, ScoringError> {
    let m = x.len();
    if m < 2 {
        return Err(ScoringError::parameter(
            "x",
            "at least two units are needed",
        ));
    }
    let n = directions.len();
    for (i, row) in x.iter().enumerate() {
        if row.len() != n {
            return Err(ScoringError::RowLength {
                row: i,
                expected: n,
                got: row.len(),
            });
        }
        if let Some(j) = row.iter().position(|v| !v.is_finite()) {
            return Err(ScoringError::InvalidMatrix {
                row: i + 1,
                column: j + 1,
                reason: "not a finite number".into(),
            });
        }
    }
    let ln_m = (m as f64).ln();
    let mut entropy = Vec::with_capacity(n);
    for (j, dir) in directions.iter().enumerate() {
        let min = x.iter().map(|r| r[j]).fold(f64::INFINITY, f64::min);
        let max = x.iter().map(|r| r[j]).fold(f64::NEG_INFINITY, f64::max);
        if max <= min {
            entropy.push(1.0);
            continue;
        }
        let z: Vec<f64> = x
            .iter()
            .map(|r| {
                let v = (r[j] - min) / (max - min);
                if *dir == Direction::Cost { 1.0 - v } else { v }
            })
            .collect();
        let total: f64 = z.iter().sum();
        let e = -z
            .iter()
            .map(|&v| v / total)
            .filter(|&p| p > 0.0)
            .map(|p| p * p.ln())
            .sum::<f64>()
            / ln_m;
        entropy.push(e);
    }
    let information: f64 = entropy.iter().map(|e| 1.0 - e).sum();
    let weights = if information > 0.0 {
        entropy.iter().map(|e| (1.0 - e) / information).collect()
    } else {
        vec![1.0 / n as f64; n]
    };
    Ok(Entropy { entropy, weights })
}
