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
use tracing::Instrument;
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
    /// PostgreSQL: named, cached statements (else unnamed ones, each outside
    /// a transaction wrapped in one; see `StoreOptions::prepared_statements`).
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    prepared: bool,
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

/// The span of one statement (`INFO`, so exported with the request's span
/// when tracing is on): the backend as `db.system` and the statement's first
/// keyword as `db.operation`, never its text's arguments, which are bound
/// apart from it and not recorded.
fn statement_span(system: &'static str, sql: &Sql) -> tracing::Span {
    let operation = sql.text.split_whitespace().next().unwrap_or_default();
    tracing::info_span!("db.statement", db.system = system, db.operation = operation)
}

impl Conn {
    #[cfg(feature = "postgres")]
    pub(crate) fn postgres(
        conn: PoolConnection<sqlx::Postgres>,
        counter: StatementCounter,
        prepared: bool,
    ) -> Self {
        Self {
            link: Link::Postgres(conn),
            counter,
            prepared,
        }
    }

    #[cfg(feature = "postgres")]
    pub(crate) fn postgres_tx(
        tx: sqlx::Transaction<'static, sqlx::Postgres>,
        counter: StatementCounter,
        prepared: bool,
    ) -> Self {
        Self {
            link: Link::PostgresTx(tx),
            counter,
            prepared,
        }
    }

    #[cfg(feature = "sqlite")]
    pub(crate) fn sqlite(conn: PoolConnection<sqlx::Sqlite>, counter: StatementCounter) -> Self {
        Self {
            link: Link::Sqlite(conn),
            counter,
            prepared: true,
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
            prepared: true,
        }
    }

    /// Runs `sql` on PostgreSQL for `want`. Unprepared outside a
    /// transaction, it runs in a transaction of its own: the driver parses
    /// the unnamed statement and executes it in two exchanges, and only an
    /// open transaction keeps a transaction-mode pooler from handing the
    /// second to another server connection.
    #[cfg(feature = "postgres")]
    async fn run_postgres(&mut self, sql: Sql, want: Want) -> DbResult<Output> {
        let prepared = self.prepared;
        match &mut self.link {
            Link::Postgres(conn) if !prepared => {
                self.counter.add();
                let mut tx = sqlx::Connection::begin(&mut **conn).await?;
                let out = want.postgres(&mut tx, sql, prepared).await?;
                self.counter.add();
                tx.commit().await?;
                Ok(out)
            }
            Link::Postgres(conn) => want.postgres(conn, sql, prepared).await,
            Link::PostgresTx(tx) => want.postgres(tx, sql, prepared).await,
            #[cfg(feature = "sqlite")]
            Link::Sqlite(_) | Link::SqliteTx(_) => Err(sqlx::Error::Protocol(
                "a PostgreSQL statement on a SQLite connection".into(),
            )),
        }
    }

    /// Runs `sql` on SQLite for `want`.
    #[cfg(feature = "sqlite")]
    async fn run_sqlite(&mut self, sql: Sql, want: Want) -> DbResult<Output> {
        let conn: &mut SqliteConnection = match &mut self.link {
            Link::Sqlite(conn) => conn,
            Link::SqliteTx(tx) => tx,
            #[cfg(feature = "postgres")]
            Link::Postgres(_) | Link::PostgresTx(_) => {
                return Err(sqlx::Error::Protocol(
                    "a SQLite statement on a PostgreSQL connection".into(),
                ));
            }
        };
        let q = sqlite::query(sql);
        Ok(match want {
            Want::All => Output::Rows(
                q.fetch_all(conn)
                    .await?
                    .into_iter()
                    .map(Row::Sqlite)
                    .collect(),
            ),
            Want::Optional => Output::Row(q.fetch_optional(conn).await?.map(Row::Sqlite)),
            Want::Changed => Output::Changed(q.execute(conn).await?.rows_affected()),
        })
    }

    /// Runs `sql` on this connection's backend for `want`, in a
    /// `db.statement` span ([`statement_span`]).
    async fn run(&mut self, sql: Sql, want: Want) -> DbResult<Output> {
        self.counter.add();
        match &self.link {
            #[cfg(feature = "postgres")]
            Link::Postgres(_) | Link::PostgresTx(_) => {
                let span = statement_span("postgresql", &sql);
                self.run_postgres(sql, want).instrument(span).await
            }
            #[cfg(feature = "sqlite")]
            Link::Sqlite(_) | Link::SqliteTx(_) => {
                let span = statement_span("sqlite", &sql);
                self.run_sqlite(sql, want).instrument(span).await
            }
        }
    }

    /// Every row of `sql`.
    pub(crate) async fn try_fetch_all(&mut self, sql: Sql) -> DbResult<Vec<Row>> {
        match self.run(sql, Want::All).await? {
            Output::Rows(rows) => Ok(rows),
            _ => Err(Want::mismatch()),
        }
    }

    /// The first row of `sql`, if any.
    pub(crate) async fn try_fetch_optional(&mut self, sql: Sql) -> DbResult<Option<Row>> {
        match self.run(sql, Want::Optional).await? {
            Output::Row(row) => Ok(row),
            _ => Err(Want::mismatch()),
        }
    }

    /// Runs `sql`; the number of rows it changed.
    pub(crate) async fn try_execute(&mut self, sql: Sql) -> DbResult<u64> {
        match self.run(sql, Want::Changed).await? {
            Output::Changed(n) => Ok(n),
            _ => Err(Want::mismatch()),
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

/// What a statement's caller wants back.
#[derive(Clone, Copy)]
enum Want {
    All,
    Optional,
    Changed,
}

/// A statement's result, as [`Want`] asked.
enum Output {
    Rows(Vec<Row>),
    Row(Option<Row>),
    Changed(u64),
}

impl Want {
    /// Runs `sql` on one PostgreSQL connection.
    #[cfg(feature = "postgres")]
    async fn postgres(self, conn: &mut PgConnection, sql: Sql, prepared: bool) -> DbResult<Output> {
        let q = postgres::query(sql, prepared);
        Ok(match self {
            Self::All => Output::Rows(
                q.fetch_all(conn)
                    .await?
                    .into_iter()
                    .map(Row::Postgres)
                    .collect(),
            ),
            Self::Optional => Output::Row(q.fetch_optional(conn).await?.map(Row::Postgres)),
            Self::Changed => Output::Changed(q.execute(conn).await?.rows_affected()),
        })
    }

    /// The error for an [`Output`] that is not what was asked (cannot happen).
    fn mismatch() -> sqlx::Error {
        sqlx::Error::Protocol("a statement result of another kind than asked".into())
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

    /// A nullable boolean column (SQLite: `0` or `1`).
    pub(crate) fn opt_bool(&self, column: &str) -> DbResult<Option<bool>> {
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
