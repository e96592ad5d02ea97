//! Per-user counts: [`TodoStats`] and the weekly report's [`WeeklyStats`].

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::Todo;
use crate::domain::{UserId, timestamp::rfc3339};

/// How many of a user's todos (subtasks included) are in each status, and how many are overdue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TodoStats {
    /// All todos.
    #[cfg_attr(feature = "openapi", schema(value_type = f64))]
    pub total: u64,
    /// Status `draft`.
    #[cfg_attr(feature = "openapi", schema(value_type = f64))]
    pub draft: u64,
    /// Status `active`.
    #[cfg_attr(feature = "openapi", schema(value_type = f64))]
    pub active: u64,
    /// Status `completed`.
    #[cfg_attr(feature = "openapi", schema(value_type = f64))]
    pub completed: u64,
    /// Status `archived`.
    #[cfg_attr(feature = "openapi", schema(value_type = f64))]
    pub archived: u64,
    /// Due date in the past and not completed or archived.
    #[cfg_attr(feature = "openapi", schema(value_type = f64))]
    pub overdue: u64,
}

/// One user's week, for the weekly report e-mail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WeeklyStats {
    /// Whose week.
    pub user_id: UserId,
    /// Start of the week (inclusive).
    #[serde(with = "rfc3339")]
    pub from: OffsetDateTime,
    /// End of the week (exclusive).
    #[serde(with = "rfc3339")]
    pub to: OffsetDateTime,
    /// Todos created in the week.
    pub created: u64,
    /// Todos completed in the week (by `completedAt`; a todo completed and then
    /// archived within the week has no `completedAt` any more and is not counted —
    /// auto-archive waits 30 days by default).
    pub completed: u64,
    /// Todos in status `active` now.
    pub active: u64,
    /// Todos overdue now.
    pub overdue: u64,
    /// Todos completed in the week, most recent first (at most the requested number).
    pub completed_todos: Vec<Todo>,
    /// Overdue todos, oldest due date first (at most the requested number).
    pub overdue_todos: Vec<Todo>,
}
