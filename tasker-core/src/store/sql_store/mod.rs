//! The store implementation shared by both backends.
//!
//! `sql_store!` (here: imports, row decoding, connection plumbing) expands the
//! per-trait macros of the submodules, one file per storage trait.
//!
//! `sql_store!` is expanded once in `postgres.rs` and once in `sqlite.rs`.
//! The expansion resolves these names in the expanding module: `Db` (the sqlx
//! database), `DIALECT`, `query(Sql)` (binds the arguments), and
//! `time`/`opt_time` (read an instant from a row); the store struct has the
//! fields `pool` and `counter`. The statements themselves
//! come from [`super::sql`].

mod attachments;
mod categories;
mod comments;
mod idempotency;
mod import;
mod jobs;
mod todos;

pub(crate) use attachments::attachment_store;
pub(crate) use categories::category_store;
pub(crate) use comments::comment_store;
pub(crate) use idempotency::idempotency_store;
pub(crate) use import::import_store;
pub(crate) use jobs::job_store;
pub(crate) use todos::todo_store;

use std::{collections::HashMap, time::Duration};

use uuid::Uuid;

use crate::{
    Error, Resource,
    model::{Attachment, Category, Comment, PopulatedTodo, Todo},
};

/// Joins the rows of a page into populated todos, keeping page order; each
/// child, comment and attachment lands under exactly one todo.
pub(crate) fn assemble(
    todos: Vec<(Todo, Option<Category>)>,
    children: Vec<Todo>,
    comments: Vec<Comment>,
    attachments: Vec<Attachment>,
) -> Vec<PopulatedTodo> {
    let mut children_of: HashMap<Uuid, Vec<Todo>> = HashMap::new();
    for child in children {
        if let Some(parent) = child.parent_todo_id {
            children_of.entry(parent).or_default().push(child);
        }
    }
    let mut comments_of: HashMap<Uuid, Vec<Comment>> = HashMap::new();
    for comment in comments {
        comments_of
            .entry(comment.todo_id)
            .or_default()
            .push(comment);
    }
    let mut attachments_of: HashMap<Uuid, Vec<Attachment>> = HashMap::new();
    for attachment in attachments {
        attachments_of
            .entry(attachment.todo_id)
            .or_default()
            .push(attachment);
    }
    todos
        .into_iter()
        .map(|(todo, category)| PopulatedTodo {
            children: children_of.remove(&todo.id).unwrap_or_default(),
            comments: comments_of.remove(&todo.id).unwrap_or_default(),
            attachments: attachments_of.remove(&todo.id).unwrap_or_default(),
            category,
            todo,
        })
        .collect()
}

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
pub(crate) const CONFLICT_ATTEMPTS: u32 = 4;

/// Runs one attempt of a write, and runs it again while the database rolls it
/// back in favour of a concurrent transaction, at most [`CONFLICT_ATTEMPTS`]
/// times in all, pausing 5–10 ms, then 10–20 ms, then 20–40 ms (a random
/// share, so two writers that collided do not collide again in step).
///
/// Safe because a rolled-back attempt wrote nothing. Past the bound the
/// conflict is returned; it counts as [`Error::is_unavailable`] (HTTP `503`
/// with `Retry-After`).
pub(crate) async fn retry_conflicts<T, F, Fut>(mut attempt: F) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    let mut attempts = 1;
    loop {
        match attempt().await {
            Err(e) if e.is_conflict() && attempts < CONFLICT_ATTEMPTS => {
                let base = 5u64 << (attempts - 1);
                let pause = Duration::from_millis(base + fastrand::u64(0..=base));
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

macro_rules! sql_store {
    ($store:ident, $name:literal, $migrator:expr) => {
        use sqlx::{Executor, Row as _, types::Json};
        use time::OffsetDateTime;
        use uuid::Uuid;

        use $crate::{
            Error, Resource, Result,
            domain::{CommentContent, TodoMetadata, TodoPriority, TodoStatus, UserId},
            model::{
                Attachment, Category, CategoryPatch, Comment, JobRun, JobRunCounts, KnownUser,
                Page, PopulatedTodo, Todo, TodoStats, WeeklyStats,
            },
            query::{CategoryQuery, PageCursor, PageRequest, TodoQuery},
            store::{
                IdempotencyClaim, StoredResponse, TodoChanges, TodoCursor, TodoNotificationKind,
                sql::{self, Arg, Sql},
                sql_store::{
                    assemble, category_insert_error, classify, retry_conflicts, todo_fk_target,
                },
            },
        };

        type Row = <Db as sqlx::Database>::Row;

        fn decode_error(column: &str) -> sqlx::Error {
            sqlx::Error::ColumnDecode {
                index: column.to_owned(),
                source: "value out of range".into(),
            }
        }

        fn todo_from_row(row: &Row) -> std::result::Result<Todo, sqlx::Error> {
            Ok(Todo {
                id: row.try_get("id")?,
                user_id: UserId::from_db(row.try_get("user_id")?),
                title: row.try_get("title")?,
                description: row.try_get("description")?,
                status: TodoStatus::from_rank(row.try_get("status")?)
                    .ok_or_else(|| decode_error("status"))?,
                priority: TodoPriority::from_rank(row.try_get("priority")?)
                    .ok_or_else(|| decode_error("priority"))?,
                due_date: opt_time(row, "due_date")?,
                completed_at: opt_time(row, "completed_at")?,
                parent_todo_id: row.try_get("parent_todo_id")?,
                category_id: row.try_get("category_id")?,
                metadata: row
                    .try_get::<Option<Json<TodoMetadata>>, _>("metadata")?
                    .map(|m| m.0),
                sort_order: row.try_get("sort_order")?,
                created_at: time(row, "created_at")?,
                updated_at: time(row, "updated_at")?,
            })
        }

        /// A category from unprefixed columns, or from the `c_`-prefixed columns of a join.
        fn category_from_row(
            row: &Row,
            joined: bool,
        ) -> std::result::Result<Option<Category>, sqlx::Error> {
            let col = |name: &str| {
                if joined {
                    format!("c_{name}")
                } else {
                    name.to_owned()
                }
            };
            let Some(id) = row.try_get::<Option<Uuid>, _>(col("id").as_str())? else {
                return Ok(None);
            };
            Ok(Some(Category {
                id,
                user_id: UserId::from_db(row.try_get(col("user_id").as_str())?),
                name: row.try_get(col("name").as_str())?,
                color: row.try_get(col("color").as_str())?,
                description: row.try_get(col("description").as_str())?,
                created_at: time(row, &col("created_at"))?,
                updated_at: time(row, &col("updated_at"))?,
            }))
        }

        fn comment_from_row(row: &Row) -> std::result::Result<Comment, sqlx::Error> {
            Ok(Comment {
                id: row.try_get("id")?,
                todo_id: row.try_get("todo_id")?,
                user_id: UserId::from_db(row.try_get("user_id")?),
                content: row.try_get("content")?,
                created_at: time(row, "created_at")?,
                updated_at: time(row, "updated_at")?,
            })
        }

        fn attachment_from_row(row: &Row) -> std::result::Result<Attachment, sqlx::Error> {
            Ok(Attachment {
                id: row.try_get("id")?,
                todo_id: row.try_get("todo_id")?,
                name: row.try_get("name")?,
                uploaded_by: UserId::from_db(row.try_get("uploaded_by")?),
                download_key: row.try_get("download_key")?,
                file_size: row.try_get("file_size")?,
                mime_type: row.try_get("mime_type")?,
                created_at: time(row, "created_at")?,
                updated_at: time(row, "updated_at")?,
            })
        }

        fn decode_all<T>(
            operation: &'static str,
            rows: &[Row],
            f: impl Fn(&Row) -> std::result::Result<T, sqlx::Error>,
        ) -> Result<Vec<T>> {
            rows.iter()
                .map(|r| f(r).map_err(|e| Error::storage(operation, e)))
                .collect()
        }

        fn decode_one<T>(
            operation: &'static str,
            row: Option<Row>,
            f: impl Fn(&Row) -> std::result::Result<T, sqlx::Error>,
        ) -> Result<Option<T>> {
            row.map(|r| f(&r).map_err(|e| Error::storage(operation, e)))
                .transpose()
        }

        fn count(operation: &'static str, row: &Row, column: &str) -> Result<u64> {
            let n: i64 = row
                .try_get(column)
                .map_err(|e| Error::storage(operation, e))?;
            Ok(u64::try_from(n).unwrap_or(0))
        }

        impl $store {
            #[doc = concat!("Wraps an existing ", $name, " pool (the host application's own).")]
            pub fn from_pool(pool: sqlx::Pool<Db>) -> Self {
                Self {
                    pool,
                    counter: Default::default(),
                }
            }

            /// The connection pool.
            pub fn pool(&self) -> &sqlx::Pool<Db> {
                &self.pool
            }

            #[doc = concat!("Applies the embedded ", $name, " migrations that have not run yet.")]
            ///
            /// # Errors
            /// [`Error::Storage`] when a migration fails; it is rolled back.
            pub async fn migrate(&self) -> Result<()> {
                $migrator
                    .run(&self.pool)
                    .await
                    .map_err(|e| Error::storage(concat!("apply ", $name, " migrations"), e))
            }

            /// How many of the embedded migrations the database has not applied
            /// successfully yet (0 when the schema is current).
            ///
            /// # Errors
            /// [`Error::Storage`] when the database cannot be reached.
            pub async fn pending_migrations(&self) -> Result<usize> {
                const OP: &str = concat!("read the applied ", $name, " migrations");
                let exists: bool = sqlx::query_scalar(MIGRATIONS_TABLE_EXISTS)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(|e| Error::storage(OP, e))?;
                let applied: Vec<i64> = if exists {
                    sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
                        .fetch_all(&self.pool)
                        .await
                        .map_err(|e| Error::storage(OP, e))?
                } else {
                    Vec::new()
                };
                Ok($migrator
                    .iter()
                    .filter(|m| !m.migration_type.is_down_migration())
                    .filter(|m| !applied.contains(&m.version))
                    .count())
            }

            /// Statements this store has sent since it was created.
            pub fn statements_executed(&self) -> u64 {
                self.counter.get()
            }

            /// How long a trivial round trip to the database takes.
            ///
            /// # Errors
            /// [`Error::Storage`] when the database cannot be reached.
            pub async fn ping(&self) -> Result<std::time::Duration> {
                let start = std::time::Instant::now();
                self.counter.add();
                sqlx::query("SELECT 1")
                    .execute(&self.pool)
                    .await
                    .map_err(|e| Error::storage(concat!("ping ", $name), e))?;
                Ok(start.elapsed())
            }

            fn sql(&self, text: &str) -> Sql {
                Sql::new(DIALECT, text)
            }

            async fn fetch_all<'c, E: Executor<'c, Database = Db>>(
                &self,
                ex: E,
                sql: Sql,
                operation: &'static str,
            ) -> Result<Vec<Row>> {
                self.counter.add();
                query(sql)
                    .fetch_all(ex)
                    .await
                    .map_err(|e| Error::storage(operation, e))
            }

            async fn fetch_optional<'c, E: Executor<'c, Database = Db>>(
                &self,
                ex: E,
                sql: Sql,
                operation: &'static str,
            ) -> Result<Option<Row>> {
                self.counter.add();
                query(sql)
                    .fetch_optional(ex)
                    .await
                    .map_err(|e| Error::storage(operation, e))
            }

            async fn fetch_one<'c, E: Executor<'c, Database = Db>>(
                &self,
                ex: E,
                sql: Sql,
                operation: &'static str,
            ) -> Result<Row> {
                self.counter.add();
                query(sql)
                    .fetch_one(ex)
                    .await
                    .map_err(|e| Error::storage(operation, e))
            }

            async fn execute<'c, E: Executor<'c, Database = Db>>(
                &self,
                ex: E,
                sql: Sql,
                operation: &'static str,
            ) -> Result<u64> {
                self.counter.add();
                query(sql)
                    .execute(ex)
                    .await
                    .map(|r| r.rows_affected())
                    .map_err(|e| Error::storage(operation, e))
            }

            async fn begin(
                &self,
                operation: &'static str,
            ) -> Result<sqlx::Transaction<'static, Db>> {
                self.counter.add();
                self.pool
                    .begin_with(DIALECT.begin_write())
                    .await
                    .map_err(|e| Error::storage(operation, e))
            }

            async fn commit(
                &self,
                tx: sqlx::Transaction<'static, Db>,
                operation: &'static str,
            ) -> Result<()> {
                self.counter.add();
                tx.commit().await.map_err(|e| Error::storage(operation, e))
            }

            /// One pooled connection for the statements of one read: each
            /// statement on the pool itself would take a connection and give
            /// it back (a task spawned per release) every time.
            async fn connection(
                &self,
                operation: &'static str,
            ) -> Result<sqlx::pool::PoolConnection<Db>> {
                self.pool
                    .acquire()
                    .await
                    .map_err(|e| Error::storage(operation, e))
            }

            /// Children, comments and attachments of `ids`: three statements.
            async fn populate(
                &self,
                conn: &mut <Db as sqlx::Database>::Connection,
                todos: Vec<(Todo, Option<Category>)>,
            ) -> Result<Vec<PopulatedTodo>> {
                const OP: &str = "load todo details";
                if todos.is_empty() {
                    return Ok(Vec::new());
                }
                let ids: Vec<Uuid> = todos.iter().map(|(t, _)| t.id).collect();
                let user = todos[0].0.user_id.as_str().to_owned();

                let mut children = self.sql(&format!(
                    "SELECT {} FROM todos WHERE user_id = ",
                    sql::TODO_COLUMNS
                ));
                children
                    .bind(Arg::Text(user))
                    .push(" AND ")
                    .push_in("parent_todo_id", &ids);
                children.push(" ORDER BY sort_order, id");
                let children = self.fetch_all(&mut *conn, children, OP).await?;

                let mut comments = self.sql(&format!(
                    "SELECT {} FROM comments WHERE ",
                    sql::COMMENT_COLUMNS
                ));
                comments
                    .push_in("todo_id", &ids)
                    .push(" ORDER BY created_at, id");
                let comments = self.fetch_all(&mut *conn, comments, OP).await?;

                let mut attachments = self.sql(&format!(
                    "SELECT {} FROM attachments WHERE ",
                    sql::ATTACHMENT_COLUMNS
                ));
                attachments
                    .push_in("todo_id", &ids)
                    .push(" ORDER BY created_at DESC, id DESC");
                let attachments = self.fetch_all(&mut *conn, attachments, OP).await?;

                Ok(assemble(
                    todos,
                    decode_all(OP, &children, todo_from_row)?,
                    decode_all(OP, &comments, comment_from_row)?,
                    decode_all(OP, &attachments, attachment_from_row)?,
                ))
            }

            fn todo_with_category(
                row: &Row,
            ) -> std::result::Result<(Todo, Option<Category>), sqlx::Error> {
                Ok((todo_from_row(row)?, category_from_row(row, true)?))
            }
        }

        $crate::store::sql_store::todo_store!($store);
        $crate::store::sql_store::category_store!($store);
        $crate::store::sql_store::comment_store!($store);
        $crate::store::sql_store::attachment_store!($store);
        $crate::store::sql_store::job_store!($store);
        $crate::store::sql_store::idempotency_store!($store);
        $crate::store::sql_store::import_store!($store);
    };
}

pub(crate) use sql_store;
