//! [`SqliteStore`]: the embedded SQLite backend.

use std::str::FromStr;

use sqlx::{
    AssertSqlSafe,
    query::Query,
    sqlite::{SqliteArguments, SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous},
};
use time::{UtcOffset, format_description::well_known::Rfc3339, macros::format_description};

use super::{StoreOptions, any::StatementCounter, sql::Dialect, sql_store::sql_store};

type Db = sqlx::Sqlite;
const DIALECT: Dialect = Dialect::Sqlite;

/// The SQLite store: the embedded default, one file, nothing to install.
///
/// Opened in WAL mode with foreign keys on and a busy timeout, so readers never
/// block the writer and concurrent writers wait their turn instead of failing.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: sqlx::SqlitePool,
    counter: StatementCounter,
}

impl SqliteStore {
    /// Opens (creating it and its directory if missing) the database at `url`
    /// (`sqlite://path/to/file.db` or `sqlite::memory:`).
    ///
    /// # Errors
    /// [`Error::Storage`] when the URL is invalid or the file cannot be opened.
    pub async fn connect(url: &str, options: &StoreOptions) -> Result<Self> {
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
        let pool = options
            .pool()
            .connect_with(options.logging(connect))
            .await
            .map_err(|e| Error::storage(OP, e))?;
        Ok(Self::from_pool(pool))
    }
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

fn query(sql: Sql) -> Query<'static, Db, SqliteArguments> {
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
            Arg::Metadata(v) => q.bind(v.map(Json)),
            Arg::Bytes(v) => q.bind(v),
        };
    }
    q
}

fn time(row: &Row, column: &str) -> std::result::Result<OffsetDateTime, sqlx::Error> {
    decode_time(column, &row.try_get::<String, _>(column)?)
}

fn opt_time(row: &Row, column: &str) -> std::result::Result<Option<OffsetDateTime>, sqlx::Error> {
    row.try_get::<Option<String>, _>(column)?
        .map(|text| decode_time(column, &text))
        .transpose()
}

const MIGRATIONS_TABLE_EXISTS: &str = "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations')";

sql_store!(SqliteStore, "SQLite", sqlx::migrate!("migrations/sqlite"));

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[tokio::test]
    async fn connect_creates_missing_directories_and_applies_pragmas() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/deeper/tasker.db");
        let store = SqliteStore::connect(
            &format!("sqlite://{}", path.display()),
            &StoreOptions::default(),
        )
        .await
        .unwrap();
        store.migrate().await.unwrap();
        assert!(path.exists());
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(store.pool())
            .await
            .unwrap();
        let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
            .fetch_one(store.pool())
            .await
            .unwrap();
        let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
            .fetch_one(store.pool())
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
