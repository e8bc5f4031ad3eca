//! 第三方测评: importing survey results collected offline (CSV or XLSX). The header row
//! names the agency (`agency_id` or `agency_code`) and the questions (their keys, or
//! export headers ending in `【key】`); optional `duration_secs` and `weight`. Each
//! bad cell is reported as (row, column, reason). Valid rows are stored, or with
//! `atomic` none at all when any row is bad.

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
};
use serde_json::Value;

use super::{Actor, ServiceError, audit, campaigns, questionnaires};
use crate::domain::Role;
use crate::domain::questionnaire::{
    Question, QuestionType, answers_to_json, straight_lined, validate_answers,
};
use crate::store::{agency, response};

/// One rejected cell or row (1-based data row; the header is row 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub row: usize,
    pub column: String,
    pub reason: String,
}

/// What an import did.
#[derive(Debug, Clone, Default)]
pub struct ImportReport {
    pub rows: usize,
    pub stored: usize,
    pub errors: Vec<RowError>,
}

/// A table read from a file: header and rows of text cells.
#[derive(Debug, Clone)]
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// Bounds on an uploaded table. They are checked while the file is read, so a file
/// costs bounded time and memory whatever it declares: a refused file stops being
/// read at the first cell past a limit.
pub mod limits {
    /// Data rows (below the header) in one import.
    pub const MAX_ROWS: usize = 5000;
    /// Columns of the header and of any row.
    pub const MAX_COLUMNS: usize = 100;
    /// Characters of one cell.
    pub const MAX_CELL_CHARS: usize = 4000;
    /// Bytes of all the parts of an XLSX workbook once decompressed.
    pub const MAX_UNPACKED_BYTES: u64 = 32 << 20;
    /// Parts (files) of an XLSX workbook.
    pub const MAX_PARTS: usize = 256;
    /// Row errors listed in a report; the rest are only counted.
    pub const MAX_REPORTED_ERRORS: usize = 100;
}

use limits::{MAX_CELL_CHARS, MAX_COLUMNS, MAX_PARTS, MAX_ROWS, MAX_UNPACKED_BYTES};

fn too_many_rows() -> ServiceError {
    ServiceError::TooLarge(format!(
        "the file has more than {MAX_ROWS} data rows; split it into several imports"
    ))
}

fn too_many_columns() -> ServiceError {
    ServiceError::TooLarge(format!("the file has more than {MAX_COLUMNS} columns"))
}

/// A cell's text, refused when longer than [`MAX_CELL_CHARS`] or holding a character
/// no stored text may hold.
fn cell_text(raw: &str, row: usize, column: usize) -> Result<String, ServiceError> {
    let cell = raw.trim();
    if let Some(reason) = crate::domain::text::refusal(cell) {
        return Err(ServiceError::invalid(
            "file",
            format!("row {row}, column {}: the cell {reason}", column + 1),
        ));
    }
    if cell.len() > MAX_CELL_CHARS && cell.chars().count() > MAX_CELL_CHARS {
        return Err(ServiceError::invalid(
            "file",
            format!(
                "row {row}, column {}: a cell may hold at most {MAX_CELL_CHARS} characters",
                column + 1
            ),
        ));
    }
    Ok(cell.to_owned())
}

/// Reads CSV bytes (UTF-8, optional BOM), at most [`MAX_ROWS`] data rows of
/// [`MAX_COLUMNS`] columns.
pub fn read_csv(bytes: &[u8]) -> Result<Table, ServiceError> {
    let bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(bytes);
    let header_record = reader
        .headers()
        .map_err(|e| ServiceError::invalid("file", format!("unreadable CSV header: {e}")))?;
    if header_record.len() > MAX_COLUMNS {
        return Err(too_many_columns());
    }
    let header = header_record
        .iter()
        .enumerate()
        .map(|(c, h)| cell_text(h, 0, c))
        .collect::<Result<_, _>>()?;
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        if i == MAX_ROWS {
            return Err(too_many_rows());
        }
        let record =
            record.map_err(|e| ServiceError::invalid("file", format!("row {}: {e}", i + 1)))?;
        if record.len() > MAX_COLUMNS {
            return Err(too_many_columns());
        }
        rows.push(
            record
                .iter()
                .enumerate()
                .map(|(c, cell)| cell_text(cell, i + 1, c))
                .collect::<Result<_, _>>()?,
        );
    }
    Ok(Table { header, rows })
}

/// Decompresses every part of a workbook into nothing, counting the bytes that really
/// come out (a zip's declared sizes may lie), and refuses it past
/// [`MAX_UNPACKED_BYTES`] or [`MAX_PARTS`] before any XML is parsed.
fn check_unpacked_size(bytes: &[u8]) -> Result<(), ServiceError> {
    let unreadable = |e: &dyn std::fmt::Display| {
        ServiceError::invalid("file", format!("not a readable XLSX workbook: {e}"))
    };
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| unreadable(&e))?;
    if zip.len() > MAX_PARTS {
        return Err(ServiceError::TooLarge(format!(
            "the workbook has more than {MAX_PARTS} parts"
        )));
    }
    let too_big = || {
        ServiceError::TooLarge(format!(
            "the workbook unpacks to more than {} MiB",
            MAX_UNPACKED_BYTES >> 20
        ))
    };
    let mut left = MAX_UNPACKED_BYTES;
    for i in 0..zip.len() {
        let part = zip.by_index(i).map_err(|e| unreadable(&e))?;
        if part.size() > left {
            return Err(too_big());
        }
        let mut bounded = std::io::Read::take(part, left + 1);
        let n = std::io::copy(&mut bounded, &mut std::io::sink()).map_err(|e| unreadable(&e))?;
        if n > left {
            return Err(too_big());
        }
        left -= n;
    }
    Ok(())
}

/// Reads the first worksheet of XLSX bytes: the table starts at its first used row and
/// column and may span at most [`MAX_ROWS`] + 1 rows and [`MAX_COLUMNS`] columns. The
/// declared dimension is checked before any cell is read, and every cell's position
/// as it is read (a sheet may declare less than it holds).
pub fn read_xlsx(bytes: &[u8]) -> Result<Table, ServiceError> {
    use calamine::Reader;
    check_unpacked_size(bytes)?;
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(bytes))
        .map_err(|e| ServiceError::invalid("file", format!("not a readable XLSX workbook: {e}")))?;
    let first = book
        .sheet_names()
        .into_iter()
        .next()
        .ok_or_else(|| ServiceError::invalid("file", "the workbook has no worksheet"))?;
    let unreadable = |e: calamine::XlsxError| {
        ServiceError::invalid("file", format!("unreadable worksheet: {e}"))
    };
    let mut cells = book.worksheet_cells_reader(&first).map_err(unreadable)?;
    let declared = cells.dimensions();
    let span = |lo: u32, hi: u32| hi.saturating_sub(lo) as usize + 1;
    if span(declared.start.0, declared.end.0) > MAX_ROWS + 1 {
        return Err(too_many_rows());
    }
    if span(declared.start.1, declared.end.1) > MAX_COLUMNS {
        return Err(too_many_columns());
    }
    // (row, column, text) of every non-blank cell, with the bounding box so far.
    let mut used: Vec<(u32, u32, String)> = Vec::new();
    let (mut top, mut bottom, mut left, mut right) = (u32::MAX, 0, u32::MAX, 0);
    while let Some(cell) = cells.next_cell().map_err(unreadable)? {
        let (row, col) = cell.get_position();
        let value = calamine::Data::from(cell.get_value().clone());
        if matches!(value, calamine::Data::Empty) {
            continue;
        }
        (top, bottom) = (top.min(row), bottom.max(row));
        (left, right) = (left.min(col), right.max(col));
        if span(top, bottom) > MAX_ROWS + 1 {
            return Err(too_many_rows());
        }
        if span(left, right) > MAX_COLUMNS {
            return Err(too_many_columns());
        }
        let text = value.to_string();
        let text = cell_text(
            &text,
            row.saturating_sub(top) as usize,
            col.saturating_sub(left) as usize,
        )?;
        if !text.is_empty() {
            used.push((row, col, text));
        }
    }
    if used.is_empty() {
        return Err(ServiceError::invalid("file", "the worksheet is empty"));
    }
    let width = span(left, right);
    let mut grid: Vec<Vec<String>> = vec![Vec::new(); span(top, bottom)];
    for (row, col, text) in used {
        let line = &mut grid[(row - top) as usize];
        if line.is_empty() {
            line.resize(width, String::new());
        }
        line[(col - left) as usize] = text;
    }
    let mut rows = grid.into_iter();
    let mut header = rows.next().unwrap_or_default();
    header.resize(width, String::new());
    Ok(Table {
        header,
        rows: rows
            .filter(|r| r.iter().any(|c| !c.is_empty()))
            .map(|mut r| {
                r.resize(width, String::new());
                r
            })
            .collect(),
    })
}

/// The question key a header names: `key`, or a header ending in `【key】`.
fn header_key(h: &str) -> &str {
    match (h.rfind('【'), h.ends_with('】')) {
        (Some(i), true) => &h[i + '【'.len_utf8()..h.len() - '】'.len_utf8()],
        _ => h,
    }
}

/// A cell as the JSON answer its question expects; `None` when blank.
fn cell_value(q: &Question, cell: &str) -> Result<Option<Value>, String> {
    if cell.is_empty() {
        return Ok(None);
    }
    Ok(Some(match q.kind {
        QuestionType::Likert5 | QuestionType::Nps => {
            let v: f64 = cell
                .parse()
                .map_err(|_| format!("{cell:?} is not a number"))?;
            if v.fract() != 0.0 || v < 0.0 {
                return Err(format!("{cell:?} is not a whole number"));
            }
            Value::from(v as u64)
        }
        QuestionType::YesNo => match cell {
            "1" | "是" | "true" | "TRUE" | "yes" => Value::Bool(true),
            "0" | "否" | "false" | "FALSE" | "no" => Value::Bool(false),
            _ => return Err(format!("{cell:?} is not 1/0 or 是/否")),
        },
        QuestionType::MultiChoice => Value::from(
            cell.split(';')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>(),
        ),
        QuestionType::SingleChoice | QuestionType::Text => Value::from(cell.to_owned()),
    }))
}

/// Refuses a key whose role may not import results; checked before the file is read.
pub fn authorize(actor: &Actor) -> Result<(), ServiceError> {
    if actor.is(&[Role::Admin, Role::Bureau, Role::Evaluator]) {
        Ok(())
    } else {
        Err(ServiceError::forbidden(
            "only admin, bureau and evaluator keys import results",
        ))
    }
}

/// Imports a table of offline answers into a campaign. The file is read (`read`)
/// only once the key's role and scope allow the import.
pub async fn import(
    db: &DatabaseConnection,
    actor: &Actor,
    campaign_id: i64,
    read: impl FnOnce() -> Result<Table, ServiceError>,
    atomic: bool,
    max_weight: f64,
) -> Result<ImportReport, ServiceError> {
    authorize(actor)?;
    let (c, campaign_path) = campaigns::get_for_write(db, actor, campaign_id).await?;
    let table = read()?;
    let (version, questions) = questionnaires::of_campaign(db, &c).await?;
    let by_key: HashMap<&str, &Question> = questions.iter().map(|q| (q.key.as_str(), q)).collect();

    let mut header_errors = Vec::new();
    let mut agency_col = None;
    let mut duration_col = None;
    let mut weight_col = None;
    let mut question_cols: Vec<(usize, &Question)> = Vec::new();
    for (i, h) in table.header.iter().enumerate() {
        match header_key(h) {
            "agency_id" | "agency_code" => agency_col = Some((i, header_key(h) == "agency_id")),
            "duration_secs" => duration_col = Some(i),
            "weight" => weight_col = Some(i),
            key => match by_key.get(key) {
                Some(q) => question_cols.push((i, q)),
                None => header_errors.push(RowError {
                    row: 0,
                    column: h.clone(),
                    reason: "not a question of this questionnaire".into(),
                }),
            },
        }
    }
    if agency_col.is_none() {
        header_errors.push(RowError {
            row: 0,
            column: "agency_id".into(),
            reason: "an agency_id or agency_code column is required".into(),
        });
    }
    if !header_errors.is_empty() {
        return Ok(ImportReport {
            rows: table.rows.len(),
            stored: 0,
            errors: header_errors,
        });
    }
    let (agency_col, by_id) = agency_col.unwrap_or((0, true));

    let agencies = agency::Entity::find()
        .filter(agency::Column::Active.eq(true))
        .all(db)
        .await?;
    let mut covered: HashMap<String, i64> = HashMap::new();
    for a in agencies {
        if campaigns::covers(db, &c, &a).await? {
            covered.insert(
                if by_id {
                    a.id.to_string()
                } else {
                    a.code.clone()
                },
                a.id,
            );
        }
    }

    let mut report = ImportReport {
        rows: table.rows.len(),
        ..Default::default()
    };
    let mut valid_rows = Vec::new();
    for (r, row) in table.rows.iter().enumerate() {
        let row_no = r + 1;
        let cell = |i: usize| row.get(i).map(String::as_str).unwrap_or("");
        let mut errors = Vec::new();
        let agency_id = covered.get(cell(agency_col)).copied();
        if agency_id.is_none() {
            errors.push(RowError {
                row: row_no,
                column: table.header[agency_col].clone(),
                reason: format!("{:?} is not an agency of this campaign", cell(agency_col)),
            });
        }
        let mut answers = serde_json::Map::new();
        for (i, q) in &question_cols {
            match cell_value(q, cell(*i)) {
                Ok(Some(v)) => {
                    answers.insert(q.key.clone(), v);
                }
                Ok(None) => {}
                Err(reason) => errors.push(RowError {
                    row: row_no,
                    column: table.header[*i].clone(),
                    reason,
                }),
            }
        }
        let duration = match duration_col.map(cell).filter(|c| !c.is_empty()) {
            None => None,
            Some(v) => match v.parse::<i32>() {
                Ok(d) if d >= 0 => Some(d),
                _ => {
                    errors.push(RowError {
                        row: row_no,
                        column: "duration_secs".into(),
                        reason: format!("{v:?} is not a number of seconds"),
                    });
                    None
                }
            },
        };
        let weight = match weight_col.map(cell).filter(|c| !c.is_empty()) {
            None => 1.0,
            Some(v) => match v.parse::<f64>() {
                Ok(w) if w.is_finite() && w > 0.0 && w <= max_weight => w,
                _ => {
                    errors.push(RowError {
                        row: row_no,
                        column: "weight".into(),
                        reason: format!(
                            "{v:?} is not a design weight: a number above 0 and at most {max_weight}"
                        ),
                    });
                    1.0
                }
            },
        };
        if errors.is_empty() {
            match validate_answers(&questions, &answers) {
                Ok(valid) => {
                    valid_rows.push((agency_id.unwrap_or_default(), valid, duration, weight))
                }
                Err(fields) => errors.extend(fields.into_iter().map(|f| {
                    let key = f.field.trim_start_matches("answers.").to_owned();
                    let column = question_cols
                        .iter()
                        .find(|(_, q)| q.key == key)
                        .map_or(key, |(i, _)| table.header[*i].clone());
                    RowError {
                        row: row_no,
                        column,
                        reason: f.reason,
                    }
                })),
            }
        }
        report.errors.extend(errors);
    }
    if atomic && !report.errors.is_empty() {
        return Ok(report);
    }
    let now = Utc::now();
    let txn = crate::db::begin_write(db).await?;
    let mut sums = super::survey_stats::CellSums::default();
    for (agency_id, valid, duration, weight) in &valid_rows {
        let straight = straight_lined(&questions, valid, 8);
        let too_fast = duration.is_some_and(|d| d < c.too_fast_secs);
        super::survey_stats::contribute(
            &super::survey_stats::Stored {
                campaign_id: c.id,
                agency_id: *agency_id,
                submitted_at: now,
                flagged: straight || too_fast,
                weight: *weight,
                questions: &questions,
                answers: valid,
            },
            &mut sums,
        );
        response::ActiveModel {
            campaign_id: Set(c.id),
            invitation_id: Set(None),
            questionnaire_version_id: Set(version.id),
            agency_id: Set(*agency_id),
            channel: Set("import".into()),
            answers: Set(answers_to_json(valid)),
            weight: Set(*weight),
            duration_secs: Set(*duration),
            straight_lining: Set(straight),
            too_fast: Set(too_fast),
            submitted_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
    }
    super::survey_stats::check_finite(&sums)?;
    super::survey_stats::record(&txn, sums).await?;
    audit::record(&txn, actor, audit::Change {
        action: "responses.import",
        entity: "campaign",
        entity_id: c.id.to_string(),
        region_path: Some(campaign_path),
        details: Some(serde_json::json!({ "stored": valid_rows.len(), "rejected_cells": report.errors.len() })),
    })
    .await?;
    txn.commit().await?;
    report.stored = valid_rows.len();
    Ok(report)
}

/// The cells of one row of an import file, read by column name; every unreadable
/// cell is noted as a row error.
pub struct Cells<'a> {
    header: &'a [String],
    cells: &'a [String],
    /// 1-based data row.
    pub row: usize,
    pub errors: Vec<RowError>,
}

impl<'a> Cells<'a> {
    pub fn new(table: &'a Table, index: usize) -> Self {
        Self {
            header: &table.header,
            cells: &table.rows[index],
            row: index + 1,
            errors: Vec::new(),
        }
    }

    pub fn fail(&mut self, column: &str, reason: impl Into<String>) {
        self.errors.push(RowError {
            row: self.row,
            column: column.to_owned(),
            reason: reason.into(),
        });
    }

    /// The trimmed cell, `None` when the column is absent or the cell blank.
    pub fn text(&self, column: &str) -> Option<String> {
        let i = self.header.iter().position(|h| h.trim() == column)?;
        self.cells
            .get(i)
            .map(|c| c.trim().to_owned())
            .filter(|c| !c.is_empty())
    }

    /// A cell that must be present.
    pub fn required(&mut self, column: &str) -> String {
        let value = self.text(column);
        if value.is_none() {
            self.fail(column, "required");
        }
        value.unwrap_or_default()
    }

    fn parsed<T: std::str::FromStr>(&mut self, column: &str, what: &str) -> Option<T> {
        let raw = self.text(column)?;
        let parsed = raw.parse().ok();
        if parsed.is_none() {
            self.fail(column, format!("{raw:?} is not {what}"));
        }
        parsed
    }

    pub fn number(&mut self, column: &str) -> Option<f64> {
        self.parsed::<f64>(column, "a number")
            .filter(|v| v.is_finite())
    }

    pub fn integer(&mut self, column: &str) -> Option<i64> {
        self.parsed(column, "a whole number")
    }

    /// `YYYY-MM-DD`.
    pub fn date(&mut self, column: &str) -> Option<chrono::NaiveDate> {
        self.parsed(column, "a date (YYYY-MM-DD)")
    }

    /// 1/0, 是/否, true/false, 通过/未通过.
    pub fn boolean(&mut self, column: &str) -> Option<bool> {
        let raw = self.text(column)?;
        match raw.as_str() {
            "1" | "是" | "true" | "TRUE" | "yes" | "通过" | "合格" => Some(true),
            "0" | "否" | "false" | "FALSE" | "no" | "未通过" | "不合格" => Some(false),
            _ => {
                self.fail(column, format!("{raw:?} is not 1/0, 是/否 or 通过/未通过"));
                None
            }
        }
    }
}
