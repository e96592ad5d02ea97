//! The JSON shapes of the API, described for the OpenAPI document.
//!
//! These types mirror what the handlers send and accept (the read models of
//! tasker-core and its raw inputs); the test suite validates every response
//! against the document built from them, and the document against the Go
//! service's contract. A host application can reuse them to merge tasker's
//! schemas into its own document.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

// Patterns below: one line = no control characters (Unicode `Cc`) and at
// least one non-blank character; text = tabs and line breaks allowed, no
// other control characters; colours `#RGB`, `#RGBA`, `#RRGGBB`, `#RRGGBBAA`;
// dates RFC 3339 or
// `YYYY-MM-DD` in the years 1970–9999 UTC. They mirror tasker-core's parsers.
// The date pattern knows the length of each month and the leap years; on
// 1970-01-01 and 9999-12-31 it only admits offsets that keep the instant
// inside the years 1970–9999 in UTC (the server also takes the few other
// instants in range, such as 1969-12-31T23:30:00-01:00).

/// A tag of a todo: 1–50 characters, not all blank.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(min_length = 1, max_length = 50, pattern = r"\S")]
pub struct TagText(pub String);

/// Life-cycle status of a todo.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TodoStatus {
    /// Not started.
    Draft,
    /// In progress.
    Active,
    /// Done (`completedAt` is set).
    Completed,
    /// Put away.
    Archived,
}

/// Urgency of a todo.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TodoPriority {
    /// Low.
    Low,
    /// Medium (the default).
    Medium,
    /// High.
    High,
}

/// Extras of a todo. Other keys are dropped (not stored), as the Go service did.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TodoMetadata {
    /// Up to 20 tags of 1–50 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, max_items = 20, value_type = Option<Vec<TagText>>)]
    pub tags: Option<Vec<String>>,
    /// A reminder note, up to 255 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, max_length = 255)]
    pub reminder: Option<String>,
    /// A colour, `#RGB`, `#RGBA`, `#RRGGBB` or `#RRGGBBAA`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(
        nullable = false,
        pattern = r"^#([0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$"
    )]
    pub color: Option<String>,
    /// 0–10.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, minimum = 0, maximum = 10)]
    pub difficulty: Option<f64>,
}

/// A todo.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Todo {
    /// Its id.
    pub id: Uuid,
    /// Its owner.
    pub user_id: String,
    /// 1–255 characters.
    pub title: String,
    /// Up to 1000 characters.
    #[schema(required = true)]
    pub description: Option<String>,
    /// Status.
    pub status: TodoStatus,
    /// Priority.
    pub priority: TodoPriority,
    /// When it is due (RFC 3339, UTC).
    #[schema(required = true, format = DateTime)]
    pub due_date: Option<String>,
    /// When it was completed (RFC 3339, UTC).
    #[schema(required = true, format = DateTime)]
    pub completed_at: Option<String>,
    /// The root todo this is a subtask of.
    #[schema(required = true)]
    pub parent_todo_id: Option<Uuid>,
    /// Its category.
    #[schema(required = true)]
    pub category_id: Option<Uuid>,
    /// Extras.
    #[schema(required = true)]
    pub metadata: Option<TodoMetadata>,
    /// Position, increasing in creation order.
    #[schema(value_type = f64)]
    pub sort_order: i64,
    /// Creation instant (RFC 3339, UTC).
    #[schema(format = DateTime)]
    pub created_at: String,
    /// Last change (RFC 3339, UTC).
    #[schema(format = DateTime)]
    pub updated_at: String,
}

/// A todo with its category, subtasks, comments and attachments.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PopulatedTodo {
    /// The todo's own fields.
    #[serde(flatten)]
    pub todo: Todo,
    /// Its category.
    #[schema(required = true)]
    pub category: Option<Category>,
    /// Its subtasks.
    pub children: Vec<Todo>,
    /// Its comments, oldest first.
    pub comments: Vec<Comment>,
    /// Its attachments, newest first.
    pub attachments: Vec<Attachment>,
}

/// A category.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Category {
    /// Its id.
    pub id: Uuid,
    /// Its owner.
    pub user_id: String,
    /// 1–100 characters, unique per user (ignoring case).
    pub name: String,
    /// A colour, `#RGB`, `#RGBA`, `#RRGGBB` or `#RRGGBBAA`.
    pub color: String,
    /// Up to 255 characters.
    #[schema(required = true)]
    pub description: Option<String>,
    /// Creation instant.
    #[schema(format = DateTime)]
    pub created_at: String,
    /// Last change.
    #[schema(format = DateTime)]
    pub updated_at: String,
}

/// A comment on a todo.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Comment {
    /// Its id.
    pub id: Uuid,
    /// The todo.
    pub todo_id: Uuid,
    /// Its author.
    pub user_id: String,
    /// 1–1000 characters.
    pub content: String,
    /// Creation instant.
    #[schema(format = DateTime)]
    pub created_at: String,
    /// Last change.
    #[schema(format = DateTime)]
    pub updated_at: String,
}

/// A file attached to a todo.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    /// Its id.
    pub id: Uuid,
    /// The todo.
    pub todo_id: Uuid,
    /// The file name.
    pub name: String,
    /// Who uploaded it.
    pub uploaded_by: String,
    /// The blob store key.
    pub download_key: String,
    /// Size in bytes.
    #[schema(required = true, value_type = Option<f64>)]
    pub file_size: Option<i64>,
    /// MIME type, sniffed from the content.
    #[schema(required = true)]
    pub mime_type: Option<String>,
    /// Creation instant.
    #[schema(format = DateTime)]
    pub created_at: String,
    /// Last change.
    #[schema(format = DateTime)]
    pub updated_at: String,
}

/// One page of todos.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TodoPage {
    /// The todos of this page.
    pub data: Vec<PopulatedTodo>,
    /// The page number (from 1).
    #[schema(value_type = f64)]
    pub page: u32,
    /// The page size.
    #[schema(value_type = f64)]
    pub limit: u32,
    /// Matching todos in all pages.
    #[schema(value_type = f64)]
    pub total: u64,
    /// Number of pages.
    #[schema(value_type = f64)]
    pub total_pages: u64,
    /// Where the next page starts: send it back as `cursor`. Absent on the
    /// last page. (Not in the Go service.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// One page of categories.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CategoryPage {
    /// The categories of this page.
    pub data: Vec<Category>,
    /// The page number (from 1).
    #[schema(value_type = f64)]
    pub page: u32,
    /// The page size.
    #[schema(value_type = f64)]
    pub limit: u32,
    /// Matching categories in all pages.
    #[schema(value_type = f64)]
    pub total: u64,
    /// Number of pages.
    #[schema(value_type = f64)]
    pub total_pages: u64,
}

/// Counts of the user's todos.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TodoStats {
    /// All todos.
    #[schema(value_type = f64)]
    pub total: u64,
    /// Drafts.
    #[schema(value_type = f64)]
    pub draft: u64,
    /// Active.
    #[schema(value_type = f64)]
    pub active: u64,
    /// Completed.
    #[schema(value_type = f64)]
    pub completed: u64,
    /// Archived.
    #[schema(value_type = f64)]
    pub archived: u64,
    /// Open and past their due date.
    #[schema(value_type = f64)]
    pub overdue: u64,
}

/// Body of "create a todo". Other keys (server-owned ones such as `id` or
/// `userId`, or any the schema does not name) are ignored, never applied.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateTodoRequest {
    /// 1–255 characters, not all blank (trimmed).
    #[schema(
        min_length = 1,
        max_length = 255,
        pattern = r"^[^\x00-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x1F\x7F-\x9F]*$"
    )]
    pub title: String,
    /// Up to 1000 characters.
    #[schema(
        nullable,
        max_length = 1000,
        pattern = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$"
    )]
    pub description: Option<String>,
    /// Default `medium`.
    #[schema(nullable = false)]
    pub priority: Option<TodoPriority>,
    /// RFC 3339 date-time or `YYYY-MM-DD`.
    #[schema(
        nullable,
        pattern = r"^(((19[89][0-9]|197[1-9]|[2-8][0-9]{3}|9[0-8][0-9][0-9]|99[0-8][0-9]|999[0-8])-((0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])|(0[469]|11)-(0[1-9]|[12][0-9]|30)|02-(0[1-9]|1[0-9]|2[0-8]))|(19(7[26]|8[048]|9[26])|[2-9][0-9](0[48]|[2468][048]|[13579][26])|([2468][048]|[3579][26])00)-02-29|1970-(01-(0[2-9]|[12][0-9]|3[01])|(0[3578]|1[02])-(0[1-9]|[12][0-9]|3[01])|(0[469]|11)-(0[1-9]|[12][0-9]|30)|02-(0[1-9]|1[0-9]|2[0-8]))|9999-((0[13578]|10)-(0[1-9]|[12][0-9]|3[01])|12-(0[1-9]|[12][0-9]|30)|(0[469]|11)-(0[1-9]|[12][0-9]|30)|02-(0[1-9]|1[0-9]|2[0-8])))([Tt ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9]))?|1970-01-01([Tt ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?([Zz]|-([01][0-9]|2[0-3]):[0-5][0-9]|\+00:00))?|9999-12-31([Tt ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?([Zz]|\+([01][0-9]|2[0-3]):[0-5][0-9]|-00:00))?)$"
    )]
    pub due_date: Option<String>,
    /// A root todo of the same user.
    #[schema(
        nullable,
        pattern = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    )]
    pub parent_todo_id: Option<Uuid>,
    /// A category of the same user.
    #[schema(
        nullable,
        pattern = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    )]
    pub category_id: Option<Uuid>,
    /// Extras.
    #[schema(nullable)]
    pub metadata: Option<TodoMetadata>,
}

/// Body of "update a todo": only the fields present change; `null` clears.
/// At least one of these fields must be present; other keys are ignored.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(min_properties = 1)]
pub struct UpdateTodoRequest {
    /// 1–255 characters, not all blank (trimmed).
    #[schema(
        nullable = false,
        min_length = 1,
        max_length = 255,
        pattern = r"^[^\x00-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x1F\x7F-\x9F]*$"
    )]
    pub title: Option<String>,
    /// Up to 1000 characters.
    #[schema(
        max_length = 1000,
        pattern = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$"
    )]
    pub description: Option<String>,
    /// New status; `completed` sets `completedAt`.
    #[schema(nullable = false)]
    pub status: Option<TodoStatus>,
    /// New priority.
    #[schema(nullable = false)]
    pub priority: Option<TodoPriority>,
    /// RFC 3339 date-time or `YYYY-MM-DD`.
    #[schema(
        pattern = r"^(((19[89][0-9]|197[1-9]|[2-8][0-9]{3}|9[0-8][0-9][0-9]|99[0-8][0-9]|999[0-8])-((0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])|(0[469]|11)-(0[1-9]|[12][0-9]|30)|02-(0[1-9]|1[0-9]|2[0-8]))|(19(7[26]|8[048]|9[26])|[2-9][0-9](0[48]|[2468][048]|[13579][26])|([2468][048]|[3579][26])00)-02-29|1970-(01-(0[2-9]|[12][0-9]|3[01])|(0[3578]|1[02])-(0[1-9]|[12][0-9]|3[01])|(0[469]|11)-(0[1-9]|[12][0-9]|30)|02-(0[1-9]|1[0-9]|2[0-8]))|9999-((0[13578]|10)-(0[1-9]|[12][0-9]|3[01])|12-(0[1-9]|[12][0-9]|30)|(0[469]|11)-(0[1-9]|[12][0-9]|30)|02-(0[1-9]|1[0-9]|2[0-8])))([Tt ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9]))?|1970-01-01([Tt ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?([Zz]|-([01][0-9]|2[0-3]):[0-5][0-9]|\+00:00))?|9999-12-31([Tt ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?([Zz]|\+([01][0-9]|2[0-3]):[0-5][0-9]|-00:00))?)$"
    )]
    pub due_date: Option<String>,
    /// A root todo of the same user, or `null` to make it a root.
    #[schema(
        pattern = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    )]
    pub parent_todo_id: Option<Uuid>,
    /// A category of the same user, or `null`.
    #[schema(
        pattern = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    )]
    pub category_id: Option<Uuid>,
    /// Extras, or `null`.
    pub metadata: Option<TodoMetadata>,
}

/// Body of "create a category". Other keys are ignored.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreateCategoryRequest {
    /// 1–100 characters, not all blank, unique per user.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x1F\x7F-\x9F]*$"
    )]
    pub name: String,
    /// A colour, `#RGB`, `#RGBA`, `#RRGGBB` or `#RRGGBBAA` (default `#6b7280`).
    #[schema(
        nullable,
        pattern = r"^#([0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$"
    )]
    pub color: Option<String>,
    /// Up to 255 characters.
    #[schema(
        nullable,
        max_length = 255,
        pattern = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$"
    )]
    pub description: Option<String>,
}

/// Body of "update a category". At least one of these fields must be
/// present; other keys are ignored.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(min_properties = 1)]
pub struct UpdateCategoryRequest {
    /// 1–100 characters, not all blank, unique per user.
    #[schema(
        nullable = false,
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x1F\x7F-\x9F]*$"
    )]
    pub name: Option<String>,
    /// A colour, `#RGB`, `#RGBA`, `#RRGGBB` or `#RRGGBBAA`.
    #[schema(
        nullable = false,
        pattern = r"^#([0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$"
    )]
    pub color: Option<String>,
    /// Up to 255 characters, or `null`.
    #[schema(
        max_length = 255,
        pattern = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$"
    )]
    pub description: Option<String>,
}

/// Body of "add a comment" and "edit a comment". Other keys (the Go frontend
/// sends `todoId`) are ignored.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CommentRequest {
    /// 1–1000 characters, not all blank; line breaks allowed.
    #[schema(
        min_length = 1,
        max_length = 1000,
        pattern = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$"
    )]
    pub content: String,
}

/// The multipart form of an upload: one part, `file`. The server skips parts
/// with other names; the document lists only `file` (no other part is ever
/// read).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UploadForm {
    /// The file (one per request, not empty).
    #[schema(value_type = String, format = Binary, min_length = 1)]
    pub file: Vec<u8>,
}

/// A download link.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DownloadUrl {
    /// Where to fetch the file; valid for a limited time.
    #[schema(format = "uri")]
    pub url: String,
}

/// One dependency in `/status`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct HealthCheckResult {
    /// `healthy` or `unhealthy`.
    pub status: String,
    /// How long the check took.
    pub response_time: String,
    /// What failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub error: Option<String>,
}

/// Overall health.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum HealthState {
    /// Every check passed.
    Healthy,
    /// A check failed.
    Unhealthy,
}

/// The `/status` body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct HealthStatus {
    /// Overall state.
    pub status: HealthState,
    /// When the checks ran (RFC 3339).
    #[schema(format = DateTime)]
    pub timestamp: String,
    /// The deployment environment.
    pub environment: String,
    /// Each dependency; `database` is always present.
    pub checks: HealthChecksBody,
}

/// The checks of `/status`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct HealthChecksBody {
    /// The database.
    pub database: HealthCheckResult,
    /// Redis, when configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub redis: Option<HealthCheckResult>,
    /// Further checks by name.
    #[serde(flatten)]
    pub others: BTreeMap<String, HealthCheckResult>,
}

// The query parameters of the lists live in `params`; their value types are
// part of this module's public face too.
pub use super::params::{
    CategoryListQuery, CategorySortKey, QueryBool, SortDirection, TodoListQuery, TodoSortKey,
};
