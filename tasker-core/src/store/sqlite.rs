//! What only SQLite does: opening the file, binding [`Arg`]s to its driver
//! types, storing instants as sortable text, and its migrations.

use std::str::FromStr;

use sqlx::{
    AssertSqlSafe, SqlitePool,
    migrate::Migrator,
    query::Query,
    sqlite::{
        SqliteArguments, SqliteConnectOptions, SqliteJournalMode, SqliteRow, SqliteSynchronous,
    },
    types::Json,
};
use time::{
    OffsetDateTime, UtcOffset, format_description::well_known::Rfc3339, macros::format_description,
};

use super::{
    StoreOptions,
    sql::{Arg, Sql},
};
use crate::{Error, Result};

/// The SQLite migrations, embedded at build time.
pub(crate) static MIGRATOR: Migrator = sqlx::migrate!("migrations/sqlite");

/// `n` is 1 when the migrations table exists, else 0.
pub(crate) const MIGRATIONS_TABLE_EXISTS: &str = "SELECT COUNT(*) AS n FROM sqlite_master \
     WHERE type = 'table' AND name = '_sqlx_migrations'";

/// Opens (creating it and its directory if missing) the database at `url`
/// (`sqlite://path/to/file.db` or `sqlite::memory:`).
///
/// In WAL mode with foreign keys on and a busy timeout, so readers never
/// block the writer and concurrent writers wait their turn instead of failing.
pub(crate) async fn connect(url: &str, options: &StoreOptions) -> Result<SqlitePool> {
    const OP: &str = "open the SQLite database";
    let connect = SqliteConnectOptions::from_str(url).map_err(|e| Error::storage(OP, e))?;
    if let Some(dir) = connect.get_filename().parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(|e| Error::storage(OP, e))?;
    }
    let connect = connect
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(options.busy_timeout);
    options
        .pool()
        .connect_with(options.logging(connect))
        .await
        .map_err(|e| Error::storage(OP, e))
}

/// The statement with its arguments bound as SQLite types.
pub(crate) fn query(sql: Sql) -> Query<'static, sqlx::Sqlite, SqliteArguments> {
    let mut q = sqlx::query(AssertSqlSafe(sql.text));
    for arg in sql.args {
        q = match arg {
            Arg::Text(v) => q.bind(v),
            Arg::OptText(v) => q.bind(v),
            Arg::Uuid(v) => q.bind(v),
            Arg::OptUuid(v) => q.bind(v),
            // `Sql::push_in` expands lists for SQLite; never produced here.
            Arg::Uuids(v) => q.bind(serde_json::to_string(&v).unwrap_or_default()),
            Arg::Time(v) => q.bind(encode_time(v)),
            Arg::OptTime(v) => q.bind(v.map(encode_time)),
            Arg::I16(v) => q.bind(v),
            Arg::I64(v) => q.bind(v),
            Arg::OptI64(v) => q.bind(v),
            Arg::OptBool(v) => q.bind(v),
            Arg::Metadata(v) => q.bind(v.map(Json)),
            Arg::Bytes(v) => q.bind(v),
        };
    }
    q
}

/// An instant column (fixed-width UTC text), or `None` when NULL.
pub(crate) fn opt_time(
    row: &SqliteRow,
    column: &str,
) -> std::result::Result<Option<OffsetDateTime>, sqlx::Error> {
    sqlx::Row::try_get::<Option<String>, _>(row, column)?
        .map(|text| decode_time(column, &text))
        .transpose()
}

/// Instants are stored as fixed-width UTC text (`2026-11-25T09:00:00.000000Z`),
/// so comparing and sorting the text compares the instants.
fn encode_time(t: OffsetDateTime) -> String {
    t.to_offset(UtcOffset::UTC)
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
        ))
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

fn decode_time(column: &str, text: &str) -> std::result::Result<OffsetDateTime, sqlx::Error> {
    OffsetDateTime::parse(text, &Rfc3339).map_err(|e| sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: Box::new(e),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::AnyStore;
    use time::macros::datetime;

    #[tokio::test]
    async fn connect_creates_missing_directories_and_applies_pragmas() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/deeper/tasker.db");
        let store = AnyStore::connect(
            &format!("sqlite://{}", path.display()),
            &StoreOptions::default(),
        )
        .await
        .unwrap();
        store.migrate().await.unwrap();
        assert!(path.exists());
        let crate::store::Pool::Sqlite(pool) = store.pool() else {
            panic!("a sqlite: URL opens SQLite");
        };
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(pool)
            .await
            .unwrap();
        let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
            .fetch_one(pool)
            .await
            .unwrap();
        let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!((mode.as_str(), fk, busy), ("wal", 1, 5000));
    }

    #[test]
    fn stored_instants_sort_as_text() {
        let a = encode_time(datetime!(2026-01-01 10:00:00 UTC));
        let b = encode_time(datetime!(2026-01-01 10:00:00.5 UTC));
        let c = encode_time(datetime!(2026-01-01 10:00:01 +01:00));
        assert_eq!(a, "2026-01-01T10:00:00.000000Z");
        assert!(c < a && a < b, "{c} {a} {b}");
        assert_eq!(
            decode_time("x", &b).unwrap(),
            datetime!(2026-01-01 10:00:00.5 UTC)
        );
    }
}
