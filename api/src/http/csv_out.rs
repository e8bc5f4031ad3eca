//! The one way the service writes CSV: every cell that a spreadsheet program would
//! take for a formula (`=`, `+`, `-`, `@`, a tab or a carriage return first) is
//! written with a leading `'`, so text a respondent, an enterprise or an agency typed
//! never runs as a formula when a bureau opens the export (CSV injection). Numbers
//! stay as they are. XLSX exports store such cells as strings already.

use std::borrow::Cow;

/// The cell as it is safe to write.
pub fn neutralised(cell: &str) -> Cow<'_, str> {
    let risky = cell
        .chars()
        .next()
        .is_some_and(|c| matches!(c, '=' | '+' | '-' | '@' | '\t' | '\r'));
    if risky && cell.parse::<f64>().is_err() {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// Writes one record, each cell neutralised.
pub fn write_row<W: std::io::Write, S: AsRef<str>>(
    w: &mut csv::Writer<W>,
    row: impl IntoIterator<Item = S>,
) -> csv::Result<()> {
    w.write_record(
        row.into_iter()
            .map(|c| neutralised(c.as_ref()).into_owned()),
    )
}

#[cfg(test)]
mod tests {
    use super::neutralised;

    #[test]
    fn formulas_are_quoted_and_numbers_kept() {
        for (cell, want) in [
            (
                "=HYPERLINK(\"http://x\",\"y\")",
                "'=HYPERLINK(\"http://x\",\"y\")",
            ),
            ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
            ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
            ("-2+3", "'-2+3"),
            ("\t=1", "'\t=1"),
            ("\r=1", "'\r=1"),
            ("-0.5", "-0.5"),
            ("+12", "+12"),
            ("海州区市场监督管理局", "海州区市场监督管理局"),
            ("", ""),
            ("a=b", "a=b"),
        ] {
            assert_eq!(neutralised(cell), want, "{cell:?}");
        }
    }
}
