//! `pingjia score`: per-agency estimates from a CSV of survey answers
//! (`agency, weight, q1..qK`, blank = missing), written in the column order of the
//! reference output (`reference/dev_50k_expected.csv`).

use pingjia_scoring::group::MISSING;
use pingjia_scoring::{GroupOptions, GroupScore, Responses, score_groups};

/// Output columns, in order.
pub const COLUMNS: [&str; 16] = [
    "agency",
    "n",
    "sum_w",
    "n_eff",
    "mean",
    "se",
    "ci_lo",
    "ci_hi",
    "topbox",
    "topbox_lo",
    "topbox_hi",
    "alpha",
    "alpha_lo",
    "alpha_hi",
    "eb_mean",
    "rank",
];

/// A rejected input line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// 1-based line in the file (the header is line 1).
    pub line: u64,
    pub message: String,
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// At most this many bad lines are reported one by one.
const MAX_REPORTED: usize = 100;

/// Parses the CSV into responses, or reports every bad line (up to 100).
pub fn parse_csv(bytes: &[u8]) -> Result<Responses, Vec<LineError>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(bytes);
    let header = reader.byte_headers().map_err(|e| {
        vec![LineError {
            line: 1,
            message: format!("unreadable header: {e}"),
        }]
    })?;
    let names: Vec<String> = header
        .iter()
        .map(|h| String::from_utf8_lossy(h).trim().to_owned())
        .collect();
    if names.len() < 3 || names[0] != "agency" || names[1] != "weight" {
        return Err(vec![LineError {
            line: 1,
            message: "the header must be `agency,weight,q1,…,qK` with at least one item".into(),
        }]);
    }
    let k = names.len() - 2;
    let mut responses = Responses::with_capacity(k, bytes.len() / (4 + 2 * k)).map_err(|e| {
        vec![LineError {
            line: 1,
            message: e.to_string(),
        }]
    })?;
    let mut errors = Vec::new();
    let mut record = csv::ByteRecord::new();
    let mut coded = vec![MISSING; k];
    let mut skipped = 0usize;
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                errors.push(LineError {
                    line,
                    message: e.to_string(),
                });
                if errors.len() >= MAX_REPORTED {
                    break;
                }
                continue;
            }
        }
        let line = record.position().map_or(0, |p| p.line());
        match parse_row(&record, k, &mut coded) {
            Ok((agency, weight)) => {
                let id = responses.group_id(agency);
                if let Err(e) = responses.push_coded(id, weight, &coded) {
                    errors.push(LineError {
                        line,
                        message: e
                            .to_string()
                            .split_once(": ")
                            .map_or_else(|| e.to_string(), |(_, m)| m.to_owned()),
                    });
                }
            }
            Err(message) => {
                if errors.len() < MAX_REPORTED {
                    errors.push(LineError { line, message });
                } else {
                    skipped += 1;
                }
            }
        }
    }
    if skipped > 0 {
        errors.push(LineError {
            line: 0,
            message: format!("{skipped} more bad lines not listed"),
        });
    }
    if errors.is_empty() {
        if responses.is_empty() {
            return Err(vec![LineError {
                line: 2,
                message: "no data rows".into(),
            }]);
        }
        Ok(responses)
    } else {
        Err(errors)
    }
}

/// Parses one data row into its agency, weight and coded answers.
fn parse_row<'r>(
    record: &'r csv::ByteRecord,
    k: usize,
    coded: &mut [u8],
) -> Result<(&'r str, f64), String> {
    if record.len() != k + 2 {
        return Err(format!("expected {} fields, got {}", k + 2, record.len()));
    }
    let agency = std::str::from_utf8(&record[0])
        .map_err(|_| "agency is not UTF-8".to_owned())?
        .trim();
    if agency.is_empty() {
        return Err("agency is empty".into());
    }
    let raw_weight = std::str::from_utf8(&record[1]).unwrap_or("").trim();
    let weight: f64 = raw_weight
        .parse()
        .map_err(|_| format!("weight {raw_weight:?} is not a number"))?;
    if !(weight.is_finite() && weight >= 0.0) {
        return Err(format!(
            "weight {raw_weight} must be a finite, non-negative number"
        ));
    }
    for (j, field) in record.iter().skip(2).enumerate() {
        coded[j] = match field {
            [] => MISSING,
            [d @ b'1'..=b'5'] => d - b'0',
            other => {
                let text = String::from_utf8_lossy(other);
                let t = text.trim();
                if t.is_empty() {
                    MISSING
                } else {
                    match t.parse::<f64>() {
                        Ok(v) if v.fract() == 0.0 && (1.0..=5.0).contains(&v) => v as u8,
                        _ => return Err(format!("item {} has answer {t:?}, outside 1..=5", j + 1)),
                    }
                }
            }
        };
    }
    Ok((agency, weight))
}

/// Formats like C's `%.12g` (the reference output's format); empty for `None`.
pub fn format_g12(value: Option<f64>) -> String {
    let Some(v) = value else {
        return String::new();
    };
    if v == 0.0 {
        return "0".into();
    }
    const P: i32 = 12;
    let sci = format!("{:.*e}", (P - 1) as usize, v);
    let exp: i32 = sci
        .split_once('e')
        .and_then(|(_, e)| e.parse().ok())
        .unwrap_or(0);
    if (-4..P).contains(&exp) {
        let fixed = format!("{:.*}", (P - 1 - exp) as usize, v);
        trim_zeros(&fixed)
    } else {
        let (mantissa, _) = sci.split_once('e').unwrap_or((&sci, ""));
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", trim_zeros(mantissa), exp.abs())
    }
}

fn trim_zeros(s: &str) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s.to_owned()
    }
}

/// The result table as CSV.
pub fn to_csv(scores: &[GroupScore]) -> String {
    let mut out = COLUMNS.join(",");
    out.push('\n');
    for s in scores {
        let cells = [
            quote(&s.group),
            s.n.to_string(),
            format_g12(Some(s.sum_w)),
            format_g12(s.n_eff),
            format_g12(s.mean),
            format_g12(s.se),
            format_g12(s.ci_lo),
            format_g12(s.ci_hi),
            format_g12(s.topbox),
            format_g12(s.topbox_lo),
            format_g12(s.topbox_hi),
            format_g12(s.alpha),
            format_g12(s.alpha_lo),
            format_g12(s.alpha_hi),
            format_g12(s.eb_mean),
            s.rank.map(|r| r.to_string()).unwrap_or_default(),
        ];
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

fn quote(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

/// The result table as JSON: one object per agency with the same keys plus `flags`.
pub fn to_json(scores: &[GroupScore]) -> serde_json::Value {
    serde_json::Value::Array(
        scores
            .iter()
            .map(|s| {
                serde_json::json!({
                    "agency": s.group,
                    "n": s.n,
                    "sum_w": s.sum_w,
                    "n_eff": s.n_eff,
                    "mean": s.mean,
                    "se": s.se,
                    "ci_lo": s.ci_lo,
                    "ci_hi": s.ci_hi,
                    "topbox": s.topbox,
                    "topbox_lo": s.topbox_lo,
                    "topbox_hi": s.topbox_hi,
                    "alpha": s.alpha,
                    "alpha_lo": s.alpha_lo,
                    "alpha_hi": s.alpha_hi,
                    "eb_mean": s.eb_mean,
                    "rank": s.rank,
                    "flags": s.flags.iter().map(|f| f.as_str()).collect::<Vec<_>>(),
                })
            })
            .collect(),
    )
}

/// Parses and scores a CSV file's bytes.
pub fn score_csv(bytes: &[u8], options: &GroupOptions) -> Result<Vec<GroupScore>, Vec<LineError>> {
    let responses = parse_csv(bytes)?;
    score_groups(&responses, options).map_err(|e| {
        vec![LineError {
            line: 0,
            message: e.to_string(),
        }]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_matches_percent_g12() {
        let cases = [
            (1752.3479, "1752.3479"),
            (55.996691612000004, "55.996691612"),
            (0.522285316926, "0.522285316926"),
            (1436.108188690001, "1436.10818869"),
            (0.000012345678901234, "1.23456789012e-05"),
            (123456789012345.0, "1.23456789012e+14"),
            (-2.5, "-2.5"),
            (99.99999999999999, "100"),
        ];
        for (v, expected) in cases {
            assert_eq!(format_g12(Some(v)), expected, "{v}");
        }
        assert_eq!(format_g12(None), "");
    }

    #[test]
    fn bad_lines_are_reported_with_their_numbers() {
        let csv = b"agency,weight,q1,q2\nA,1,3,4\nB,-1,3,4\nC,1,3,9\nD,x,1,1\nE,1,2\n";
        let errors = parse_csv(csv).unwrap_err();
        let lines: Vec<u64> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![3, 4, 5, 6], "{errors:?}");
        assert!(errors[0].message.contains("weight"), "{}", errors[0]);
        assert!(errors[1].message.contains("item 2"), "{}", errors[1]);
    }

    #[test]
    fn blanks_are_missing_answers() {
        let csv = b"agency,weight,q1,q2\nA,1,,4\nA,2,5,\n";
        let r = parse_csv(csv).unwrap();
        assert_eq!(r.len(), 2);
    }
}
