//! [`PgStore`]: the PostgreSQL backend.

use std::str::FromStr;

use sqlx::{
    AssertSqlSafe,
    postgres::{PgArguments, PgConnectOptions},
    query::Query,
};

use super::{StoreOptions, any::StatementCounter, sql::Dialect, sql_store::sql_store};

type Db = sqlx::Postgres;
const DIALECT: Dialect = Dialect::Postgres;

/// The `application_name` of the store's connections, unless the URL sets one.
pub const APPLICATION_NAME: &str = "tasker";

/// The PostgreSQL store: production storage, shared by any number of API and
/// worker processes.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: sqlx::PgPool,
    counter: StatementCounter,
}

impl PgStore {
    /// Connects to `url` (`postgres://user:pass@host:port/db`).
    ///
    /// # Errors
    /// [`Error::Storage`] when the URL is invalid or the server cannot be reached.
    pub async fn connect(url: &str, options: &StoreOptions) -> Result<Self> {
        const OP: &str = "connect to PostgreSQL";
        let mut connect = PgConnectOptions::from_str(url).map_err(|e| Error::storage(OP, e))?;
        // Named in `pg_stat_activity`, so an operator can find (or cut) the
        // pool's connections; a name given in the URL wins.
        if connect.get_application_name().is_none() {
            connect = connect.application_name(APPLICATION_NAME);
        }
        let pool = options
            .pool()
            .connect_with(options.logging(connect))
            .await
            .map_err(|e| Error::storage(OP, e))?;
        Ok(Self::from_pool(pool))
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
            Arg::Bytes(v) => q.bind(v),
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

const MIGRATIONS_TABLE_EXISTS: &str = "SELECT to_regclass('_sqlx_migrations') IS NOT NULL";

sql_store!(PgStore, "PostgreSQL", sqlx::migrate!("migrations/postgres"));
