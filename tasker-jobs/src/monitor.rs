//! Monitoring: per-queue counts and the failed jobs, as data and as JSON.

use serde::Serialize;
use tasker_core::model::JobRun;

use crate::{
    error::JobError,
    job::Priority,
    queue::JobQueue,
    runner::{JobContext, JobStorage},
};

/// A snapshot of the job system for an admin page.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobStats {
    /// `redis` or `sqlite`.
    pub backend: &'static str,
    /// One entry per queue, highest priority first.
    pub queues: Vec<QueueStats>,
    /// The latest failed jobs with their last error.
    pub failed: Vec<JobRun>,
}

/// Counts of one queue.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueStats {
    /// `critical`, `default` or `low`.
    pub queue: String,
    /// Worker slots in this process's configuration.
    pub capacity: usize,
    /// Waiting to start (from the queue backend).
    pub pending: u64,
    /// Being worked on (attempt running).
    pub running: u64,
    /// Waiting for a retry after a failed attempt.
    pub retrying: u64,
    /// Finished (records are kept for `keep_job_records_days`).
    pub done: u64,
    /// Failed for good.
    pub failed: u64,
    /// Needed more than one attempt.
    pub retried: u64,
}

/// Collects [`JobStats`]: queue backlogs from the backend, outcomes from the
/// job records, and up to `failed_limit` failed jobs.
///
/// # Errors
/// [`JobError::Queue`] when the queue cannot be read, [`JobError::Core`]
/// when the database cannot.
pub async fn job_stats<S: JobStorage>(
    context: &JobContext<S>,
    failed_limit: u32,
) -> Result<JobStats, JobError> {
    let queue: &JobQueue = context.queue();
    let counts = context.jobs().job_run_counts().await?;
    let mut queues = Vec::new();
    for priority in Priority::ALL {
        let backlog = queue.backlog(priority).await?;
        let runs = counts
            .iter()
            .find(|c| c.queue == priority.as_str())
            .cloned()
            .unwrap_or_default();
        queues.push(QueueStats {
            queue: priority.as_str().to_owned(),
            capacity: queue.config().capacity.of(priority),
            pending: backlog.pending,
            running: runs.running,
            retrying: runs.retrying,
            done: runs.done,
            failed: runs.failed,
            retried: runs.retried,
        });
    }
    let failed = context.jobs().failed_job_runs(failed_limit).await?;
    Ok(JobStats {
        backend: queue.backend_name(),
        queues,
        failed,
    })
}

/// [`job_stats`] as a JSON document (for `GET /admin/jobs/stats`).
///
/// # Errors
/// As [`job_stats`].
pub async fn job_stats_json<S: JobStorage>(
    context: &JobContext<S>,
    failed_limit: u32,
) -> Result<String, JobError> {
    let stats = job_stats(context, failed_limit).await?;
    serde_json::to_string_pretty(&stats).map_err(JobError::Encode)
}
