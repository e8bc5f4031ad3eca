//! The service layer's error type. It is mapped to HTTP in exactly one place
//! (`http::error`).

use sea_orm::{DbErr, SqlErr};

/// One rejected input field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub reason: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// Why a use case did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The entity does not exist, or the caller may not know that it does.
    #[error("{entity} not found")]
    NotFound { entity: &'static str },
    /// The caller's role or scope does not allow this write.
    #[error("{0}")]
    Forbidden(String),
    /// The write conflicts with existing state (duplicate key, illegal transition).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// Input that parsed but breaks a rule; names every offending field.
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// The input is larger than a limit allows (rows, columns, unpacked size).
    #[error("{0}")]
    TooLarge(String),
    /// Too many requests from this client; retry after the given seconds.
    #[error("too many requests")]
    RateLimited { retry_after_secs: i64 },
    /// Anything unexpected: logged in full, reported to clients as a generic 500.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ServiceError {
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, reason)])
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden(message.into())
    }

    /// Maps a unique-constraint violation to a 409 with `message`; anything else is
    /// internal.
    pub fn from_unique(err: DbErr, message: impl Into<String>) -> Self {
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => Self::Conflict {
                code: "already_exists",
                message: message.into(),
            },
            _ => Self::from(err),
        }
    }
}

impl From<DbErr> for ServiceError {
    fn from(err: DbErr) -> Self {
        Self::Internal(anyhow::Error::new(err).context("database error"))
    }
}

/// Collects field errors so a client learns about every bad field at once.
#[derive(Debug, Default)]
pub struct Validator(Vec<FieldError>);

impl Validator {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: &str, reason: impl Into<String>) {
        self.0.push(FieldError::new(field, reason));
    }

    /// Checks a free-text field's trimmed length in characters; returns the trimmed text.
    pub fn text(&mut self, field: &str, value: &str, min: usize, max: usize) -> String {
        let trimmed = value.trim();
        let len = trimmed.chars().count();
        if len < min {
            self.add(field, format!("must not be shorter than {min} characters"));
        } else if len > max {
            self.add(
                field,
                format!("must not be longer than {max} characters, got {len}"),
            );
        }
        trimmed.to_owned()
    }

    /// Records the error of a parse, keeping its value when it succeeded.
    pub fn parsed<T, E: std::fmt::Display>(
        &mut self,
        field: &str,
        result: Result<T, E>,
    ) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.add(field, e.to_string());
                None
            }
        }
    }

    pub fn finish(self) -> Result<(), ServiceError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ServiceError::Validation(self.0))
        }
    }
}
