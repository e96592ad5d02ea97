//! [`StoreOptions`] (connection settings of both backends), [`PoolStats`],
//! and the statement counter.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

/// Counts statements sent to the database (for tests, metrics and benchmarks).
#[derive(Debug, Clone, Default)]
pub(crate) struct StatementCounter(Arc<AtomicU64>);

impl StatementCounter {
    pub(crate) fn add(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    /// Whether both count for the same store (clones of one counter).
    pub(crate) fn same(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// Connection settings shared by both backends.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct StoreOptions {
    /// Most connections in the pool (default 10).
    pub max_connections: u32,
    /// How long a request waits for a free connection (default 5 s).
    pub acquire_timeout: Duration,
    /// SQLite only: how long a writer waits for the write lock (default 5 s).
    pub busy_timeout: Duration,
    /// Statements slower than this are logged at `WARN` with their SQL
    /// (target `sqlx::query`); `None` turns the warning off (default 500 ms).
    pub slow_statement_threshold: Option<Duration>,
    /// A pooled connection idle for longer than this is pinged before it is
    /// handed out, and replaced if the ping fails (default 30 s). A busy
    /// connection is not: a ping per statement would double the round
    /// trips. A connection that broke while busy fails its next statement
    /// and is discarded.
    pub ping_after_idle: Duration,
    /// PostgreSQL only: whether statements are prepared once per connection
    /// under a name and cached (`true`, the default: one round trip per
    /// statement once prepared), or sent as unnamed statements every time
    /// (`false`). Set it to `false` behind a pooler in transaction mode
    /// (PgBouncer's `pool_mode = transaction`), where consecutive statements
    /// of one client connection may run on different server connections
    /// and a named statement prepared on one does not exist on the next.
    /// Then a statement outside a transaction runs in a transaction of its
    /// own (`BEGIN`, the statement, `COMMIT`: three round trips more), so
    /// that its parse and its execution reach the same server connection,
    /// and the `extra_float_digits` start-up parameter (which PgBouncer
    /// refuses unless told to ignore it) is not sent.
    pub prepared_statements: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(5),
            busy_timeout: Duration::from_secs(5),
            slow_statement_threshold: Some(Duration::from_millis(500)),
            ping_after_idle: Duration::from_secs(30),
            prepared_statements: true,
        }
    }
}

impl StoreOptions {
    /// Pool options from these settings: size, acquire timeout, and a ping
    /// only for connections idle longer than `ping_after_idle`.
    pub(crate) fn pool<DB: sqlx::Database>(&self) -> sqlx::pool::PoolOptions<DB> {
        let idle = self.ping_after_idle;
        sqlx::pool::PoolOptions::new()
            .max_connections(self.max_connections)
            .acquire_timeout(self.acquire_timeout)
            .test_before_acquire(false)
            .before_acquire(move |conn, meta| {
                Box::pin(async move {
                    if meta.idle_for > idle {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            })
    }

    /// The same options with another pool size.
    #[must_use]
    pub fn with_max_connections(mut self, max_connections: u32) -> Self {
        self.max_connections = max_connections.max(1);
        self
    }

    /// The same options with prepared statements on or off (see
    /// [`StoreOptions::prepared_statements`]).
    #[must_use]
    pub fn with_prepared_statements(mut self, prepared: bool) -> Self {
        self.prepared_statements = prepared;
        self
    }

    /// The same options with another slow-statement threshold (`None`: no warning).
    #[must_use]
    pub fn with_slow_statement_threshold(mut self, threshold: Option<Duration>) -> Self {
        self.slow_statement_threshold = threshold;
        self
    }

    /// Applies the statement logging settings to a backend's connect options:
    /// slow statements at `WARN`, every other statement at `TRACE`.
    pub(crate) fn logging<C: sqlx::ConnectOptions>(&self, options: C) -> C {
        let options = options.log_statements(log::LevelFilter::Trace);
        match self.slow_statement_threshold {
            Some(threshold) => options.log_slow_statements(log::LevelFilter::Warn, threshold),
            None => options.log_slow_statements(log::LevelFilter::Off, Duration::MAX),
        }
    }
}

/// Connection pool figures, for metrics and health pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolStats {
    /// Connections open now (idle and in use).
    pub size: u32,
    /// Open connections waiting for work.
    pub idle: u32,
    /// The most connections the pool opens.
    pub max: u32,
}

impl PoolStats {
    /// Connections handed out to requests or jobs right now.
    pub fn in_use(&self) -> u32 {
        self.size.saturating_sub(self.idle)
    }
}
