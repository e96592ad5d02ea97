//! [`PgStore`]: the PostgreSQL backend.

use std::{str::FromStr, time::Duration};

use sqlx::{
    AssertSqlSafe,
    postgres::{PgArguments, PgConnectOptions, PgPool, PgPoolOptions},
    query::Query,
};

use super::{StoreOptions, any::StatementCounter, sql::Dialect, sql_store::sql_store};

type Db = sqlx::Postgres;
const DIALECT: Dialect = Dialect::Postgres;

/// The PostgreSQL store: production storage, shared by any number of API and
/// worker processes.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    counter: StatementCounter,
}

impl PgStore {
    /// Connects to `url` (`postgres://user:pass@host:port/db`).
    ///
    /// # Errors
    /// [`Error::Storage`] when the URL is invalid or the server cannot be reached.
    pub async fn connect(url: &str, options: &StoreOptions) -> Result<Self> {
        const OP: &str = "connect to PostgreSQL";
        let connect = PgConnectOptions::from_str(url).map_err(|e| Error::storage(OP, e))?;
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect)
            .await
            .map_err(|e| Error::storage(OP, e))?;
        Ok(Self::from_pool(pool))
    }

    /// Wraps an existing pool (the host application's own).
    pub fn from_pool(pool: PgPool) -> Self {
        Self {
            pool,
            counter: StatementCounter::default(),
        }
    }

    /// The connection pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Applies the embedded PostgreSQL migrations that have not run yet.
    ///
    /// # Errors
    /// [`Error::Storage`] when a migration fails; it is rolled back.
    pub async fn migrate(&self) -> Result<()> {
        sqlx::migrate!("../migrations/postgres")
            .run(&self.pool)
            .await
            .map_err(|e| Error::storage("apply PostgreSQL migrations", e))
    }

    /// Statements this store has sent since it was created.
    pub fn statements_executed(&self) -> u64 {
        self.counter.get()
    }

    /// How long a trivial round trip to the database takes.
    ///
    /// # Errors
    /// [`Error::Storage`] when the database cannot be reached.
    pub async fn ping(&self) -> Result<Duration> {
        let start = std::time::Instant::now();
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(|e| Error::storage("ping PostgreSQL", e))?;
        Ok(start.elapsed())
    }
}

fn query(sql: Sql) -> Query<'static, Db, PgArguments> {
    let mut q = sqlx::query(AssertSqlSafe(sql.text));
    for arg in sql.args {
        q = match arg {
            Arg::Text(v) => q.bind(v),
            Arg::OptText(v) => q.bind(v),
            Arg::Uuid(v) => q.bind(v),
            Arg::OptUuid(v) => q.bind(v),
            Arg::Uuids(v) => q.bind(v),
            Arg::Time(v) => q.bind(v),
            Arg::OptTime(v) => q.bind(v),
            Arg::I16(v) => q.bind(v),
            Arg::I64(v) => q.bind(v),
            Arg::OptI64(v) => q.bind(v),
            Arg::Metadata(v) => q.bind(v.map(Json)),
        };
    }
    q
}

fn time(row: &Row, column: &str) -> std::result::Result<OffsetDateTime, sqlx::Error> {
    row.try_get(column)
}

fn opt_time(row: &Row, column: &str) -> std::result::Result<Option<OffsetDateTime>, sqlx::Error> {
    row.try_get(column)
}

sql_store!(PgStore);
