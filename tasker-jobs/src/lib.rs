//! Background jobs and cron for **tasker**, on [apalis]: Redis queues in
//! production, a SQLite file when no Redis is configured.
//!
//! - [`Job`]: the typed jobs (welcome e-mail, due-date reminder and overdue
//!   digests per user, weekly reports, auto-archive, orphaned file sweep).
//! - [`JobQueue`]: the enqueue handle; implements
//!   [`tasker_core::queue::Enqueue`] for the API and host applications.
//! - [`Worker`]: the worker runtime, three queues (`critical`, `default`,
//!   `low`) sharing capacity 6:3:1, retries with exponential backoff and
//!   jitter, a time limit per attempt, a graceful stop.
//! - [`Scheduler`]: cron with apalis-cron; ticks are de-duplicated across
//!   instances.
//! - [`job_stats`]: per-queue counts and failed jobs for an admin page.
//!
//! Every e-mail is sent at most once per event although jobs are delivered at
//! least once: the notification ledger records a claim before sending and the
//! delivery after, and the mailer gets an idempotency key derived from the
//! claim (see `docs/jobs.md`).
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use tasker_core::{clock::SystemClock, service::JobService, store::{AnyStore, StoreOptions}};
//! use tasker_jobs::{JobContext, JobQueue, JobsConfig, KnownUsers, Scheduler, Worker};
//! use tasker_mail::{AnyMailer, MailConfig, Templates};
//! use tokio_util::sync::CancellationToken;
//!
//! let store = AnyStore::connect("sqlite://data/tasker.db", &StoreOptions::default()).await?;
//! store.migrate().await?;
//! let jobs = JobService::new(store, Arc::new(SystemClock));
//! let config = JobsConfig::default();
//! let queue = JobQueue::connect(None, "data/jobs.db", &config).await?;
//! let mail = MailConfig::default();
//! let context = JobContext::new(
//!     jobs.clone(),
//!     Arc::new(AnyMailer::from_config(&mail)?),
//!     Arc::new(Templates::from_config(&mail)?),
//!     Arc::new(KnownUsers::new(jobs)),
//!     queue.clone(),
//! );
//!
//! let stop = CancellationToken::new();
//! let worker = Worker::start(context, stop.clone());
//! let scheduler = Scheduler::start(queue, stop.clone())?;
//! // … on shutdown:
//! stop.cancel();
//! worker.wait().await;
//! scheduler.wait().await;
//! # Ok(()) }
//! ```
//!
//! [apalis]: https://docs.rs/apalis

mod config;
mod cron;
mod directory;
mod error;
mod job;
mod monitor;
mod poll;
mod queue;
mod runner;
mod worker;

pub use config::{
    Capacity, ConfigError, ConfigProblem, CronConfig, JobLimits, JobSettings, JobsConfig,
    RetryConfig,
};
pub use cron::{CronJob, Scheduler, fire};
pub use directory::{
    CLERK_API_URL, Chain, ClerkDirectory, KnownUsers, LookupFuture, UserDirectory,
};
pub use error::{BoxError, JobError, QueueError};
pub use job::{Digest, DigestTodo, Job, Priority};
pub use monitor::{JobStats, QueueStats, job_stats, job_stats_json};
pub use queue::{Backlog, JobQueue, PushOptions};
pub use runner::{JobContext, JobStorage, previous_week_start};
pub use worker::Worker;

/// Re-exported so hosts can build the stop token without adding the crate.
pub use tokio_util::sync::CancellationToken;
