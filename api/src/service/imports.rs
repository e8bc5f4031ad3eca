//! 第三方测评: importing survey results collected offline (CSV or XLSX). The header row
//! names the agency (`agency_id` or `agency_code`) and the questions (their keys, or
//! export headers ending in `【key】`); optional `duration_secs` and `weight`. Each
//! bad cell is reported as (row, column, reason). Valid rows are stored, or with
//! `atomic` none at all when any row is bad.

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
    TransactionTrait,
};
use serde_json::Value;

use super::{Actor, ServiceError, audit, campaigns, questionnaires, regions};
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

/// Reads CSV bytes (UTF-8, optional BOM).
pub fn read_csv(bytes: &[u8]) -> Result<Table, ServiceError> {
    let bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(bytes);
    let header = reader
        .headers()
        .map_err(|e| ServiceError::invalid("file", format!("unreadable CSV header: {e}")))?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record =
            record.map_err(|e| ServiceError::invalid("file", format!("row {}: {e}", i + 1)))?;
        rows.push(record.iter().map(|c| c.trim().to_owned()).collect());
    }
    Ok(Table { header, rows })
}

/// Reads the first worksheet of XLSX bytes.
pub fn read_xlsx(bytes: &[u8]) -> Result<Table, ServiceError> {
    use calamine::Reader;
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(bytes.to_vec()))
        .map_err(|e| ServiceError::invalid("file", format!("not a readable XLSX workbook: {e}")))?;
    let range = book
        .worksheet_range_at(0)
        .ok_or_else(|| ServiceError::invalid("file", "the workbook has no worksheet"))?
        .map_err(|e| ServiceError::invalid("file", format!("unreadable worksheet: {e}")))?;
    let mut rows = range.rows().map(|r| {
        r.iter()
            .map(|c| c.to_string().trim().to_owned())
            .collect::<Vec<_>>()
    });
    let header = rows
        .next()
        .ok_or_else(|| ServiceError::invalid("file", "the worksheet is empty"))?;
    Ok(Table {
        header,
        rows: rows.filter(|r| r.iter().any(|c| !c.is_empty())).collect(),
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

/// Imports a table of offline answers into a campaign.
pub async fn import(
    db: &DatabaseConnection,
    actor: &Actor,
    campaign_id: i64,
    table: Table,
    atomic: bool,
) -> Result<ImportReport, ServiceError> {
    if !actor.is(&[Role::Admin, Role::Bureau, Role::Evaluator]) {
        return Err(ServiceError::forbidden(
            "only admin, bureau and evaluator keys import results",
        ));
    }
    let c = campaigns::get(db, actor, campaign_id).await?;
    let campaign_path = regions::path_of(db, "region_code", &c.region_code).await?;
    if !actor.covers_path(&campaign_path) {
        return Err(ServiceError::forbidden(
            "the campaign lies outside the key's scope",
        ));
    }
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
                Ok(w) if w.is_finite() && w >= 0.0 => w,
                _ => {
                    errors.push(RowError {
                        row: row_no,
                        column: "weight".into(),
                        reason: format!("{v:?} is not a non-negative number"),
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
    let txn = db.begin().await?;
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
