//! [`JobError`]: why an attempt failed, and whether another attempt may help.

use std::time::Duration;

/// Why a job attempt failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JobError {
    /// Worth another attempt (an outage, a rate limit, a timeout).
    #[error("{message}")]
    Retryable {
        /// What happened.
        message: String,
        /// The earliest sensible retry, when the failure said so.
        retry_after: Option<Duration>,
    },
    /// Another attempt would fail the same way (an invalid address, a refusal,
    /// a payload that no longer makes sense).
    #[error("{0}")]
    Permanent(String),
}

impl JobError {
    /// A failure worth retrying.
    pub fn retryable(message: impl Into<String>) -> Self {
        Self::Retryable {
            message: message.into(),
            retry_after: None,
        }
    }

    /// A failure not worth retrying.
    pub fn permanent(message: impl Into<String>) -> Self {
        Self::Permanent(message.into())
    }

    /// Whether another attempt may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Retryable { .. })
    }
}

impl From<tasker_core::Error> for JobError {
    fn from(error: tasker_core::Error) -> Self {
        use std::error::Error as _;
        let message = match error.source() {
            Some(source) => format!("{error}: {source}"),
            None => error.to_string(),
        };
        match error {
            // The database or the file store may be back in a moment.
            tasker_core::Error::Storage { .. } | tasker_core::Error::Blob { .. } => {
                Self::retryable(message)
            }
            _ => Self::permanent(message),
        }
    }
}

impl From<tasker_mail::MailError> for JobError {
    fn from(error: tasker_mail::MailError) -> Self {
        if error.is_retryable() {
            Self::Retryable {
                retry_after: error.retry_after(),
                message: error.to_string(),
            }
        } else {
            Self::permanent(error.to_string())
        }
    }
}
