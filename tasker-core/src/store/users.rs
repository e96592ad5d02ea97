//! [`UserStore`] for [`AnyStore`]: the users tasker has seen.

use time::OffsetDateTime;

use super::{
    UserStore,
    any::{AnyStore, decode_all, decode_one},
    sql::{Arg, Sql},
};
use crate::{Result, domain::UserId, model::KnownUser};

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

impl UserStore for AnyStore {
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
}
