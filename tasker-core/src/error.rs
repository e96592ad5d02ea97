//! The error type of tasker-core.

use std::fmt;

use crate::domain::ValidationErrors;

/// SQLSTATEs of work PostgreSQL rolled back at once in favour of a concurrent
/// transaction: `40P01` deadlock detected, `40001` serialization failure.
const CONFLICT_CODES: [&str; 2] = ["40P01", "40001"];

/// SQLite's result codes for a write lock still held by another connection
/// when the busy timeout ran out: `SQLITE_BUSY` (5) and its extended codes
/// `SQLITE_BUSY_RECOVERY` (261), `SQLITE_BUSY_SNAPSHOT` (517) and
/// `SQLITE_BUSY_TIMEOUT` (773).
const SQLITE_BUSY_CODES: [&str; 4] = ["5", "261", "517", "773"];

/// A boxed error from a lower layer (database driver, object store).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The result type of tasker-core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What kind of resource was not found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Resource {
    /// A todo addressed directly.
    Todo,
    /// The `parentTodoId` of a create or update.
    ParentTodo,
    /// A category, addressed directly or as a todo's `categoryId`.
    Category,
    /// A comment.
    Comment,
    /// An attachment.
    Attachment,
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Todo => "todo",
            Self::ParentTodo => "parent todo",
            Self::Category => "category",
            Self::Comment => "comment",
            Self::Attachment => "attachment",
        })
    }
}

/// Everything that can go wrong in tasker-core.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input broke a rule; every failing field is listed.
    #[error("validation failed: {0}")]
    Validation(#[from] ValidationErrors),
    /// The resource does not exist, or belongs to another user (never told apart).
    #[error("{0} not found")]
    NotFound(Resource),
    /// The resource changed after the version the caller based its change on
    /// (optimistic concurrency; HTTP `412` for `If-Match`).
    #[error("{0} changed since it was read")]
    Stale(Resource),
    /// The user already has a category with this name (compared case-insensitively).
    #[error("a category named {name:?} already exists")]
    CategoryNameTaken {
        /// The name that was refused.
        name: String,
    },
    /// The database failed or could not be reached.
    #[error("storage failed while trying to {operation}")]
    Storage {
        /// What the store was doing.
        operation: &'static str,
        /// The driver's error.
        #[source]
        source: BoxError,
    },
    /// The blob store failed.
    #[error("blob storage failed while trying to {operation}")]
    Blob {
        /// What the blob store was doing.
        operation: &'static str,
        /// The object store's error.
        #[source]
        source: BoxError,
    },
}

impl Error {
    /// A storage error with its context.
    pub fn storage(operation: &'static str, source: impl Into<BoxError>) -> Self {
        Self::Storage {
            operation,
            source: source.into(),
        }
    }

    /// Whether the database could not be reached or no connection was free
    /// in time: the pool timed out or is closed, a connection broke or was
    /// refused, or the server is shutting down or restarting; SQLite's write
    /// lock stayed taken for the whole busy timeout; or the write kept losing
    /// to concurrent ones ([`Error::is_conflict`]). Such a request
    /// is worth retrying shortly (HTTP `503`); other storage errors are not.
    pub fn is_unavailable(&self) -> bool {
        if self.is_conflict() {
            return true;
        }
        let Self::Storage { source, .. } = self else {
            return false;
        };
        match source.downcast_ref::<sqlx::Error>() {
            Some(
                sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::Io(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::WorkerCrashed,
            ) => true,
            // SQLSTATE class 08 (connection exception) and 57 (operator
            // intervention: admin shutdown, crash shutdown, cannot connect now);
            // SQLite's busy codes.
            Some(sqlx::Error::Database(e)) => e.code().is_some_and(|code| {
                code.starts_with("08")
                    || code.starts_with("57P")
                    || SQLITE_BUSY_CODES.contains(&code.as_ref())
            }),
            _ => false,
        }
    }

    /// Whether PostgreSQL rolled the work back so that a concurrent
    /// transaction could go on: a deadlock (`40P01`) or a serialization
    /// failure (`40001`). Nothing of the work was written, so running it
    /// again is safe; the stores do so a few times before they return this
    /// error.
    pub fn is_conflict(&self) -> bool {
        let Self::Storage { source, .. } = self else {
            return false;
        };
        match source.downcast_ref::<sqlx::Error>() {
            Some(sqlx::Error::Database(e)) => e
                .code()
                .is_some_and(|code| CONFLICT_CODES.contains(&code.as_ref())),
            _ => false,
        }
    }

    /// Whether this is a file-store failure because the disk (or quota) is
    /// full: `ENOSPC` or `EDQUOT` somewhere in its causes.
    pub fn is_storage_full(&self) -> bool {
        let Self::Blob { source, .. } = self else {
            return false;
        };
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(source.as_ref());
        while let Some(error) = cause {
            if let Some(io) = error.downcast_ref::<std::io::Error>()
                && (io.kind() == std::io::ErrorKind::StorageFull
                    || io.kind() == std::io::ErrorKind::QuotaExceeded)
            {
                return true;
            }
            cause = error.source();
        }
        false
    }

    /// A validation error on one field.
    pub fn invalid(field: &str, error: impl Into<String>) -> Self {
        Self::Validation(crate::domain::FieldError::new(field, error).into())
    }
}
