//! [`StatsStore`] for [`AnyStore`]: a user's week in numbers.

use time::OffsetDateTime;

use super::{
    StatsStore,
    any::{AnyStore, count, decode_all},
    decode, sql,
    sql::Arg,
};
use crate::{Result, domain::UserId, model::WeeklyStats};

impl StatsStore for AnyStore {
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
            completed_todos: decode_all(OP, &completed, decode::todo)?,
            overdue_todos: decode_all(OP, &overdue, decode::todo)?,
        })
    }
}
