//! [`GoDatabase`]: the Go service's PostgreSQL database, read one user at a time.

use std::collections::{HashMap, HashSet};

use serde_json::Value;
use sqlx::{
    PgPool, Row,
    postgres::{PgPoolOptions, PgRow},
};
use time::OffsetDateTime;
use uuid::Uuid;

use super::ImportBatch;
use crate::{
    Error, Result,
    domain::{
        AttachmentName, CategoryDescription, CategoryName, CommentContent, FieldError, HexColor,
        TodoDescription, TodoMetadata, TodoPriority, TodoStatus, TodoTitle, UserId,
        ValidationErrors,
    },
    model::{Attachment, Category, Comment, Todo},
};

/// The tables and columns the Go service's migrations create (and this
/// reader uses); a database without them is not read.
const GO_SCHEMA: &[(&str, &[&str])] = &[
    (
        "todo_categories",
        &[
            "id",
            "user_id",
            "name",
            "color",
            "description",
            "created_at",
            "updated_at",
        ],
    ),
    (
        "todos",
        &[
            "id",
            "user_id",
            "title",
            "description",
            "status",
            "priority",
            "due_date",
            "completed_at",
            "parent_todo_id",
            "category_id",
            "metadata",
            "sort_order",
            "created_at",
            "updated_at",
        ],
    ),
    (
        "todo_comments",
        &[
            "id",
            "todo_id",
            "user_id",
            "content",
            "created_at",
            "updated_at",
        ],
    ),
    (
        "todo_attachments",
        &[
            "id",
            "todo_id",
            "name",
            "uploaded_by",
            "download_key",
            "file_size",
            "mime_type",
            "created_at",
            "updated_at",
        ],
    ),
];

/// A Go tasker database, opened read-only in spirit: only `SELECT`s are sent.
#[derive(Debug, Clone)]
pub struct GoDatabase {
    pool: PgPool,
}

impl GoDatabase {
    /// Connects to the Go service's database at `url` and checks that it has
    /// the Go service's tables and columns.
    ///
    /// # Errors
    /// [`Error::Validation`] on field `from` when it is not a Go tasker
    /// database (naming what is missing); [`Error::Storage`] when it cannot
    /// be reached.
    pub async fn connect(url: &str) -> Result<Self> {
        const OP: &str = "open the Go service's database";
        let pool = PgPoolOptions::new()
            .max_connections(2)
            .connect(url)
            .await
            .map_err(|e| Error::storage(OP, e))?;
        let rows = sqlx::query(
            "SELECT table_name::text AS t, column_name::text AS c FROM information_schema.columns \
             WHERE table_schema = current_schema()",
        )
        .fetch_all(&pool)
        .await
        .map_err(|e| Error::storage(OP, e))?;
        let present: HashSet<(String, String)> = rows
            .iter()
            .map(|row| Ok((row.try_get("t")?, row.try_get("c")?)))
            .collect::<std::result::Result<_, sqlx::Error>>()
            .map_err(|e| Error::storage(OP, e))?;
        let missing: Vec<String> = GO_SCHEMA
            .iter()
            .flat_map(|(table, columns)| columns.iter().map(move |column| (*table, *column)))
            .filter(|(t, c)| !present.contains(&((*t).to_owned(), (*c).to_owned())))
            .map(|(t, c)| format!("{t}.{c}"))
            .collect();
        if !missing.is_empty() {
            pool.close().await;
            let shown: Vec<_> = missing.iter().take(6).cloned().collect();
            return Err(Error::invalid(
                "from",
                format!(
                    "is not a Go tasker database: it lacks {}{}",
                    shown.join(", "),
                    if missing.len() > shown.len() {
                        ", …"
                    } else {
                        ""
                    }
                ),
            ));
        }
        Ok(Self { pool })
    }

    /// Every user with a category or a todo, in order.
    ///
    /// # Errors
    /// [`Error::Storage`] when the read fails.
    pub async fn users(&self) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT user_id FROM todo_categories UNION SELECT user_id FROM todos ORDER BY 1",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(|e| Error::storage("list the Go service's users", e))?;
        rows.iter()
            .map(|row| row.try_get("user_id"))
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| Error::storage("list the Go service's users", e))
    }

    /// Reads and checks everything of `user`: categories, todos (root todos
    /// first), comments and attachment records, as tasker's records.
    ///
    /// Values are checked by tasker's rules; text is trimmed. A status other
    /// than `completed` drops `completed_at` (tasker sets it exactly while a
    /// todo is completed; the Go service kept it on archived todos), and a
    /// completed todo without one gets its `updated_at`. A missing category
    /// colour becomes the default, `#6b7280`; a media type loses its
    /// parameters (`text/plain; charset=utf-8` → `text/plain`). Category names
    /// that differ only in case, and two attachments sharing a download key,
    /// are reported.
    ///
    /// # Errors
    /// [`Error::Validation`] naming every row that breaks a rule
    /// (`todos[<id>].title`); [`Error::Storage`] when the read fails.
    pub async fn read_user(&self, user: &str) -> Result<ImportBatch> {
        const OP: &str = "read the Go service's rows";
        let storage = |e| Error::storage(OP, e);
        let mut errors = ValidationErrors::new();
        let owner = UserId::parse(user)
            .ok()
            .filter(|id| id.as_str() == user)
            .ok_or_else(|| Error::invalid("userId", format!("{user:?} is not a valid user id")))?;

        let rows = self
            .rows_of(
                "SELECT id, name, color, description, created_at, updated_at FROM todo_categories \
             WHERE user_id = $1 ORDER BY created_at, id",
                user,
            )
            .await?;
        let mut categories = Vec::new();
        for row in &rows {
            let id: Uuid = row.try_get("id").map_err(storage)?;
            let at = |column: &str| format!("categories[{id}].{column}");
            let name: String = row.try_get("name").map_err(storage)?;
            let color: Option<String> = row.try_get("color").map_err(storage)?;
            let description: Option<String> = row.try_get("description").map_err(storage)?;
            let name =
                errors.check(CategoryName::parse(&name).map_err(|e| e.with_field(at("name"))));
            let color = match color {
                None => Some(HexColor::default()),
                Some(c) => errors.check(HexColor::parse_field(&at("color"), &c)),
            };
            let description = match description {
                None => Some(None),
                Some(d) => errors.check(
                    CategoryDescription::parse_optional(&d)
                        .map_err(|e| e.with_field(at("description"))),
                ),
            };
            if let (Some(name), Some(color), Some(description)) = (name, color, description) {
                categories.push(Category {
                    id,
                    user_id: owner.clone(),
                    name: name.as_str().to_owned(),
                    color: color.as_str().to_owned(),
                    description: description.map(|d| d.as_str().to_owned()),
                    created_at: row.try_get("created_at").map_err(storage)?,
                    updated_at: row.try_get("updated_at").map_err(storage)?,
                });
            }
        }
        // Go kept names unique as written; tasker ignores case.
        let mut names: HashMap<String, Uuid> = HashMap::new();
        for category in &categories {
            if let Some(first) = names.insert(category.name.to_lowercase(), category.id) {
                errors.push(FieldError::new(
                    format!("categories[{}].name", category.id),
                    format!(
                        "differs from category {first}'s only in case; tasker keeps names unique \
                         ignoring case: rename one"
                    ),
                ));
            }
        }
        let category_ids: HashSet<Uuid> = categories.iter().map(|c| c.id).collect();

        let rows = self
            .rows_of(
                "SELECT id, title, description, status, priority, due_date, completed_at, \
             parent_todo_id, category_id, metadata, sort_order, created_at, updated_at \
             FROM todos WHERE user_id = $1 \
             ORDER BY parent_todo_id IS NOT NULL, sort_order, id",
                user,
            )
            .await?;
        let parents: HashMap<Uuid, Option<Uuid>> = rows
            .iter()
            .map(|row| Ok((row.try_get("id")?, row.try_get("parent_todo_id")?)))
            .collect::<std::result::Result<_, sqlx::Error>>()
            .map_err(storage)?;
        let mut todos = Vec::new();
        for row in &rows {
            let id: Uuid = row.try_get("id").map_err(storage)?;
            let at = |column: &str| format!("todos[{id}].{column}");
            let title: String = row.try_get("title").map_err(storage)?;
            let description: Option<String> = row.try_get("description").map_err(storage)?;
            let status: String = row.try_get("status").map_err(storage)?;
            let priority: String = row.try_get("priority").map_err(storage)?;
            let metadata: Option<Value> = row.try_get("metadata").map_err(storage)?;
            let parent: Option<Uuid> = row.try_get("parent_todo_id").map_err(storage)?;
            let category: Option<Uuid> = row.try_get("category_id").map_err(storage)?;
            let completed_at: Option<OffsetDateTime> =
                row.try_get("completed_at").map_err(storage)?;
            let updated_at: OffsetDateTime = row.try_get("updated_at").map_err(storage)?;
            let sort_order: i32 = row.try_get("sort_order").map_err(storage)?;

            let title =
                errors.check(TodoTitle::parse(&title).map_err(|e| e.with_field(at("title"))));
            let description = match description {
                None => Some(None),
                Some(d) => errors.check(
                    TodoDescription::parse_optional(&d)
                        .map_err(|e| e.with_field(at("description"))),
                ),
            };
            let status = errors.check(TodoStatus::parse_field(&at("status"), &status));
            let priority = errors.check(TodoPriority::parse_field(&at("priority"), &priority));
            let metadata = match metadata {
                None | Some(Value::Null) => Some(None),
                Some(json) => match TodoMetadata::from_json(&at("metadata"), &json) {
                    Ok(m) => Some(Some(m)),
                    Err(e) => {
                        errors.merge(e);
                        None
                    }
                },
            };
            if let Some(parent) = parent {
                match parents.get(&parent) {
                    None => errors.push(FieldError::new(
                        at("parentTodoId"),
                        "names a todo of another user, or none",
                    )),
                    Some(Some(_)) => errors.push(FieldError::new(
                        at("parentTodoId"),
                        "names a subtask: tasker keeps one level of subtasks",
                    )),
                    Some(None) => {}
                }
            }
            if let Some(category) = category
                && !category_ids.contains(&category)
            {
                errors.push(FieldError::new(
                    at("categoryId"),
                    "names a category of another user, or one that cannot be imported",
                ));
            }
            if let (Some(title), Some(description), Some(status), Some(priority), Some(metadata)) =
                (title, description, status, priority, metadata)
            {
                let completed_at = match status {
                    TodoStatus::Completed => Some(completed_at.unwrap_or(updated_at)),
                    _ => None,
                };
                todos.push(Todo {
                    id,
                    user_id: owner.clone(),
                    title: title.as_str().to_owned(),
                    description: description.map(|d| d.as_str().to_owned()),
                    status,
                    priority,
                    due_date: row.try_get("due_date").map_err(storage)?,
                    completed_at,
                    parent_todo_id: parent,
                    category_id: category,
                    metadata,
                    sort_order: i64::from(sort_order),
                    created_at: row.try_get("created_at").map_err(storage)?,
                    updated_at,
                });
            }
        }

        let rows = self
            .rows_of(
                "SELECT c.id, c.todo_id, c.user_id, c.content, c.created_at, c.updated_at \
             FROM todo_comments c JOIN todos t ON t.id = c.todo_id \
             WHERE t.user_id = $1 ORDER BY c.created_at, c.id",
                user,
            )
            .await?;
        let mut comments = Vec::new();
        for row in &rows {
            let id: Uuid = row.try_get("id").map_err(storage)?;
            let at = |column: &str| format!("comments[{id}].{column}");
            let author: String = row.try_get("user_id").map_err(storage)?;
            let content: String = row.try_get("content").map_err(storage)?;
            let author =
                errors.check(UserId::parse(&author).map_err(|e| e.with_field(at("userId"))));
            let content = errors
                .check(CommentContent::parse(&content).map_err(|e| e.with_field(at("content"))));
            if let (Some(author), Some(content)) = (author, content) {
                comments.push(Comment {
                    id,
                    todo_id: row.try_get("todo_id").map_err(storage)?,
                    user_id: author,
                    content: content.as_str().to_owned(),
                    created_at: row.try_get("created_at").map_err(storage)?,
                    updated_at: row.try_get("updated_at").map_err(storage)?,
                });
            }
        }

        let rows = self
            .rows_of(
                "SELECT a.id, a.todo_id, a.name, a.uploaded_by, a.download_key, a.file_size, \
             a.mime_type, a.created_at, a.updated_at \
             FROM todo_attachments a JOIN todos t ON t.id = a.todo_id \
             WHERE t.user_id = $1 ORDER BY a.created_at, a.id",
                user,
            )
            .await?;
        let mut attachments = Vec::new();
        let mut keys: HashMap<String, Uuid> = HashMap::new();
        for row in &rows {
            let id: Uuid = row.try_get("id").map_err(storage)?;
            let at = |column: &str| format!("attachments[{id}].{column}");
            let name: String = row.try_get("name").map_err(storage)?;
            let uploader: String = row.try_get("uploaded_by").map_err(storage)?;
            let key: String = row.try_get("download_key").map_err(storage)?;
            let name =
                errors.check(AttachmentName::parse(&name).map_err(|e| e.with_field(at("name"))));
            let uploader =
                errors.check(UserId::parse(&uploader).map_err(|e| e.with_field(at("uploadedBy"))));
            if key.is_empty() {
                errors.push(FieldError::new(at("downloadKey"), "is empty"));
            } else if let Some(first) = keys.insert(key.clone(), id) {
                errors.push(FieldError::new(
                    at("downloadKey"),
                    format!(
                        "is also attachment {first}'s (the Go service overwrote the object with \
                         the later upload): keep one of the two rows"
                    ),
                ));
            }
            // tasker stores the media type without parameters (`; charset=…`).
            let mime_type: Option<String> = row.try_get("mime_type").map_err(storage)?;
            let mime_type = mime_type
                .map(|m| m.split(';').next().unwrap_or("").trim().to_owned())
                .filter(|m| !m.is_empty());
            if let (Some(name), Some(uploader)) = (name, uploader) {
                attachments.push(Attachment {
                    id,
                    todo_id: row.try_get("todo_id").map_err(storage)?,
                    name: name.into_inner(),
                    uploaded_by: uploader,
                    download_key: key,
                    file_size: row.try_get("file_size").map_err(storage)?,
                    mime_type,
                    created_at: row.try_get("created_at").map_err(storage)?,
                    updated_at: row.try_get("updated_at").map_err(storage)?,
                });
            }
        }

        errors.finish(|| ()).map_err(Error::Validation)?;
        Ok(ImportBatch {
            user: owner,
            categories,
            todos,
            comments,
            attachments,
        })
    }

    /// The rows `sql` (with `$1` = `user`) selects.
    async fn rows_of(&self, sql: &'static str, user: &str) -> Result<Vec<PgRow>> {
        sqlx::query(sql)
            .bind(user)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| Error::storage("read the Go service's rows", e))
    }

    /// Closes the connections.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}
