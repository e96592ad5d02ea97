//! [`UserStore`] for [`AnyStore`]: the users tasker has seen, and their settings.

use time::OffsetDateTime;

use super::{
    UserStore,
    any::{AnyStore, decode_all, decode_one},
    conn::{DbResult, Row},
    sql::{Arg, Sql},
};
use crate::{
    Result,
    domain::UserId,
    model::{KnownUser, SettingsChange, StoredSettings, TimeZoneName},
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

    async fn user_settings(&self, user: &UserId) -> Result<StoredSettings> {
        const OP: &str = "read a user's settings";
        let mut sql = self.sql(&format!(
            "SELECT {SETTINGS_COLUMNS} FROM user_settings WHERE user_id = "
        ));
        sql.bind(Arg::Text(user.as_str().to_owned()));
        let row = self.fetch_optional(sql, OP).await?;
        Ok(decode_one(OP, row, settings)?.unwrap_or_default())
    }

    async fn update_user_settings(
        &self,
        user: &UserId,
        change: &SettingsChange,
        at: OffsetDateTime,
    ) -> Result<StoredSettings> {
        const OP: &str = "change a user's settings";
        let mut sql = self.sql(
            "INSERT INTO user_settings (user_id, time_zone, due_reminders, overdue_notices, \
             weekly_report, weekly_report_when_empty, updated_at) VALUES (",
        );
        sql.bind(Arg::Text(user.as_str().to_owned())).push(", ");
        let zone = change.time_zone.as_ref().map(|z| z.as_str().to_owned());
        sql.bind(Arg::OptText(zone)).push(", ");
        sql.bind(Arg::OptBool(change.due_reminders)).push(", ");
        sql.bind(Arg::OptBool(change.overdue_notices)).push(", ");
        sql.bind(Arg::OptBool(change.weekly_report)).push(", ");
        sql.bind(Arg::OptBool(change.weekly_report_when_empty))
            .push(", ");
        sql.bind(Arg::Time(at))
            .push(") ON CONFLICT (user_id) DO UPDATE SET ");
        for column in SETTINGS_SWITCHES {
            sql.push(&format!(
                "{column} = COALESCE(excluded.{column}, user_settings.{column}), "
            ));
        }
        sql.push(&format!(
            "updated_at = excluded.updated_at RETURNING {SETTINGS_COLUMNS}"
        ));
        let row = self.fetch_one(sql, OP).await?;
        settings(&row).map_err(|e| crate::Error::storage(OP, e))
    }
}

/// The columns a [`StoredSettings`] is read from.
const SETTINGS_COLUMNS: &str = "time_zone, due_reminders, overdue_notices, weekly_report, \
                                weekly_report_when_empty, updated_at";

/// The columns a [`SettingsChange`] leaves alone when it has no value for them.
const SETTINGS_SWITCHES: [&str; 5] = [
    "time_zone",
    "due_reminders",
    "overdue_notices",
    "weekly_report",
    "weekly_report_when_empty",
];

/// A settings row. A zone the database no longer knows follows the default.
fn settings(row: &Row) -> DbResult<StoredSettings> {
    Ok(StoredSettings {
        time_zone: row
            .opt_text("time_zone")?
            .and_then(|name| TimeZoneName::parse(&name).ok()),
        due_reminders: row.opt_bool("due_reminders")?,
        overdue_notices: row.opt_bool("overdue_notices")?,
        weekly_report: row.opt_bool("weekly_report")?,
        weekly_report_when_empty: row.opt_bool("weekly_report_when_empty")?,
        updated_at: Some(row.time("updated_at")?),
    })
}
