//! Monitoring: per-queue counts and the failed jobs, as data and as JSON.

use serde::Serialize;
use tasker_core::model::JobRun;

use crate::{
    job::Priority,
    queue::{JobQueue, QueueError},
    runner::JobContext,
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
/// [`QueueError`] when the queue or the database cannot be read.
pub async fn job_stats(context: &JobContext, failed_limit: u32) -> Result<JobStats, QueueError> {
    let queue: &JobQueue = context.queue();
    let storage = |e: tasker_core::Error| QueueError::storage(e.to_string());
    let counts = context.jobs().job_run_counts().await.map_err(storage)?;
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
    let failed = context
        .jobs()
        .failed_job_runs(failed_limit)
        .await
        .map_err(storage)?;
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
pub async fn job_stats_json(context: &JobContext, failed_limit: u32) -> Result<String, QueueError> {
    let stats = job_stats(context, failed_limit).await?;
    serde_json::to_string_pretty(&stats).map_err(QueueError::storage)
}
