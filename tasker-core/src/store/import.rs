//! Writing an [`ImportBatch`](crate::import::ImportBatch): one transaction,
//! rows whose id is already stored left as they are.

use super::{any::AnyStore, write::category_insert_error};
use crate::Result;

impl AnyStore {
    /// Writes `batch` in one transaction: categories, then todos (in
    /// the batch's order, parents before their subtasks), comments and
    /// attachments; the user is recorded as known (no welcome
    /// e-mail). A row whose id is already stored is skipped, so
    /// importing the same batch twice changes nothing the second time.
    ///
    /// # Errors
    /// [`Error::CategoryNameTaken`](crate::Error::CategoryNameTaken) when another category of the user
    /// already has the name; [`Error::Storage`](crate::Error::Storage) for any other failure.
    /// Nothing of the batch is written then.
    pub async fn import_batch(
        &self,
        batch: &crate::import::ImportBatch,
    ) -> Result<crate::import::ImportCounts> {
        const OP: &str = "import a batch";
        const SKIP_EXISTING: &str = " ON CONFLICT (id) DO NOTHING";
        let mut tx = self.begin(OP).await?;
        let mut counts = crate::import::ImportCounts::default();
        for category in &batch.categories {
            let mut sql = self.insert_category_sql(category);
            sql.push(SKIP_EXISTING);
            let written = tx
                .try_execute(sql)
                .await
                .map_err(|e| category_insert_error(OP, e, category))?;
            counts.categories += written;
        }
        for todo in &batch.todos {
            let mut sql = self.insert_todo_sql(todo);
            sql.push(SKIP_EXISTING);
            counts.todos += tx.execute(sql, OP).await?;
        }
        for comment in &batch.comments {
            let mut sql = self.insert_comment_sql(comment);
            sql.push(SKIP_EXISTING);
            counts.comments += tx.execute(sql, OP).await?;
        }
        for attachment in &batch.attachments {
            let mut sql = self.insert_attachment_sql(attachment);
            sql.push(SKIP_EXISTING);
            counts.attachments += tx.execute(sql, OP).await?;
        }
        // Known from the start: tasker welcomes users it has not seen
        // before, and these are the Go service's users, not new ones.
        let first_seen = batch
            .categories
            .iter()
            .map(|c| c.created_at)
            .chain(batch.todos.iter().map(|t| t.created_at))
            .min();
        if let Some(at) = first_seen {
            let sql = self.remember_user_sql(&batch.user, None, None, at);
            tx.execute(sql, OP).await?;
        }
        tx.commit(OP).await?;
        Ok(counts)
    }
}
