//! The error type of tasker-mail.

use std::{fmt, path::PathBuf, time::Duration};

use crate::config::TransportKind;

/// A boxed error from a lower layer (HTTP client, SMTP client, address parser).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The result type of tasker-mail.
pub type Result<T, E = MailError> = std::result::Result<T, E>;

/// An HTTP or SMTP status code attached to an error, shown as ` (status N)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct StatusSuffix(Option<u16>);

impl fmt::Display for StatusSuffix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(status) => write!(f, " (status {status})"),
            None => Ok(()),
        }
    }
}

/// Everything that can go wrong while rendering or sending e-mail.
///
/// Errors are either *permanent* (sending the same message again fails the same
/// way) or *retryable* (the same message may go through later);
/// [`is_retryable`](Self::is_retryable) tells them apart, and
/// [`retry_after`](Self::retry_after) says how long the provider asked to wait.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MailError {
    /// A from, to or reply-to address is not a valid mailbox. Permanent.
    #[error("invalid e-mail address {address:?}")]
    InvalidAddress {
        /// The address as given.
        address: String,
        /// Why it was refused.
        #[source]
        source: BoxError,
    },
    /// The message cannot be sent as it is (no recipient, no body). Permanent.
    #[error("invalid message: {reason}")]
    InvalidMessage {
        /// What is wrong with it.
        reason: String,
    },
    /// The provider or server refused the message for good (HTTP 4xx, SMTP 5xx). Permanent.
    #[error("{transport} rejected the message{}: {message}", StatusSuffix(*status))]
    Rejected {
        /// The transport that answered.
        transport: TransportKind,
        /// The HTTP status or SMTP reply code, when there was one.
        status: Option<u16>,
        /// The provider's error name (Resend's `name`, e.g. `validation_error`).
        code: Option<String>,
        /// The provider's explanation.
        message: String,
    },
    /// The provider already accepted a message with this idempotency key, with
    /// different content (Resend: HTTP 409 `invalid_idempotent_request`).
    /// Permanent.
    ///
    /// A message with this key was already accepted: a job queue that gives
    /// each key to one exact piece of content can treat the message as sent.
    #[error("{transport} already accepted a message with this idempotency key: {message}")]
    IdempotencyConflict {
        /// The transport that answered.
        transport: TransportKind,
        /// The provider's explanation.
        message: String,
    },
    /// The provider asked to slow down (HTTP 429), or a daily or monthly
    /// sending quota is used up. Retryable.
    #[error("{transport} rate limit reached: {message}")]
    RateLimited {
        /// The transport that answered.
        transport: TransportKind,
        /// How long to wait: the `Retry-After` header (at most an hour), or
        /// for a used-up quota the time until it resets (next midnight UTC
        /// for a daily quota, the first of next month UTC for a monthly one).
        retry_after: Option<Duration>,
        /// The provider's explanation.
        message: String,
    },
    /// The provider or server failed or is busy (HTTP 5xx, 408, SMTP 4xx). Retryable.
    #[error("{transport} is unavailable{}: {message}", StatusSuffix(*status))]
    Unavailable {
        /// The transport that answered.
        transport: TransportKind,
        /// The HTTP status or SMTP reply code, when there was one.
        status: Option<u16>,
        /// How long to wait, from the `Retry-After` header.
        retry_after: Option<Duration>,
        /// The provider's explanation.
        message: String,
    },
    /// No answer came in time. Retryable.
    #[error("{transport} timed out")]
    Timeout {
        /// The transport that waited.
        transport: TransportKind,
        /// The client's error.
        #[source]
        source: BoxError,
    },
    /// The server could not be reached, or the connection broke before an answer. Retryable.
    #[error("could not talk to the {transport} server")]
    Connection {
        /// The transport that tried.
        transport: TransportKind,
        /// The client's error.
        #[source]
        source: BoxError,
    },
    /// The provider answered something that could not be understood, or a
    /// success answer could not be read to its end. Permanent: the message
    /// may have been accepted, so it is not sent again.
    #[error("unexpected answer from {transport}")]
    InvalidResponse {
        /// The transport that answered.
        transport: TransportKind,
        /// Why the answer could not be read.
        #[source]
        source: BoxError,
    },
    /// A template failed to load or render. Permanent.
    #[error("e-mail template {name:?} failed")]
    Template {
        /// The template's file name.
        name: String,
        /// The template engine's error.
        #[source]
        source: minijinja::Error,
    },
    /// Reading or writing a file (templates folder, preview folder) failed. Retryable.
    #[error("could not {operation} {}", path.display())]
    Io {
        /// What was being done (`"read"`, `"write"`, `"create"`).
        operation: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The mail configuration is incomplete or invalid. Permanent.
    #[error("invalid mail configuration: {reason}")]
    Config {
        /// What is missing or wrong.
        reason: String,
        /// The underlying error, if any.
        #[source]
        source: Option<BoxError>,
    },
}

impl MailError {
    /// Whether sending the same message again later may succeed.
    ///
    /// True for rate limits, provider or server failures (HTTP 5xx and 408,
    /// SMTP 4xx), timeouts, broken connections and file-system errors; false
    /// for invalid addresses or messages, refusals (HTTP 4xx, SMTP 5xx),
    /// idempotency conflicts, unreadable answers, template and configuration
    /// errors.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. }
                | Self::Unavailable { .. }
                | Self::Timeout { .. }
                | Self::Connection { .. }
                | Self::Io { .. }
        )
    }

    /// Whether sending the same message again will fail the same way.
    pub fn is_permanent(&self) -> bool {
        !self.is_retryable()
    }

    /// How long the provider asked to wait before trying again (`Retry-After`).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after, .. } | Self::Unavailable { retry_after, .. } => {
                *retry_after
            }
            _ => None,
        }
    }

    /// The HTTP status or SMTP reply code the provider answered with, if any.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Rejected { status, .. } | Self::Unavailable { status, .. } => *status,
            Self::RateLimited { .. } => Some(429),
            Self::IdempotencyConflict { .. } => Some(409),
            _ => None,
        }
    }

    /// A configuration error without an underlying cause.
    pub(crate) fn config(reason: impl Into<String>) -> Self {
        Self::Config {
            reason: reason.into(),
            source: None,
        }
    }

    /// An invalid-message error.
    pub(crate) fn invalid_message(reason: impl Into<String>) -> Self {
        Self::InvalidMessage {
            reason: reason.into(),
        }
    }

    /// A file-system error with its context.
    pub(crate) fn io(
        operation: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Self::Io {
            operation,
            path: path.into(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync_static<T: Send + Sync + 'static>() {}

    #[test]
    fn errors_can_cross_threads_and_be_boxed() {
        assert_send_sync_static::<MailError>();
        let boxed: BoxError = Box::new(MailError::config("x"));
        assert_eq!(boxed.to_string(), "invalid mail configuration: x");
    }

    #[test]
    fn statuses_show_in_the_message() {
        let error = MailError::Rejected {
            transport: TransportKind::Resend,
            status: Some(422),
            code: Some("validation_error".to_owned()),
            message: "bad to".to_owned(),
        };
        assert_eq!(
            error.to_string(),
            "resend rejected the message (status 422): bad to"
        );
    }
}
