#![doc = include_str!("../README.md")]

mod config;
mod cron;
mod directory;
mod error;
mod job;
mod local_week;
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
pub use local_week::{LocalWeek, REPORT_HOUR};
pub use monitor::{JobStats, QueueStats, job_stats, job_stats_json};
pub use queue::{Backlog, JobQueue, PushOptions};
pub use runner::{JobContext, JobStorage, previous_week_start};
pub use worker::Worker;

/// Re-exported so hosts can build the stop token without adding the crate.
pub use tokio_util::sync::CancellationToken;
