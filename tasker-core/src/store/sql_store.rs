//! The store implementation shared by both backends.
//!
//! `sql_store!` is expanded once in `postgres.rs` and once in `sqlite.rs`.
//! The expansion resolves these names in the expanding module: `Db` (the sqlx
//! database), `DIALECT`, `query(Sql)` (binds the arguments), and
//! `time`/`opt_time` (read an instant from a row); the store struct has the
//! fields `pool` and `counter`. The statements themselves
//! come from [`super::sql`].

use std::collections::HashMap;

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

/// Whether the database aborted the statement to break a deadlock (PostgreSQL `40P01`).
pub(crate) fn is_deadlock(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .and_then(|db| db.code())
        .is_some_and(|code| code == "40P01")
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
                Attachment, Category, CategoryPatch, Comment, Page, PopulatedTodo, Todo, TodoStats,
                WeeklyStats,
            },
            query::{CategoryQuery, TodoQuery},
            store::{
                TodoChanges, TodoCursor, TodoNotificationKind,
                sql::{self, Arg, Sql},
                sql_store::{assemble, classify, is_deadlock, todo_fk_target},
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
                status: TodoStatus::from_rank(row.try_get("status")?).ok_or_else(|| decode_error("status"))?,
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
        fn category_from_row(row: &Row, joined: bool) -> std::result::Result<Option<Category>, sqlx::Error> {
            let col = |name: &str| if joined { format!("c_{name}") } else { name.to_owned() };
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
            rows.iter().map(|r| f(r).map_err(|e| Error::storage(operation, e))).collect()
        }

        fn decode_one<T>(
            operation: &'static str,
            row: Option<Row>,
            f: impl Fn(&Row) -> std::result::Result<T, sqlx::Error>,
        ) -> Result<Option<T>> {
            row.map(|r| f(&r).map_err(|e| Error::storage(operation, e))).transpose()
        }

        fn count(operation: &'static str, row: &Row, column: &str) -> Result<u64> {
            let n: i64 = row.try_get(column).map_err(|e| Error::storage(operation, e))?;
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
                query(sql).fetch_all(ex).await.map_err(|e| Error::storage(operation, e))
            }

            async fn fetch_optional<'c, E: Executor<'c, Database = Db>>(
                &self,
                ex: E,
                sql: Sql,
                operation: &'static str,
            ) -> Result<Option<Row>> {
                self.counter.add();
                query(sql).fetch_optional(ex).await.map_err(|e| Error::storage(operation, e))
            }

            async fn fetch_one<'c, E: Executor<'c, Database = Db>>(
                &self,
                ex: E,
                sql: Sql,
                operation: &'static str,
            ) -> Result<Row> {
                self.counter.add();
                query(sql).fetch_one(ex).await.map_err(|e| Error::storage(operation, e))
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

            async fn begin(&self, operation: &'static str) -> Result<sqlx::Transaction<'static, Db>> {
                self.counter.add();
                self.pool
                    .begin_with(DIALECT.begin_write())
                    .await
                    .map_err(|e| Error::storage(operation, e))
            }

            async fn commit(&self, tx: sqlx::Transaction<'static, Db>, operation: &'static str) -> Result<()> {
                self.counter.add();
                tx.commit().await.map_err(|e| Error::storage(operation, e))
            }

            /// Children, comments and attachments of `ids`: three statements.
            async fn populate(&self, todos: Vec<(Todo, Option<Category>)>) -> Result<Vec<PopulatedTodo>> {
                const OP: &str = "load todo details";
                if todos.is_empty() {
                    return Ok(Vec::new());
                }
                let ids: Vec<Uuid> = todos.iter().map(|(t, _)| t.id).collect();
                let user = todos[0].0.user_id.as_str().to_owned();

                let mut children = self.sql(&format!("SELECT {} FROM todos WHERE user_id = ", sql::TODO_COLUMNS));
                children.bind(Arg::Text(user)).push(" AND ").push_in("parent_todo_id", &ids);
                children.push(" ORDER BY sort_order, id");
                let children = self.fetch_all(&self.pool, children, OP).await?;

                let mut comments = self.sql(&format!("SELECT {} FROM comments WHERE ", sql::COMMENT_COLUMNS));
                comments.push_in("todo_id", &ids).push(" ORDER BY created_at, id");
                let comments = self.fetch_all(&self.pool, comments, OP).await?;

                let mut attachments =
                    self.sql(&format!("SELECT {} FROM attachments WHERE ", sql::ATTACHMENT_COLUMNS));
                attachments.push_in("todo_id", &ids).push(" ORDER BY created_at, id");
                let attachments = self.fetch_all(&self.pool, attachments, OP).await?;

                Ok(assemble(
                    todos,
                    decode_all(OP, &children, todo_from_row)?,
                    decode_all(OP, &comments, comment_from_row)?,
                    decode_all(OP, &attachments, attachment_from_row)?,
                ))
            }

            fn todo_with_category(row: &Row) -> std::result::Result<(Todo, Option<Category>), sqlx::Error> {
                Ok((todo_from_row(row)?, category_from_row(row, true)?))
            }
        }

        impl $crate::store::TodoStore for $store {
            async fn insert_todo(&self, todo: &Todo) -> Result<Todo> {
                const OP: &str = "insert a todo";
                let mut sql = self.sql(
                    "INSERT INTO todos (id, user_id, title, title_key, description, description_key, \
                     status, priority, due_date, completed_at, parent_todo_id, category_id, metadata, \
                     created_at, updated_at, sort_order) VALUES (",
                );
                sql.bind(Arg::Uuid(todo.id)).push(", ");
                sql.bind(Arg::Text(todo.user_id.as_str().to_owned())).push(", ");
                sql.bind(Arg::Text(todo.title.clone())).push(", ");
                sql.bind(Arg::Text(todo.title.to_lowercase())).push(", ");
                sql.bind(Arg::OptText(todo.description.clone())).push(", ");
                sql.bind(Arg::OptText(todo.description.as_deref().map(str::to_lowercase))).push(", ");
                sql.bind(Arg::I16(todo.status.rank())).push(", ");
                sql.bind(Arg::I16(todo.priority.rank())).push(", ");
                sql.bind(Arg::OptTime(todo.due_date)).push(", ");
                sql.bind(Arg::OptTime(todo.completed_at)).push(", ");
                sql.bind(Arg::OptUuid(todo.parent_todo_id)).push(", ");
                sql.bind(Arg::OptUuid(todo.category_id)).push(", ");
                sql.bind(Arg::Metadata(todo.metadata.clone())).push(", ");
                sql.bind(Arg::Time(todo.created_at)).push(", ");
                sql.bind(Arg::Time(todo.updated_at)).push(", ");
                sql.push(DIALECT.next_sort_order());
                sql.push(&format!(") RETURNING {}", sql::TODO_COLUMNS));
                self.counter.add();
                let row = query(sql).fetch_one(&self.pool).await.map_err(|e| {
                    classify(
                        OP,
                        e,
                        || Error::storage(OP, "duplicate todo id"),
                        |c| todo_fk_target(c, todo.category_id.is_some()),
                    )
                })?;
                todo_from_row(&row).map_err(|e| Error::storage(OP, e))
            }

            async fn get_todo(&self, user: &UserId, id: Uuid) -> Result<Option<Todo>> {
                const OP: &str = "get a todo";
                let mut sql = self.sql(&format!("SELECT {} FROM todos WHERE id = ", sql::TODO_COLUMNS));
                sql.bind(Arg::Uuid(id)).push(" AND user_id = ").bind(Arg::Text(user.as_str().to_owned()));
                let row = self.fetch_optional(&self.pool, sql, OP).await?;
                decode_one(OP, row, todo_from_row)
            }

            async fn get_populated_todo(&self, user: &UserId, id: Uuid) -> Result<Option<PopulatedTodo>> {
                const OP: &str = "get a todo";
                let mut sql = self.sql(&format!(
                    "SELECT {}, {} FROM todos t LEFT JOIN categories c ON c.id = t.category_id \
                     AND c.user_id = t.user_id WHERE t.id = ",
                    sql::TODO_COLUMNS_T,
                    sql::JOINED_CATEGORY_COLUMNS
                ));
                sql.bind(Arg::Uuid(id)).push(" AND t.user_id = ").bind(Arg::Text(user.as_str().to_owned()));
                let row = self.fetch_optional(&self.pool, sql, OP).await?;
                let Some(todo) = decode_one(OP, row, Self::todo_with_category)? else {
                    return Ok(None);
                };
                Ok(self.populate(vec![todo]).await?.pop())
            }

            async fn count_children(&self, user: &UserId, id: Uuid) -> Result<u64> {
                const OP: &str = "count subtasks";
                let mut sql = self.sql("SELECT COUNT(*) AS n FROM todos WHERE parent_todo_id = ");
                sql.bind(Arg::Uuid(id)).push(" AND user_id = ").bind(Arg::Text(user.as_str().to_owned()));
                let row = self.fetch_one(&self.pool, sql, OP).await?;
                count(OP, &row, "n")
            }

            async fn update_todo(&self, user: &UserId, id: Uuid, changes: &TodoChanges) -> Result<Option<Todo>> {
                const OP: &str = "update a todo";
                let p = &changes.patch;
                let mut sql = self.sql("UPDATE todos SET updated_at = ");
                sql.bind(Arg::Time(changes.updated_at));
                if let Some(title) = &p.title {
                    sql.push(", title = ").bind(Arg::Text(title.as_str().to_owned()));
                    sql.push(", title_key = ").bind(Arg::Text(title.as_str().to_lowercase()));
                }
                if let Some(description) = &p.description {
                    let d = description.as_ref().map(|d| d.as_str().to_owned());
                    let key = d.as_deref().map(str::to_lowercase);
                    sql.push(", description = ").bind(Arg::OptText(d));
                    sql.push(", description_key = ").bind(Arg::OptText(key));
                }
                if let Some(status) = p.status {
                    sql.push(", status = ").bind(Arg::I16(status.rank()));
                }
                if let Some(completed_at) = changes.completed_at {
                    sql.push(", completed_at = ").bind(Arg::OptTime(completed_at));
                }
                if let Some(priority) = p.priority {
                    sql.push(", priority = ").bind(Arg::I16(priority.rank()));
                }
                if let Some(due) = p.due_date {
                    sql.push(", due_date = ").bind(Arg::OptTime(due));
                }
                if let Some(parent) = p.parent_todo_id {
                    sql.push(", parent_todo_id = ").bind(Arg::OptUuid(parent));
                }
                if let Some(category) = p.category_id {
                    sql.push(", category_id = ").bind(Arg::OptUuid(category));
                }
                if let Some(metadata) = &p.metadata {
                    sql.push(", metadata = ").bind(Arg::Metadata(metadata.clone()));
                }
                sql.push(" WHERE id = ").bind(Arg::Uuid(id));
                sql.push(" AND user_id = ").bind(Arg::Text(user.as_str().to_owned()));
                sql.push(&format!(" RETURNING {}", sql::TODO_COLUMNS));
                let has_category = matches!(p.category_id, Some(Some(_)));
                let mut retried = false;
                let row = loop {
                    self.counter.add();
                    match query(sql.clone()).fetch_optional(&self.pool).await {
                        Ok(row) => break row,
                        // Two moves that lock each other's rows (X under Y while Y goes
                        // under X) deadlock on PostgreSQL; the statement the server
                        // aborted runs once more and then sees the other's result.
                        Err(e) if !retried && is_deadlock(&e) => retried = true,
                        Err(e) => {
                            return Err(classify(
                                OP,
                                e,
                                || Error::storage(OP, "unexpected unique violation"),
                                |c| todo_fk_target(c, has_category),
                            ));
                        }
                    }
                };
                decode_one(OP, row, todo_from_row)
            }

            async fn delete_todo(&self, user: &UserId, id: Uuid) -> Result<Option<Vec<String>>> {
                const OP: &str = "delete a todo";
                let user = user.as_str().to_owned();
                let mut tx = self.begin(OP).await?;
                // The todo and its subtasks, locked: a concurrent insert of a subtask,
                // comment or attachment under them waits, then fails its foreign key.
                let mut family = self.sql("SELECT id FROM todos WHERE user_id = ");
                family.bind(Arg::Text(user.clone())).push(" AND (id = ").bind(Arg::Uuid(id));
                family.push(" OR parent_todo_id = ").bind(Arg::Uuid(id)).push(")");
                family.push(DIALECT.lock_rows());
                let rows = self.fetch_all(&mut *tx, family, OP).await?;
                let ids = rows
                    .iter()
                    .map(|r| r.try_get::<Uuid, _>("id"))
                    .collect::<std::result::Result<Vec<_>, _>>()
                    .map_err(|e| Error::storage(OP, e))?;
                if !ids.contains(&id) {
                    return Ok(None);
                }
                let mut keys = self.sql("DELETE FROM attachments WHERE ");
                keys.push_in("todo_id", &ids).push(" RETURNING download_key");
                let keys = self
                    .fetch_all(&mut *tx, keys, OP)
                    .await?
                    .iter()
                    .map(|r| r.try_get::<String, _>("download_key"))
                    .collect::<std::result::Result<Vec<_>, _>>()
                    .map_err(|e| Error::storage(OP, e))?;
                for table in ["comments", "todo_notifications"] {
                    let mut delete = self.sql(&format!("DELETE FROM {table} WHERE "));
                    delete.push_in("todo_id", &ids);
                    self.execute(&mut *tx, delete, OP).await?;
                }
                let mut children = self.sql("DELETE FROM todos WHERE parent_todo_id = ");
                children.bind(Arg::Uuid(id)).push(" AND user_id = ").bind(Arg::Text(user.clone()));
                self.execute(&mut *tx, children, OP).await?;
                let mut todo = self.sql("DELETE FROM todos WHERE id = ");
                todo.bind(Arg::Uuid(id)).push(" AND user_id = ").bind(Arg::Text(user));
                self.execute(&mut *tx, todo, OP).await?;
                self.commit(tx, OP).await?;
                Ok(Some(keys))
            }

            async fn list_todos(
                &self,
                user: &UserId,
                q: &TodoQuery,
                now: OffsetDateTime,
            ) -> Result<Page<PopulatedTodo>> {
                const OP: &str = "list todos";
                let mut total = self.sql("SELECT COUNT(*) AS n FROM todos t");
                sql::todo_list_where(&mut total, user.as_str(), q, now);
                let total = count(OP, &self.fetch_one(&self.pool, total, OP).await?, "n")?;

                let page = q.page;
                if page.offset() >= total {
                    return Ok(Page::new(Vec::new(), page.page(), page.limit(), total));
                }
                let mut rows = self.sql(&format!(
                    "SELECT {}, {} FROM todos t LEFT JOIN categories c ON c.id = t.category_id \
                     AND c.user_id = t.user_id",
                    sql::TODO_COLUMNS_T,
                    sql::JOINED_CATEGORY_COLUMNS
                ));
                sql::todo_list_where(&mut rows, user.as_str(), q, now);
                rows.push(&sql::todo_list_order(q));
                sql::push_page(&mut rows, page.limit(), page.offset());
                let rows = self.fetch_all(&self.pool, rows, OP).await?;
                let todos = decode_all(OP, &rows, Self::todo_with_category)?;
                let data = self.populate(todos).await?;
                Ok(Page::new(data, page.page(), page.limit(), total))
            }

            async fn todo_stats(&self, user: &UserId, now: OffsetDateTime) -> Result<TodoStats> {
                const OP: &str = "count todos";
                let mut sql = self.sql(sql::STATS);
                sql.args = vec![Arg::Text(user.as_str().to_owned()), Arg::Time(now)];
                let row = self.fetch_one(&self.pool, sql, OP).await?;
                Ok(TodoStats {
                    total: count(OP, &row, "total")?,
                    draft: count(OP, &row, "draft")?,
                    active: count(OP, &row, "active")?,
                    completed: count(OP, &row, "completed")?,
                    archived: count(OP, &row, "archived")?,
                    overdue: count(OP, &row, "overdue")?,
                })
            }
        }

        impl $crate::store::CategoryStore for $store {
            async fn insert_category(&self, category: &Category) -> Result<Category> {
                const OP: &str = "insert a category";
                let mut sql = self.sql(
                    "INSERT INTO categories (id, user_id, name, name_key, color, description, \
                     description_key, created_at, updated_at) VALUES (",
                );
                sql.bind(Arg::Uuid(category.id)).push(", ");
                sql.bind(Arg::Text(category.user_id.as_str().to_owned())).push(", ");
                sql.bind(Arg::Text(category.name.clone())).push(", ");
                sql.bind(Arg::Text(category.name.to_lowercase())).push(", ");
                sql.bind(Arg::Text(category.color.clone())).push(", ");
                sql.bind(Arg::OptText(category.description.clone())).push(", ");
                sql.bind(Arg::OptText(category.description.as_deref().map(str::to_lowercase))).push(", ");
                sql.bind(Arg::Time(category.created_at)).push(", ");
                sql.bind(Arg::Time(category.updated_at));
                sql.push(&format!(") RETURNING {}", sql::CATEGORY_COLUMNS));
                self.counter.add();
                let row = query(sql).fetch_one(&self.pool).await.map_err(|e| {
                    classify(
                        OP,
                        e,
                        || Error::CategoryNameTaken { name: category.name.clone() },
                        |_| Error::storage(OP, "unexpected foreign key violation"),
                    )
                })?;
                category_from_row(&row, false)
                    .map_err(|e| Error::storage(OP, e))?
                    .ok_or_else(|| Error::storage(OP, "insert returned no row"))
            }

            async fn get_category(&self, user: &UserId, id: Uuid) -> Result<Option<Category>> {
                const OP: &str = "get a category";
                let mut sql = self.sql(&format!("SELECT {} FROM categories WHERE id = ", sql::CATEGORY_COLUMNS));
                sql.bind(Arg::Uuid(id)).push(" AND user_id = ").bind(Arg::Text(user.as_str().to_owned()));
                let row = self.fetch_optional(&self.pool, sql, OP).await?;
                Ok(decode_one(OP, row, |r| category_from_row(r, false))?.flatten())
            }

            async fn update_category(
                &self,
                user: &UserId,
                id: Uuid,
                patch: &CategoryPatch,
                now: OffsetDateTime,
            ) -> Result<Option<Category>> {
                const OP: &str = "update a category";
                let mut sql = self.sql("UPDATE categories SET updated_at = ");
                sql.bind(Arg::Time(now));
                if let Some(name) = &patch.name {
                    sql.push(", name = ").bind(Arg::Text(name.as_str().to_owned()));
                    sql.push(", name_key = ").bind(Arg::Text(name.key()));
                }
                if let Some(color) = &patch.color {
                    sql.push(", color = ").bind(Arg::Text(color.as_str().to_owned()));
                }
                if let Some(description) = &patch.description {
                    let d = description.as_ref().map(|d| d.as_str().to_owned());
                    let key = d.as_deref().map(str::to_lowercase);
                    sql.push(", description = ").bind(Arg::OptText(d));
                    sql.push(", description_key = ").bind(Arg::OptText(key));
                }
                sql.push(" WHERE id = ").bind(Arg::Uuid(id));
                sql.push(" AND user_id = ").bind(Arg::Text(user.as_str().to_owned()));
                sql.push(&format!(" RETURNING {}", sql::CATEGORY_COLUMNS));
                self.counter.add();
                let row = query(sql).fetch_optional(&self.pool).await.map_err(|e| {
                    classify(
                        OP,
                        e,
                        || Error::CategoryNameTaken {
                            name: patch.name.as_ref().map(|n| n.as_str().to_owned()).unwrap_or_default(),
                        },
                        |_| Error::storage(OP, "unexpected foreign key violation"),
                    )
                })?;
                Ok(decode_one(OP, row, |r| category_from_row(r, false))?.flatten())
            }

            async fn delete_category(&self, user: &UserId, id: Uuid) -> Result<bool> {
                const OP: &str = "delete a category";
                let user = user.as_str().to_owned();
                let mut tx = self.begin(OP).await?;
                let mut clear = self.sql("UPDATE todos SET category_id = NULL WHERE category_id = ");
                clear.bind(Arg::Uuid(id)).push(" AND user_id = ").bind(Arg::Text(user.clone()));
                self.execute(&mut *tx, clear, OP).await?;
                let mut delete = self.sql("DELETE FROM categories WHERE id = ");
                delete.bind(Arg::Uuid(id)).push(" AND user_id = ").bind(Arg::Text(user));
                let deleted = self.execute(&mut *tx, delete, OP).await? > 0;
                if deleted {
                    self.commit(tx, OP).await?;
                }
                Ok(deleted)
            }

            async fn list_categories(&self, user: &UserId, q: &CategoryQuery) -> Result<Page<Category>> {
                const OP: &str = "list categories";
                let mut total = self.sql("SELECT COUNT(*) AS n FROM categories");
                sql::category_list_where(&mut total, user.as_str(), q);
                let total = count(OP, &self.fetch_one(&self.pool, total, OP).await?, "n")?;
                let page = q.page;
                if page.offset() >= total {
                    return Ok(Page::new(Vec::new(), page.page(), page.limit(), total));
                }
                let mut rows = self.sql(&format!("SELECT {} FROM categories", sql::CATEGORY_COLUMNS));
                sql::category_list_where(&mut rows, user.as_str(), q);
                rows.push(&sql::category_list_order(q));
                sql::push_page(&mut rows, page.limit(), page.offset());
                let rows = self.fetch_all(&self.pool, rows, OP).await?;
                let data = decode_all(OP, &rows, |r| category_from_row(r, false))?
                    .into_iter()
                    .flatten()
                    .collect();
                Ok(Page::new(data, page.page(), page.limit(), total))
            }
        }

        impl $crate::store::CommentStore for $store {
            async fn insert_comment(&self, comment: &Comment) -> Result<Comment> {
                const OP: &str = "insert a comment";
                let mut sql = self.sql(
                    "INSERT INTO comments (id, todo_id, user_id, content, created_at, updated_at) VALUES (",
                );
                sql.bind(Arg::Uuid(comment.id)).push(", ");
                sql.bind(Arg::Uuid(comment.todo_id)).push(", ");
                sql.bind(Arg::Text(comment.user_id.as_str().to_owned())).push(", ");
                sql.bind(Arg::Text(comment.content.clone())).push(", ");
                sql.bind(Arg::Time(comment.created_at)).push(", ");
                sql.bind(Arg::Time(comment.updated_at));
                sql.push(&format!(") RETURNING {}", sql::COMMENT_COLUMNS));
                self.counter.add();
                let row = query(sql).fetch_one(&self.pool).await.map_err(|e| {
                    classify(OP, e, || Error::storage(OP, "duplicate comment id"), |_| {
                        Error::NotFound(Resource::Todo)
                    })
                })?;
                comment_from_row(&row).map_err(|e| Error::storage(OP, e))
            }

            async fn update_comment(
                &self,
                user: &UserId,
                id: Uuid,
                content: &CommentContent,
                now: OffsetDateTime,
            ) -> Result<Option<Comment>> {
                const OP: &str = "update a comment";
                let user = user.as_str().to_owned();
                let mut sql = self.sql("UPDATE comments SET content = ");
                sql.bind(Arg::Text(content.as_str().to_owned()));
                sql.push(", updated_at = ").bind(Arg::Time(now));
                sql.push(" WHERE id = ").bind(Arg::Uuid(id));
                sql.push(" AND user_id = ").bind(Arg::Text(user.clone()));
                sql.push(" AND todo_id IN (SELECT id FROM todos WHERE user_id = ").bind(Arg::Text(user));
                sql.push(&format!(") RETURNING {}", sql::COMMENT_COLUMNS));
                let row = self.fetch_optional(&self.pool, sql, OP).await?;
                decode_one(OP, row, comment_from_row)
            }

            async fn delete_comment(&self, user: &UserId, id: Uuid) -> Result<bool> {
                const OP: &str = "delete a comment";
                let user = user.as_str().to_owned();
                let mut sql = self.sql("DELETE FROM comments WHERE id = ");
                sql.bind(Arg::Uuid(id)).push(" AND user_id = ").bind(Arg::Text(user.clone()));
                sql.push(" AND todo_id IN (SELECT id FROM todos WHERE user_id = ").bind(Arg::Text(user));
                sql.push(")");
                Ok(self.execute(&self.pool, sql, OP).await? > 0)
            }

            async fn list_comments(&self, user: &UserId, todo_id: Uuid) -> Result<Vec<Comment>> {
                const OP: &str = "list comments";
                let mut sql = self.sql(&format!(
                    "SELECT {} FROM comments WHERE todo_id IN (SELECT id FROM todos WHERE id = ",
                    sql::COMMENT_COLUMNS
                ));
                sql.bind(Arg::Uuid(todo_id)).push(" AND user_id = ").bind(Arg::Text(user.as_str().to_owned()));
                sql.push(") ORDER BY created_at, id");
                let rows = self.fetch_all(&self.pool, sql, OP).await?;
                decode_all(OP, &rows, comment_from_row)
            }
        }

        impl $crate::store::AttachmentStore for $store {
            async fn insert_attachment(&self, a: &Attachment) -> Result<Attachment> {
                const OP: &str = "insert an attachment";
                let mut sql = self.sql(
                    "INSERT INTO attachments (id, todo_id, name, uploaded_by, download_key, file_size, \
                     mime_type, created_at, updated_at) VALUES (",
                );
                sql.bind(Arg::Uuid(a.id)).push(", ");
                sql.bind(Arg::Uuid(a.todo_id)).push(", ");
                sql.bind(Arg::Text(a.name.clone())).push(", ");
                sql.bind(Arg::Text(a.uploaded_by.as_str().to_owned())).push(", ");
                sql.bind(Arg::Text(a.download_key.clone())).push(", ");
                sql.bind(Arg::OptI64(a.file_size)).push(", ");
                sql.bind(Arg::OptText(a.mime_type.clone())).push(", ");
                sql.bind(Arg::Time(a.created_at)).push(", ");
                sql.bind(Arg::Time(a.updated_at));
                sql.push(&format!(") RETURNING {}", sql::ATTACHMENT_COLUMNS));
                self.counter.add();
                let row = query(sql).fetch_one(&self.pool).await.map_err(|e| {
                    classify(OP, e, || Error::storage(OP, "duplicate attachment"), |_| {
                        Error::NotFound(Resource::Todo)
                    })
                })?;
                attachment_from_row(&row).map_err(|e| Error::storage(OP, e))
            }

            async fn get_attachment(&self, user: &UserId, todo_id: Uuid, id: Uuid) -> Result<Option<Attachment>> {
                const OP: &str = "get an attachment";
                let mut sql = self.sql(&format!("SELECT {} FROM attachments WHERE id = ", sql::ATTACHMENT_COLUMNS));
                sql.bind(Arg::Uuid(id)).push(" AND todo_id = ").bind(Arg::Uuid(todo_id));
                sql.push(" AND todo_id IN (SELECT id FROM todos WHERE user_id = ");
                sql.bind(Arg::Text(user.as_str().to_owned())).push(")");
                let row = self.fetch_optional(&self.pool, sql, OP).await?;
                decode_one(OP, row, attachment_from_row)
            }

            async fn delete_attachment(
                &self,
                user: &UserId,
                todo_id: Uuid,
                id: Uuid,
            ) -> Result<Option<Attachment>> {
                const OP: &str = "delete an attachment";
                let mut sql = self.sql("DELETE FROM attachments WHERE id = ");
                sql.bind(Arg::Uuid(id)).push(" AND todo_id = ").bind(Arg::Uuid(todo_id));
                sql.push(" AND todo_id IN (SELECT id FROM todos WHERE user_id = ");
                sql.bind(Arg::Text(user.as_str().to_owned()));
                sql.push(&format!(") RETURNING {}", sql::ATTACHMENT_COLUMNS));
                let row = self.fetch_optional(&self.pool, sql, OP).await?;
                decode_one(OP, row, attachment_from_row)
            }
        }

        impl $crate::store::JobStore for $store {
            async fn todos_due_unnotified(
                &self,
                kind: TodoNotificationKind,
                from: OffsetDateTime,
                to: OffsetDateTime,
                after: Option<&TodoCursor>,
                limit: u32,
            ) -> Result<Vec<Todo>> {
                const OP: &str = "find todos to notify";
                let mut sql = self.sql(&format!(
                    "SELECT {} FROM todos t WHERE {} AND t.due_date > ",
                    sql::TODO_COLUMNS_T,
                    sql::open_status("t.status")
                ));
                sql.bind(Arg::Time(from)).push(" AND t.due_date <= ").bind(Arg::Time(to));
                sql.push(
                    " AND NOT EXISTS (SELECT 1 FROM todo_notifications n WHERE n.todo_id = t.id \
                     AND n.due_date = t.due_date AND n.kind = ",
                );
                sql.bind(Arg::Text(kind.as_str().to_owned())).push(")");
                if let Some(after) = after {
                    sql.push(" AND (t.user_id, t.id) > (").bind(Arg::Text(after.user_id.as_str().to_owned()));
                    sql.push(", ").bind(Arg::Uuid(after.id)).push(")");
                }
                sql.push(" ORDER BY t.user_id, t.id LIMIT ").bind(Arg::I64(i64::from(limit)));
                let rows = self.fetch_all(&self.pool, sql, OP).await?;
                decode_all(OP, &rows, todo_from_row)
            }

            async fn record_todo_notifications(
                &self,
                kind: TodoNotificationKind,
                todos: &[(Uuid, OffsetDateTime)],
                at: OffsetDateTime,
            ) -> Result<Vec<Uuid>> {
                const OP: &str = "record notifications";
                let mut fresh = Vec::new();
                if todos.is_empty() {
                    return Ok(fresh);
                }
                let mut tx = self.begin(OP).await?;
                for (todo, due) in todos {
                    let mut sql = self.sql(
                        "INSERT INTO todo_notifications (todo_id, kind, due_date, sent_at) \
                         SELECT id, ",
                    );
                    sql.bind(Arg::Text(kind.as_str().to_owned())).push(", ").bind(Arg::Time(*due));
                    sql.push(", ").bind(Arg::Time(at)).push(" FROM todos WHERE id = ").bind(Arg::Uuid(*todo));
                    sql.push(" ON CONFLICT DO NOTHING");
                    if self.execute(&mut *tx, sql, OP).await? > 0 {
                        fresh.push(*todo);
                    }
                }
                self.commit(tx, OP).await?;
                Ok(fresh)
            }

            async fn record_user_notification(
                &self,
                user: &UserId,
                kind: &str,
                period: &str,
                at: OffsetDateTime,
            ) -> Result<bool> {
                const OP: &str = "record a notification";
                let mut sql = self.sql("INSERT INTO user_notifications (user_id, kind, period, sent_at) VALUES (");
                sql.bind(Arg::Text(user.as_str().to_owned())).push(", ");
                sql.bind(Arg::Text(kind.to_owned())).push(", ");
                sql.bind(Arg::Text(period.to_owned())).push(", ");
                sql.bind(Arg::Time(at)).push(") ON CONFLICT DO NOTHING");
                Ok(self.execute(&self.pool, sql, OP).await? > 0)
            }

            async fn users_with_todos(&self, after: Option<&UserId>, limit: u32) -> Result<Vec<UserId>> {
                const OP: &str = "list users";
                let mut sql = self.sql("SELECT DISTINCT user_id FROM todos");
                if let Some(after) = after {
                    sql.push(" WHERE user_id > ").bind(Arg::Text(after.as_str().to_owned()));
                }
                sql.push(" ORDER BY user_id LIMIT ").bind(Arg::I64(i64::from(limit)));
                let rows = self.fetch_all(&self.pool, sql, OP).await?;
                decode_all(OP, &rows, |r| r.try_get::<String, _>("user_id").map(UserId::from_db))
            }

            async fn weekly_stats(
                &self,
                user: &UserId,
                from: OffsetDateTime,
                to: OffsetDateTime,
                now: OffsetDateTime,
                list_limit: u32,
            ) -> Result<WeeklyStats> {
                const OP: &str = "compute weekly statistics";
                let uid = || Arg::Text(user.as_str().to_owned());
                let mut counts = self.sql(
                    "SELECT COUNT(*) FILTER (WHERE created_at >= $2 AND created_at < $3) AS created, \
                     COUNT(*) FILTER (WHERE completed_at >= $2 AND completed_at < $3) AS completed, \
                     COUNT(*) FILTER (WHERE status = 1) AS active, \
                     COUNT(*) FILTER (WHERE status < 2 AND due_date < $4) AS overdue \
                     FROM todos WHERE user_id = $1",
                );
                counts.args = vec![uid(), Arg::Time(from), Arg::Time(to), Arg::Time(now)];
                let counts = self.fetch_one(&self.pool, counts, OP).await?;

                let mut completed = self.sql(&format!(
                    "SELECT {} FROM todos WHERE user_id = $1 AND completed_at >= $2 AND completed_at < $3 \
                     ORDER BY completed_at DESC, id LIMIT $4",
                    sql::TODO_COLUMNS
                ));
                completed.args = vec![uid(), Arg::Time(from), Arg::Time(to), Arg::I64(i64::from(list_limit))];
                let completed = self.fetch_all(&self.pool, completed, OP).await?;

                let mut overdue = self.sql(&format!(
                    "SELECT {} FROM todos WHERE user_id = $1 AND status < 2 AND due_date < $2 \
                     ORDER BY due_date, id LIMIT $3",
                    sql::TODO_COLUMNS
                ));
                overdue.args = vec![uid(), Arg::Time(now), Arg::I64(i64::from(list_limit))];
                let overdue = self.fetch_all(&self.pool, overdue, OP).await?;

                Ok(WeeklyStats {
                    user_id: user.clone(),
                    from,
                    to,
                    created: count(OP, &counts, "created")?,
                    completed: count(OP, &counts, "completed")?,
                    active: count(OP, &counts, "active")?,
                    overdue: count(OP, &counts, "overdue")?,
                    completed_todos: decode_all(OP, &completed, todo_from_row)?,
                    overdue_todos: decode_all(OP, &overdue, todo_from_row)?,
                })
            }

            async fn archive_completed_batch(
                &self,
                before: OffsetDateTime,
                now: OffsetDateTime,
                limit: u32,
            ) -> Result<u64> {
                const OP: &str = "archive completed todos";
                let mut sql = self.sql(&sql::archive_batch());
                sql.args = vec![Arg::Time(before), Arg::Time(now), Arg::I64(i64::from(limit))];
                self.execute(&self.pool, sql, OP).await
            }
        }
    };
}

pub(crate) use sql_store;
