//! Typed input errors: each says which row (0-based data row) and why.

/// Why input was rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScoringError {
    /// A weight that is negative, NaN or infinite.
    #[error("row {}: weight {value} is not a finite, non-negative number", row + 1)]
    InvalidWeight {
        /// 0-based data row.
        row: usize,
        /// The rejected weight.
        value: f64,
    },
    /// An answer outside the item's scale.
    #[error("row {}: item {} has answer {value}, outside 1..=5", row + 1, item + 1)]
    ItemOutOfRange {
        /// 0-based data row.
        row: usize,
        /// 0-based item.
        item: usize,
        /// The rejected answer.
        value: i64,
    },
    /// A row with the wrong number of values.
    #[error("row {}: expected {expected} items, got {got}", row + 1)]
    RowLength {
        /// 0-based data row.
        row: usize,
        /// Values expected.
        expected: usize,
        /// Values given.
        got: usize,
    },
    /// Nothing to compute on.
    #[error("no input rows")]
    Empty,
    /// Two inputs that must match in length do not.
    #[error("{what} have different lengths ({left} and {right})")]
    LengthMismatch {
        /// Which inputs.
        what: &'static str,
        /// Length of the first.
        left: usize,
        /// Length of the second.
        right: usize,
    },
    /// A parameter outside its domain.
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParameter {
        /// The parameter's name.
        name: &'static str,
        /// Why it was rejected.
        reason: String,
    },
    /// A bad matrix cell.
    #[error("row {row}, column {column}: {reason}")]
    InvalidMatrix {
        /// 1-based row.
        row: usize,
        /// 1-based column.
        column: usize,
        /// Why it was rejected.
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
