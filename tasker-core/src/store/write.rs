//! How writes fail and are retried: driver errors mapped to domain errors,
//! and writes rolled back by a conflict run again.

use std::time::Duration;

use super::idempotent_write::{in_idempotent_write, note_conflict};
use crate::{Error, Resource, model::Category};

/// The error of a failed category insert: a name the user already has is
/// [`Error::CategoryNameTaken`].
pub(crate) fn category_insert_error(
    operation: &'static str,
    error: sqlx::Error,
    category: &Category,
) -> Error {
    classify(
        operation,
        error,
        || Error::CategoryNameTaken {
            name: category.name.clone(),
        },
        |_| Error::storage(operation, "unexpected foreign key violation"),
    )
}

/// Maps a driver error of an insert or update to a domain error.
pub(crate) fn classify(
    operation: &'static str,
    error: sqlx::Error,
    on_unique: impl FnOnce() -> Error,
    on_foreign_key: impl FnOnce(Option<&str>) -> Error,
) -> Error {
    if let Some(db) = error.as_database_error() {
        if let Some((_, reason)) = db.message().split_once("todos_subtask_depth: ") {
            return Error::invalid("parentTodoId", reason.trim());
        }
        if db.is_unique_violation() {
            return on_unique();
        }
        if db.is_foreign_key_violation() {
            return on_foreign_key(db.constraint());
        }
    }
    Error::storage(operation, error)
}

/// How many times a write rolled back by a conflict ([`Error::is_conflict`])
/// is attempted in all before the conflict reaches the caller.
pub const CONFLICT_ATTEMPTS: u32 = 4;

/// The pause after the `attempts`-th attempt of a write lost a conflict
/// (1, 2, …): 5–10 ms, then 10–20 ms, then 20–40 ms, … (a random share, so
/// two writers that collided do not collide again in step).
pub fn conflict_pause(attempts: u32) -> Duration {
    let base = 5u64 << (attempts.clamp(1, 8) - 1);
    Duration::from_millis(base + fastrand::u64(0..=base))
}

/// Runs one attempt of a write, and runs it again while the database rolls it
/// back in favour of a concurrent transaction, at most [`CONFLICT_ATTEMPTS`]
/// times in all, pausing as [`conflict_pause`] says.
///
/// Safe because a rolled-back attempt wrote nothing. Past the bound the
/// conflict is returned; it counts as [`Error::is_unavailable`] (HTTP `503`
/// with `Retry-After`). Inside an idempotent write the conflict took the
/// request's transaction with it: it is returned at once, noted for the
/// caller, which runs the whole request again
/// (`IdempotentWrite::conflicted`).
pub(crate) async fn retry_conflicts<T, F, Fut>(mut attempt: F) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    let mut attempts = 1;
    loop {
        match attempt().await {
            Err(e) if e.is_conflict() && in_idempotent_write() => {
                note_conflict();
                return Err(e);
            }
            Err(e) if e.is_conflict() && attempts < CONFLICT_ATTEMPTS => {
                let pause = conflict_pause(attempts);
                tracing::debug!(error = %e, attempts, ?pause, "write rolled back by a conflict; retrying");
                tokio::time::sleep(pause).await;
                attempts += 1;
            }
            result => return result,
        }
    }
}

/// The resource a foreign-key failure on a todo write points at.
pub(crate) fn todo_fk_target(constraint: Option<&str>, todo_has_category: bool) -> Error {
    let resource = match constraint {
        Some(c) if c.contains("category") => Resource::Category,
        Some(c) if c.contains("parent") => Resource::ParentTodo,
        _ if todo_has_category => Resource::Category,
        _ => Resource::ParentTodo,
    };
    Error::NotFound(resource)
}
