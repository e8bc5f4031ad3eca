//! Competition ranking ("1224"): ties share the smallest rank.

/// Values this close (relative to their size, at least 1) are tied: means that are
/// equal in exact arithmetic can differ in the last bits after rounding, and a
/// published ranking must not depend on that.
pub const TIE_TOLERANCE: f64 = 1e-9;

/// Ranks values highest first; `None` values get no rank and do not count. A value
/// within [`TIE_TOLERANCE`] of the first value of the current tie shares its rank.
pub fn competition_rank_desc(values: &[Option<f64>]) -> Vec<Option<u32>> {
    let mut order: Vec<(usize, f64)> = values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.filter(|x| x.is_finite()).map(|x| (i, x)))
        .collect();
    order.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut ranks = vec![None; values.len()];
    // (value that opened the current tie, its rank)
    let mut leader: Option<(f64, u32)> = None;
    for (position, (i, v)) in order.into_iter().enumerate() {
        let rank = match leader {
            Some((lv, lr)) if lv - v <= TIE_TOLERANCE * lv.abs().max(1.0) => lr,
            _ => {
                let r = position as u32 + 1;
                leader = Some((v, r));
                r
            }
        };
        ranks[i] = Some(rank);
    }
    ranks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_equal_up_to_rounding_tie() {
        let a = 0.1 + 0.2;
        let r = competition_rank_desc(&[Some(a), Some(0.3), Some(0.2)]);
        assert_eq!(r, vec![Some(1), Some(1), Some(3)]);
    }

    #[test]
    fn ties_share_the_smallest_rank() {
        let r = competition_rank_desc(&[Some(3.0), Some(5.0), Some(3.0), None, Some(1.0)]);
        assert_eq!(r, vec![Some(2), Some(1), Some(2), None, Some(4)]);
    }
}
