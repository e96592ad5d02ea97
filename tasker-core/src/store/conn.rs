//! Running statements: [`Conn`] (a pooled connection or a transaction) and
//! [`Row`] (a result row of either backend, read column by column).
//!
//! This is the one place that matches on the backend to run a statement:
//! every store method builds its [`Sql`] once and hands it here.

use serde::de::DeserializeOwned;
#[cfg(feature = "postgres")]
use sqlx::postgres::{PgConnection, PgRow};
#[cfg(feature = "sqlite")]
use sqlx::sqlite::{SqliteConnection, SqliteRow};
use sqlx::{Row as _, pool::PoolConnection, types::Json};
use time::OffsetDateTime;
use uuid::Uuid;

#[cfg(feature = "postgres")]
use super::postgres;
#[cfg(feature = "sqlite")]
use super::sqlite;
use super::{options::StatementCounter, sql::Sql};
use crate::{Error, Result};

/// A driver result: the raw error, for callers that classify it.
pub(crate) type DbResult<T> = std::result::Result<T, sqlx::Error>;

/// One connection taken from the pool, optionally inside a transaction.
///
/// A transaction dropped without [`Conn::commit`] rolls back.
pub(crate) struct Conn {
    link: Link,
    counter: StatementCounter,
}

enum Link {
    #[cfg(feature = "postgres")]
    Postgres(PoolConnection<sqlx::Postgres>),
    #[cfg(feature = "postgres")]
    PostgresTx(sqlx::Transaction<'static, sqlx::Postgres>),
    #[cfg(feature = "sqlite")]
    Sqlite(PoolConnection<sqlx::Sqlite>),
    #[cfg(feature = "sqlite")]
    SqliteTx(sqlx::Transaction<'static, sqlx::Sqlite>),
}

/// The driver connection under a [`Link`].
enum Wire<'c> {
    #[cfg(feature = "postgres")]
    Postgres(&'c mut PgConnection),
    #[cfg(feature = "sqlite")]
    Sqlite(&'c mut SqliteConnection),
}

impl Conn {
    #[cfg(feature = "postgres")]
    pub(crate) fn postgres(
        conn: PoolConnection<sqlx::Postgres>,
        counter: StatementCounter,
    ) -> Self {
        Self {
            link: Link::Postgres(conn),
            counter,
        }
    }

    #[cfg(feature = "postgres")]
    pub(crate) fn postgres_tx(
        tx: sqlx::Transaction<'static, sqlx::Postgres>,
        counter: StatementCounter,
    ) -> Self {
        Self {
            link: Link::PostgresTx(tx),
            counter,
        }
    }

    #[cfg(feature = "sqlite")]
    pub(crate) fn sqlite(conn: PoolConnection<sqlx::Sqlite>, counter: StatementCounter) -> Self {
        Self {
            link: Link::Sqlite(conn),
            counter,
        }
    }

    #[cfg(feature = "sqlite")]
    pub(crate) fn sqlite_tx(
        tx: sqlx::Transaction<'static, sqlx::Sqlite>,
        counter: StatementCounter,
    ) -> Self {
        Self {
            link: Link::SqliteTx(tx),
            counter,
        }
    }

    fn wire(&mut self) -> Wire<'_> {
        match &mut self.link {
            #[cfg(feature = "postgres")]
            Link::Postgres(conn) => Wire::Postgres(conn),
            #[cfg(feature = "postgres")]
            Link::PostgresTx(tx) => Wire::Postgres(tx),
            #[cfg(feature = "sqlite")]
            Link::Sqlite(conn) => Wire::Sqlite(conn),
            #[cfg(feature = "sqlite")]
            Link::SqliteTx(tx) => Wire::Sqlite(tx),
        }
    }

    /// Every row of `sql`.
    pub(crate) async fn try_fetch_all(&mut self, sql: Sql) -> DbResult<Vec<Row>> {
        self.counter.add();
        match self.wire() {
            #[cfg(feature = "postgres")]
            Wire::Postgres(c) => postgres::query(sql)
                .fetch_all(c)
                .await
                .map(|rows| rows.into_iter().map(Row::Postgres).collect()),
            #[cfg(feature = "sqlite")]
            Wire::Sqlite(c) => sqlite::query(sql)
                .fetch_all(c)
                .await
                .map(|rows| rows.into_iter().map(Row::Sqlite).collect()),
        }
    }

    /// The first row of `sql`, if any.
    pub(crate) async fn try_fetch_optional(&mut self, sql: Sql) -> DbResult<Option<Row>> {
        self.counter.add();
        match self.wire() {
            #[cfg(feature = "postgres")]
            Wire::Postgres(c) => postgres::query(sql)
                .fetch_optional(c)
                .await
                .map(|row| row.map(Row::Postgres)),
            #[cfg(feature = "sqlite")]
            Wire::Sqlite(c) => sqlite::query(sql)
                .fetch_optional(c)
                .await
                .map(|row| row.map(Row::Sqlite)),
        }
    }

    /// Runs `sql`; the number of rows it changed.
    pub(crate) async fn try_execute(&mut self, sql: Sql) -> DbResult<u64> {
        self.counter.add();
        match self.wire() {
            #[cfg(feature = "postgres")]
            Wire::Postgres(c) => postgres::query(sql)
                .execute(c)
                .await
                .map(|done| done.rows_affected()),
            #[cfg(feature = "sqlite")]
            Wire::Sqlite(c) => sqlite::query(sql)
                .execute(c)
                .await
                .map(|done| done.rows_affected()),
        }
    }

    /// The one row `sql` returns (none is an error).
    pub(crate) async fn try_fetch_one(&mut self, sql: Sql) -> DbResult<Row> {
        self.try_fetch_optional(sql)
            .await?
            .ok_or(sqlx::Error::RowNotFound)
    }

    /// [`Conn::try_fetch_all`], a failure reported as [`Error::Storage`] of `operation`.
    pub(crate) async fn fetch_all(
        &mut self,
        sql: Sql,
        operation: &'static str,
    ) -> Result<Vec<Row>> {
        self.try_fetch_all(sql)
            .await
            .map_err(|e| Error::storage(operation, e))
    }

    /// [`Conn::try_fetch_optional`], a failure reported as [`Error::Storage`].
    pub(crate) async fn fetch_optional(
        &mut self,
        sql: Sql,
        operation: &'static str,
    ) -> Result<Option<Row>> {
        self.try_fetch_optional(sql)
            .await
            .map_err(|e| Error::storage(operation, e))
    }

    /// [`Conn::try_fetch_one`], a failure reported as [`Error::Storage`].
    pub(crate) async fn fetch_one(&mut self, sql: Sql, operation: &'static str) -> Result<Row> {
        self.try_fetch_one(sql)
            .await
            .map_err(|e| Error::storage(operation, e))
    }

    /// [`Conn::try_execute`], a failure reported as [`Error::Storage`].
    pub(crate) async fn execute(&mut self, sql: Sql, operation: &'static str) -> Result<u64> {
        self.try_execute(sql)
            .await
            .map_err(|e| Error::storage(operation, e))
    }

    /// Commits the transaction (one statement); a plain connection has
    /// nothing to commit.
    pub(crate) async fn commit(self, operation: &'static str) -> Result<()> {
        let committed = match self.link {
            #[cfg(feature = "postgres")]
            Link::PostgresTx(tx) => {
                self.counter.add();
                tx.commit().await
            }
            #[cfg(feature = "sqlite")]
            Link::SqliteTx(tx) => {
                self.counter.add();
                tx.commit().await
            }
            #[cfg(feature = "postgres")]
            Link::Postgres(_) => Ok(()),
            #[cfg(feature = "sqlite")]
            Link::Sqlite(_) => Ok(()),
        };
        committed.map_err(|e| Error::storage(operation, e))
    }
}

/// A result row of either backend.
pub(crate) enum Row {
    #[cfg(feature = "postgres")]
    Postgres(PgRow),
    #[cfg(feature = "sqlite")]
    Sqlite(SqliteRow),
}

impl Row {
    /// A text column.
    pub(crate) fn text(&self, column: &str) -> DbResult<String> {
        match self {
            #[cfg(feature = "postgres")]
            Self::Postgres(r) => r.try_get(column),
            #[cfg(feature = "sqlite")]
            Self::Sqlite(r) => r.try_get(column),
        }
    }

    /// A nullable text column.
    pub(crate) fn opt_text(&self, column: &str) -> DbResult<Option<String>> {
        match self {
            #[cfg(feature = "postgres")]
            Self::Postgres(r) => r.try_get(column),
            #[cfg(feature = "sqlite")]
            Self::Sqlite(r) => r.try_get(column),
        }
    }

    /// A UUID column.
    pub(crate) fn uuid(&self, column: &str) -> DbResult<Uuid> {
        match self {
            #[cfg(feature = "postgres")]
            Self::Postgres(r) => r.try_get(column),
            #[cfg(feature = "sqlite")]
            Self::Sqlite(r) => r.try_get(column),
        }
    }

    /// A nullable UUID column.
    pub(crate) fn opt_uuid(&self, column: &str) -> DbResult<Option<Uuid>> {
        match self {
            #[cfg(feature = "postgres")]
            Self::Postgres(r) => r.try_get(column),
            #[cfg(feature = "sqlite")]
            Self::Sqlite(r) => r.try_get(column),
        }
    }

    /// A `SMALLINT` column.
    pub(crate) fn i16(&self, column: &str) -> DbResult<i16> {
        match self {
            #[cfg(feature = "postgres")]
            Self::Postgres(r) => r.try_get(column),
            #[cfg(feature = "sqlite")]
            Self::Sqlite(r) => r.try_get(column),
        }
    }

    /// A `BIGINT` column (counts included).
    pub(crate) fn i64(&self, column: &str) -> DbResult<i64> {
        match self {
            #[cfg(feature = "postgres")]
            Self::Postgres(r) => r.try_get(column),
            #[cfg(feature = "sqlite")]
            Self::Sqlite(r) => r.try_get(column),
        }
    }

    /// A nullable `BIGINT` column.
    pub(crate) fn opt_i64(&self, column: &str) -> DbResult<Option<i64>> {
        match self {
            #[cfg(feature = "postgres")]
            Self::Postgres(r) => r.try_get(column),
            #[cfg(feature = "sqlite")]
            Self::Sqlite(r) => r.try_get(column),
        }
    }

    /// A nullable binary column.
    pub(crate) fn opt_bytes(&self, column: &str) -> DbResult<Option<Vec<u8>>> {
        match self {
            #[cfg(feature = "postgres")]
            Self::Postgres(r) => r.try_get(column),
            #[cfg(feature = "sqlite")]
            Self::Sqlite(r) => r.try_get(column),
        }
    }

    /// A nullable JSON column.
    pub(crate) fn opt_json<T: DeserializeOwned>(&self, column: &str) -> DbResult<Option<T>> {
        let value: Option<Json<T>> = match self {
            #[cfg(feature = "postgres")]
            Self::Postgres(r) => r.try_get(column)?,
            #[cfg(feature = "sqlite")]
            Self::Sqlite(r) => r.try_get(column)?,
        };
        Ok(value.map(|json| json.0))
    }

    /// An instant column.
    pub(crate) fn time(&self, column: &str) -> DbResult<OffsetDateTime> {
        self.opt_time(column)?
            .ok_or_else(|| sqlx::Error::ColumnDecode {
                index: column.to_owned(),
                source: "unexpected NULL".into(),
            })
    }

    /// A nullable instant column (each backend stores instants its own way).
    pub(crate) fn opt_time(&self, column: &str) -> DbResult<Option<OffsetDateTime>> {
        match self {
            #[cfg(feature = "postgres")]
            Self::Postgres(r) => postgres::opt_time(r, column),
            #[cfg(feature = "sqlite")]
            Self::Sqlite(r) => sqlite::opt_time(r, column),
        }
    }

    /// A count column, as `u64` (a negative count reads as 0).
    pub(crate) fn count(&self, column: &str) -> DbResult<u64> {
        Ok(u64::try_from(self.i64(column)?).unwrap_or(0))
    }
}
