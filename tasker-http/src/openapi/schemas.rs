//! The JSON shapes of the API, described for the OpenAPI document.
//!
//! The wire types of tasker-core derive their schemas where they are declared
//! (its feature `openapi`); this module names them as the document does and
//! adds the shapes only the HTTP layer has: the upload form, the download
//! link and the `/status` body. The test suite validates every response
//! against the document, and the document against the Go service's contract.
//! A host application can reuse them to merge tasker's schemas into its own
//! document.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

// Under the names the document gives them (`#[schema(as = …)]` where they
// are declared), which the operations in `paths` refer to.
pub use tasker_core::{
    domain::{TodoMetadata, TodoPriority, TodoStatus},
    model::{
        Attachment, Category, Comment, CommentInput as CommentRequest,
        CreateCategory as CreateCategoryRequest, CreateTodo as CreateTodoRequest, Notifications,
        PopulatedTodo, Todo, TodoStats, UpdateCategory as UpdateCategoryRequest,
        UpdateNotifications, UpdateSettings as UpdateMeRequest, UpdateTodo as UpdateTodoRequest,
        UserSettings,
    },
    openapi::{CategoryPage, QueryBool, TagText, TodoPage},
    query::{
        CategoryListParams as CategoryListQuery, CategorySort as CategorySortKey,
        SortOrder as SortDirection, TodoListParams as TodoListQuery, TodoSort as TodoSortKey,
    },
};

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
