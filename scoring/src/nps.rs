//! Net Promoter Score from 0–10 answers.

use crate::error::ScoringError;

/// NPS on −100..100 with its standard error.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Nps {
    /// 100·(P − D).
    pub nps: f64,
    /// Weighted share P of answers 9–10.
    pub promoters: f64,
    /// Weighted share D of answers 0–6.
    pub detractors: f64,
    /// 100·√((P + D − (P − D)²)/n_eff): the SE of the mean of +1/0/−1 codes.
    pub se: f64,
    /// Kish effective sample size of the answers.
    pub n_eff: f64,
}

/// NPS of weighted answers (promoters 9–10, detractors 0–6). `None` without answers.
pub fn nps(answers: &[(u8, f64)]) -> Result<Option<Nps>, ScoringError> {
    let (mut w, mut w2, mut wp, mut wd) = (0.0, 0.0, 0.0, 0.0);
    for (row, &(score, weight)) in answers.iter().enumerate() {
        if score > 10 {
            return Err(ScoringError::ItemOutOfRange {
                row,
                item: 0,
                value: i64::from(score),
            });
        }
        if !(weight.is_finite() && weight >= 0.0) {
            return Err(ScoringError::InvalidWeight { row, value: weight });
        }
        w += weight;
        w2 += weight * weight;
        if score >= 9 {
            wp += weight;
        } else if score <= 6 {
            wd += weight;
        }
    }
    if w <= 0.0 {
        return Ok(None);
    }
    let (p, d) = (wp / w, wd / w);
    let n_eff = w * w / w2;
    let var = (p + d - (p - d).powi(2)).max(0.0);
    Ok(Some(Nps {
        nps: 100.0 * (p - d),
        promoters: p,
        detractors: d,
        se: 100.0 * (var / n_eff).sqrt(),
        n_eff,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nps_counts_promoters_minus_detractors() {
        let answers: Vec<(u8, f64)> = [10, 9, 8, 7, 6, 0, 10, 9, 5, 10]
            .iter()
            .map(|&s| (s, 1.0))
            .collect();
        let r = nps(&answers).unwrap().unwrap();
        assert!((r.nps - 20.0).abs() < 1e-12);
        // P = .5, D = .3: var = .8 − .04 = .76 → se = 100·√(.076)
        assert!((r.se - 100.0 * 0.076f64.sqrt()).abs() < 1e-12);
        assert!(nps(&[]).unwrap().is_none());
        assert!(nps(&[(11, 1.0)]).is_err());
    }
}
