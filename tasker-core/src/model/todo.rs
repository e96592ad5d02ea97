//! Todos: the stored [`Todo`], the [`PopulatedTodo`] read model, and the
//! inputs [`CreateTodo`] → [`NewTodo`] and [`UpdateTodo`] → [`TodoPatch`].

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Attachment, Category, Comment, Nullable};
use crate::domain::{
    FieldError, TodoDescription, TodoMetadata, TodoPriority, TodoStatus, TodoTitle, UserId,
    ValidationErrors, parse_uuid,
    timestamp::{self, rfc3339},
};

/// A todo as stored. Subtasks are todos whose `parentTodoId` names a root todo.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Todo {
    /// Its id (UUID v7).
    pub id: Uuid,
    /// Its owner.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub user_id: UserId,
    /// 1–255 characters.
    pub title: String,
    /// Up to 1000 characters.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub description: Option<String>,
    /// Life-cycle status.
    pub status: TodoStatus,
    /// Urgency.
    pub priority: TodoPriority,
    /// When it is due.
    #[serde(with = "rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub due_date: Option<OffsetDateTime>,
    /// When it was completed; set exactly while `status` is `completed`.
    #[serde(with = "rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub completed_at: Option<OffsetDateTime>,
    /// The root todo this is a subtask of.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub parent_todo_id: Option<Uuid>,
    /// Its category.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub category_id: Option<Uuid>,
    /// Free-form extras.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub metadata: Option<TodoMetadata>,
    /// Position, increasing per user in creation order.
    #[cfg_attr(feature = "openapi", schema(value_type = f64))]
    pub sort_order: i64,
    /// Creation instant.
    #[serde(with = "rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last change instant.
    #[serde(with = "rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl Todo {
    /// Whether the todo is overdue at `now`: due in the past and not completed or archived.
    pub fn is_overdue(&self, now: OffsetDateTime) -> bool {
        self.status.is_open() && self.due_date.is_some_and(|due| due < now)
    }
}

/// A todo with its category, subtasks, comments and attachments, as the API returns it.
///
/// Each child, comment and attachment appears exactly once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PopulatedTodo {
    /// The todo itself; its fields are flattened into the JSON object.
    #[serde(flatten)]
    pub todo: Todo,
    /// Its category, if any.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub category: Option<Category>,
    /// Its subtasks, in `sortOrder`.
    pub children: Vec<Todo>,
    /// Its comments, oldest first.
    pub comments: Vec<Comment>,
    /// Its attachments, newest first (as the Go service listed them).
    pub attachments: Vec<Attachment>,
}

/// The JSON body of "create a todo", as the client sent it. Convert with
/// [`NewTodo::try_from`] to validate every field at once.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    schema(
        as = CreateTodoRequest,
        description = "Body of \"create a todo\". Other keys (server-owned ones such as `id` or\n`userId`, or any the schema does not name) are ignored, never applied."
    )
)]
#[serde(rename_all = "camelCase")]
pub struct CreateTodo {
    /// 1–255 characters, not all blank (trimmed).
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = String, min_length = 1, max_length = 255, pattern = r"^[^\x00-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x1F\x7F-\x9F]*$")
    )]
    pub title: Option<String>,
    /// Up to 1000 characters; blank means none.
    #[cfg_attr(
        feature = "openapi",
        schema(
            nullable,
            max_length = 1000,
            pattern = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$"
        )
    )]
    pub description: Option<String>,
    /// Default `medium`.
    #[cfg_attr(feature = "openapi", schema(nullable = false, value_type = Option<TodoPriority>))]
    pub priority: Option<String>,
    /// RFC 3339 date-time or `YYYY-MM-DD`.
    #[cfg_attr(
        feature = "openapi",
        schema(
            nullable,
            pattern = r"^(((19[89][0-9]|197[1-9]|[2-8][0-9]{3}|9[0-8][0-9][0-9]|99[0-8][0-9]|999[0-8])-((0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])|(0[469]|11)-(0[1-9]|[12][0-9]|30)|02-(0[1-9]|1[0-9]|2[0-8]))|(19(7[26]|8[048]|9[26])|[2-9][0-9](0[48]|[2468][048]|[13579][26])|([2468][048]|[3579][26])00)-02-29|1970-(01-(0[2-9]|[12][0-9]|3[01])|(0[3578]|1[02])-(0[1-9]|[12][0-9]|3[01])|(0[469]|11)-(0[1-9]|[12][0-9]|30)|02-(0[1-9]|1[0-9]|2[0-8]))|9999-((0[13578]|10)-(0[1-9]|[12][0-9]|3[01])|12-(0[1-9]|[12][0-9]|30)|(0[469]|11)-(0[1-9]|[12][0-9]|30)|02-(0[1-9]|1[0-9]|2[0-8])))([Tt ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9]))?|1970-01-01([Tt ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?([Zz]|-([01][0-9]|2[0-3]):[0-5][0-9]|\+00:00))?|9999-12-31([Tt ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?([Zz]|\+([01][0-9]|2[0-3]):[0-5][0-9]|-00:00))?)$"
        )
    )]
    pub due_date: Option<String>,
    /// A root todo of the same user.
    #[cfg_attr(
        feature = "openapi",
        schema(nullable, value_type = Option<Uuid>, pattern = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
    )]
    pub parent_todo_id: Option<String>,
    /// A category of the same user.
    #[cfg_attr(
        feature = "openapi",
        schema(nullable, value_type = Option<Uuid>, pattern = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
    )]
    pub category_id: Option<String>,
    /// Extras, `{tags, reminder, color, difficulty}`.
    #[cfg_attr(feature = "openapi", schema(nullable, value_type = Option<TodoMetadata>))]
    pub metadata: Option<Value>,
}

/// A validated new todo.
///
/// ```
/// use tasker_core::model::{CreateTodo, NewTodo};
///
/// let input = CreateTodo { title: Some("Write report".into()), ..Default::default() };
/// let todo = NewTodo::try_from(input).unwrap();
/// assert_eq!(todo.title.as_str(), "Write report");
///
/// let bad = CreateTodo { priority: Some("urgent".into()), ..Default::default() };
/// let errors = NewTodo::try_from(bad).unwrap_err();
/// assert!(errors.has("title") && errors.has("priority"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct NewTodo {
    /// Title.
    pub title: TodoTitle,
    /// Description.
    pub description: Option<TodoDescription>,
    /// Priority (default `medium`).
    pub priority: TodoPriority,
    /// Due date.
    pub due_date: Option<OffsetDateTime>,
    /// Parent todo (checked by the service).
    pub parent_todo_id: Option<Uuid>,
    /// Category (checked by the service).
    pub category_id: Option<Uuid>,
    /// Metadata.
    pub metadata: Option<TodoMetadata>,
}

impl NewTodo {
    /// A todo with just a title and defaults elsewhere.
    pub fn new(title: TodoTitle) -> Self {
        Self {
            title,
            description: None,
            priority: TodoPriority::default(),
            due_date: None,
            parent_todo_id: None,
            category_id: None,
            metadata: None,
        }
    }
}

fn metadata(errors: &mut ValidationErrors, json: Value) -> Option<Option<TodoMetadata>> {
    if json.is_null() {
        return Some(None);
    }
    match TodoMetadata::from_json("metadata", &json) {
        Ok(m) => Some(Some(m)),
        Err(e) => {
            errors.merge(e);
            None
        }
    }
}

impl TryFrom<CreateTodo> for NewTodo {
    type Error = ValidationErrors;

    fn try_from(input: CreateTodo) -> Result<Self, Self::Error> {
        let mut errors = ValidationErrors::new();
        let title = match input.title {
            Some(t) => errors.check(TodoTitle::parse(&t)),
            None => errors.check(Err(FieldError::new("title", "is required"))),
        };
        let description = input
            .description
            .map(|d| errors.check(TodoDescription::parse_optional(&d)));
        let priority = input
            .priority
            .map(|p| errors.check(TodoPriority::parse_field("priority", &p)));
        let due_date = input
            .due_date
            .map(|d| errors.check(timestamp::parse("dueDate", &d)));
        let parent = input
            .parent_todo_id
            .map(|p| errors.check(parse_uuid("parentTodoId", &p)));
        let category = input
            .category_id
            .map(|c| errors.check(parse_uuid("categoryId", &c)));
        let metadata = input.metadata.map(|m| metadata(&mut errors, m));
        errors.finish(|| Self {
            title: title.expect("checked"),
            description: description.flatten().flatten(),
            priority: priority.flatten().unwrap_or_default(),
            due_date: due_date.flatten(),
            parent_todo_id: parent.flatten(),
            category_id: category.flatten(),
            metadata: metadata.flatten().flatten(),
        })
    }
}

/// The JSON body of "update a todo" (PATCH): absent keys stay unchanged, `null`
/// clears a nullable field. Convert with [`TodoPatch::try_from`].
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    schema(
        as = UpdateTodoRequest,
        min_properties = 1,
        description = "Body of \"update a todo\": only the fields present change; `null` clears.\nAt least one of these fields must be present; other keys are ignored."
    )
)]
#[serde(rename_all = "camelCase")]
pub struct UpdateTodo {
    /// New title, 1–255 characters, not all blank (trimmed); not nullable.
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = Option<String>, nullable = false, min_length = 1, max_length = 255, pattern = r"^[^\x00-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x1F\x7F-\x9F]*$")
    )]
    pub title: Nullable<String>,
    /// New description, up to 1000 characters, or `null` to clear.
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = Option<String>, max_length = 1000, pattern = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$")
    )]
    pub description: Nullable<String>,
    /// New status; `completed` sets `completedAt`. Not nullable.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<TodoStatus>, nullable = false))]
    pub status: Nullable<String>,
    /// New priority (not nullable).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<TodoPriority>, nullable = false))]
    pub priority: Nullable<String>,
    /// New due date (RFC 3339 date-time or `YYYY-MM-DD`), or `null` to clear.
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = Option<String>, pattern = r"^(((19[89][0-9]|197[1-9]|[2-8][0-9]{3}|9[0-8][0-9][0-9]|99[0-8][0-9]|999[0-8])-((0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])|(0[469]|11)-(0[1-9]|[12][0-9]|30)|02-(0[1-9]|1[0-9]|2[0-8]))|(19(7[26]|8[048]|9[26])|[2-9][0-9](0[48]|[2468][048]|[13579][26])|([2468][048]|[3579][26])00)-02-29|1970-(01-(0[2-9]|[12][0-9]|3[01])|(0[3578]|1[02])-(0[1-9]|[12][0-9]|3[01])|(0[469]|11)-(0[1-9]|[12][0-9]|30)|02-(0[1-9]|1[0-9]|2[0-8]))|9999-((0[13578]|10)-(0[1-9]|[12][0-9]|3[01])|12-(0[1-9]|[12][0-9]|30)|(0[469]|11)-(0[1-9]|[12][0-9]|30)|02-(0[1-9]|1[0-9]|2[0-8])))([Tt ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9]))?|1970-01-01([Tt ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?([Zz]|-([01][0-9]|2[0-3]):[0-5][0-9]|\+00:00))?|9999-12-31([Tt ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?([Zz]|\+([01][0-9]|2[0-3]):[0-5][0-9]|-00:00))?)$")
    )]
    pub due_date: Nullable<String>,
    /// New parent (a root todo of the same user), or `null` to make it a root todo.
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = Option<Uuid>, pattern = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
    )]
    pub parent_todo_id: Nullable<String>,
    /// New category (of the same user), or `null` to clear.
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = Option<Uuid>, pattern = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
    )]
    pub category_id: Nullable<String>,
    /// New metadata (replaces the whole object), or `null` to clear.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<TodoMetadata>))]
    pub metadata: Nullable<Value>,
}

/// A validated partial update of a todo. `None` = unchanged; `Some(None)` = cleared.
///
/// ```
/// use tasker_core::model::{Nullable, TodoPatch, UpdateTodo};
///
/// let input = UpdateTodo { due_date: Nullable::Null, ..Default::default() };
/// let patch = TodoPatch::try_from(input).unwrap();
/// assert_eq!(patch.due_date, Some(None));
///
/// // An update that changes nothing is refused.
/// assert!(TodoPatch::try_from(UpdateTodo::default()).is_err());
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TodoPatch {
    /// New title.
    pub title: Option<TodoTitle>,
    /// New description.
    pub description: Option<Option<TodoDescription>>,
    /// New status (the service sets or clears `completedAt` to match).
    pub status: Option<TodoStatus>,
    /// New priority.
    pub priority: Option<TodoPriority>,
    /// New due date.
    pub due_date: Option<Option<OffsetDateTime>>,
    /// New parent.
    pub parent_todo_id: Option<Option<Uuid>>,
    /// New category.
    pub category_id: Option<Option<Uuid>>,
    /// New metadata.
    pub metadata: Option<Option<TodoMetadata>>,
}

impl TodoPatch {
    /// Whether the patch changes nothing.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// Parses a PATCH field: `None` = absent, `Some(None)` = null, `Some(Some(v))` = value.
/// A `null` on a field that is not nullable is an error.
fn patch_field<T>(
    errors: &mut ValidationErrors,
    field: &str,
    nullable: bool,
    value: Nullable<String>,
    parse: impl FnOnce(&str) -> Result<T, FieldError>,
) -> Option<Option<T>> {
    match value {
        Nullable::Absent => None,
        Nullable::Null if nullable => Some(None),
        Nullable::Null => {
            errors.push(FieldError::new(field, "must not be null"));
            None
        }
        Nullable::Value(raw) => errors.check(parse(&raw)).map(Some),
    }
}

impl TryFrom<UpdateTodo> for TodoPatch {
    type Error = ValidationErrors;

    fn try_from(input: UpdateTodo) -> Result<Self, Self::Error> {
        let mut errors = ValidationErrors::new();
        let e = &mut errors;
        let title = patch_field(e, "title", false, input.title, TodoTitle::parse).flatten();
        let description = patch_field(
            e,
            "description",
            true,
            input.description,
            TodoDescription::parse_optional,
        )
        .map(Option::flatten);
        let status = patch_field(e, "status", false, input.status, |s| {
            TodoStatus::parse_field("status", s)
        })
        .flatten();
        let priority = patch_field(e, "priority", false, input.priority, |p| {
            TodoPriority::parse_field("priority", p)
        })
        .flatten();
        let due_date = patch_field(e, "dueDate", true, input.due_date, |d| {
            timestamp::parse("dueDate", d)
        });
        let parent_todo_id = patch_field(e, "parentTodoId", true, input.parent_todo_id, |p| {
            parse_uuid("parentTodoId", p)
        });
        let category_id = patch_field(e, "categoryId", true, input.category_id, |c| {
            parse_uuid("categoryId", c)
        });
        let metadata = match input.metadata {
            Nullable::Absent => None,
            Nullable::Null => Some(None),
            Nullable::Value(json) => metadata(e, json),
        };
        let patch = Self {
            title,
            description,
            status,
            priority,
            due_date,
            parent_todo_id,
            category_id,
            metadata,
        };
        if errors.is_empty() && patch.is_empty() {
            errors.push(FieldError::new("body", "must change at least one field"));
        }
        errors.finish(|| patch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_lists_every_failing_field() {
        let input = CreateTodo {
            title: Some(" ".into()),
            description: Some("x".repeat(1001)),
            priority: Some("urgent".into()),
            due_date: Some("soon".into()),
            parent_todo_id: Some("nope".into()),
            category_id: Some("nope".into()),
            metadata: Some(serde_json::json!({"color": "blue"})),
        };
        let errors = NewTodo::try_from(input).unwrap_err();
        let fields: Vec<_> = errors.errors().iter().map(FieldError::field).collect();
        assert_eq!(
            fields,
            [
                "title",
                "description",
                "priority",
                "dueDate",
                "parentTodoId",
                "categoryId",
                "metadata.color"
            ]
        );
    }

    #[test]
    fn patch_rejects_null_on_required_fields_and_clears_nullable_ones() {
        let json = r#"{"title": null, "status": null, "description": null}"#;
        let errors =
            TodoPatch::try_from(serde_json::from_str::<UpdateTodo>(json).unwrap()).unwrap_err();
        assert!(errors.has("title") && errors.has("status") && !errors.has("description"));

        let json = r#"{"description": null, "categoryId": null, "metadata": null}"#;
        let patch = TodoPatch::try_from(serde_json::from_str::<UpdateTodo>(json).unwrap()).unwrap();
        assert_eq!(patch.description, Some(None));
        assert_eq!(patch.category_id, Some(None));
        assert_eq!(patch.metadata, Some(None));
        assert_eq!(patch.title, None);
    }

    #[test]
    fn unknown_and_server_owned_keys_are_ignored_and_never_taken() {
        let input: UpdateTodo =
            serde_json::from_str(r#"{"userId": "someone-else", "colour": 1, "title": "t"}"#)
                .unwrap();
        let patch = TodoPatch::try_from(input).unwrap();
        assert_eq!(
            patch,
            TodoPatch {
                title: Some(TodoTitle::parse("t").unwrap()),
                ..Default::default()
            }
        );

        // Only ignored keys: nothing to change, said on the body.
        let input: UpdateTodo = serde_json::from_str(r#"{"id": "x", "sortOrder": 3}"#).unwrap();
        let errors = TodoPatch::try_from(input).unwrap_err();
        assert!(errors.has("body") && !errors.has("id"), "{errors}");

        let input: CreateTodo = serde_json::from_str(
            r#"{"title": "a", "id": "x", "completedAt": null, "status": "completed"}"#,
        )
        .unwrap();
        let new = NewTodo::try_from(input).unwrap();
        assert_eq!(new, NewTodo::new(TodoTitle::parse("a").unwrap()));
    }
}
