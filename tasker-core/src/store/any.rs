//! [`AnyStore`]: the backend chosen at run time from a database URL.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use time::OffsetDateTime;
use uuid::Uuid;

#[cfg(feature = "postgres")]
use super::PgStore;
#[cfg(feature = "sqlite")]
use super::SqliteStore;
use super::{
    AttachmentStore, CategoryStore, CommentStore, IdempotencyClaim, IdempotencyStore, JobStore,
    StoredResponse, TodoChanges, TodoCursor, TodoNotificationKind, TodoStore,
};
use crate::{
    Error, Result,
    domain::{CommentContent, UserId},
    model::{
        Attachment, Category, CategoryPatch, Comment, JobRun, JobRunCounts, KnownUser, Page,
        PopulatedTodo, Todo, TodoStats, WeeklyStats,
    },
    query::{CategoryQuery, TodoQuery},
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
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(5),
            busy_timeout: Duration::from_secs(5),
            slow_statement_threshold: Some(Duration::from_millis(500)),
            ping_after_idle: Duration::from_secs(30),
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

/// PostgreSQL or SQLite, decided by the URL scheme.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum AnyStore {
    /// `postgres://` or `postgresql://`.
    #[cfg(feature = "postgres")]
    Postgres(PgStore),
    /// `sqlite:`.
    #[cfg(feature = "sqlite")]
    Sqlite(SqliteStore),
}

macro_rules! dispatch {
    ($self:ident, $s:ident => $call:expr) => {
        match $self {
            #[cfg(feature = "postgres")]
            AnyStore::Postgres($s) => $call,
            #[cfg(feature = "sqlite")]
            AnyStore::Sqlite($s) => $call,
        }
    };
}

impl AnyStore {
    /// Connects to the database at `url`: `postgres://…`/`postgresql://…` or `sqlite:…`.
    ///
    /// # Errors
    /// [`Error::Validation`] on field `database.url` for an unknown scheme;
    /// [`Error::Storage`] when the database cannot be reached.
    pub async fn connect(url: &str, options: &StoreOptions) -> Result<Self> {
        #[cfg(feature = "postgres")]
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return PgStore::connect(url, options).await.map(Self::Postgres);
        }
        #[cfg(feature = "sqlite")]
        if url.starts_with("sqlite:") {
            return SqliteStore::connect(url, options).await.map(Self::Sqlite);
        }
        let _ = options;
        Err(Error::invalid(
            "database.url",
            "must start with postgres://, postgresql:// or sqlite: (for a backend this build includes)",
        ))
    }

    /// Applies the backend's embedded migrations.
    ///
    /// # Errors
    /// [`Error::Storage`] when a migration fails.
    pub async fn migrate(&self) -> Result<()> {
        dispatch!(self, s => s.migrate().await)
    }

    /// How many embedded migrations are not applied yet (0: the schema is current).
    ///
    /// # Errors
    /// [`Error::Storage`] when the database cannot be reached.
    pub async fn pending_migrations(&self) -> Result<usize> {
        dispatch!(self, s => s.pending_migrations().await)
    }

    /// How long a trivial round trip to the database takes.
    ///
    /// # Errors
    /// [`Error::Storage`] when the database cannot be reached.
    pub async fn ping(&self) -> Result<Duration> {
        dispatch!(self, s => s.ping().await)
    }

    /// Statements sent since the store was created.
    pub fn statements_executed(&self) -> u64 {
        dispatch!(self, s => s.statements_executed())
    }

    /// The connection pool's current size, idle count and maximum.
    pub fn pool_stats(&self) -> PoolStats {
        dispatch!(self, s => {
            let pool = s.pool();
            PoolStats {
                size: pool.size(),
                idle: u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
                max: pool.options().get_max_connections(),
            }
        })
    }

    /// Closes every connection; later calls fail. Waits for connections in use.
    pub async fn close(&self) {
        dispatch!(self, s => s.pool().close().await)
    }

    /// Writes an imported batch in one transaction, skipping rows whose id is
    /// already stored (see [`crate::import`]).
    ///
    /// # Errors
    /// [`Error::CategoryNameTaken`] or [`Error::Storage`]; nothing of the
    /// batch is written then.
    pub async fn import_batch(
        &self,
        batch: &crate::import::ImportBatch,
    ) -> Result<crate::import::ImportCounts> {
        dispatch!(self, s => s.import_batch(batch).await)
    }

    /// `"postgres"` or `"sqlite"`.
    pub fn backend(&self) -> &'static str {
        match self {
            #[cfg(feature = "postgres")]
            Self::Postgres(_) => "postgres",
            #[cfg(feature = "sqlite")]
            Self::Sqlite(_) => "sqlite",
        }
    }
}

impl TodoStore for AnyStore {
    async fn insert_todo(&self, todo: &Todo) -> Result<Todo> {
        dispatch!(self, s => s.insert_todo(todo).await)
    }
    async fn get_todo(&self, user: &UserId, id: Uuid) -> Result<Option<Todo>> {
        dispatch!(self, s => s.get_todo(user, id).await)
    }
    async fn get_populated_todo(&self, user: &UserId, id: Uuid) -> Result<Option<PopulatedTodo>> {
        dispatch!(self, s => s.get_populated_todo(user, id).await)
    }
    async fn count_children(&self, user: &UserId, id: Uuid) -> Result<u64> {
        dispatch!(self, s => s.count_children(user, id).await)
    }
    async fn update_todo(
        &self,
        user: &UserId,
        id: Uuid,
        changes: &TodoChanges,
    ) -> Result<Option<Todo>> {
        dispatch!(self, s => s.update_todo(user, id, changes).await)
    }
    async fn delete_todo(
        &self,
        user: &UserId,
        id: Uuid,
        expected_updated_at: Option<OffsetDateTime>,
    ) -> Result<Option<Vec<String>>> {
        dispatch!(self, s => s.delete_todo(user, id, expected_updated_at).await)
    }
    async fn list_todos(
        &self,
        user: &UserId,
        query: &TodoQuery,
        now: OffsetDateTime,
    ) -> Result<Page<PopulatedTodo>> {
        dispatch!(self, s => s.list_todos(user, query, now).await)
    }
    async fn todo_stats(&self, user: &UserId, now: OffsetDateTime) -> Result<TodoStats> {
        dispatch!(self, s => s.todo_stats(user, now).await)
    }
}

impl CategoryStore for AnyStore {
    async fn insert_category(&self, category: &Category) -> Result<Category> {
        dispatch!(self, s => s.insert_category(category).await)
    }
    async fn get_category(&self, user: &UserId, id: Uuid) -> Result<Option<Category>> {
        dispatch!(self, s => s.get_category(user, id).await)
    }
    async fn update_category(
        &self,
        user: &UserId,
        id: Uuid,
        patch: &CategoryPatch,
        now: OffsetDateTime,
        expected_updated_at: Option<OffsetDateTime>,
    ) -> Result<Option<Category>> {
        dispatch!(self, s => s.update_category(user, id, patch, now, expected_updated_at).await)
    }
    async fn delete_category(
        &self,
        user: &UserId,
        id: Uuid,
        expected_updated_at: Option<OffsetDateTime>,
    ) -> Result<bool> {
        dispatch!(self, s => s.delete_category(user, id, expected_updated_at).await)
    }
    async fn list_categories(
        &self,
        user: &UserId,
        query: &CategoryQuery,
    ) -> Result<Page<Category>> {
        dispatch!(self, s => s.list_categories(user, query).await)
    }
}

impl CommentStore for AnyStore {
    async fn insert_comment(&self, comment: &Comment) -> Result<Comment> {
        dispatch!(self, s => s.insert_comment(comment).await)
    }
    async fn update_comment(
        &self,
        user: &UserId,
        id: Uuid,
        content: &CommentContent,
        now: OffsetDateTime,
    ) -> Result<Option<Comment>> {
        dispatch!(self, s => s.update_comment(user, id, content, now).await)
    }
    async fn delete_comment(&self, user: &UserId, id: Uuid) -> Result<bool> {
        dispatch!(self, s => s.delete_comment(user, id).await)
    }
    async fn list_comments(&self, user: &UserId, todo_id: Uuid) -> Result<Vec<Comment>> {
        dispatch!(self, s => s.list_comments(user, todo_id).await)
    }
}

impl AttachmentStore for AnyStore {
    async fn insert_attachment(&self, attachment: &Attachment) -> Result<Attachment> {
        dispatch!(self, s => s.insert_attachment(attachment).await)
    }
    async fn get_attachment(
        &self,
        user: &UserId,
        todo_id: Uuid,
        id: Uuid,
    ) -> Result<Option<Attachment>> {
        dispatch!(self, s => s.get_attachment(user, todo_id, id).await)
    }
    async fn delete_attachment(
        &self,
        user: &UserId,
        todo_id: Uuid,
        id: Uuid,
    ) -> Result<Option<Attachment>> {
        dispatch!(self, s => s.delete_attachment(user, todo_id, id).await)
    }
}

impl JobStore for AnyStore {
    async fn todos_due_unnotified(
        &self,
        kind: TodoNotificationKind,
        from: OffsetDateTime,
        to: OffsetDateTime,
        after: Option<&TodoCursor>,
        limit: u32,
    ) -> Result<Vec<Todo>> {
        dispatch!(self, s => s.todos_due_unnotified(kind, from, to, after, limit).await)
    }
    async fn claim_todo_notifications(
        &self,
        kind: TodoNotificationKind,
        user: &UserId,
        todos: &[(Uuid, OffsetDateTime)],
        claim: &str,
        at: OffsetDateTime,
    ) -> Result<Vec<Todo>> {
        dispatch!(self, s => s.claim_todo_notifications(kind, user, todos, claim, at).await)
    }
    async fn mark_todo_notifications_delivered(
        &self,
        kind: TodoNotificationKind,
        claim: &str,
        at: OffsetDateTime,
    ) -> Result<u64> {
        dispatch!(self, s => s.mark_todo_notifications_delivered(kind, claim, at).await)
    }
    async fn claim_user_notification(
        &self,
        user: &UserId,
        kind: &str,
        period: &str,
        at: OffsetDateTime,
    ) -> Result<bool> {
        dispatch!(self, s => s.claim_user_notification(user, kind, period, at).await)
    }
    async fn mark_user_notification_delivered(
        &self,
        user: &UserId,
        kind: &str,
        period: &str,
        at: OffsetDateTime,
    ) -> Result<()> {
        dispatch!(self, s => s.mark_user_notification_delivered(user, kind, period, at).await)
    }
    async fn remember_user(
        &self,
        user: &UserId,
        email: Option<&str>,
        name: Option<&str>,
        at: OffsetDateTime,
    ) -> Result<bool> {
        dispatch!(self, s => s.remember_user(user, email, name, at).await)
    }
    async fn forget_user(&self, user: &UserId) -> Result<()> {
        dispatch!(self, s => s.forget_user(user).await)
    }
    async fn known_user(&self, user: &UserId) -> Result<Option<KnownUser>> {
        dispatch!(self, s => s.known_user(user).await)
    }
    async fn record_job_run(&self, run: &JobRun) -> Result<()> {
        dispatch!(self, s => s.record_job_run(run).await)
    }
    async fn job_run_counts(&self) -> Result<Vec<JobRunCounts>> {
        dispatch!(self, s => s.job_run_counts().await)
    }
    async fn failed_job_runs(&self, limit: u32) -> Result<Vec<JobRun>> {
        dispatch!(self, s => s.failed_job_runs(limit).await)
    }
    async fn prune_job_runs(&self, before: OffsetDateTime) -> Result<u64> {
        dispatch!(self, s => s.prune_job_runs(before).await)
    }
    async fn existing_download_keys(&self, keys: &[String]) -> Result<Vec<String>> {
        dispatch!(self, s => s.existing_download_keys(keys).await)
    }
    async fn users_with_todos(&self, after: Option<&UserId>, limit: u32) -> Result<Vec<UserId>> {
        dispatch!(self, s => s.users_with_todos(after, limit).await)
    }
    async fn weekly_stats(
        &self,
        user: &UserId,
        from: OffsetDateTime,
        to: OffsetDateTime,
        now: OffsetDateTime,
        list_limit: u32,
    ) -> Result<WeeklyStats> {
        dispatch!(self, s => s.weekly_stats(user, from, to, now, list_limit).await)
    }
    async fn archive_completed_batch(
        &self,
        before: OffsetDateTime,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<u64> {
        dispatch!(self, s => s.archive_completed_batch(before, now, limit).await)
    }
}

impl IdempotencyStore for AnyStore {
    async fn claim_idempotency_key(
        &self,
        user: &UserId,
        key: &str,
        fingerprint: &str,
        now: OffsetDateTime,
        expired_before: OffsetDateTime,
        abandoned_before: OffsetDateTime,
    ) -> Result<IdempotencyClaim> {
        dispatch!(self, s => s
            .claim_idempotency_key(user, key, fingerprint, now, expired_before, abandoned_before)
            .await)
    }
    async fn complete_idempotency_key(
        &self,
        user: &UserId,
        key: &str,
        response: &StoredResponse,
    ) -> Result<()> {
        dispatch!(self, s => s.complete_idempotency_key(user, key, response).await)
    }
    async fn release_idempotency_key(&self, user: &UserId, key: &str) -> Result<()> {
        dispatch!(self, s => s.release_idempotency_key(user, key).await)
    }
    async fn prune_idempotency_keys(&self, before: OffsetDateTime) -> Result<u64> {
        dispatch!(self, s => s.prune_idempotency_keys(before).await)
    }
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
