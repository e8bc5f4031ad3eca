//! Invalid input is a typed error naming the row and the reason; degenerate groups
//! give flags and `None`s, never NaN or infinity.

use pingjia_scoring::composite::{Component, composite};
use pingjia_scoring::weights::{SAATY_RI, ahp};
use pingjia_scoring::{Flag, GroupOptions, Responses, ScoringError, score_groups};

#[test]
fn bad_rows_are_rejected_with_their_row() {
    let mut r = Responses::new(2).unwrap();
    r.push("A", 1.0, &[Some(3), Some(4)]).unwrap();
    assert_eq!(
        r.push("A", -1.0, &[Some(3), Some(4)]),
        Err(ScoringError::InvalidWeight {
            row: 1,
            value: -1.0
        })
    );
    assert!(matches!(
        r.push("A", f64::NAN, &[Some(3), None]),
        Err(ScoringError::InvalidWeight { row: 1, .. })
    ));
    assert_eq!(
        r.push("A", 1.0, &[Some(3), Some(6)]),
        Err(ScoringError::ItemOutOfRange {
            row: 1,
            item: 1,
            value: 6
        })
    );
    assert_eq!(
        r.push("A", 1.0, &[Some(3)]),
        Err(ScoringError::RowLength {
            row: 1,
            expected: 2,
            got: 1
        })
    );
    let message = r
        .push("A", 1.0, &[Some(0), Some(1)])
        .unwrap_err()
        .to_string();
    assert!(message.starts_with("row 2: item 1"), "{message}");
    assert_eq!(
        score_groups(&Responses::new(2).unwrap(), &GroupOptions::default()),
        Err(ScoringError::Empty)
    );
}

fn all_finite(s: &pingjia_scoring::GroupScore) -> bool {
    [
        s.n_eff,
        s.mean,
        s.se,
        s.ci_lo,
        s.ci_hi,
        s.topbox,
        s.topbox_lo,
        s.topbox_hi,
        s.alpha,
        s.alpha_lo,
        s.alpha_hi,
        s.eb_mean,
    ]
    .iter()
    .flatten()
    .all(|v| v.is_finite())
        && s.sum_w.is_finite()
}

#[test]
fn degenerate_groups_get_flags_not_nan() {
    let mut r = Responses::new(3).unwrap();
    // One respondent.
    r.push("single", 1.0, &[Some(4), Some(5), Some(3)]).unwrap();
    // Everyone identical.
    for _ in 0..5 {
        r.push("same", 1.0, &[Some(4), Some(4), Some(4)]).unwrap();
    }
    // No answers at all.
    r.push("blank", 1.0, &[None, None, None]).unwrap();
    r.push("blank", 2.0, &[None, None, None]).unwrap();
    // Zero weights.
    r.push("weightless", 0.0, &[Some(1), Some(2), Some(3)])
        .unwrap();
    r.push("weightless", 0.0, &[Some(2), Some(2), Some(3)])
        .unwrap();
    let scores = score_groups(&r, &GroupOptions::default()).unwrap();
    let by = |g: &str| scores.iter().find(|s| s.group == g).unwrap();

    let single = by("single");
    assert!(single.flags.contains(&Flag::SingleRespondent));
    assert!(single.flags.contains(&Flag::InsufficientSample));
    assert_eq!(single.se, None);
    assert_eq!(single.ci_lo, None);
    assert_eq!(single.alpha, None);
    assert!(single.mean.is_some());

    let same = by("same");
    assert!(same.flags.contains(&Flag::ZeroVariance));
    assert!(same.flags.contains(&Flag::AlphaUndefined));
    assert_eq!(same.se, Some(0.0));
    assert_eq!(same.ci_lo, same.mean);

    let blank = by("blank");
    assert_eq!(blank.n, 0);
    assert!(blank.flags.contains(&Flag::NoAnswers));
    assert_eq!(blank.mean, None);
    assert_eq!(blank.rank, None);

    let weightless = by("weightless");
    assert!(weightless.flags.contains(&Flag::NoAnswers));
    assert_eq!(weightless.mean, None);

    for s in &scores {
        assert!(all_finite(s), "{s:?}");
    }
}

#[test]
fn invalid_parameters_are_errors() {
    let mut r = Responses::new(1).unwrap();
    r.push("A", 1.0, &[Some(3)]).unwrap();
    let bad = GroupOptions {
        confidence: 1.0,
        ..GroupOptions::default()
    };
    assert!(matches!(
        score_groups(&r, &bad),
        Err(ScoringError::InvalidParameter {
            name: "confidence",
            ..
        })
    ));
    let bad = GroupOptions {
        reverse: vec![true, false],
        ..GroupOptions::default()
    };
    assert!(matches!(
        score_groups(&r, &bad),
        Err(ScoringError::LengthMismatch { .. })
    ));
}

#[test]
fn ahp_rejects_matrices_that_are_not_positive_reciprocal() {
    let not_reciprocal = vec![vec![1.0, 3.0], vec![0.5, 1.0]];
    let err = ahp(&not_reciprocal, &SAATY_RI).unwrap_err();
    assert!(err.to_string().contains("not reciprocal"), "{err}");
    let negative = vec![vec![1.0, -2.0], vec![-0.5, 1.0]];
    assert!(
        ahp(&negative, &SAATY_RI)
            .unwrap_err()
            .to_string()
            .contains("positive")
    );
    let not_square = vec![vec![1.0, 2.0], vec![0.5]];
    assert!(ahp(&not_square, &SAATY_RI).is_err());
    let bad_diagonal = vec![vec![2.0, 2.0], vec![0.5, 1.0]];
    assert!(ahp(&bad_diagonal, &SAATY_RI).is_err());
    // An inconsistent but reciprocal matrix is accepted and reports CR ≥ 0.1.
    let inconsistent = vec![
        vec![1.0, 9.0, 1.0 / 9.0],
        vec![1.0 / 9.0, 1.0, 9.0],
        vec![9.0, 1.0 / 9.0, 1.0],
    ];
    let r = ahp(&inconsistent, &SAATY_RI).unwrap();
    assert!(!r.is_consistent(), "CR {}", r.cr);
}

#[test]
fn composite_renormalises_over_missing_indicators() {
    let parts = [
        Component {
            weight: 0.5,
            score: Some(80.0),
            variance: Some(4.0),
        },
        Component {
            weight: 0.3,
            score: None,
            variance: None,
        },
        Component {
            weight: 0.2,
            score: Some(60.0),
            variance: None,
        },
    ];
    let c = composite(&parts).unwrap().unwrap();
    assert_eq!(c.missing, vec![1]);
    assert!((c.weights_used[0] - 0.5 / 0.7).abs() < 1e-15);
    assert_eq!(c.weights_used[1], 0.0);
    assert!((c.score - (0.5 * 80.0 + 0.2 * 60.0) / 0.7).abs() < 1e-12);
    assert!((c.variance - (0.5f64 / 0.7).powi(2) * 4.0).abs() < 1e-12);
    let none = [Component {
        weight: 1.0,
        score: None,
        variance: None,
    }];
    assert!(composite(&none).unwrap().is_none());
}
