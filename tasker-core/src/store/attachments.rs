//! `AttachmentStore` for [`AnyStore`]: attachment records.

use uuid::Uuid;

use super::{
    AttachmentStore,
    any::{AnyStore, decode_one},
    decode,
    sql::{self, Arg, Sql},
    write::classify,
};
use crate::{Error, Resource, Result, domain::UserId, model::Attachment};

impl AnyStore {
    /// `INSERT INTO attachments …` for `a`; the caller adds the tail
    /// (`RETURNING …`, or `ON CONFLICT` for an import).
    pub(super) fn insert_attachment_sql(&self, a: &Attachment) -> Sql {
        let mut sql = self.sql(
            "INSERT INTO attachments (id, todo_id, name, uploaded_by, download_key, file_size, \
             mime_type, created_at, updated_at) VALUES (",
        );
        sql.bind(Arg::Uuid(a.id)).push(", ");
        sql.bind(Arg::Uuid(a.todo_id)).push(", ");
        sql.bind(Arg::Text(a.name.clone())).push(", ");
        sql.bind(Arg::Text(a.uploaded_by.as_str().to_owned()))
            .push(", ");
        sql.bind(Arg::Text(a.download_key.clone())).push(", ");
        sql.bind(Arg::OptI64(a.file_size)).push(", ");
        sql.bind(Arg::OptText(a.mime_type.clone())).push(", ");
        sql.bind(Arg::Time(a.created_at)).push(", ");
        sql.bind(Arg::Time(a.updated_at));
        sql.push(")");
        sql
    }
}

impl AttachmentStore for AnyStore {
    async fn insert_attachment(&self, a: &Attachment) -> Result<Attachment> {
        const OP: &str = "insert an attachment";
        let mut sql = self.insert_attachment_sql(a);
        sql.push(&format!(" RETURNING {}", sql::ATTACHMENT_COLUMNS));
        let row = self.try_fetch_one(sql).await.map_err(|e| {
            classify(
                OP,
                e,
                || Error::storage(OP, "duplicate attachment"),
                |_| Error::NotFound(Resource::Todo),
            )
        })?;
        decode::attachment(&row).map_err(|e| Error::storage(OP, e))
    }

    async fn get_attachment(
        &self,
        user: &UserId,
        todo_id: Uuid,
        id: Uuid,
    ) -> Result<Option<Attachment>> {
        const OP: &str = "get an attachment";
        let mut sql = self.sql(&format!(
            "SELECT {} FROM attachments WHERE id = ",
            sql::ATTACHMENT_COLUMNS
        ));
        sql.bind(Arg::Uuid(id))
            .push(" AND todo_id = ")
            .bind(Arg::Uuid(todo_id));
        sql.push(" AND todo_id IN (SELECT id FROM todos WHERE user_id = ");
        sql.bind(Arg::Text(user.as_str().to_owned())).push(")");
        let row = self.fetch_optional(sql, OP).await?;
        decode_one(OP, row, decode::attachment)
    }

    async fn delete_attachment(
        &self,
        user: &UserId,
        todo_id: Uuid,
        id: Uuid,
    ) -> Result<Option<Attachment>> {
        const OP: &str = "delete an attachment";
        let mut sql = self.sql("DELETE FROM attachments WHERE id = ");
        sql.bind(Arg::Uuid(id))
            .push(" AND todo_id = ")
            .bind(Arg::Uuid(todo_id));
        sql.push(" AND todo_id IN (SELECT id FROM todos WHERE user_id = ");
        sql.bind(Arg::Text(user.as_str().to_owned()));
        sql.push(&format!(") RETURNING {}", sql::ATTACHMENT_COLUMNS));
        let row = self.fetch_optional(sql, OP).await?;
        decode_one(OP, row, decode::attachment)
    }
}
