//! Competition ranking ("1224"): ties share the smallest rank.

/// Ranks values highest first; `None` values get no rank and do not count.
pub fn competition_rank_desc(values: &[Option<f64>]) -> Vec<Option<u32>> {
    let mut order: Vec<(usize, f64)> = values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.filter(|x| x.is_finite()).map(|x| (i, x)))
        .collect();
    order.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut ranks = vec![None; values.len()];
    let mut previous: Option<(f64, u32)> = None;
    for (position, (i, v)) in order.into_iter().enumerate() {
        let rank = match previous {
            Some((pv, pr)) if pv == v => pr,
            _ => position as u32 + 1,
        };
        ranks[i] = Some(rank);
        previous = Some((v, rank));
    }
    ranks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_share_the_smallest_rank() {
        let r = competition_rank_desc(&[Some(3.0), Some(5.0), Some(3.0), None, Some(1.0)]);
        assert_eq!(r, vec![Some(2), Some(1), Some(2), None, Some(4)]);
    }
}
