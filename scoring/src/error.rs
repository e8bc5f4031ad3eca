//! Typed input errors: each says which row (0-based data row) and why.

/// Why input was rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScoringError {
    #[error("row {}: weight {value} is not a finite, non-negative number", row + 1)]
    InvalidWeight { row: usize, value: f64 },
    #[error("row {}: item {} has answer {value}, outside 1..=5", row + 1, item + 1)]
    ItemOutOfRange { row: usize, item: usize, value: i64 },
    #[error("row {}: expected {expected} items, got {got}", row + 1)]
    RowLength {
        row: usize,
        expected: usize,
        got: usize,
    },
    #[error("no input rows")]
    Empty,
    #[error("{what} have different lengths ({left} and {right})")]
    LengthMismatch {
        what: &'static str,
        left: usize,
        right: usize,
    },
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParameter { name: &'static str, reason: String },
    #[error("row {row}, column {column}: {reason}")]
    InvalidMatrix {
        row: usize,
        column: usize,
        reason: String,
    },
}

impl ScoringError {
    pub(crate) fn parameter(name: &'static str, reason: impl Into<String>) -> Self {
        Self::InvalidParameter {
            name,
            reason: reason.into(),
        }
    }
}

/// Checks a confidence level lies strictly between 0 and 1.
pub(crate) fn check_confidence(confidence: f64) -> Result<(), ScoringError> {
    if confidence.is_finite() && confidence > 0.0 && confidence < 1.0 {
        Ok(())
    } else {
        Err(ScoringError::parameter(
            "confidence",
            format!("{confidence} is not strictly between 0 and 1"),
        ))
    }
}
