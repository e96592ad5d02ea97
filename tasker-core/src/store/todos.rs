//! `TodoStore` for [`AnyStore`]: insert, read, populate, update, delete, list, statistics.

use std::collections::HashMap;

use time::OffsetDateTime;
use uuid::Uuid;

use super::{
    TodoChanges, TodoStore,
    any::{AnyStore, count, decode_all, decode_one},
    conn::Conn,
    decode,
    sql::{self, Arg, Sql},
    write::{classify, retry_conflicts, todo_fk_target},
};
use crate::{
    Error, Resource, Result,
    domain::UserId,
    model::{Attachment, Category, Comment, Page, PopulatedTodo, Todo, TodoStats},
    query::{PageCursor, PageRequest, TodoQuery},
};

impl AnyStore {
    /// `INSERT INTO todos …` for `todo`; the caller adds the tail
    /// (`RETURNING …`, or `ON CONFLICT` for an import).
    pub(super) fn insert_todo_sql(&self, todo: &Todo) -> Sql {
        let mut sql = self.sql(
            "INSERT INTO todos (id, user_id, title, title_key, description, description_key, \
             status, priority, due_date, completed_at, parent_todo_id, category_id, metadata, \
             created_at, updated_at, sort_order) VALUES (",
        );
        sql.bind(Arg::Uuid(todo.id)).push(", ");
        sql.bind(Arg::Text(todo.user_id.as_str().to_owned()))
            .push(", ");
        sql.bind(Arg::Text(todo.title.clone())).push(", ");
        sql.bind(Arg::Text(todo.title.to_lowercase())).push(", ");
        sql.bind(Arg::OptText(todo.description.clone())).push(", ");
        sql.bind(Arg::OptText(
            todo.description.as_deref().map(str::to_lowercase),
        ))
        .push(", ");
        sql.bind(Arg::I16(todo.status.rank())).push(", ");
        sql.bind(Arg::I16(todo.priority.rank())).push(", ");
        sql.bind(Arg::OptTime(todo.due_date)).push(", ");
        sql.bind(Arg::OptTime(todo.completed_at)).push(", ");
        sql.bind(Arg::OptUuid(todo.parent_todo_id)).push(", ");
        sql.bind(Arg::OptUuid(todo.category_id)).push(", ");
        sql.bind(Arg::Metadata(todo.metadata.clone())).push(", ");
        sql.bind(Arg::Time(todo.created_at)).push(", ");
        sql.bind(Arg::Time(todo.updated_at)).push(", ");
        sql.push(self.dialect().next_sort_order()).push(")");
        sql
    }
}

impl TodoStore for AnyStore {
    async fn insert_todo(&self, todo: &Todo) -> Result<Todo> {
        const OP: &str = "insert a todo";
        let mut sql = self.insert_todo_sql(todo);
        sql.push(&format!(" RETURNING {}", sql::TODO_COLUMNS));
        let row = self.try_fetch_one(sql).await.map_err(|e| {
            classify(
                OP,
                e,
                || Error::storage(OP, "duplicate todo id"),
                |c| todo_fk_target(c, todo.category_id.is_some()),
            )
        })?;
        decode::todo(&row).map_err(|e| Error::storage(OP, e))
    }

    async fn get_todo(&self, user: &UserId, id: Uuid) -> Result<Option<Todo>> {
        const OP: &str = "get a todo";
        let mut sql = self.sql(&format!(
            "SELECT {} FROM todos WHERE id = ",
            sql::TODO_COLUMNS
        ));
        sql.bind(Arg::Uuid(id))
            .push(" AND user_id = ")
            .bind(Arg::Text(user.as_str().to_owned()));
        let row = self.fetch_optional(sql, OP).await?;
        decode_one(OP, row, decode::todo)
    }

    async fn get_populated_todo(&self, user: &UserId, id: Uuid) -> Result<Option<PopulatedTodo>> {
        const OP: &str = "get a todo";
        let mut sql = self.sql(&format!(
            "SELECT {}, {} FROM todos t LEFT JOIN categories c ON c.id = t.category_id \
             AND c.user_id = t.user_id WHERE t.id = ",
            sql::TODO_COLUMNS_T,
            sql::JOINED_CATEGORY_COLUMNS
        ));
        sql.bind(Arg::Uuid(id))
            .push(" AND t.user_id = ")
            .bind(Arg::Text(user.as_str().to_owned()));
        let mut conn = self.conn(OP).await?;
        let row = conn.fetch_optional(sql, OP).await?;
        let Some(todo) = decode_one(OP, row, decode::todo_with_category)? else {
            return Ok(None);
        };
        Ok(self.populate(&mut conn, vec![todo]).await?.pop())
    }

    async fn count_children(&self, user: &UserId, id: Uuid) -> Result<u64> {
        const OP: &str = "count subtasks";
        let mut sql = self.sql("SELECT COUNT(*) AS n FROM todos WHERE parent_todo_id = ");
        sql.bind(Arg::Uuid(id))
            .push(" AND user_id = ")
            .bind(Arg::Text(user.as_str().to_owned()));
        let row = self.fetch_one(sql, OP).await?;
        count(OP, &row, "n")
    }

    async fn update_todo(
        &self,
        user: &UserId,
        id: Uuid,
        changes: &TodoChanges,
    ) -> Result<Option<Todo>> {
        retry_conflicts(|| self.update_todo_once(user, id, changes)).await
    }

    async fn delete_todo(
        &self,
        user: &UserId,
        id: Uuid,
        expected_updated_at: Option<OffsetDateTime>,
    ) -> Result<Option<Vec<String>>> {
        retry_conflicts(|| self.delete_todo_once(user, id, expected_updated_at)).await
    }

    async fn list_todos(
        &self,
        user: &UserId,
        q: &TodoQuery,
        now: OffsetDateTime,
    ) -> Result<Page<PopulatedTodo>> {
        const OP: &str = "list todos";
        let mut conn = self.conn(OP).await?;
        let mut total = self.sql("SELECT COUNT(*) AS n FROM todos t");
        sql::todo_list_where(&mut total, user.as_str(), q, now);
        let total = count(OP, &conn.fetch_one(total, OP).await?, "n")?;

        let page = q.page;
        // With a cursor the page starts after it; by page number, after
        // `offset` rows (nothing to read past the end).
        let offset = if q.cursor.is_some() { 0 } else { page.offset() };
        if q.cursor.is_none() && offset >= total {
            return Ok(Page::new(Vec::new(), page.page(), page.limit(), total));
        }
        let mut rows = self.sql(&format!(
            "SELECT {}, {} FROM todos t LEFT JOIN categories c ON c.id = t.category_id \
             AND c.user_id = t.user_id",
            sql::TODO_COLUMNS_T,
            sql::JOINED_CATEGORY_COLUMNS
        ));
        sql::todo_list_where(&mut rows, user.as_str(), q, now);
        sql::todo_list_after_cursor(&mut rows, q);
        rows.push(&sql::todo_list_order(q));
        // One row more than the page shows whether another page follows.
        sql::push_page(&mut rows, page.limit() + 1, offset);
        let rows = conn.fetch_all(rows, OP).await?;
        let mut todos = decode_all(OP, &rows, decode::todo_with_category)?;
        let more = todos.len() > page.limit() as usize;
        todos.truncate(page.limit() as usize);
        let next = todos
            .last()
            .filter(|_| more && page.page() < PageRequest::MAX_PAGE)
            .map(|(last, _)| PageCursor::after(q, last).encode());
        let data = self.populate(&mut conn, todos).await?;
        Ok(Page::new(data, page.page(), page.limit(), total).with_next_cursor(next))
    }

    async fn todo_stats(&self, user: &UserId, now: OffsetDateTime) -> Result<TodoStats> {
        const OP: &str = "count todos";
        let mut sql = self.sql(sql::STATS);
        sql.args = vec![Arg::Text(user.as_str().to_owned()), Arg::Time(now)];
        let row = self.fetch_one(sql, OP).await?;
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

/// One attempt of each multi-statement todo write; the trait methods run
/// them through `retry_conflicts`.
impl AnyStore {
    async fn update_todo_once(
        &self,
        user: &UserId,
        id: Uuid,
        changes: &TodoChanges,
    ) -> Result<Option<Todo>> {
        const OP: &str = "update a todo";
        let p = &changes.patch;
        let mut sql = self.sql("UPDATE todos SET updated_at = ");
        sql.bind(Arg::Time(changes.updated_at));
        if let Some(title) = &p.title {
            sql.push(", title = ")
                .bind(Arg::Text(title.as_str().to_owned()));
            sql.push(", title_key = ")
                .bind(Arg::Text(title.as_str().to_lowercase()));
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
            sql.push(", completed_at = ")
                .bind(Arg::OptTime(completed_at));
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
            sql.push(", metadata = ")
                .bind(Arg::Metadata(metadata.clone()));
        }
        sql.push(" WHERE id = ").bind(Arg::Uuid(id));
        sql.push(" AND user_id = ")
            .bind(Arg::Text(user.as_str().to_owned()));
        if let Some(expected) = changes.expected_updated_at {
            sql.push(" AND updated_at = ").bind(Arg::Time(expected));
        }
        sql.push(&format!(" RETURNING {}", sql::TODO_COLUMNS));
        let has_category = matches!(p.category_id, Some(Some(_)));
        let fail = |e| {
            classify(
                OP,
                e,
                || Error::storage(OP, "unexpected unique violation"),
                |c| todo_fk_target(c, has_category),
            )
        };
        let row = if let Some(Some(parent)) = p.parent_todo_id {
            // A move locks two todos: the child (the UPDATE) and its new
            // parent (the depth trigger). Two opposite moves taking them in
            // that order deadlock, so both are locked first, in id order
            // (the rule of this store: see `TodoStore` in `store/mod.rs`).
            let mut tx = self.begin(OP).await?;
            let mut lock = self.sql("SELECT id FROM todos WHERE user_id = ");
            lock.bind(Arg::Text(user.as_str().to_owned()))
                .push(" AND (id = ")
                .bind(Arg::Uuid(id));
            lock.push(" OR id = ")
                .bind(Arg::Uuid(parent))
                .push(") ORDER BY id");
            lock.push(self.dialect().lock_rows());
            tx.fetch_all(lock, OP).await?;
            let row = tx.try_fetch_optional(sql).await.map_err(fail)?;
            tx.commit(OP).await?;
            row
        } else {
            self.try_fetch_optional(sql).await.map_err(fail)?
        };
        decode_one(OP, row, decode::todo)
    }

    async fn delete_todo_once(
        &self,
        user: &UserId,
        id: Uuid,
        expected_updated_at: Option<OffsetDateTime>,
    ) -> Result<Option<Vec<String>>> {
        const OP: &str = "delete a todo";
        let user = user.as_str().to_owned();
        let mut tx = self.begin(OP).await?;
        // The todo and its subtasks, locked in id order: a concurrent insert of a subtask,
        // comment or attachment under them waits, then fails its foreign key.
        let mut family = self.sql("SELECT id, updated_at FROM todos WHERE user_id = ");
        family
            .bind(Arg::Text(user.clone()))
            .push(" AND (id = ")
            .bind(Arg::Uuid(id));
        family
            .push(" OR parent_todo_id = ")
            .bind(Arg::Uuid(id))
            .push(") ORDER BY id");
        family.push(self.dialect().lock_rows());
        let rows = tx.fetch_all(family, OP).await?;
        let ids = rows
            .iter()
            .map(|r| r.uuid("id"))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| Error::storage(OP, e))?;
        let Some(row) = rows
            .iter()
            .zip(&ids)
            .find(|(_, row_id)| **row_id == id)
            .map(|(row, _)| row)
        else {
            return Ok(None);
        };
        if let Some(expected) = expected_updated_at {
            // The row is locked: no writer can change it between this check and the delete.
            let current = row.time("updated_at").map_err(|e| Error::storage(OP, e))?;
            if current != expected {
                return Err(Error::Stale(Resource::Todo));
            }
        }
        let mut keys = self.sql("DELETE FROM attachments WHERE ");
        keys.push_in("todo_id", &ids)
            .push(" RETURNING download_key");
        let keys = tx
            .fetch_all(keys, OP)
            .await?
            .iter()
            .map(|r| r.text("download_key"))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| Error::storage(OP, e))?;
        for table in ["comments", "todo_notifications"] {
            let mut delete = self.sql(&format!("DELETE FROM {table} WHERE "));
            delete.push_in("todo_id", &ids);
            tx.execute(delete, OP).await?;
        }
        let mut children = self.sql("DELETE FROM todos WHERE parent_todo_id = ");
        children
            .bind(Arg::Uuid(id))
            .push(" AND user_id = ")
            .bind(Arg::Text(user.clone()));
        tx.execute(children, OP).await?;
        let mut todo = self.sql("DELETE FROM todos WHERE id = ");
        todo.bind(Arg::Uuid(id))
            .push(" AND user_id = ")
            .bind(Arg::Text(user));
        tx.execute(todo, OP).await?;
        tx.commit(OP).await?;
        Ok(Some(keys))
    }
}

impl AnyStore {
    /// Children, comments and attachments of `ids`: three statements.
    async fn populate(
        &self,
        conn: &mut Conn,
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
        let children = conn.fetch_all(children, OP).await?;

        let mut comments = self.sql(&format!(
            "SELECT {} FROM comments WHERE ",
            sql::COMMENT_COLUMNS
        ));
        comments
            .push_in("todo_id", &ids)
            .push(" ORDER BY created_at, id");
        let comments = conn.fetch_all(comments, OP).await?;

        let mut attachments = self.sql(&format!(
            "SELECT {} FROM attachments WHERE ",
            sql::ATTACHMENT_COLUMNS
        ));
        attachments
            .push_in("todo_id", &ids)
            .push(" ORDER BY created_at DESC, id DESC");
        let attachments = conn.fetch_all(attachments, OP).await?;

        Ok(assemble(
            todos,
            decode_all(OP, &children, decode::todo)?,
            decode_all(OP, &comments, decode::comment)?,
            decode_all(OP, &attachments, decode::attachment)?,
        ))
    }
}

/// Joins the rows of a page into populated todos, keeping page order; each
/// child, comment and attachment lands under exactly one todo.
fn assemble(
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
