//! [`JobError`]: every way the job system fails, with its cause, and whether
//! another attempt may help.

use std::{error::Error as StdError, time::Duration};

/// A boxed error of a lower layer (the queue backend, a client library).
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// Why a job attempt, a queue operation or the job configuration failed.
///
/// Each variant carries its cause, so the chain of
/// [`source`](std::error::Error::source)s reaches the database, mail or queue
/// error; [`is_retryable`](Self::is_retryable) is read from that cause.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JobError {
    /// The database or the file store failed, or the work was refused by
    /// tasker-core (a validation error, a missing row).
    #[error(transparent)]
    Core(#[from] tasker_core::Error),
    /// An e-mail could not be rendered or sent.
    #[error(transparent)]
    Mail(#[from] tasker_mail::MailError),
    /// The queue could not be opened, read or written.
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// A configuration value cannot work.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// A job's payload names a user id that is not one.
    #[error("invalid user id in job")]
    InvalidUserId(#[source] tasker_core::domain::FieldError),
    /// An attempt ran past its time limit.
    #[error("timed out after {} s", limit.as_secs())]
    TimedOut {
        /// The limit of the attempt.
        limit: Duration,
    },
    /// The job was delivered again and again without finishing (its workers
    /// keep dying).
    #[error("delivered {deliveries} times without finishing")]
    Redelivered {
        /// How many times it was delivered.
        deliveries: usize,
    },
    /// Clerk could not be asked, or its answer could not be read.
    #[error("Clerk user lookup failed")]
    ClerkRequest(#[source] reqwest::Error),
    /// Clerk answered a user lookup with an error status.
    #[error("Clerk user lookup answered {status}{}", hint(*status))]
    ClerkStatus {
        /// The HTTP status.
        status: reqwest::StatusCode,
    },
    /// Clerk's answer to a user lookup is larger than the limit (1 MiB): a
    /// user object is a few kilobytes, so `clerk.api_url` is likely wrong.
    #[error("Clerk user lookup {url} answered more than {limit} bytes")]
    ClerkResponseTooLarge {
        /// The lookup's URL.
        url: String,
        /// The limit, in bytes.
        limit: usize,
    },
    /// Clerk's answer to a user lookup is not the user object expected
    /// (retryable, as a proxy's error page may be).
    #[error("Clerk user lookup answered an unexpected body")]
    ClerkDecode(#[source] serde_json::Error),
    /// The HTTP client for Clerk cannot be built (no TLS roots).
    #[error("cannot build the Clerk client")]
    ClerkClient(#[source] reqwest::Error),
    /// The job statistics could not be written as JSON.
    #[error("cannot encode the job statistics")]
    Encode(#[source] serde_json::Error),
}

fn hint(status: reqwest::StatusCode) -> &'static str {
    if clerk_status_is_transient(status) {
        ""
    } else {
        " (check the secret key)"
    }
}

fn clerk_status_is_transient(status: reqwest::StatusCode) -> bool {
    status == reqwest::StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

impl JobError {
    /// Whether another attempt may succeed, from the cause: the database or
    /// the file store failing, a queue error, mail's own retryable errors
    /// ([`MailError::is_retryable`](tasker_mail::MailError::is_retryable)), a
    /// timeout, Clerk unreachable, answering 429 or 5xx, or answering
    /// something other than a user object. Not: validation and other
    /// refusals of tasker-core, mail refusals and template errors, invalid
    /// payloads or configuration, a Clerk answer past the size limit, a job
    /// delivered too often.
    pub fn is_retryable(&self) -> bool {
        match self {
            // The database or the file store may be back in a moment.
            Self::Core(error) => matches!(
                error,
                tasker_core::Error::Storage { .. } | tasker_core::Error::Blob { .. }
            ),
            Self::Mail(error) => error.is_retryable(),
            Self::Queue(_)
            | Self::TimedOut { .. }
            | Self::ClerkRequest(_)
            | Self::ClerkDecode(_) => true,
            Self::ClerkStatus { status } => clerk_status_is_transient(*status),
            Self::Config(_)
            | Self::InvalidUserId(_)
            | Self::Redelivered { .. }
            | Self::ClerkClient(_)
            | Self::ClerkResponseTooLarge { .. }
            | Self::Encode(_) => false,
        }
    }

    /// The earliest sensible retry, when the cause said so (a mail
    /// provider's `Retry-After`).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Mail(error) if error.is_retryable() => error.retry_after(),
            _ => None,
        }
    }

    /// The message with every cause after it (`a: b: c`), for job records
    /// and logs.
    pub fn chain(&self) -> String {
        let mut text = self.to_string();
        let mut cause = self.source();
        while let Some(error) = cause {
            text.push_str(": ");
            text.push_str(&error.to_string());
            cause = error.source();
        }
        text
    }
}

/// The queue backend (Redis or SQLite) could not be opened, read or written.
#[derive(Debug, thiserror::Error)]
#[error("job queue ({backend}): could not {operation}")]
pub struct QueueError {
    backend: &'static str,
    operation: &'static str,
    #[source]
    source: BoxError,
}

impl QueueError {
    /// `operation` (`"push a job"`) on `backend` (`redis`, `sqlite`) failed with `source`.
    pub(crate) fn new(
        backend: &'static str,
        operation: &'static str,
        source: impl Into<BoxError>,
    ) -> Self {
        Self {
            backend,
            operation,
            source: source.into(),
        }
    }

    /// `redis` or `sqlite`.
    pub fn backend(&self) -> &'static str {
        self.backend
    }

    /// What was being done (`push a job`, `connect`, `read the backlog`).
    pub fn operation(&self) -> &'static str {
        self.operation
    }
}

#[cfg(test)]
mod tests {
    use tasker_core::Resource;

    use super::*;

    #[test]
    fn retryability_comes_from_the_cause() {
        let outage = std::io::Error::other("connection refused");
        let storage = JobError::from(tasker_core::Error::storage("read todos", outage));
        assert!(storage.is_retryable());
        assert_eq!(
            storage.chain(),
            "storage failed while trying to read todos: connection refused"
        );
        assert!(!JobError::from(tasker_core::Error::NotFound(Resource::Todo)).is_retryable());

        let queue = JobError::from(QueueError::new("redis", "push a job", "broken pipe"));
        assert!(queue.is_retryable());
        assert_eq!(
            queue.chain(),
            "job queue (redis): could not push a job: broken pipe"
        );

        let busy = JobError::ClerkStatus {
            status: reqwest::StatusCode::TOO_MANY_REQUESTS,
        };
        assert!(busy.is_retryable());
        let refused = JobError::ClerkStatus {
            status: reqwest::StatusCode::UNAUTHORIZED,
        };
        assert!(!refused.is_retryable());
        assert_eq!(
            refused.to_string(),
            "Clerk user lookup answered 401 Unauthorized (check the secret key)"
        );
    }
}
