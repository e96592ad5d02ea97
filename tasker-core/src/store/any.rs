//! [`AnyStore`]: the one store, on PostgreSQL or SQLite as its [`Pool`] says.
//!
//! The storage traits are implemented once, for this type, in the modules
//! named after them (`todos.rs`, `categories.rs`, …). Each method builds its
//! statements with [`Sql`] and runs them through a [`Conn`]; what differs
//! between the backends is in [`Dialect`] (SQL text), `postgres.rs` and
//! `sqlite.rs` (connecting, binding, instants, migrations) and `conn.rs`
//! (running a statement, reading a row).

use std::time::Duration;

use sqlx::migrate::Migrator;

#[cfg(feature = "postgres")]
use super::postgres;
#[cfg(feature = "sqlite")]
use super::sqlite;
use super::{
    conn::{Conn, DbResult, Row},
    idempotent_write::Held,
    options::{PoolStats, StatementCounter, StoreOptions},
    sql::{Dialect, Sql},
};
use crate::{Error, Result};

/// A connection pool of either backend.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Pool {
    /// PostgreSQL: production storage, shared by any number of API and
    /// worker processes.
    #[cfg(feature = "postgres")]
    Postgres(sqlx::PgPool),
    /// SQLite: the embedded default, one file, nothing to install.
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::SqlitePool),
}

#[cfg(feature = "postgres")]
impl From<sqlx::PgPool> for Pool {
    fn from(pool: sqlx::PgPool) -> Self {
        Self::Postgres(pool)
    }
}

#[cfg(feature = "sqlite")]
impl From<sqlx::SqlitePool> for Pool {
    fn from(pool: sqlx::SqlitePool) -> Self {
        Self::Sqlite(pool)
    }
}

/// The store: every storage trait of [`crate::store`] over one connection
/// pool, PostgreSQL or SQLite.
///
/// Cloning is cheap (the pool and the statement counter are shared).
#[derive(Debug, Clone)]
pub struct AnyStore {
    pool: Pool,
    counter: StatementCounter,
    prepared: bool,
}

impl AnyStore {
    /// Connects to the database at `url`: `postgres://…`/`postgresql://…` or
    /// `sqlite:…` (SQLite creates the file and its directory if missing).
    ///
    /// # Errors
    /// [`Error::Validation`] on field `database.url` for an unknown scheme;
    /// [`Error::Storage`] when the database cannot be reached.
    pub async fn connect(url: &str, options: &StoreOptions) -> Result<Self> {
        #[cfg(feature = "postgres")]
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool = postgres::connect(url, options).await?;
            return Ok(Self::from_pool(pool).with_prepared_statements(options.prepared_statements));
        }
        #[cfg(feature = "sqlite")]
        if url.starts_with("sqlite:") {
            return Ok(Self::from_pool(sqlite::connect(url, options).await?));
        }
        let _ = options;
        Err(Error::invalid(
            "database.url",
            "must start with postgres://, postgresql:// or sqlite: (for a backend this build includes)",
        ))
    }

    /// Wraps an existing pool (the host application's own).
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use tasker_core::store::AnyStore;
    ///
    /// let pool = sqlx::SqlitePool::connect("sqlite://data/app.db").await?;
    /// let store = AnyStore::from_pool(pool);
    /// store.migrate().await?;
    /// # Ok(()) }
    /// ```
    pub fn from_pool(pool: impl Into<Pool>) -> Self {
        Self {
            pool: pool.into(),
            counter: StatementCounter::default(),
            prepared: true,
        }
    }

    /// The same store with PostgreSQL's prepared statements on (the default)
    /// or off, for a pool behind a transaction-mode pooler (see
    /// [`StoreOptions::prepared_statements`]; SQLite ignores it).
    #[must_use]
    pub fn with_prepared_statements(mut self, prepared: bool) -> Self {
        self.prepared = prepared;
        self
    }

    /// The connection pool.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// `"postgres"` or `"sqlite"`.
    pub fn backend(&self) -> &'static str {
        match self.dialect() {
            Dialect::Postgres => "postgres",
            Dialect::Sqlite => "sqlite",
        }
    }

    /// Applies the backend's embedded migrations that have not run yet.
    ///
    /// # Errors
    /// [`Error::Storage`] when a migration fails; it is rolled back.
    pub async fn migrate(&self) -> Result<()> {
        let applied = match &self.pool {
            #[cfg(feature = "postgres")]
            Pool::Postgres(pool) => postgres::MIGRATOR.run(pool).await,
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(pool) => sqlite::MIGRATOR.run(pool).await,
        };
        applied.map_err(|e| Error::storage(self.migrations_operation(), e))
    }

    /// How many of the embedded migrations the database has not applied
    /// successfully yet (0 when the schema is current).
    ///
    /// # Errors
    /// [`Error::Storage`] when the database cannot be reached.
    pub async fn pending_migrations(&self) -> Result<usize> {
        let op = match self.dialect() {
            Dialect::Postgres => "read the applied PostgreSQL migrations",
            Dialect::Sqlite => "read the applied SQLite migrations",
        };
        let (migrator, table_exists): (&Migrator, &str) = match &self.pool {
            #[cfg(feature = "postgres")]
            Pool::Postgres(_) => (&postgres::MIGRATOR, postgres::MIGRATIONS_TABLE_EXISTS),
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(_) => (&sqlite::MIGRATOR, sqlite::MIGRATIONS_TABLE_EXISTS),
        };
        let mut conn = self.conn(op).await?;
        let found = conn.fetch_one(self.sql(table_exists), op).await?;
        let exists = found.count("n").map_err(|e| Error::storage(op, e))? > 0;
        let applied: Vec<i64> = if exists {
            let rows = conn
                .fetch_all(
                    self.sql("SELECT version FROM _sqlx_migrations WHERE success"),
                    op,
                )
                .await?;
            decode_all(op, &rows, |r| r.i64("version"))?
        } else {
            Vec::new()
        };
        Ok(migrator
            .iter()
            .filter(|m| !m.migration_type.is_down_migration())
            .filter(|m| !applied.contains(&m.version))
            .count())
    }

    /// Statements this store has sent since it was created (for tests,
    /// metrics and benchmarks).
    pub fn statements_executed(&self) -> u64 {
        self.counter.get()
    }

    /// How long a trivial round trip to the database takes.
    ///
    /// # Errors
    /// [`Error::Storage`] when the database cannot be reached.
    pub async fn ping(&self) -> Result<Duration> {
        let op = match self.dialect() {
            Dialect::Postgres => "ping PostgreSQL",
            Dialect::Sqlite => "ping SQLite",
        };
        let start = std::time::Instant::now();
        self.execute(self.sql("SELECT 1"), op).await?;
        Ok(start.elapsed())
    }

    /// The connection pool's current size, idle count and maximum.
    pub fn pool_stats(&self) -> PoolStats {
        let (size, idle, max) = match &self.pool {
            #[cfg(feature = "postgres")]
            Pool::Postgres(p) => (p.size(), p.num_idle(), p.options().get_max_connections()),
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(p) => (p.size(), p.num_idle(), p.options().get_max_connections()),
        };
        PoolStats {
            size,
            idle: u32::try_from(idle).unwrap_or(u32::MAX),
            max,
        }
    }

    /// Closes every connection; later calls fail. Waits for connections in use.
    pub async fn close(&self) {
        match &self.pool {
            #[cfg(feature = "postgres")]
            Pool::Postgres(p) => p.close().await,
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(p) => p.close().await,
        }
    }

    fn migrations_operation(&self) -> &'static str {
        match self.dialect() {
            Dialect::Postgres => "apply PostgreSQL migrations",
            Dialect::Sqlite => "apply SQLite migrations",
        }
    }

    /// The SQL differences of this store's backend.
    pub(crate) fn dialect(&self) -> Dialect {
        match &self.pool {
            #[cfg(feature = "postgres")]
            Pool::Postgres(_) => Dialect::Postgres,
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(_) => Dialect::Sqlite,
        }
    }

    /// A statement for this store's backend, starting with `text`.
    pub(crate) fn sql(&self, text: &str) -> Sql {
        Sql::new(self.dialect(), text)
    }

    /// One pooled connection, for the statements of one read (each
    /// statement on the pool itself would take and give back a connection);
    /// inside an idempotent write, its transaction.
    pub(crate) async fn conn(&self, operation: &'static str) -> Result<Held> {
        self.try_conn()
            .await
            .map_err(|e| Error::storage(operation, e))
    }

    async fn try_conn(&self) -> DbResult<Held> {
        if let Some(joined) = self.join_idempotent_write().await {
            return joined;
        }
        let counter = self.counter.clone();
        Ok(Held::Own(match &self.pool {
            #[cfg(feature = "postgres")]
            Pool::Postgres(p) => Conn::postgres(p.acquire().await?, counter, self.prepared),
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(p) => Conn::sqlite(p.acquire().await?, counter),
        }))
    }

    /// Starts a write transaction (one statement); inside an idempotent
    /// write, joins its transaction instead.
    pub(crate) async fn begin(&self, operation: &'static str) -> Result<Held> {
        let tx = match self.join_idempotent_write().await {
            Some(joined) => joined,
            None => self.begin_own().await.map(Held::Own),
        };
        tx.map_err(|e| Error::storage(operation, e))
    }

    /// Starts a transaction of its own. SQLite takes the write lock up front
    /// ([`Dialect::begin_write`]).
    pub(crate) async fn begin_own(&self) -> DbResult<Conn> {
        self.counter.add();
        let begin = self.dialect().begin_write();
        let counter = self.counter.clone();
        match &self.pool {
            #[cfg(feature = "postgres")]
            Pool::Postgres(p) => p
                .begin_with(begin)
                .await
                .map(|tx| Conn::postgres_tx(tx, counter, self.prepared)),
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(p) => p
                .begin_with(begin)
                .await
                .map(|tx| Conn::sqlite_tx(tx, counter)),
        }
    }

    /// The statement counter, which also tells this store's clones apart
    /// from other stores.
    pub(crate) fn counter(&self) -> &StatementCounter {
        &self.counter
    }

    /// One statement on a connection of its own: every row.
    pub(crate) async fn fetch_all(&self, sql: Sql, operation: &'static str) -> Result<Vec<Row>> {
        self.conn(operation).await?.fetch_all(sql, operation).await
    }

    /// One statement on a connection of its own: the first row, if any.
    pub(crate) async fn fetch_optional(
        &self,
        sql: Sql,
        operation: &'static str,
    ) -> Result<Option<Row>> {
        self.conn(operation)
            .await?
            .fetch_optional(sql, operation)
            .await
    }

    /// One statement on a connection of its own: its one row.
    pub(crate) async fn fetch_one(&self, sql: Sql, operation: &'static str) -> Result<Row> {
        self.conn(operation).await?.fetch_one(sql, operation).await
    }

    /// One statement on a connection of its own: the rows it changed.
    pub(crate) async fn execute(&self, sql: Sql, operation: &'static str) -> Result<u64> {
        self.conn(operation).await?.execute(sql, operation).await
    }

    /// [`AnyStore::fetch_optional`] with the driver's error, for a write
    /// whose failure the caller classifies (a unique or foreign-key violation).
    pub(crate) async fn try_fetch_optional(&self, sql: Sql) -> DbResult<Option<Row>> {
        self.try_conn().await?.try_fetch_optional(sql).await
    }

    /// [`AnyStore::fetch_one`] with the driver's error.
    pub(crate) async fn try_fetch_one(&self, sql: Sql) -> DbResult<Row> {
        self.try_conn().await?.try_fetch_one(sql).await
    }
}

/// Reads every row with `read`, a failure reported as [`Error::Storage`].
pub(crate) fn decode_all<T>(
    operation: &'static str,
    rows: &[Row],
    read: impl Fn(&Row) -> DbResult<T>,
) -> Result<Vec<T>> {
    rows.iter()
        .map(|r| read(r).map_err(|e| Error::storage(operation, e)))
        .collect()
}

/// Reads the row, if any, with `read`, a failure reported as [`Error::Storage`].
pub(crate) fn decode_one<T>(
    operation: &'static str,
    row: Option<Row>,
    read: impl Fn(&Row) -> DbResult<T>,
) -> Result<Option<T>> {
    row.map(|r| read(&r).map_err(|e| Error::storage(operation, e)))
        .transpose()
}

/// A count column, a failure reported as [`Error::Storage`].
pub(crate) fn count(operation: &'static str, row: &Row, column: &str) -> Result<u64> {
    row.count(column).map_err(|e| Error::storage(operation, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_unknown_scheme_names_the_setting() {
        let err = AnyStore::connect("mysql://localhost/tasker", &StoreOptions::default())
            .await
            .unwrap_err();
        match err {
            Error::Validation(errors) => assert!(errors.has("database.url"), "{errors}"),
            other => panic!("unexpected {other:?}"),
        }
    }
}
