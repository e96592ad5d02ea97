//! Model types read from result rows; the column names are those of
//! [`super::sql`]'s column lists.

use super::conn::{DbResult, Row};
use crate::{
    domain::{TodoMetadata, TodoPriority, TodoStatus, UserId},
    model::{Attachment, Category, Comment, Todo},
};

/// The error of a column whose value the model cannot hold.
pub(crate) fn out_of_range(column: &str) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: "value out of range".into(),
    }
}

/// A todo from unprefixed columns ([`super::sql::TODO_COLUMNS`] or `TODO_COLUMNS_T`).
pub(crate) fn todo(row: &Row) -> DbResult<Todo> {
    Ok(Todo {
        id: row.uuid("id")?,
        user_id: UserId::from_db(row.text("user_id")?),
        title: row.text("title")?,
        description: row.opt_text("description")?,
        status: TodoStatus::from_rank(row.i16("status")?).ok_or_else(|| out_of_range("status"))?,
        priority: TodoPriority::from_rank(row.i16("priority")?)
            .ok_or_else(|| out_of_range("priority"))?,
        due_date: row.opt_time("due_date")?,
        completed_at: row.opt_time("completed_at")?,
        parent_todo_id: row.opt_uuid("parent_todo_id")?,
        category_id: row.opt_uuid("category_id")?,
        metadata: row.opt_json::<TodoMetadata>("metadata")?,
        sort_order: row.i64("sort_order")?,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}

/// A todo and the category joined to it ([`super::sql::JOINED_CATEGORY_COLUMNS`]).
pub(crate) fn todo_with_category(row: &Row) -> DbResult<(Todo, Option<Category>)> {
    Ok((todo(row)?, joined_category(row)?))
}

/// A category from unprefixed columns ([`super::sql::CATEGORY_COLUMNS`]).
pub(crate) fn category(row: &Row) -> DbResult<Category> {
    Ok(Category {
        id: row.uuid("id")?,
        user_id: UserId::from_db(row.text("user_id")?),
        name: row.text("name")?,
        color: row.text("color")?,
        description: row.opt_text("description")?,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}

/// The `c_`-prefixed category of a todo row's `LEFT JOIN`; `None` when the
/// todo has none.
fn joined_category(row: &Row) -> DbResult<Option<Category>> {
    let Some(id) = row.opt_uuid("c_id")? else {
        return Ok(None);
    };
    Ok(Some(Category {
        id,
        user_id: UserId::from_db(row.text("c_user_id")?),
        name: row.text("c_name")?,
        color: row.text("c_color")?,
        description: row.opt_text("c_description")?,
        created_at: row.time("c_created_at")?,
        updated_at: row.time("c_updated_at")?,
    }))
}

/// A comment ([`super::sql::COMMENT_COLUMNS`]).
pub(crate) fn comment(row: &Row) -> DbResult<Comment> {
    Ok(Comment {
        id: row.uuid("id")?,
        todo_id: row.uuid("todo_id")?,
        user_id: UserId::from_db(row.text("user_id")?),
        content: row.text("content")?,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}

/// An attachment record ([`super::sql::ATTACHMENT_COLUMNS`]).
pub(crate) fn attachment(row: &Row) -> DbResult<Attachment> {
    Ok(Attachment {
        id: row.uuid("id")?,
        todo_id: row.uuid("todo_id")?,
        name: row.text("name")?,
        uploaded_by: UserId::from_db(row.text("uploaded_by")?),
        download_key: row.text("download_key")?,
        file_size: row.opt_i64("file_size")?,
        mime_type: row.opt_text("mime_type")?,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}
