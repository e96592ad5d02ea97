//! What only PostgreSQL does: connecting, binding [`Arg`]s to its driver
//! types, reading instants, and its migrations.

use std::str::FromStr;

use sqlx::{
    AssertSqlSafe, PgPool,
    migrate::Migrator,
    postgres::{PgArguments, PgConnectOptions, PgRow},
    query::Query,
    types::Json,
};
use time::OffsetDateTime;

use super::{
    StoreOptions,
    sql::{Arg, Sql},
};
use crate::{Error, Result};

/// The `application_name` of the store's connections, unless the URL sets one.
pub const APPLICATION_NAME: &str = "tasker";

/// The PostgreSQL migrations, embedded at build time.
pub(crate) static MIGRATOR: Migrator = sqlx::migrate!("migrations/postgres");

/// `n` is 1 when the migrations table exists, else 0.
pub(crate) const MIGRATIONS_TABLE_EXISTS: &str =
    "SELECT COUNT(to_regclass('_sqlx_migrations')) AS n";

/// Connects to `url` (`postgres://user:pass@host:port/db`).
pub(crate) async fn connect(url: &str, options: &StoreOptions) -> Result<PgPool> {
    const OP: &str = "connect to PostgreSQL";
    let mut connect = PgConnectOptions::from_str(url).map_err(|e| Error::storage(OP, e))?;
    // Named in `pg_stat_activity`, so an operator can find (or cut) the
    // pool's connections; a name given in the URL wins.
    if connect.get_application_name().is_none() {
        connect = connect.application_name(APPLICATION_NAME);
    }
    if !options.prepared_statements {
        // A transaction-mode pooler refuses start-up parameters it does
        // not know; PostgreSQL 12 and later print floats exactly anyway.
        connect = connect.extra_float_digits(None::<i8>);
    }
    options
        .pool()
        .connect_with(options.logging(connect))
        .await
        .map_err(|e| Error::storage(OP, e))
}

/// The statement with its arguments bound as PostgreSQL types; `prepared`
/// false sends it as the unnamed statement, not cached on the connection
/// (see [`StoreOptions::prepared_statements`]).
pub(crate) fn query(sql: Sql, prepared: bool) -> Query<'static, sqlx::Postgres, PgArguments> {
    let mut q = sqlx::query(AssertSqlSafe(sql.text)).persistent(prepared);
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
            Arg::OptBool(v) => q.bind(v),
            Arg::Metadata(v) => q.bind(v.map(Json)),
            Arg::Bytes(v) => q.bind(v),
        };
    }
    q
}

/// An instant column (`timestamptz`), or `None` when NULL.
pub(crate) fn opt_time(
    row: &PgRow,
    column: &str,
) -> std::result::Result<Option<OffsetDateTime>, sqlx::Error> {
    sqlx::Row::try_get(row, column)
}
