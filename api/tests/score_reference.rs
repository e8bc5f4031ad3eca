//! `pingjia score` reproduces the reference output (`reference/`) to a relative
//! error of 1e-9 in every column.

use std::path::PathBuf;
use std::process::Command;

fn reference(file: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../reference")
        .join(file);
    assert!(
        path.exists(),
        "{} is missing: the reference data sets live in reference/",
        path.display()
    );
    path
}

fn table(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut lines = text.lines();
    let header = lines
        .next()
        .expect("header")
        .split(',')
        .map(str::to_owned)
        .collect();
    let rows = lines
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect();
    (header, rows)
}

fn assert_same_table(actual: &str, expected: &str) {
    let (ah, ar) = table(actual);
    let (eh, er) = table(expected);
    assert_eq!(ah, eh, "same columns in the same order");
    assert_eq!(ar.len(), er.len(), "same number of agencies");
    for (a, e) in ar.iter().zip(&er) {
        assert_eq!(a[0], e[0], "agency order");
        for (c, name) in eh.iter().enumerate().skip(1) {
            let (x, y): (f64, f64) = (a[c].parse().expect("number"), e[c].parse().expect("number"));
            let err = if y == 0.0 {
                x.abs()
            } else {
                ((x - y) / y).abs()
            };
            assert!(
                err <= 1e-9,
                "{} {name}: {x} vs {y} (relative error {err:e})",
                a[0]
            );
        }
    }
}

#[test]
fn dev_50k_matches_the_reference_table() {
    let bytes = std::fs::read(reference("dev_50k.csv")).expect("read");
    let scores = pingjia_api::score::score_csv(&bytes, &pingjia_scoring::GroupOptions::default())
        .expect("scores");
    let expected = std::fs::read_to_string(reference("dev_50k_expected.csv")).expect("read");
    assert_same_table(&pingjia_api::score::to_csv(&scores), &expected);
    assert!(
        scores.iter().all(|s| s.flags.is_empty()),
        "no flags on 1,600 respondents per agency"
    );
}

#[test]
fn the_score_command_prints_the_reference_table() {
    let out = Command::new(env!("CARGO_BIN_EXE_pingjia"))
        .arg("score")
        .arg(reference("dev_50k.csv"))
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected = std::fs::read_to_string(reference("dev_50k_expected.csv")).expect("read");
    assert_same_table(&String::from_utf8_lossy(&out.stdout), &expected);
}

#[test]
fn the_score_command_writes_json_and_files_and_reports_bad_lines() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in.csv");
    std::fs::write(&input, "agency,weight,q1,q2\nA,1,4,5\nA,2,3,\nB,1,5,5\n").expect("write");
    let bin = env!("CARGO_BIN_EXE_pingjia");
    let out = Command::new(bin)
        .args(["score", "--json", "--min-n", "2"])
        .arg(&input)
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json[0]["agency"], "A");
    assert_eq!(json[0]["n"], 2);
    assert_eq!(
        json[1]["flags"],
        serde_json::json!([
            "insufficient_sample",
            "single_respondent",
            "alpha_undefined"
        ])
    );
    assert_eq!(json[1]["se"], serde_json::Value::Null);

    let target = dir.path().join("out.csv");
    let out = Command::new(bin)
        .arg("score")
        .arg(&input)
        .arg("--out")
        .arg(&target)
        .output()
        .expect("run");
    assert!(out.status.success());
    assert!(
        std::fs::read_to_string(&target)
            .expect("out")
            .starts_with("agency,n,sum_w,n_eff,mean")
    );

    std::fs::write(&input, "agency,weight,q1,q2\nA,1,4,5\nA,-2,3,\nB,1,5,7\n").expect("write");
    let out = Command::new(bin)
        .arg("score")
        .arg(&input)
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 3: weight"), "{err}");
    assert!(err.contains("line 4: item 2"), "{err}");
}
