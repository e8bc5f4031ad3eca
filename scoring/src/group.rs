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

    /// K, the number of items per respondent.
    pub fn items_per_row(&self) -> usize {
        self.k
    }

    /// Number of respondent rows.
    pub fn len(&self) -> usize {
        self.weight.len()
    }

    /// Whether there are no rows.
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
    /// Worker threads for large inputs; 0 uses one per core. Results are identical
    /// for any number of threads.
    pub threads: usize,
}

impl Default for GroupOptions {
    fn default() -> Self {
        Self {
            confidence: 0.95,
            min_n: 30,
            reverse: Vec::new(),
            top_box_min: 75.0,
            threads: 0,
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
    /// The flag's snake_case name, as published.
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
    /// The group's label.
    pub group: String,
    /// Respondents with at least one answer.
    pub n: u64,
    /// Σw.
    pub sum_w: f64,
    /// Kish effective sample size (Σw)²/Σw².
    pub n_eff: Option<f64>,
    /// Weighted mean score on 0–100.
    pub mean: Option<f64>,
    /// Design standard error (R `svymean`).
    pub se: Option<f64>,
    /// Lower end of the Student-t interval.
    pub ci_lo: Option<f64>,
    /// Upper end of the Student-t interval.
    pub ci_hi: Option<f64>,
    /// Weighted share of respondents scoring at least `top_box_min`.
    pub topbox: Option<f64>,
    /// Lower end of its Wilson interval on n_eff.
    pub topbox_lo: Option<f64>,
    /// Upper end of its Wilson interval on n_eff.
    pub topbox_hi: Option<f64>,
    /// Complete rows used for α.
    pub alpha_n: u64,
    /// Cronbach's α (complete rows, unweighted).
    pub alpha: Option<f64>,
    /// Lower end of the Feldt interval.
    pub alpha_lo: Option<f64>,
    /// Upper end of the Feldt interval.
    pub alpha_hi: Option<f64>,
    /// Empirical-Bayes shrunk mean.
    pub eb_mean: Option<f64>,
    /// Competition rank of the mean, highest first.
    pub rank: Option<u32>,
    /// Conditions that limit the estimates.
    pub flags: Vec<Flag>,
}

/// Per-group floating-point sums of one chunk (merged in chunk order, so results do
/// not depend on the number of threads).
#[derive(Debug, Clone, Copy, Default)]
struct FloatSums {
    w: f64,
    w2: f64,
    ws: f64,
    w_top: f64,
}

/// Per-group integer counts (exact, merged in any order).
#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    n: u64,
    complete: u64,
    total: u64,
    total2: u64,
}

/// Rows per chunk: the unit of parallel work and of deterministic merging.
const CHUNK: usize = 1 << 16;

/// Partial results of pass 1 over some chunks.
struct Pass1 {
    /// `floats[c * g + group]` for chunk c.
    floats: Vec<FloatSums>,
    counts: Vec<Counts>,
    /// `item_sums[group * k + item]`: Σx and Σx² over complete rows.
    item_sum: Vec<u64>,
    item_sum2: Vec<u64>,
}

struct Setup<'a> {
    responses: &'a Responses,
    table: ScoreTable,
    recode: Option<Vec<[u8; 6]>>,
    top_box_min: f64,
    g: usize,
    chunks: usize,
}

/// Packs a respondent's answered count and total: `answered << 16 | total`, 0 when
/// the respondent answered nothing.
fn row_code(answered: u32, total: u32) -> u32 {
    (answered << 16) | total
}

/// The 0–100 score of a packed row: 25·(Σx − c)/c, an exact integer numerator and one
/// rounding.
fn row_score(code: u32) -> f64 {
    let answered = code >> 16;
    let total = code & 0xFFFF;
    25.0 * f64::from(total - answered) / f64::from(answered)
}

/// Every possible score, indexed by (answered, total): a table lookup instead of a
/// division per row, with bit-identical values.
struct ScoreTable {
    stride: usize,
    values: Vec<f64>,
}

impl ScoreTable {
    fn new(k: usize) -> Self {
        let stride = 5 * k + 1;
        let mut values = vec![f64::NAN; (k + 1) * stride];
        for answered in 1..=k {
            for total in answered..=5 * answered {
                values[answered * stride + total] =
                    row_score(row_code(answered as u32, total as u32));
            }
        }
        Self { stride, values }
    }

    #[inline(always)]
    fn get(&self, code: u32) -> f64 {
        self.values[(code >> 16) as usize * self.stride + (code & 0xFFFF) as usize]
    }
}

/// Pass 1 over the given chunks: packed row codes (written to `codes`), sums, counts
/// and the complete-row item sums.
fn pass1(setup: &Setup<'_>, codes: &mut [(usize, &mut [u32])]) -> Pass1 {
    let r = setup.responses;
    let (k, g) = (r.k, setup.g);
    let mut out = Pass1 {
        floats: vec![FloatSums::default(); setup.chunks * g],
        counts: vec![Counts::default(); g],
        item_sum: vec![0; g * k],
        item_sum2: vec![0; g * k],
    };
    let mut coded = vec![0u8; k];
    // Per-chunk u32 sums (at most 65,536 rows × 25 fit), flushed into u64 per chunk.
    let mut sum = vec![0u32; g * k];
    let mut sum2 = vec![0u32; g * k];
    for (chunk, chunk_codes) in codes.iter_mut() {
        let chunk = *chunk;
        let first = chunk * CHUNK;
        let floats = &mut out.floats[chunk * g..(chunk + 1) * g];
        for (offset, code) in chunk_codes.iter_mut().enumerate() {
            let i = first + offset;
            let raw = &r.items[i * k..(i + 1) * k];
            let row: &[u8] = match &setup.recode {
                None => raw,
                Some(table) => {
                    for (j, &v) in raw.iter().enumerate() {
                        coded[j] = table[j][v as usize];
                    }
                    &coded
                }
            };
            let mut answered = 0u32;
            let mut total = 0u32;
            for &x in row {
                answered += u32::from(x != MISSING);
                total += u32::from(x);
            }
            if answered == 0 {
                *code = 0;
                continue;
            }
            *code = row_code(answered, total);
            let gi = r.group[i] as usize;
            let w = r.weight[i];
            let s = setup.table.get(*code);
            let f = &mut floats[gi];
            f.w += w;
            f.w2 += w * w;
            f.ws += w * s;
            // Branch-free: the top-box test is a coin flip for the branch predictor.
            f.w_top += if s >= setup.top_box_min { w } else { 0.0 };
            let c = &mut out.counts[gi];
            c.n += 1;
            if answered as usize == k {
                c.complete += 1;
                c.total += u64::from(total);
                c.total2 += u64::from(total) * u64::from(total);
                let base = gi * k;
                for ((acc, acc2), &x) in sum[base..base + k]
                    .iter_mut()
                    .zip(&mut sum2[base..base + k])
                    .zip(row)
                {
                    let x = u32::from(x);
                    *acc += x;
                    *acc2 += x * x;
                }
            }
        }
        for (((total, total2), s), s2) in out
            .item_sum
            .iter_mut()
            .zip(&mut out.item_sum2)
            .zip(&mut sum)
            .zip(&mut sum2)
        {
            *total += u64::from(*s);
            *total2 += u64::from(*s2);
            *s = 0;
            *s2 = 0;
        }
    }
    out
}

/// Pass 2 over some chunks: Σ w²(s − m)² per group and chunk.
fn pass2(setup: &Setup<'_>, means: &[Option<f64>], codes: &[(usize, &[u32])]) -> Vec<f64> {
    let (r, g, chunks) = (setup.responses, setup.g, setup.chunks);
    let mut acc = vec![0.0; chunks * g];
    for (chunk, chunk_codes) in codes {
        let first = chunk * CHUNK;
        let out = &mut acc[chunk * g..(chunk + 1) * g];
        for (offset, &code) in chunk_codes.iter().enumerate() {
            if code == 0 {
                continue;
            }
            let i = first + offset;
            let gi = r.group[i] as usize;
            if let Some(m) = means[gi] {
                let w = r.weight[i];
                let d = setup.table.get(code) - m;
                out[gi] += w * w * d * d;
            }
        }
    }
    acc
}

/// Number of worker threads for `rows` rows.
fn workers_for(rows: usize, max_threads: usize) -> usize {
    if rows < 4 * CHUNK {
        return 1;
    }
    let cores = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(16);
    if max_threads == 0 {
        cores
    } else {
        cores.min(max_threads)
    }
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
    let rows = responses.len();
    let chunks = rows.div_ceil(CHUNK);
    // Recode table: value → scored value (reverse items 6 − x), 0 stays missing.
    let recode = options.reverse.iter().any(|&r| r).then(|| {
        (0..k)
            .map(|j| {
                if options.reverse[j] {
                    [0, 5, 4, 3, 2, 1]
                } else {
                    [0, 1, 2, 3, 4, 5]
                }
            })
            .collect::<Vec<[u8; 6]>>()
    });
    let setup = Setup {
        responses,
        table: ScoreTable::new(k),
        recode,
        top_box_min: options.top_box_min,
        g,
        chunks,
    };
    let workers = workers_for(rows, options.threads);
    let mut codes = vec![0u32; rows];
    // Chunk c goes to worker c % workers.
    let mut per_worker: Vec<Vec<(usize, &mut [u32])>> = (0..workers).map(|_| Vec::new()).collect();
    for (c, slice) in codes.chunks_mut(CHUNK).enumerate() {
        per_worker[c % workers].push((c, slice));
    }
    let partials: Vec<Pass1> = if workers == 1 {
        per_worker
            .into_iter()
            .map(|mut mine| pass1(&setup, &mut mine))
            .collect()
    } else {
        std::thread::scope(|scope| {
            let handles: Vec<_> = per_worker
                .into_iter()
                .map(|mut mine| {
                    let setup = &setup;
                    scope.spawn(move || pass1(setup, &mut mine))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("scoring worker panicked"))
                .collect()
        })
    };

    // Merge: floats in chunk order, integers in any order.
    let mut floats = vec![FloatSums::default(); g];
    for c in 0..chunks {
        let part = &partials[c % workers].floats[c * g..(c + 1) * g];
        for (acc, f) in floats.iter_mut().zip(part) {
            acc.w += f.w;
            acc.w2 += f.w2;
            acc.ws += f.ws;
            acc.w_top += f.w_top;
        }
    }
    let mut counts = vec![Counts::default(); g];
    let mut item_sum = vec![0u64; g * k];
    let mut item_sum2 = vec![0u64; g * k];
    for p in &partials {
        for (acc, c) in counts.iter_mut().zip(&p.counts) {
            acc.n += c.n;
            acc.complete += c.complete;
            acc.total += c.total;
            acc.total2 += c.total2;
        }
        for (acc, v) in item_sum.iter_mut().zip(&p.item_sum) {
            *acc += v;
        }
        for (acc, v) in item_sum2.iter_mut().zip(&p.item_sum2) {
            *acc += v;
        }
    }
    drop(partials);

    // Clamped: a weighted mean of scores on 0–100 can overshoot by an ulp.
    let means: Vec<Option<f64>> = (0..g)
        .map(|gi| {
            (counts[gi].n > 0 && floats[gi].w > 0.0)
                .then(|| (floats[gi].ws / floats[gi].w).clamp(0.0, 100.0))
        })
        .collect();
    // Pass 2: residuals around the group means (no cancellation).
    let mut per_worker: Vec<Vec<(usize, &[u32])>> = (0..workers).map(|_| Vec::new()).collect();
    for (c, slice) in codes.chunks(CHUNK).enumerate() {
        per_worker[c % workers].push((c, slice));
    }
    let residuals: Vec<Vec<f64>> = if workers == 1 {
        per_worker
            .iter()
            .map(|mine| pass2(&setup, &means, mine))
            .collect()
    } else {
        std::thread::scope(|scope| {
            let handles: Vec<_> = per_worker
                .iter()
                .map(|mine| {
                    let (setup, means) = (&setup, &means);
                    scope.spawn(move || pass2(setup, means, mine))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("scoring worker panicked"))
                .collect()
        })
    };
    let mut w2r2 = vec![0.0; g];
    for c in 0..chunks {
        for (acc, v) in w2r2
            .iter_mut()
            .zip(&residuals[c % workers][c * g..(c + 1) * g])
        {
            *acc += v;
        }
    }

    let conf = options.confidence;
    let z = normal_quantile(0.5 + conf / 2.0);
    let mut t_cache: HashMap<u64, f64> = HashMap::new();
    let mut out: Vec<GroupScore> = Vec::with_capacity(g);
    for gi in 0..g {
        let (f, c) = (&floats[gi], &counts[gi]);
        let mut flags = Vec::new();
        if (c.n as usize) < options.min_n {
            flags.push(Flag::InsufficientSample);
        }
        let mean = means[gi];
        if mean.is_none() {
            flags.push(Flag::NoAnswers);
        }
        let n_eff = (f.w2 > 0.0).then(|| f.w * f.w / f.w2);
        let se = match mean {
            Some(_) if c.n >= 2 => {
                let n = c.n as f64;
                Some((n / (n - 1.0) * w2r2[gi]).sqrt() / f.w)
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
                let t = *t_cache
                    .entry(c.n)
                    .or_insert_with(|| t_quantile(0.5 + conf / 2.0, c.n as f64 - 1.0));
                (Some(m - t * se), Some(m + t * se))
            }
            _ => (None, None),
        };
        let topbox = mean.map(|_| f.w_top / f.w);
        let (topbox_lo, topbox_hi) = match (topbox, n_eff) {
            (Some(p), Some(ne)) => match wilson(p, ne, z) {
                Some((lo, hi)) => (Some(lo), Some(hi)),
                None => (None, None),
            },
            _ => (None, None),
        };
        let items = gi * k..(gi + 1) * k;
        let (alpha, alpha_lo, alpha_hi) =
            cronbach(c, &item_sum[items.clone()], &item_sum2[items], k, conf);
        if alpha.is_none() {
            flags.push(Flag::AlphaUndefined);
        }
        out.push(GroupScore {
            group: responses.labels[gi].clone(),
            n: c.n,
            sum_w: f.w,
            n_eff,
            mean,
            se,
            ci_lo,
            ci_hi,
            topbox,
            topbox_lo,
            topbox_hi,
            alpha_n: c.complete,
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

/// Cronbach's α over complete rows with its Feldt interval, from exact per-item sums.
fn cronbach(
    c: &Counts,
    sums: &[u64],
    sums2: &[u64],
    k: usize,
    conf: f64,
) -> (Option<f64>, Option<f64>, Option<f64>) {
    if k < 2 || c.complete < 2 {
        return (None, None, None);
    }
    let var_total = int_variance(c.complete, c.total, c.total2);
    if var_total <= 0.0 {
        return (None, None, None);
    }
    let sum_var: f64 = sums
        .iter()
        .zip(sums2)
        .map(|(&s, &s2)| int_variance(c.complete, s, s2))
        .sum();
    let kf = k as f64;
    let alpha = kf / (kf - 1.0) * (1.0 - sum_var / var_total);
    let d1 = c.complete as f64 - 1.0;
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
