//! [`JobQueue`]: the enqueue handle over Redis or SQLite (apalis storages).

use std::{fmt, path::Path, sync::Arc, time::Duration};

use apalis::prelude::{Metrics, TaskBuilder, TaskSink};
use apalis_redis::{ConnectionManager, RedisStorage};
use apalis_sqlite::SqliteStorage;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use tasker_core::queue::{Enqueue, EnqueueError, EnqueueFuture, JobRequest};
use tracing::Instrument;

use crate::{
    config::JobsConfig,
    error::QueueError,
    job::{Job, Priority},
};

impl From<QueueError> for EnqueueError {
    fn from(error: QueueError) -> Self {
        EnqueueError::new(error)
    }
}

/// How a job is pushed: its queue, a de-duplication key, a delay.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushOptions {
    /// The queue; the job type's default when `None`.
    pub priority: Option<Priority>,
    /// A second push with the same key (while the first is kept) stores
    /// nothing: cron ticks and digests use it so that several schedulers or
    /// scans never enqueue the same work twice.
    pub idempotency_key: Option<String>,
    /// Run no earlier than this long from now.
    pub delay: Option<Duration>,
}

pub(crate) enum Storages {
    Redis {
        conn: ConnectionManager,
        queues: [RedisStorage<Job>; 3],
    },
    Sqlite {
        pool: SqlitePool,
        queues: [SqliteStorage<Job>; 3],
        /// Pushes of this process one at a time: concurrent ones would only
        /// make each other fail with "database is locked".
        pushing: tokio::sync::Mutex<()>,
    },
}

struct Inner {
    storages: Storages,
    config: JobsConfig,
}

/// The enqueue handle: cheap to clone, shared by the API, the scheduler and
/// the workers. Implements [`Enqueue`] so tasker-http and host applications
/// can enqueue without knowing apalis.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use tasker_jobs::{Job, JobQueue, JobsConfig};
///
/// let config = JobsConfig::default();
/// // Redis when configured, else a SQLite file.
/// let queue = JobQueue::connect(None, "data/jobs.db", &config).await?;
/// queue.push(Job::Welcome { user_id: "user_2abc".into() }).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct JobQueue {
    inner: Arc<Inner>,
}

impl fmt::Debug for JobQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobQueue")
            .field("backend", &self.backend_name())
            .field("prefix", &self.inner.config.queue_prefix)
            .finish()
    }
}

impl JobQueue {
    /// Redis when `redis_url` is set, else SQLite at `sqlite_path`.
    ///
    /// # Errors
    /// [`QueueError`] when the backend cannot be reached or set up.
    pub async fn connect(
        redis_url: Option<&str>,
        sqlite_path: impl AsRef<Path>,
        config: &JobsConfig,
    ) -> Result<Self, QueueError> {
        match redis_url {
            Some(url) => Self::redis(url, config).await,
            None => Self::sqlite(sqlite_path, config).await,
        }
    }

    /// Queues in Redis (`redis://…`, or `rediss://…` for TLS with the
    /// certificate checked against the webpki roots), shared by every
    /// instance that uses the same Redis and queue prefix.
    ///
    /// # Errors
    /// [`QueueError`] when the URL is malformed or Redis cannot be reached
    /// (a TLS server whose certificate is not trusted included).
    pub async fn redis(url: &str, config: &JobsConfig) -> Result<Self, QueueError> {
        let client =
            redis::Client::open(url).map_err(|e| QueueError::new("redis", "read its URL", e))?;
        Self::redis_client(client, config).await
    }

    /// Queues in Redis through a client the caller built: for example a
    /// `rediss://` one that trusts a private CA
    /// (`redis::Client::build_with_tls`).
    ///
    /// ```no_run
    /// # async fn run(ca_pem: Vec<u8>) -> Result<(), Box<dyn std::error::Error>> {
    /// use tasker_jobs::{JobQueue, JobsConfig};
    ///
    /// let tls = redis::TlsCertificates { client_tls: None, root_cert: Some(ca_pem) };
    /// let client = redis::Client::build_with_tls("rediss://redis.internal:6380", tls)?;
    /// let queue = JobQueue::redis_client(client, &JobsConfig::default()).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`QueueError`] when Redis cannot be reached.
    pub async fn redis_client(
        client: redis::Client,
        config: &JobsConfig,
    ) -> Result<Self, QueueError> {
        let conn = client
            .get_connection_manager()
            .await
            .map_err(|e| QueueError::new("redis", "connect", e))?;
        let storage = |p: Priority| {
            let cfg = apalis_redis::Config::default()
                .queue(queue_name(config, p))
                .heartbeat_interval(Duration::from_secs(config.heartbeat_seconds))
                .missed_heartbeats(2)
                .idempotency_ttl(Some(Duration::from_secs(7 * 24 * 3600)));
            RedisStorage::new(conn.clone()).with_config(cfg)
        };
        let queues = Priority::ALL.map(storage);
        Ok(Self::from_storages(
            Storages::Redis { conn, queues },
            config,
        ))
    }

    /// Queues in a SQLite file (created when missing), for one machine.
    ///
    /// # Errors
    /// [`QueueError`] when the file cannot be opened or its tables created.
    pub async fn sqlite(path: impl AsRef<Path>, config: &JobsConfig) -> Result<Self, QueueError> {
        let path = path.as_ref();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| QueueError::new("sqlite", "create its folder", e))?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // With WAL, NORMAL syncs at checkpoints, not at every commit: a
            // crash of the process loses nothing; a power cut may lose the
            // last pushes.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5));
        let pool = |connections: u32| {
            SqlitePoolOptions::new()
                .max_connections(connections)
                .connect_with(options.clone())
        };
        let open = |e: sqlx::Error| QueueError::new("sqlite", "open the database", e);
        let setup = pool(1).await.map_err(open)?;
        SqliteStorage::<()>::setup(&setup)
            .await
            .map_err(|e| QueueError::new("sqlite", "create its tables", e))?;
        // apalis-sqlite acknowledges finished jobs with an `UPDATE … FROM
        // json_each(…)` that SQLite, without statistics, runs as a walk over
        // every job the worker ever locked: each acknowledgement slows down as
        // the table grows. These statistics (a worker's jobs are many, an id is
        // unique) make it look each job up by id.
        sqlx::raw_sql(
            "ANALYZE Jobs; \
             DELETE FROM sqlite_stat1 WHERE tbl = 'Jobs' AND idx IN ('LIdx', 'sqlite_autoindex_Jobs_1'); \
             INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES \
               ('Jobs', 'LIdx', '100000 50000'), ('Jobs', 'sqlite_autoindex_Jobs_1', '100000 1'); \
             ANALYZE sqlite_schema;",
        )
        .execute(&setup)
        .await
        .map_err(|e| QueueError::new("sqlite", "write its statistics", e))?;
        // Connections load statistics when they open: the working pool opens
        // after they are written.
        setup.close().await;
        let pool = pool(4).await.map_err(open)?;
        let storage = |p: Priority| {
            let cfg = apalis_sqlite::Config::default()
                .queue(queue_name(config, p))
                .heartbeat_interval(Duration::from_secs(config.heartbeat_seconds))
                .missed_heartbeats(2);
            SqliteStorage::new(&pool).with_config(cfg)
        };
        let queues = Priority::ALL.map(storage);
        Ok(Self::from_storages(
            Storages::Sqlite {
                pool,
                queues,
                pushing: tokio::sync::Mutex::new(()),
            },
            config,
        ))
    }

    fn from_storages(storages: Storages, config: &JobsConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                storages,
                config: config.clone(),
            }),
        }
    }

    /// `redis` or `sqlite`.
    pub fn backend_name(&self) -> &'static str {
        match self.inner.storages {
            Storages::Redis { .. } => "redis",
            Storages::Sqlite { .. } => "sqlite",
        }
    }

    /// The configuration the queue was opened with.
    pub fn config(&self) -> &JobsConfig {
        &self.inner.config
    }

    pub(crate) fn storages(&self) -> &Storages {
        &self.inner.storages
    }

    /// Pushes `job` to its default queue.
    ///
    /// # Errors
    /// [`QueueError`] when the backend refuses or cannot be reached.
    pub async fn push(&self, job: Job) -> Result<(), QueueError> {
        self.push_with(job, PushOptions::default()).await
    }

    /// Pushes `job` with [`PushOptions`].
    ///
    /// # Errors
    /// [`QueueError`] when the backend refuses or cannot be reached.
    pub async fn push_with(&self, job: Job, options: PushOptions) -> Result<(), QueueError> {
        let priority = options.priority.unwrap_or_else(|| job.default_priority());
        let kind = job.kind();
        let mut builder = TaskBuilder::new(job);
        if let Some(key) = options.idempotency_key {
            builder = builder.idempotency_key(key);
        }
        if let Some(delay) = options.delay {
            builder = builder.run_after(delay);
        }
        let task = builder.build();
        let i = index(priority);
        match &self.inner.storages {
            Storages::Redis { queues, .. } => queues[i]
                .clone()
                .push_task(task)
                .instrument(tracing::info_span!(
                    "redis.command",
                    db.system = "redis",
                    db.operation = "push a job"
                ))
                .await
                .map_err(|e| QueueError::new("redis", "push a job", e))?,
            Storages::Sqlite {
                queues, pushing, ..
            } => {
                let _one_at_a_time = pushing.lock().await;
                // A write transaction that loses a race with another writer
                // (the worker fetching, another process) fails at once with
                // "database is locked", without waiting for the busy timeout:
                // such a push is tried again.
                let mut attempt = 0u32;
                loop {
                    match queues[i].clone().push_task(task.clone()).await {
                        Ok(_) => break,
                        Err(e) if attempt < SQLITE_PUSH_RETRIES && is_locked(&e) => {
                            attempt += 1;
                            tokio::time::sleep(Duration::from_millis(u64::from(attempt.min(20))))
                                .await;
                        }
                        Err(e) => return Err(QueueError::new("sqlite", "push a job", e)),
                    }
                }
            }
        }
        metrics::counter!("tasker_jobs_enqueued_total", "queue" => priority.as_str(), "kind" => kind)
            .increment(1);
        Ok(())
    }

    /// Jobs waiting and jobs running in one queue, as the backend counts them.
    ///
    /// # Errors
    /// [`QueueError`] when the backend cannot be reached.
    pub async fn backlog(&self, priority: Priority) -> Result<Backlog, QueueError> {
        let i = index(priority);
        let stats = match &self.inner.storages {
            Storages::Redis { queues, conn } => {
                // Counted directly: the backend's own statistics script
                // fails on Redis 7 (apalis-redis 1.0).
                let config = queues[i].get_config();
                let mut conn = conn.clone();
                let (active, scheduled): (u64, u64) = redis::pipe()
                    .cmd("LLEN")
                    .arg(config.active_jobs_list())
                    .cmd("ZCARD")
                    .arg(config.scheduled_jobs_set())
                    .query_async(&mut conn)
                    .await
                    .map_err(|e| QueueError::new("redis", "read the backlog", e))?;
                return Ok(Backlog {
                    pending: active + scheduled,
                    running: 0,
                });
            }
            Storages::Sqlite { queues, .. } => queues[i]
                .fetch_by_queue()
                .await
                .map_err(|e| QueueError::new("sqlite", "read the backlog", e))?,
        };
        let get = |title: &str| {
            stats
                .iter()
                .find(|s| s.title == title)
                .and_then(|s| s.value.parse::<f64>().ok())
                .map_or(0, |v| v as u64)
        };
        Ok(Backlog {
            pending: get("PENDING_JOBS"),
            running: get("RUNNING_JOBS"),
        })
    }

    /// Closes the queue's connections (SQLite pool); pushes fail afterwards.
    pub async fn close(&self) {
        if let Storages::Sqlite { pool, .. } = &self.inner.storages {
            pool.close().await;
        }
        if let Storages::Redis { conn, .. } = &self.inner.storages {
            let _ = conn;
        }
    }
}

/// A queue's backlog, from the backend.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Backlog {
    /// Waiting to start.
    pub pending: u64,
    /// Taken by a worker.
    pub running: u64,
}

pub(crate) fn index(priority: Priority) -> usize {
    match priority {
        Priority::Critical => 0,
        Priority::Default => 1,
        Priority::Low => 2,
    }
}

/// How often a push to the SQLite queue is tried again after losing a
/// write race (with pauses of 1, 2, … 20 ms: about 4 s in all).
const SQLITE_PUSH_RETRIES: u32 = 200;

/// SQLite's `SQLITE_BUSY` ("database is locked"), in whatever error wraps it.
fn is_locked(error: &dyn std::error::Error) -> bool {
    let mut current = Some(error);
    while let Some(e) = current {
        if e.to_string().contains("database is locked") {
            return true;
        }
        current = e.source();
    }
    false
}

pub(crate) fn queue_name(config: &JobsConfig, priority: Priority) -> String {
    format!("{}:{}", config.queue_prefix, priority.as_str())
}

impl Enqueue for JobQueue {
    fn enqueue(&self, request: JobRequest) -> EnqueueFuture<'_> {
        Box::pin(async move {
            let (job, key) = match request {
                JobRequest::Welcome { user } => {
                    let key = format!("welcome/{}", user.as_str());
                    (
                        Job::Welcome {
                            user_id: user.as_str().to_owned(),
                        },
                        Some(key),
                    )
                }
                JobRequest::SweepOrphanBlobs => (Job::SweepOrphanBlobs, None),
                other => {
                    return Err(EnqueueError::new(format!(
                        "this job system does not know {other:?}"
                    )));
                }
            };
            self.push_with(
                job,
                PushOptions {
                    idempotency_key: key,
                    ..PushOptions::default()
                },
            )
            .await
            .map_err(Into::into)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The acknowledgement statement of apalis-sqlite (queries/task/ack.sql).
    const ACK: &str = "EXPLAIN QUERY PLAN WITH j AS (SELECT value ->> 'task_id' AS task_id, \
        value ->> 'attempt' AS attempt, value ->> 'result' AS result, value ->> 'status' AS status \
        FROM json_each(?1)) UPDATE Jobs SET status = j.status, attempts = j.attempt, \
        last_result = j.result, done_at = strftime('%s', 'now') FROM j \
        WHERE Jobs.id = j.task_id AND Jobs.lock_by = ?2";

    #[tokio::test]
    async fn acknowledgements_look_jobs_up_by_id() {
        let dir = tempfile::tempdir().unwrap();
        let queue = JobQueue::sqlite(dir.path().join("jobs.db"), &JobsConfig::default())
            .await
            .unwrap();
        let Storages::Sqlite { pool, .. } = &queue.inner.storages else {
            unreachable!("a SQLite queue")
        };
        // Every connection of the pool, not just the one that wrote them.
        let mut connections = Vec::new();
        for _ in 0..4 {
            connections.push(pool.acquire().await.unwrap());
        }
        for conn in &mut connections {
            let plan: Vec<(i64, i64, i64, String)> = sqlx::query_as(ACK)
                .bind("[]")
                .bind("worker")
                .fetch_all(&mut **conn)
                .await
                .unwrap();
            let plan: Vec<&str> = plan.iter().map(|row| row.3.as_str()).collect();
            assert!(
                plan.iter()
                    .any(|step| step.contains("Jobs USING INDEX sqlite_autoindex_Jobs_1 (id=?)")),
                "{plan:?}"
            );
        }
    }
}
