//! Per-group survey estimates from respondent rows (group, weight, K Likert items).
//!
//! Definitions (identical to R `survey::svymean` with `ids = ~1` per group, and to
//! pingouin/psych for α):
//!
//! ```text
//! respondent score s = 100·(x̄ − 1)/4, x̄ = mean of answered items (reverse items 6 − x);
//!                      a respondent with no answered item is dropped
//! mean     m  = Σw·s / Σw
//! se          = √( n/(n−1) · Σ w²(s − m)² ) / Σw
//! CI          = m ∓ t(½ + c/2; n − 1)·se
//! n_eff       = (Σw)² / Σw²                                 (Kish)
//! top box  p  = Σ w·[s ≥ 75] / Σw, Wilson interval on n_eff
//! α           = k/(k−1)·(1 − Σ var(item) / var(total))      (complete rows, unweighted)
//! Feldt CI    = 1 − (1 − α)·F(1 − a/2 and a/2; n−1, (n−1)(k−1)),  a = 1 − c
//! EB mean     = B·m + (1 − B)·ḡ,  B = τ²/(τ² + se²),
//!               τ² = max(0, var(m over groups, ddof 1) − mean(se²)),
//!               ḡ = n_eff-weighted grand mean
//! rank        = competition rank of m, highest first (1224)
//! ```

use std::collections::HashMap;

use crate::dist::{f_quantile, normal_quantile, t_quantile};
use crate::error::{ScoringError, check_confidence};
use crate::proportion::wilson;
use crate::rank::competition_rank_desc;

/// Likert answers are 1..=5; 0 marks a missing answer in [`Responses`].
pub const MISSING: u8 = 0;

/// Respondent rows in columnar form.
#[derive(Debug, Clone, Default)]
pub struct Responses {
    k: usize,
    labels: Vec<String>,
    index: HashMap<String, u32>,
    group: Vec<u32>,
    weight: Vec<f64>,
    /// Row-major n × k answers, [`MISSING`] for blanks.
    items: Vec<u8>,
}

impl Responses {
    /// An empty set of responses with `k` items per respondent.
    pub fn new(k: usize) -> Result<Self, ScoringError> {
        if k == 0 {
            return Err(ScoringError::parameter("k", "at least one item is needed"));
        }
        Ok(Self {
            k,
            ..Self::default()
        })
    }

    /// An empty set with room for `rows` respondents.
    pub fn with_capacity(k: usize, rows: usize) -> Result<Self, ScoringError> {
        let mut r = Self::new(k)?;
        r.group.reserve(rows);
        r.weight.reserve(rows);
        r.items.reserve(rows * k);
        Ok(r)
    }

    pub fn items_per_row(&self) -> usize {
        self.k
    }

    pub fn len(&self) -> usize {
        self.weight.len()
    }

    pub fn is_empty(&self) -> bool {
        self.weight.is_empty()
    }

    /// The id of a group label, registering it on first sight.
    pub fn group_id(&mut self, label: &str) -> u32 {
        if let Some(&id) = self.index.get(label) {
            return id;
        }
        let id = self.labels.len() as u32;
        self.labels.push(label.to_owned());
        self.index.insert(label.to_owned(), id);
        id
    }

    /// Appends a respondent; `answers[j]` is `None` when item j was left blank.
    pub fn push(
        &mut self,
        group: &str,
        weight: f64,
        answers: &[Option<u8>],
    ) -> Result<(), ScoringError> {
        let row = self.len();
        if answers.len() != self.k {
            return Err(ScoringError::RowLength {
                row,
                expected: self.k,
                got: answers.len(),
            });
        }
        let mut coded = Vec::with_capacity(self.k);
        for (item, a) in answers.iter().enumerate() {
            coded.push(match a {
                None => MISSING,
                Some(v @ 1..=5) => *v,
                Some(v) => {
                    return Err(ScoringError::ItemOutOfRange {
                        row,
                        item,
                        value: i64::from(*v),
                    });
                }
            });
        }
        let id = self.group_id(group);
        self.push_coded(id, weight, &coded)
    }

    /// Appends a respondent whose answers are already coded (0 = missing, 1..=5).
    pub fn push_coded(
        &mut self,
        group: u32,
        weight: f64,
        coded: &[u8],
    ) -> Result<(), ScoringError> {
        let row = self.len();
        if coded.len() != self.k {
            return Err(ScoringError::RowLength {
                row,
                expected: self.k,
                got: coded.len(),
            });
        }
        if !(weight.is_finite() && weight >= 0.0) {
            return Err(ScoringError::InvalidWeight { row, value: weight });
        }
        if let Some(item) = coded.iter().position(|&v| v > 5) {
            return Err(ScoringError::ItemOutOfRange {
                row,
                item,
                value: i64::from(coded[item]),
            });
        }
        if group as usize >= self.labels.len() {
            return Err(ScoringError::parameter(
                "group",
                format!("unknown group id {group}"),
            ));
        }
        self.group.push(group);
        self.weight.push(weight);
        self.items.extend_from_slice(coded);
        Ok(())
    }
}

/// Settings of a per-group computation.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupOptions {
    /// Confidence level of every interval (default 0.95).
    pub confidence: f64,
    /// Groups with fewer respondents are flagged [`Flag::InsufficientSample`] (default 30).
    pub min_n: usize,
    /// Items scored in reverse (6 − x); empty means none.
    pub reverse: Vec<bool>,
    /// A respondent is in the top box when their 0–100 score is at least this (75).
    pub top_box_min: f64,
}

impl Default for GroupOptions {
    fn default() -> Self {
        Self {
            confidence: 0.95,
            min_n: 30,
            reverse: Vec::new(),
            top_box_min: 75.0,
        }
    }
}

/// Conditions that make an estimate unpublishable or partly undefined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Flag {
    /// Fewer respondents than `min_n`.
    InsufficientSample,
    /// No respondent answered any item (or all weights are zero): no estimates.
    NoAnswers,
    /// One respondent: no standard error, interval or shrinkage.
    SingleRespondent,
    /// Every respondent scored the same: standard error 0.
    ZeroVariance,
    /// Cronbach's α is undefined (fewer than 2 complete rows or items, or no variance).
    AlphaUndefined,
}

impl Flag {
    pub fn as_str(self) -> &'static str {
        match self {
            Flag::InsufficientSample => "insufficient_sample",
            Flag::NoAnswers => "no_answers",
            Flag::SingleRespondent => "single_respondent",
            Flag::ZeroVariance => "zero_variance",
            Flag::AlphaUndefined => "alpha_undefined",
        }
    }
}

/// Estimates for one group. `None` marks a value that is undefined for this group.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupScore {
    pub group: String,
    /// Respondents with at least one answer.
    pub n: u64,
    pub sum_w: f64,
    pub n_eff: Option<f64>,
    pub mean: Option<f64>,
    pub se: Option<f64>,
    pub ci_lo: Option<f64>,
    pub ci_hi: Option<f64>,
    pub topbox: Option<f64>,
    pub topbox_lo: Option<f64>,
    pub topbox_hi: Option<f64>,
    /// Complete rows used for α.
    pub alpha_n: u64,
    pub alpha: Option<f64>,
    pub alpha_lo: Option<f64>,
    pub alpha_hi: Option<f64>,
    pub eb_mean: Option<f64>,
    pub rank: Option<u32>,
    pub flags: Vec<Flag>,
}

/// Per-group running sums of pass 1.
#[derive(Debug, Clone, Default)]
struct Sums {
    n: u64,
    w: f64,
    w2: f64,
    ws: f64,
    w_top: f64,
    /// Σ w²(s − m)², filled in pass 2.
    w2r2: f64,
    complete: u64,
    total: u64,
    total2: u64,
}

/// Computes the estimates of every group, in label order.
pub fn score_groups(
    responses: &Responses,
    options: &GroupOptions,
) -> Result<Vec<GroupScore>, ScoringError> {
    check_confidence(options.confidence)?;
    let k = responses.k;
    if responses.is_empty() {
        return Err(ScoringError::Empty);
    }
    if !options.reverse.is_empty() && options.reverse.len() != k {
        return Err(ScoringError::LengthMismatch {
            what: "reverse flags and items",
            left: options.reverse.len(),
            right: k,
        });
    }
    if !options.top_box_min.is_finite() {
        return Err(ScoringError::parameter("top_box_min", "must be finite"));
    }
    let g = responses.labels.len();
    // Recode table: value → scored value (reverse items 6 − x), 0 stays missing.
    let recode: Vec<[u8; 6]> = (0..k)
        .map(|j| {
            if options.reverse.get(j).copied().unwrap_or(false) {
                [0, 5, 4, 3, 2, 1]
            } else {
                [0, 1, 2, 3, 4, 5]
            }
        })
        .collect();

    let mut sums = vec![Sums::default(); g];
    // Per group and item: Σx and Σx² over complete rows (exact integers).
    let mut item_sum = vec![0u64; g * k];
    let mut item_sum2 = vec![0u64; g * k];
    let mut scores = vec![f64::NAN; responses.len()];
    let mut row_vals = vec![0u8; k];

    for (i, row) in responses.items.chunks_exact(k).enumerate() {
        let mut answered = 0u32;
        let mut total = 0u32;
        for (j, &v) in row.iter().enumerate() {
            let x = recode[j][v as usize];
            row_vals[j] = x;
            answered += u32::from(x != MISSING);
            total += u32::from(x);
        }
        if answered == 0 {
            continue;
        }
        let gi = responses.group[i] as usize;
        let w = responses.weight[i];
        // 25·(Σx − c)/c: exact integer numerator, one rounding.
        let s = 25.0 * f64::from(total - answered) / f64::from(answered);
        scores[i] = s;
        let acc = &mut sums[gi];
        acc.n += 1;
        acc.w += w;
        acc.w2 += w * w;
        acc.ws += w * s;
        if s >= options.top_box_min {
            acc.w_top += w;
        }
        if answered as usize == k {
            acc.complete += 1;
            acc.total += u64::from(total);
            acc.total2 += u64::from(total) * u64::from(total);
            let base = gi * k;
            for (j, &x) in row_vals.iter().enumerate() {
                item_sum[base + j] += u64::from(x);
                item_sum2[base + j] += u64::from(x) * u64::from(x);
            }
        }
    }

    let means: Vec<Option<f64>> = sums
        .iter()
        .map(|a| (a.n > 0 && a.w > 0.0).then(|| a.ws / a.w))
        .collect();
    // Pass 2: residuals around the group mean (no cancellation).
    for (i, &s) in scores.iter().enumerate() {
        if s.is_nan() {
            continue;
        }
        let gi = responses.group[i] as usize;
        if let Some(m) = means[gi] {
            let w = responses.weight[i];
            let r = s - m;
            sums[gi].w2r2 += w * w * r * r;
        }
    }

    let conf = options.confidence;
    let z = normal_quantile(0.5 + conf / 2.0);
    let mut out: Vec<GroupScore> = Vec::with_capacity(g);
    for (gi, a) in sums.iter().enumerate() {
        let mut flags = Vec::new();
        if (a.n as usize) < options.min_n {
            flags.push(Flag::InsufficientSample);
        }
        let mean = means[gi];
        if mean.is_none() {
            flags.push(Flag::NoAnswers);
        }
        let n_eff = (a.w2 > 0.0).then(|| a.w * a.w / a.w2);
        let se = match mean {
            Some(_) if a.n >= 2 => {
                let n = a.n as f64;
                Some((n / (n - 1.0) * a.w2r2).sqrt() / a.w)
            }
            Some(_) => {
                flags.push(Flag::SingleRespondent);
                None
            }
            None => None,
        };
        if se == Some(0.0) {
            flags.push(Flag::ZeroVariance);
        }
        let (ci_lo, ci_hi) = match (mean, se) {
            (Some(m), Some(se)) => {
                let t = t_quantile(0.5 + conf / 2.0, a.n as f64 - 1.0);
                (Some(m - t * se), Some(m + t * se))
            }
            _ => (None, None),
        };
        let topbox = mean.map(|_| a.w_top / a.w);
        let (topbox_lo, topbox_hi) = match (topbox, n_eff) {
            (Some(p), Some(ne)) => match wilson(p, ne, z) {
                Some((lo, hi)) => (Some(lo), Some(hi)),
                None => (None, None),
            },
            _ => (None, None),
        };
        let (alpha, alpha_lo, alpha_hi) = cronbach(
            a,
            &item_sum[gi * k..(gi + 1) * k],
            &item_sum2[gi * k..(gi + 1) * k],
            k,
            conf,
        );
        if alpha.is_none() {
            flags.push(Flag::AlphaUndefined);
        }
        out.push(GroupScore {
            group: responses.labels[gi].clone(),
            n: a.n,
            sum_w: a.w,
            n_eff,
            mean,
            se,
            ci_lo,
            ci_hi,
            topbox,
            topbox_lo,
            topbox_hi,
            alpha_n: a.complete,
            alpha,
            alpha_lo,
            alpha_hi,
            eb_mean: None,
            rank: None,
            flags,
        });
    }
    shrink(&mut out);
    let ranks = competition_rank_desc(&out.iter().map(|s| s.mean).collect::<Vec<_>>());
    for (s, r) in out.iter_mut().zip(ranks) {
        s.rank = r;
    }
    out.sort_by(|x, y| x.group.cmp(&y.group));
    Ok(out)
}

/// Sample variance from exact integer sums: (nΣx² − (Σx)²) / (n(n − 1)).
fn int_variance(n: u64, sum: u64, sum2: u64) -> f64 {
    let n128 = u128::from(n);
    let num = n128 * u128::from(sum2) - u128::from(sum) * u128::from(sum);
    num as f64 / (n as f64 * (n as f64 - 1.0))
}

/// Cronbach's α over complete rows with its Feldt interval.
fn cronbach(
    a: &Sums,
    sums: &[u64],
    sums2: &[u64],
    k: usize,
    conf: f64,
) -> (Option<f64>, Option<f64>, Option<f64>) {
    if k < 2 || a.complete < 2 {
        return (None, None, None);
    }
    let var_total = int_variance(a.complete, a.total, a.total2);
    if var_total <= 0.0 {
        return (None, None, None);
    }
    let sum_var: f64 = sums
        .iter()
        .zip(sums2)
        .map(|(&s, &s2)| int_variance(a.complete, s, s2))
        .sum();
    let kf = k as f64;
    let alpha = kf / (kf - 1.0) * (1.0 - sum_var / var_total);
    let d1 = a.complete as f64 - 1.0;
    let d2 = d1 * (kf - 1.0);
    let tail = (1.0 - conf) / 2.0;
    let lo = 1.0 - (1.0 - alpha) * f_quantile(1.0 - tail, d1, d2);
    let hi = 1.0 - (1.0 - alpha) * f_quantile(tail, d1, d2);
    let finite = |v: f64| v.is_finite().then_some(v);
    (finite(alpha), finite(lo), finite(hi))
}

/// Empirical-Bayes (method of moments) shrinkage toward the n_eff-weighted grand mean,
/// over the groups that have a standard error.
fn shrink(scores: &mut [GroupScore]) {
    let usable: Vec<usize> = (0..scores.len())
        .filter(|&i| {
            scores[i].mean.is_some() && scores[i].se.is_some() && scores[i].n_eff.is_some()
        })
        .collect();
    if usable.is_empty() {
        return;
    }
    let (mut num, mut den) = (0.0, 0.0);
    for &i in &usable {
        let ne = scores[i].n_eff.unwrap_or(0.0);
        num += scores[i].mean.unwrap_or(0.0) * ne;
        den += ne;
    }
    let grand = num / den;
    let g = usable.len() as f64;
    let tau2 = if usable.len() > 1 {
        let mean_of_means = usable
            .iter()
            .map(|&i| scores[i].mean.unwrap_or(0.0))
            .sum::<f64>()
            / g;
        let var_means = usable
            .iter()
            .map(|&i| (scores[i].mean.unwrap_or(0.0) - mean_of_means).powi(2))
            .sum::<f64>()
            / (g - 1.0);
        let mean_se2 = usable
            .iter()
            .map(|&i| scores[i].se.unwrap_or(0.0).powi(2))
            .sum::<f64>()
            / g;
        (var_means - mean_se2).max(0.0)
    } else {
        0.0
    };
    for &i in &usable {
        let m = scores[i].mean.unwrap_or(0.0);
        let se2 = scores[i].se.unwrap_or(0.0).powi(2);
        let b = if tau2 > 0.0 { tau2 / (tau2 + se2) } else { 0.0 };
        let eb = b * m + (1.0 - b) * grand;
        scores[i].eb_mean = eb.is_finite().then_some(eb);
    }
}
