//! The query parameters of the list operations and the types of their values
//! (the patterns follow the rules stated at the top of [`super::schemas`]).

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::schemas::{TodoPriority, TodoStatus};

/// Sort keys of the todo list.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TodoSortKey {
    /// Creation time (default).
    CreatedAt,
    /// Last change.
    UpdatedAt,
    /// Title, ignoring case.
    Title,
    /// Priority.
    Priority,
    /// Due date; undated todos last.
    DueDate,
    /// Status.
    Status,
}

/// Sort keys of the category list.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CategorySortKey {
    /// Name, ignoring case (default).
    Name,
    /// Creation time.
    CreatedAt,
    /// Last change.
    UpdatedAt,
}

/// Sort direction.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SortDirection {
    /// Ascending.
    Asc,
    /// Descending.
    Desc,
}

/// A boolean in a query string: the spellings Go's `strconv.ParseBool`
/// accepted (`1`, `t`, `T`, `true`, `TRUE`, `True`, `0`, `f`, `F`, `false`,
/// `FALSE`, `False`); empty means `false`, as the Go service's binder read it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(pattern = r"^(1|t|T|true|TRUE|True|0|f|F|false|FALSE|False)?$")]
pub struct QueryBool(pub String);

/// Query parameters of "list todos".
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct TodoListQuery {
    /// Page number (default 1). Not with `cursor`.
    #[param(minimum = 1, maximum = 1000000)]
    pub page: Option<u32>,
    /// The `nextCursor` of the previous page: keyset pagination, as fast on
    /// the 500th page as on the first. It carries the sort order and the page
    /// number; `sort` and `order`, if sent, must match it. Not with `page`.
    /// URL-safe base64 without padding. (Not in the Go service.)
    #[param(min_length = 1, max_length = 8192, pattern = r"^[A-Za-z0-9_-]+$")]
    pub cursor: Option<String>,
    /// Page size (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// Sort key (default `created_at`).
    pub sort: Option<TodoSortKey>,
    /// Direction (default `desc`).
    pub order: Option<SortDirection>,
    /// Case-insensitive substring of title or description, trimmed; blank
    /// means no filter.
    #[param(pattern = r"^[^\x00]*$")]
    pub search: Option<String>,
    /// Only this status.
    pub status: Option<TodoStatus>,
    /// Only this priority.
    pub priority: Option<TodoPriority>,
    /// Only this category.
    #[param(
        pattern = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    )]
    pub category_id: Option<Uuid>,
    /// The subtasks of this todo (default: root todos only).
    #[param(
        pattern = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    )]
    pub parent_todo_id: Option<Uuid>,
    /// Due at or after: an RFC 3339 date-time or a date `YYYY-MM-DD`.
    #[param(
        pattern = r"^(((19[89][0-9]|197[1-9]|[2-8][0-9]{3}|9[0-8][0-9][0-9]|99[0-8][0-9]|999[0-8])-((0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])|(0[469]|11)-(0[1-9]|[12][0-9]|30)|02-(0[1-9]|1[0-9]|2[0-8]))|(19(7[26]|8[048]|9[26])|[2-9][0-9](0[48]|[2468][048]|[13579][26])|([2468][048]|[3579][26])00)-02-29|1970-(01-(0[2-9]|[12][0-9]|3[01])|(0[3578]|1[02])-(0[1-9]|[12][0-9]|3[01])|(0[469]|11)-(0[1-9]|[12][0-9]|30)|02-(0[1-9]|1[0-9]|2[0-8]))|9999-((0[13578]|10)-(0[1-9]|[12][0-9]|3[01])|12-(0[1-9]|[12][0-9]|30)|(0[469]|11)-(0[1-9]|[12][0-9]|30)|02-(0[1-9]|1[0-9]|2[0-8])))([Tt ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9]))?|1970-01-01([Tt ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?([Zz]|-([01][0-9]|2[0-3]):[0-5][0-9]|\+00:00))?|9999-12-31([Tt ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?([Zz]|\+([01][0-9]|2[0-3]):[0-5][0-9]|-00:00))?)$"
    )]
    pub due_from: Option<String>,
    /// Due at or before: an RFC 3339 date-time or a date `YYYY-MM-DD` (which
    /// includes the whole day).
    #[param(
        pattern = r"^(((19[89][0-9]|197[1-9]|[2-8][0-9]{3}|9[0-8][0-9][0-9]|99[0-8][0-9]|999[0-8])-((0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])|(0[469]|11)-(0[1-9]|[12][0-9]|30)|02-(0[1-9]|1[0-9]|2[0-8]))|(19(7[26]|8[048]|9[26])|[2-9][0-9](0[48]|[2468][048]|[13579][26])|([2468][048]|[3579][26])00)-02-29|1970-(01-(0[2-9]|[12][0-9]|3[01])|(0[3578]|1[02])-(0[1-9]|[12][0-9]|3[01])|(0[469]|11)-(0[1-9]|[12][0-9]|30)|02-(0[1-9]|1[0-9]|2[0-8]))|9999-((0[13578]|10)-(0[1-9]|[12][0-9]|3[01])|12-(0[1-9]|[12][0-9]|30)|(0[469]|11)-(0[1-9]|[12][0-9]|30)|02-(0[1-9]|1[0-9]|2[0-8])))([Tt ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9]))?|1970-01-01([Tt ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?([Zz]|-([01][0-9]|2[0-3]):[0-5][0-9]|\+00:00))?|9999-12-31([Tt ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?([Zz]|\+([01][0-9]|2[0-3]):[0-5][0-9]|-00:00))?)$"
    )]
    pub due_to: Option<String>,
    /// Only overdue (`true`) or not overdue (`false`) todos.
    pub overdue: Option<QueryBool>,
    /// Only completed (`true`) or not completed (`false`) todos.
    pub completed: Option<QueryBool>,
}

/// Query parameters of "list categories".
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CategoryListQuery {
    /// Page number (default 1).
    #[param(minimum = 1, maximum = 1000000)]
    pub page: Option<u32>,
    /// Page size (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// Sort key (default `name`).
    pub sort: Option<CategorySortKey>,
    /// Direction (default `asc`).
    pub order: Option<SortDirection>,
    /// Case-insensitive substring of name or description, trimmed; blank
    /// means no filter.
    #[param(pattern = r"^[^\x00]*$")]
    pub search: Option<String>,
}
