//! `JobStore` for the SQL stores: batch queries for jobs and the notification ledger.
//!
//! Expanded inside `sql_store!`, which brings the names it uses into scope.

macro_rules! job_store {
    ($store:ident) => {
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

pub(crate) use job_store;
