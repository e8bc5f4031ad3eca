//! Invariants of the estimators (proptest).

use pingjia_scoring::compare::benjamini_hochberg;
use pingjia_scoring::rank::competition_rank_desc;
use pingjia_scoring::sampling::select;
use pingjia_scoring::{GroupOptions, Responses, score_groups};
use proptest::prelude::*;

type Row = (u8, f64, Vec<Option<u8>>);

fn rows() -> impl Strategy<Value = Vec<Row>> {
    prop::collection::vec(
        (
            0u8..3,
            0.1f64..5.0,
            prop::collection::vec(prop::option::weighted(0.9, 1u8..=5), 4),
        ),
        2..60,
    )
}

fn build(rows: &[Row], weight_scale: f64) -> Responses {
    let mut r = Responses::new(4).expect("four items");
    for (g, w, answers) in rows {
        r.push(&format!("G{g}"), w * weight_scale, answers)
            .expect("valid row");
    }
    r
}

fn near(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(x), Some(y)) => (x - y).abs() <= 1e-9 * (1.0 + x.abs().max(y.abs())),
        (None, None) => true,
        _ => false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn row_order_does_not_matter(rows in rows(), seed in any::<u64>()) {
        let a = score_groups(&build(&rows, 1.0), &GroupOptions::default()).unwrap();
        let mut shuffled = rows.clone();
        let mut rng = seed;
        for i in (1..shuffled.len()).rev() {
            rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            shuffled.swap(i, (rng >> 33) as usize % (i + 1));
        }
        let b = score_groups(&build(&shuffled, 1.0), &GroupOptions::default()).unwrap();
        prop_assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(&b) {
            prop_assert_eq!(&x.group, &y.group);
            prop_assert!(near(x.mean, y.mean) && near(x.se, y.se) && near(x.alpha, y.alpha));
            prop_assert!(near(x.eb_mean, y.eb_mean) && near(x.topbox, y.topbox));
        }
    }

    #[test]
    fn scaling_all_weights_changes_nothing(rows in rows(), scale in 0.01f64..100.0) {
        let a = score_groups(&build(&rows, 1.0), &GroupOptions::default()).unwrap();
        let b = score_groups(&build(&rows, scale), &GroupOptions::default()).unwrap();
        for (x, y) in a.iter().zip(&b) {
            prop_assert!(near(x.mean, y.mean), "{:?} {:?}", x.mean, y.mean);
            prop_assert!(near(x.se, y.se) && near(x.n_eff, y.n_eff) && near(x.ci_lo, y.ci_lo));
            prop_assert!(near(x.topbox, y.topbox) && near(x.topbox_hi, y.topbox_hi));
            prop_assert_eq!(x.rank, y.rank);
        }
    }

    #[test]
    fn intervals_contain_their_estimates_and_alpha_is_at_most_one(rows in rows(), conf in 0.5f64..0.999) {
        let options = GroupOptions { confidence: conf, ..GroupOptions::default() };
        for s in score_groups(&build(&rows, 1.0), &options).unwrap() {
            if let (Some(m), Some(lo), Some(hi)) = (s.mean, s.ci_lo, s.ci_hi) {
                prop_assert!(lo <= m && m <= hi);
                prop_assert!((0.0..=100.0).contains(&m));
            }
            if let (Some(p), Some(lo), Some(hi)) = (s.topbox, s.topbox_lo, s.topbox_hi) {
                prop_assert!(lo <= p + 1e-12 && p <= hi + 1e-12 && lo >= 0.0 && hi <= 1.0);
            }
            if let Some(a) = s.alpha {
                prop_assert!(a <= 1.0 + 1e-12);
                let (lo, hi) = (s.alpha_lo.unwrap(), s.alpha_hi.unwrap());
                prop_assert!(lo <= a + 1e-12 && a <= hi + 1e-12);
            }
        }
    }

    #[test]
    fn ranks_follow_the_means_with_ties_sharing(values in prop::collection::vec(prop::option::of(0u8..6), 1..30)) {
        let v: Vec<Option<f64>> = values.iter().map(|x| x.map(f64::from)).collect();
        let ranks = competition_rank_desc(&v);
        for (i, a) in v.iter().enumerate() {
            let Some(a) = a else { prop_assert_eq!(ranks[i], None); continue };
            let higher = v.iter().flatten().filter(|b| *b > a).count() as u32;
            prop_assert_eq!(ranks[i], Some(higher + 1));
        }
    }

    #[test]
    fn selection_is_reproducible_without_repeats(n in 0u64..500, frac in 0.0f64..=1.0, seed in any::<u64>()) {
        let k = (n as f64 * frac) as u64;
        let a = select(n, k, seed).unwrap();
        prop_assert_eq!(&a, &select(n, k, seed).unwrap());
        prop_assert_eq!(a.len() as u64, k);
        prop_assert!(a.windows(2).all(|w| w[0] < w[1]), "sorted and distinct");
        prop_assert!(a.iter().all(|&i| i < n));
    }

    #[test]
    fn bh_adjusted_values_are_monotone_and_bounded(p in prop::collection::vec(0.0f64..=1.0, 1..40)) {
        let (q, rejected) = benjamini_hochberg(&p, 0.05).unwrap();
        for i in 0..p.len() {
            prop_assert!(q[i] >= p[i] - 1e-15 && q[i] <= 1.0);
            prop_assert_eq!(rejected[i], q[i] <= 0.05);
            for j in 0..p.len() {
                if p[i] <= p[j] { prop_assert!(q[i] <= q[j] + 1e-15); }
            }
        }
    }
}
