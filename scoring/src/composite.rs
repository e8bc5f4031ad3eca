//! The composite index: a weighted sum of indicator scores with its variance.

use crate::error::ScoringError;

/// One indicator's contribution.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Component {
    /// Weight in the model (weights need not be normalised).
    pub weight: f64,
    /// Score on 0–100, or `None` when the indicator is missing for this unit.
    pub score: Option<f64>,
    /// Sampling variance of the score; `None` for exact (non-statistical) indicators.
    pub variance: Option<f64>,
}

/// A composite score.
#[derive(Debug, Clone, PartialEq)]
pub struct Composite {
    /// Σ Wᵢ·scoreᵢ over present indicators, with Wᵢ = weightᵢ / Σ present weights.
    pub score: f64,
    /// Σ Wᵢ²·Varᵢ (independent sources).
    pub variance: f64,
    /// √variance.
    pub se: f64,
    /// The weights used, renormalised over the present indicators (0 for missing).
    pub weights_used: Vec<f64>,
    /// Indices of the missing indicators.
    pub missing: Vec<usize>,
}

/// Combines indicators, renormalising weights over those present. `None` when every
/// indicator with positive weight is missing.
pub fn composite(components: &[Component]) -> Result<Option<Composite>, ScoringError> {
    if components.is_empty() {
        return Err(ScoringError::Empty);
    }
    for c in components {
        if !(c.weight.is_finite() && c.weight >= 0.0) {
            return Err(ScoringError::parameter(
                "weight",
                format!("{} is not a finite, non-negative weight", c.weight),
            ));
        }
        if c.score.is_some_and(|s| !s.is_finite())
            || c.variance.is_some_and(|v| !(v.is_finite() && v >= 0.0))
        {
            return Err(ScoringError::parameter(
                "score",
                "scores and variances must be finite (variance ≥ 0)",
            ));
        }
    }
    let missing: Vec<usize> = components
        .iter()
        .enumerate()
        .filter(|(_, c)| c.score.is_none())
        .map(|(i, _)| i)
        .collect();
    let present_weight: f64 = components
        .iter()
        .filter(|c| c.score.is_some())
        .map(|c| c.weight)
        .sum();
    if present_weight <= 0.0 {
        return Ok(None);
    }
    let weights_used: Vec<f64> = components
        .iter()
        .map(|c| {
            if c.score.is_some() {
                c.weight / present_weight
            } else {
                0.0
            }
        })
        .collect();
    let score = components
        .iter()
        .zip(&weights_used)
        .map(|(c, w)| w * c.score.unwrap_or(0.0))
        .sum();
    let variance: f64 = components
        .iter()
        .zip(&weights_used)
        .map(|(c, w)| w * w * c.variance.unwrap_or(0.0))
        .sum();
    Ok(Some(Composite {
        score,
        variance,
        se: variance.sqrt(),
        weights_used,
        missing,
    }))
}
