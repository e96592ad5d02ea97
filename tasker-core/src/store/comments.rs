//! `CommentStore` for [`AnyStore`]: comments.

use time::OffsetDateTime;
use uuid::Uuid;

use super::{
    CommentStore,
    any::{AnyStore, decode_all, decode_one},
    decode,
    sql::{self, Arg, Sql},
    write::classify,
};
use crate::{
    Error, Resource, Result,
    domain::{CommentContent, UserId},
    model::Comment,
};

impl AnyStore {
    /// `INSERT INTO comments …` for `comment`; the caller adds the tail
    /// (`RETURNING …`, or `ON CONFLICT` for an import).
    pub(super) fn insert_comment_sql(&self, comment: &Comment) -> Sql {
        let mut sql = self.sql(
            "INSERT INTO comments (id, todo_id, user_id, content, created_at, updated_at) VALUES (",
        );
        sql.bind(Arg::Uuid(comment.id)).push(", ");
        sql.bind(Arg::Uuid(comment.todo_id)).push(", ");
        sql.bind(Arg::Text(comment.user_id.as_str().to_owned()))
            .push(", ");
        sql.bind(Arg::Text(comment.content.clone())).push(", ");
        sql.bind(Arg::Time(comment.created_at)).push(", ");
        sql.bind(Arg::Time(comment.updated_at));
        sql.push(")");
        sql
    }
}

impl CommentStore for AnyStore {
    async fn insert_comment(&self, comment: &Comment) -> Result<Comment> {
        const OP: &str = "insert a comment";
        let mut sql = self.insert_comment_sql(comment);
        sql.push(&format!(" RETURNING {}", sql::COMMENT_COLUMNS));
        let row = self.try_fetch_one(sql).await.map_err(|e| {
            classify(
                OP,
                e,
                || Error::storage(OP, "duplicate comment id"),
                |_| Error::NotFound(Resource::Todo),
            )
        })?;
        decode::comment(&row).map_err(|e| Error::storage(OP, e))
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
        sql.push(" AND todo_id IN (SELECT id FROM todos WHERE user_id = ")
            .bind(Arg::Text(user));
        sql.push(&format!(") RETURNING {}", sql::COMMENT_COLUMNS));
        let row = self.fetch_optional(sql, OP).await?;
        decode_one(OP, row, decode::comment)
    }

    async fn delete_comment(&self, user: &UserId, id: Uuid) -> Result<bool> {
        const OP: &str = "delete a comment";
        let user = user.as_str().to_owned();
        let mut sql = self.sql("DELETE FROM comments WHERE id = ");
        sql.bind(Arg::Uuid(id))
            .push(" AND user_id = ")
            .bind(Arg::Text(user.clone()));
        sql.push(" AND todo_id IN (SELECT id FROM todos WHERE user_id = ")
            .bind(Arg::Text(user));
        sql.push(")");
        Ok(self.execute(sql, OP).await? > 0)
    }

    async fn list_comments(&self, user: &UserId, todo_id: Uuid) -> Result<Vec<Comment>> {
        const OP: &str = "list comments";
        let mut sql = self.sql(&format!(
            "SELECT {} FROM comments WHERE todo_id IN (SELECT id FROM todos WHERE id = ",
            sql::COMMENT_COLUMNS
        ));
        sql.bind(Arg::Uuid(todo_id))
            .push(" AND user_id = ")
            .bind(Arg::Text(user.as_str().to_owned()));
        sql.push(") ORDER BY created_at, id");
        let rows = self.fetch_all(sql, OP).await?;
        decode_all(OP, &rows, decode::comment)
    }
}
