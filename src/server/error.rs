//! The services' error: what went wrong in terms of the rules, never of HTTP.
//! `rest::ApiError` and `model::AppError` map it to their boundaries.

use crate::model::AppError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// A field the caller sent is not acceptable (422 on the API).
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Forbidden(String),
    /// The database cannot be reached or cannot take writes right now (503).
    #[error("The database is unavailable. Please try again shortly.")]
    Unavailable(#[source] sqlx::Error),
    /// Too much of one kind of work is already running (503, retry soon).
    #[error("{0}")]
    Busy(String),
    #[error("internal database error")]
    Database(#[source] sqlx::Error),
    #[error("internal error: {0}")]
    Internal(String),
}

pub const NOT_AUTHORIZED: &str = "You are not authorized to perform this action.";

impl ServiceError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        ServiceError::Invalid {
            field,
            message: message.into(),
        }
    }

    pub fn forbidden() -> Self {
        ServiceError::Forbidden(NOT_AUTHORIZED.to_string())
    }
}

/// A validation message as a sentence: "must not be blank" on `description`
/// reads "Description must not be blank"; full sentences stay as they are.
pub fn invalid_sentence(field: &str, message: &str) -> String {
    if message.starts_with(char::is_lowercase) {
        let field = field.replace('_', " ");
        let mut chars = field.chars();
        let first = chars
            .next()
            .map(|c| c.to_uppercase().collect::<String>())
            .unwrap_or_default();
        format!("{first}{} {message}", chars.as_str())
    } else {
        message.to_string()
    }
}

impl From<sqlx::Error> for ServiceError {
    fn from(e: sqlx::Error) -> Self {
        let unavailable = match &e {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_) => true,
            sqlx::Error::Database(db) => {
                let msg = db.message().to_ascii_lowercase();
                // SQLite: busy, locked, read-only or full disk; PostgreSQL: shutting down,
                // too many connections, disk full, read-only transaction.
                msg.contains("database is locked")
                    || msg.contains("busy")
                    || msg.contains("readonly")
                    || msg.contains("read-only")
                    || msg.contains("disk is full")
                    || msg.contains("disk i/o")
                    || msg.contains("not currently accepting connections")
                    || db.code().is_some_and(|c| {
                        // PostgreSQL: connection exceptions (08), insufficient
                        // resources (53), operator intervention such as a
                        // shutdown or terminated backend (57P), read-only (25006).
                        c.starts_with("08")
                            || c.starts_with("53")
                            || c.starts_with("57P")
                            || c == "25006"
                    })
            }
            _ => false,
        };
        if unavailable {
            tracing::warn!(error = %e, "database unavailable");
            ServiceError::Unavailable(e)
        } else {
            tracing::error!(error = %e, "database error");
            ServiceError::Database(e)
        }
    }
}

impl From<ServiceError> for AppError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Invalid { field, message } => {
                AppError::Invalid(invalid_sentence(field, &message))
            }
            ServiceError::BadRequest(message) => AppError::Invalid(message),
            ServiceError::NotFound(m) => AppError::NotFound(m),
            ServiceError::Conflict(m) => AppError::Conflict(m),
            ServiceError::Forbidden(m) => AppError::Forbidden(m),
            ServiceError::Unavailable(_) | ServiceError::Busy(_) => AppError::Unavailable,
            ServiceError::Database(_) | ServiceError::Internal(_) => {
                AppError::Internal("an internal error occurred; it has been logged".into())
            }
        }
    }
}
