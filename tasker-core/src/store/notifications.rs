//! [`NotificationStore`] for [`AnyStore`]: the notification ledger.

use time::OffsetDateTime;
use uuid::Uuid;

use super::{
    NotificationStore, TodoCursor, TodoNotificationKind,
    any::{AnyStore, count, decode_all},
    decode,
    sql::{self, Arg},
};
use crate::{Result, domain::UserId, model::Todo};

impl NotificationStore for AnyStore {
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
        sql.bind(Arg::Time(from))
            .push(" AND t.due_date <= ")
            .bind(Arg::Time(to));
        sql.push(
            " AND NOT EXISTS (SELECT 1 FROM todo_notifications n WHERE n.todo_id = t.id \
             AND n.due_date = t.due_date AND n.kind = ",
        );
        sql.bind(Arg::Text(kind.as_str().to_owned())).push(")");
        if let Some(after) = after {
            sql.push(" AND (t.user_id, t.id) > (")
                .bind(Arg::Text(after.user_id.as_str().to_owned()));
            sql.push(", ").bind(Arg::Uuid(after.id)).push(")");
        }
        sql.push(" ORDER BY t.user_id, t.id LIMIT ")
            .bind(Arg::I64(i64::from(limit)));
        let rows = self.fetch_all(sql, OP).await?;
        decode_all(OP, &rows, decode::todo)
    }

    async fn claim_todo_notifications(
        &self,
        kind: TodoNotificationKind,
        user: &UserId,
        todos: &[(Uuid, OffsetDateTime)],
        claim: &str,
        at: OffsetDateTime,
    ) -> Result<Vec<Todo>> {
        const OP: &str = "claim notifications";
        // Each insert locks its todo (the foreign key): in id order, the
        // lock order of this store (see `TodoStore` in `store/mod.rs`).
        let mut todos = todos.to_vec();
        todos.sort_by_key(|(id, _)| *id);
        let mut tx = self.begin(OP).await?;
        for (todo, due) in &todos {
            let mut sql = self.sql(
                "INSERT INTO todo_notifications (todo_id, kind, due_date, sent_at, claim_key) \
                 SELECT id, ",
            );
            sql.bind(Arg::Text(kind.as_str().to_owned()))
                .push(", ")
                .bind(Arg::Time(*due));
            sql.push(", ")
                .bind(Arg::Time(at))
                .push(", ")
                .bind(Arg::Text(claim.to_owned()));
            sql.push(" FROM todos WHERE id = ").bind(Arg::Uuid(*todo));
            sql.push(" AND user_id = ")
                .bind(Arg::Text(user.as_str().to_owned()));
            sql.push(" AND due_date = ").bind(Arg::Time(*due));
            sql.push(" ON CONFLICT DO NOTHING");
            tx.execute(sql, OP).await?;
        }
        let mut sql = self.sql(&format!(
            "SELECT {} FROM todos t JOIN todo_notifications n ON n.todo_id = t.id \
             AND n.due_date = t.due_date WHERE n.kind = ",
            sql::TODO_COLUMNS_T
        ));
        sql.bind(Arg::Text(kind.as_str().to_owned()));
        sql.push(" AND n.claim_key = ")
            .bind(Arg::Text(claim.to_owned()));
        sql.push(" AND n.delivered_at IS NULL AND t.user_id = ")
            .bind(Arg::Text(user.as_str().to_owned()));
        sql.push(&format!(
            " AND {} ORDER BY t.due_date, t.id",
            sql::open_status("t.status")
        ));
        let rows = tx.fetch_all(sql, OP).await?;
        tx.commit(OP).await?;
        decode_all(OP, &rows, decode::todo)
    }

    async fn mark_todo_notifications_delivered(
        &self,
        kind: TodoNotificationKind,
        claim: &str,
        at: OffsetDateTime,
    ) -> Result<u64> {
        const OP: &str = "mark notifications delivered";
        let mut sql = self.sql("UPDATE todo_notifications SET delivered_at = ");
        sql.bind(Arg::Time(at))
            .push(" WHERE kind = ")
            .bind(Arg::Text(kind.as_str().to_owned()));
        sql.push(" AND claim_key = ")
            .bind(Arg::Text(claim.to_owned()));
        sql.push(" AND delivered_at IS NULL");
        self.execute(sql, OP).await
    }

    async fn claim_user_notification(
        &self,
        user: &UserId,
        kind: &str,
        period: &str,
        at: OffsetDateTime,
    ) -> Result<bool> {
        const OP: &str = "claim a notification";
        let mut tx = self.begin(OP).await?;
        let mut sql =
            self.sql("INSERT INTO user_notifications (user_id, kind, period, sent_at) VALUES (");
        sql.bind(Arg::Text(user.as_str().to_owned())).push(", ");
        sql.bind(Arg::Text(kind.to_owned())).push(", ");
        sql.bind(Arg::Text(period.to_owned())).push(", ");
        sql.bind(Arg::Time(at)).push(") ON CONFLICT DO NOTHING");
        tx.execute(sql, OP).await?;
        let mut sql =
            self.sql("SELECT COUNT(*) AS pending FROM user_notifications WHERE user_id = ");
        sql.bind(Arg::Text(user.as_str().to_owned()));
        sql.push(" AND kind = ").bind(Arg::Text(kind.to_owned()));
        sql.push(" AND period = ")
            .bind(Arg::Text(period.to_owned()));
        sql.push(" AND delivered_at IS NULL");
        let row = tx.fetch_one(sql, OP).await?;
        tx.commit(OP).await?;
        Ok(count(OP, &row, "pending")? > 0)
    }

    async fn mark_user_notification_delivered(
        &self,
        user: &UserId,
        kind: &str,
        period: &str,
        at: OffsetDateTime,
    ) -> Result<()> {
        const OP: &str = "mark a notification delivered";
        let mut sql = self.sql("UPDATE user_notifications SET delivered_at = ");
        sql.bind(Arg::Time(at))
            .push(" WHERE user_id = ")
            .bind(Arg::Text(user.as_str().to_owned()));
        sql.push(" AND kind = ").bind(Arg::Text(kind.to_owned()));
        sql.push(" AND period = ")
            .bind(Arg::Text(period.to_owned()));
        sql.push(" AND delivered_at IS NULL");
        self.execute(sql, OP).await?;
        Ok(())
    }
}
