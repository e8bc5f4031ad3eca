//! Known values from `reference/README.md` (R survey, pingouin, statsmodels,
//! scipy). Values printed with 6 decimals are checked to 1e-6; full-precision ones to 1e-9.

use pingjia_scoring::compare::{Sample, two_proportion_z, welch};
use pingjia_scoring::dist::normal_quantile;
use pingjia_scoring::proportion::{wilson, wilson_ci};
use pingjia_scoring::weights::{Direction, SAATY_RI, ahp, entropy_weights};
use pingjia_scoring::{GroupOptions, Responses, score_groups};

fn close(actual: f64, expected: f64, tol: f64, what: &str) {
    assert!(
        (actual - expected).abs() <= tol,
        "{what}: {actual} vs {expected}"
    );
}

fn rel(actual: f64, expected: f64, tol: f64, what: &str) {
    assert!(
        ((actual - expected) / expected).abs() <= tol,
        "{what}: {actual} vs {expected}"
    );
}

/// tiny.csv rows: weight, items q1..q4, showed_id.
fn tiny() -> Vec<(f64, [u8; 4], bool)> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../reference/tiny.csv");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; the reference data sets live in reference/",
            path.display()
        )
    });
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let item = |i: usize| f[i].trim().parse::<u8>().expect("item");
            (
                f[1].parse().expect("weight"),
                [item(2), item(3), item(4), item(5)],
                f[6].trim() == "1",
            )
        })
        .collect()
}

#[test]
fn tiny_csv_matches_r_survey_and_pingouin() {
    let rows = tiny();
    let mut responses = Responses::new(4).unwrap();
    for (w, items, _) in &rows {
        let answers: Vec<Option<u8>> = items.iter().map(|&v| Some(v)).collect();
        responses.push("A", *w, &answers).unwrap();
    }
    let options = GroupOptions {
        min_n: 5,
        ..GroupOptions::default()
    };
    let s = &score_groups(&responses, &options).unwrap()[0];
    close(s.mean.unwrap(), 68.75, 1e-9, "weighted mean");
    close(s.n_eff.unwrap(), 7.538462, 1e-6, "Kish n_eff");
    close(
        s.se.unwrap(),
        8.061851,
        1e-6,
        "design SE (R svymean 8.0619)",
    );
    close(s.ci_lo.unwrap(), 50.512825, 1e-6, "t CI low");
    close(s.ci_hi.unwrap(), 86.987175, 1e-6, "t CI high");
    close(s.alpha.unwrap(), 0.955414, 1e-6, "Cronbach's alpha");
    assert!(s.flags.is_empty(), "{:?}", s.flags);
}

#[test]
fn tiny_csv_wilson_intervals_match_statsmodels() {
    let rows = tiny();
    let shown = rows.iter().filter(|r| r.2).count() as u64;
    let ci = wilson_ci(shown, rows.len() as u64, 0.95).unwrap().unwrap();
    close(ci.lo, 0.396778, 1e-6, "Wilson 7/10 low");
    close(ci.hi, 0.892209, 1e-6, "Wilson 7/10 high");

    let w: f64 = rows.iter().map(|r| r.0).sum();
    let w2: f64 = rows.iter().map(|r| r.0 * r.0).sum();
    let p = rows.iter().filter(|r| r.2).map(|r| r.0).sum::<f64>() / w;
    let (lo, hi) = wilson(p, w * w / w2, normal_quantile(0.975)).unwrap();
    close(lo, 0.400250, 1e-6, "weighted Wilson low");
    close(hi, 0.930968, 1e-6, "weighted Wilson high");
}

#[test]
fn welch_matches_scipy() {
    let a = Sample::of(&[72., 80., 65., 90., 85., 70., 75.]).unwrap();
    let b = Sample::of(&[60., 68., 75., 55., 62., 70.]).unwrap();
    let r = welch(a, b).unwrap();
    // scipy.stats.ttest_ind(equal_var=False), full precision.
    rel(r.statistic, 2.621534819118286, 1e-9, "t");
    rel(r.df.unwrap(), 10.997733382989868, 1e-9, "df");
    rel(r.p_value, 0.023767070781325887, 1e-9, "p");
}

#[test]
fn two_proportion_z_matches_statsmodels() {
    let r = two_proportion_z(45.0, 60.0, 30.0, 55.0).unwrap().unwrap();
    rel(r.statistic, 2.300568, 1e-6, "z");
    rel(r.p_value, 0.0214161, 1e-5, "p");
}

#[test]
fn ahp_example_matches_numpy() {
    let a = vec![
        vec![1.0, 3.0, 5.0, 3.0, 7.0],
        vec![1.0 / 3.0, 1.0, 3.0, 1.0, 5.0],
        vec![1.0 / 5.0, 1.0 / 3.0, 1.0, 1.0 / 3.0, 3.0],
        vec![1.0 / 3.0, 1.0, 3.0, 1.0, 5.0],
        vec![1.0 / 7.0, 1.0 / 5.0, 1.0 / 3.0, 1.0 / 5.0, 1.0],
    ];
    let r = ahp(&a, &SAATY_RI).unwrap();
    let expected = [0.469097, 0.200993, 0.086232, 0.200993, 0.042685];
    for (i, (w, e)) in r.weights.iter().zip(expected).enumerate() {
        close(*w, e, 1e-6, &format!("w[{i}]"));
    }
    close(r.lambda_max, 5.126891, 1e-6, "lambda max");
    close(r.ci, 0.031723, 1e-6, "CI");
    close(r.cr, 0.028324, 1e-6, "CR");
    assert!(r.is_consistent());
}

#[test]
fn entropy_example_matches_numpy() {
    let x = vec![
        vec![85.0, 0.92, 3.0],
        vec![78.0, 0.88, 5.0],
        vec![92.0, 0.95, 1.0],
        vec![70.0, 0.80, 8.0],
    ];
    let r = entropy_weights(
        &x,
        &[Direction::Benefit, Direction::Benefit, Direction::Cost],
    )
    .unwrap();
    for (i, (e, x)) in r
        .entropy
        .iter()
        .zip([0.738028, 0.770029, 0.752912])
        .enumerate()
    {
        close(*e, x, 1e-6, &format!("E[{i}]"));
    }
    for (i, (w, x)) in r
        .weights
        .iter()
        .zip([0.35448, 0.311179, 0.334341])
        .enumerate()
    {
        close(*w, x, 1e-6, &format!("w[{i}]"));
    }
}

#[test]
fn reverse_coded_items_score_as_six_minus_x() {
    let mut plain = Responses::new(2).unwrap();
    let mut reversed = Responses::new(2).unwrap();
    for (w, a, b) in [(1.0, 5, 1), (2.0, 4, 2), (0.5, 3, 3), (1.5, 2, 5)] {
        plain.push("A", w, &[Some(a), Some(6 - b)]).unwrap();
        reversed.push("A", w, &[Some(a), Some(b)]).unwrap();
    }
    let options = GroupOptions {
        reverse: vec![false, true],
        min_n: 1,
        ..GroupOptions::default()
    };
    let x = &score_groups(
        &plain,
        &GroupOptions {
            min_n: 1,
            ..GroupOptions::default()
        },
    )
    .unwrap()[0];
    let y = &score_groups(&reversed, &options).unwrap()[0];
    assert_eq!(x.mean, y.mean);
    assert_eq!(x.se, y.se);
    assert_eq!(x.alpha, y.alpha);
    assert_eq!(x.topbox, y.topbox);
}
