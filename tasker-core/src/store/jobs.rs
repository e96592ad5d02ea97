//! `JobStore` for [`AnyStore`]: batch queries for jobs and the notification ledger.

use time::OffsetDateTime;
use uuid::Uuid;

use super::{
    JobStore, TodoCursor, TodoNotificationKind,
    any::{AnyStore, count, decode_all, decode_one},
    rows,
    sql::{self, Arg, Sql},
};
use crate::{
    Error, Result,
    domain::UserId,
    model::{JobRun, JobRunCounts, KnownUser, Todo, WeeklyStats},
};

impl AnyStore {
    /// Records `user` as seen at `at`, unless already known.
    pub(super) fn remember_user_sql(
        &self,
        user: &UserId,
        email: Option<&str>,
        name: Option<&str>,
        at: OffsetDateTime,
    ) -> Sql {
        let mut sql = self.sql(
            "INSERT INTO known_users (user_id, email, name, first_seen_at, updated_at) VALUES (",
        );
        sql.bind(Arg::Text(user.as_str().to_owned())).push(", ");
        sql.bind(Arg::OptText(email.map(str::to_owned))).push(", ");
        sql.bind(Arg::OptText(name.map(str::to_owned))).push(", ");
        sql.bind(Arg::Time(at)).push(", ").bind(Arg::Time(at));
        sql.push(") ON CONFLICT DO NOTHING");
        sql
    }
}

impl JobStore for AnyStore {
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
        decode_all(OP, &rows, rows::todo)
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
        decode_all(OP, &rows, rows::todo)
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

    async fn remember_user(
        &self,
        user: &UserId,
        email: Option<&str>,
        name: Option<&str>,
        at: OffsetDateTime,
    ) -> Result<bool> {
        const OP: &str = "remember a user";
        let mut tx = self.begin(OP).await?;
        let sql = self.remember_user_sql(user, email, name, at);
        let first = tx.execute(sql, OP).await? > 0;
        if !first && (email.is_some() || name.is_some()) {
            let mut sql = self.sql("UPDATE known_users SET email = COALESCE(");
            sql.bind(Arg::OptText(email.map(str::to_owned)))
                .push(", email), name = COALESCE(");
            sql.bind(Arg::OptText(name.map(str::to_owned)))
                .push(", name), updated_at = ");
            sql.bind(Arg::Time(at))
                .push(" WHERE user_id = ")
                .bind(Arg::Text(user.as_str().to_owned()));
            tx.execute(sql, OP).await?;
        }
        tx.commit(OP).await?;
        Ok(first)
    }

    async fn forget_user(&self, user: &UserId) -> Result<()> {
        const OP: &str = "forget a user";
        let mut sql = self.sql("DELETE FROM known_users WHERE user_id = ");
        sql.bind(Arg::Text(user.as_str().to_owned()));
        self.execute(sql, OP).await?;
        Ok(())
    }

    async fn known_user(&self, user: &UserId) -> Result<Option<KnownUser>> {
        const OP: &str = "find a user";
        let mut sql = self
            .sql("SELECT user_id, email, name, first_seen_at FROM known_users WHERE user_id = ");
        sql.bind(Arg::Text(user.as_str().to_owned()));
        let row = self.fetch_optional(sql, OP).await?;
        decode_one(OP, row, |r| {
            Ok(KnownUser {
                user_id: UserId::from_db(r.text("user_id")?),
                email: r.opt_text("email")?,
                name: r.opt_text("name")?,
                first_seen_at: r.time("first_seen_at")?,
            })
        })
    }

    async fn record_job_run(&self, run: &JobRun) -> Result<()> {
        const OP: &str = "record a job run";
        let mut sql = self.sql(
            "INSERT INTO job_runs (job_id, queue, kind, status, attempts, last_error, started_at, finished_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (job_id) DO UPDATE SET \
             status = excluded.status, attempts = excluded.attempts, \
             last_error = COALESCE(excluded.last_error, job_runs.last_error), \
             finished_at = excluded.finished_at",
        );
        sql.args = vec![
            Arg::Text(run.job_id.clone()),
            Arg::Text(run.queue.clone()),
            Arg::Text(run.kind.clone()),
            Arg::Text(run.status.as_str().to_owned()),
            Arg::I64(i64::from(run.attempts)),
            Arg::OptText(run.last_error.clone()),
            Arg::Time(run.started_at),
            Arg::OptTime(run.finished_at),
        ];
        self.execute(sql, OP).await?;
        Ok(())
    }

    async fn job_run_counts(&self) -> Result<Vec<JobRunCounts>> {
        const OP: &str = "count job runs";
        let sql = self.sql(
            "SELECT queue, \
             COUNT(*) FILTER (WHERE status = 'running') AS running, \
             COUNT(*) FILTER (WHERE status = 'retrying') AS retrying, \
             COUNT(*) FILTER (WHERE status = 'done') AS done, \
             COUNT(*) FILTER (WHERE status = 'failed') AS failed, \
             COUNT(*) FILTER (WHERE attempts > 1) AS retried \
             FROM job_runs GROUP BY queue ORDER BY queue",
        );
        let rows = self.fetch_all(sql, OP).await?;
        rows.iter()
            .map(|r| {
                Ok(JobRunCounts {
                    queue: r.text("queue").map_err(|e| Error::storage(OP, e))?,
                    running: count(OP, r, "running")?,
                    retrying: count(OP, r, "retrying")?,
                    done: count(OP, r, "done")?,
                    failed: count(OP, r, "failed")?,
                    retried: count(OP, r, "retried")?,
                })
            })
            .collect()
    }

    async fn failed_job_runs(&self, limit: u32) -> Result<Vec<JobRun>> {
        const OP: &str = "list failed job runs";
        let mut sql = self.sql(
            "SELECT job_id, queue, kind, status, attempts, last_error, started_at, finished_at \
             FROM job_runs WHERE status = 'failed' ORDER BY finished_at DESC, job_id LIMIT ",
        );
        sql.bind(Arg::I64(i64::from(limit)));
        let rows = self.fetch_all(sql, OP).await?;
        decode_all(OP, &rows, |r| {
            let status = r.text("status")?;
            Ok(JobRun {
                job_id: r.text("job_id")?,
                queue: r.text("queue")?,
                kind: r.text("kind")?,
                status: crate::model::JobRunStatus::parse(&status).ok_or_else(|| {
                    sqlx::Error::Decode(format!("job run status {status}").into())
                })?,
                attempts: u32::try_from(r.i64("attempts")?).unwrap_or(0),
                last_error: r.opt_text("last_error")?,
                started_at: r.time("started_at")?,
                finished_at: r.opt_time("finished_at")?,
            })
        })
    }

    async fn prune_job_runs(&self, before: OffsetDateTime) -> Result<u64> {
        const OP: &str = "prune job runs";
        let mut sql =
            self.sql("DELETE FROM job_runs WHERE status IN ('done', 'failed') AND finished_at < ");
        sql.bind(Arg::Time(before));
        self.execute(sql, OP).await
    }

    async fn existing_download_keys(&self, keys: &[String]) -> Result<Vec<String>> {
        const OP: &str = "find attachment keys";
        let mut found = Vec::new();
        for chunk in keys.chunks(200) {
            let mut sql = self.sql("SELECT download_key FROM attachments WHERE download_key IN (");
            for (i, key) in chunk.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.bind(Arg::Text(key.clone()));
            }
            sql.push(")");
            let rows = self.fetch_all(sql, OP).await?;
            found.extend(decode_all(OP, &rows, |r| r.text("download_key"))?);
        }
        Ok(found)
    }

    async fn users_with_todos(&self, after: Option<&UserId>, limit: u32) -> Result<Vec<UserId>> {
        const OP: &str = "list users";
        let mut sql = self.sql("SELECT DISTINCT user_id FROM todos");
        if let Some(after) = after {
            sql.push(" WHERE user_id > ")
                .bind(Arg::Text(after.as_str().to_owned()));
        }
        sql.push(" ORDER BY user_id LIMIT ")
            .bind(Arg::I64(i64::from(limit)));
        let rows = self.fetch_all(sql, OP).await?;
        decode_all(OP, &rows, |r| r.text("user_id").map(UserId::from_db))
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
        let counts = self.fetch_one(counts, OP).await?;

        let mut completed = self.sql(&format!(
            "SELECT {} FROM todos WHERE user_id = $1 AND completed_at >= $2 AND completed_at < $3 \
             ORDER BY completed_at DESC, id LIMIT $4",
            sql::TODO_COLUMNS
        ));
        completed.args = vec![
            uid(),
            Arg::Time(from),
            Arg::Time(to),
            Arg::I64(i64::from(list_limit)),
        ];
        let completed = self.fetch_all(completed, OP).await?;

        let mut overdue = self.sql(&format!(
            "SELECT {} FROM todos WHERE user_id = $1 AND status < 2 AND due_date < $2 \
             ORDER BY due_date, id LIMIT $3",
            sql::TODO_COLUMNS
        ));
        overdue.args = vec![uid(), Arg::Time(now), Arg::I64(i64::from(list_limit))];
        let overdue = self.fetch_all(overdue, OP).await?;

        Ok(WeeklyStats {
            user_id: user.clone(),
            from,
            to,
            created: count(OP, &counts, "created")?,
            completed: count(OP, &counts, "completed")?,
            active: count(OP, &counts, "active")?,
            overdue: count(OP, &counts, "overdue")?,
            completed_todos: decode_all(OP, &completed, rows::todo)?,
            overdue_todos: decode_all(OP, &overdue, rows::todo)?,
        })
    }

    async fn archive_completed_batch(
        &self,
        before: OffsetDateTime,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<u64> {
        const OP: &str = "archive completed todos";
        let mut sql = self.sql(&sql::archive_batch(self.dialect()));
        sql.args = vec![
            Arg::Time(before),
            Arg::Time(now),
            Arg::I64(i64::from(limit)),
        ];
        self.execute(sql, OP).await
    }
}
