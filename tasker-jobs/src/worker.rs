//! [`Worker`]: the runtime that takes jobs from the three queues and runs them,
//! with retries, timeouts, job records, metrics and a graceful stop.

use std::{sync::Arc, time::Instant};

use apalis::prelude::{
    AbortError, Attempt, BoxDynError, Data, TaskId, WorkerBuilder, WorkerBuilderExt,
};
use tasker_core::model::{JobRun, JobRunStatus};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::{
    error::JobError,
    job::{Job, Priority},
    queue::{Storages, index},
    runner::{JobContext, JobStorage},
};

/// What each worker slot shares.
struct Shared<S> {
    context: JobContext<S>,
    queue: Priority,
    /// Fired when the grace period is over: jobs still running go back to the queue.
    hard_stop: CancellationToken,
    /// Final job records being written in the background (one permit each).
    records: Arc<tokio::sync::Semaphore>,
}

/// Final job records written at once in the background, at most: a slot is
/// free for the next job as soon as its job is done, not when its record is.
const RECORDS_IN_FLIGHT: u32 = 64;

/// The job worker: one apalis worker per queue, with the configured slots.
///
/// Start it on the host's runtime and stop it with a [`CancellationToken`]:
///
/// ```no_run
/// # async fn run(context: tasker_jobs::JobContext<tasker_core::store::AnyStore>) {
/// use tokio_util::sync::CancellationToken;
///
/// let stop = CancellationToken::new();
/// let worker = tasker_jobs::Worker::start(context, stop.clone());
/// // … later, on SIGTERM:
/// stop.cancel();
/// worker.wait().await; // in-flight jobs finish within the grace period
/// # }
/// ```
#[derive(Debug)]
pub struct Worker {
    handle: JoinHandle<()>,
}

impl Worker {
    /// Starts the workers of the three queues on the current runtime.
    ///
    /// When `stop` is cancelled, no new job is taken; jobs in flight get the
    /// configured grace period (`shutdown_grace_seconds`), after which they
    /// are interrupted and returned to the queue.
    pub fn start<S: JobStorage>(context: JobContext<S>, stop: CancellationToken) -> Self {
        let handle = tokio::spawn(run(context, stop));
        Self { handle }
    }

    /// Waits until every worker has stopped.
    pub async fn wait(self) {
        if let Err(error) = self.handle.await {
            tracing::error!(%error, "the job worker ended abnormally");
        }
    }
}

async fn run<S: JobStorage>(context: JobContext<S>, stop: CancellationToken) {
    let config = context.config.clone();
    let hard_stop = CancellationToken::new();
    let instance = uuid::Uuid::now_v7().simple().to_string();
    let records = Arc::new(tokio::sync::Semaphore::new(RECORDS_IN_FLIGHT as usize));
    let mut workers = Vec::new();
    for priority in Priority::ALL {
        let shared = Arc::new(Shared {
            context: context.clone(),
            queue: priority,
            hard_stop: hard_stop.clone(),
            records: Arc::clone(&records),
        });
        let name = format!(
            "{}:{}:{}",
            config.queue_prefix,
            priority.as_str(),
            &instance[20..]
        );
        let slots = config.capacity.of(priority);
        let i = index(priority);
        let poll = std::time::Duration::from_millis(config.poll_interval_ms.max(1));
        let stop = stop.clone();
        // A worker whose backend fails (Redis restarted empty, a database
        // error) is built again after a pause, until the stop signal.
        macro_rules! supervised {
            ($queues:expr) => {{
                let queues = $queues.clone();
                tokio::spawn(async move {
                    let mut pause = std::time::Duration::from_millis(500);
                    loop {
                        use apalis::prelude::BackendExt;
                        // Without a poll strategy an idle worker only looks
                        // again at its next heartbeat (seconds).
                        let backend = queues[i]
                            .clone()
                            .poll_with_strategy(crate::poll::EveryInterval::new(poll));
                        let worker = WorkerBuilder::new(name.clone())
                            .backend(backend)
                            .concurrency(slots)
                            .data(Arc::clone(&shared))
                            .build(handle::<S>);
                        let signal = {
                            let stop = stop.clone();
                            async move {
                                stop.cancelled().await;
                                Ok::<(), std::io::Error>(())
                            }
                        };
                        match worker.run_until(signal).await {
                            Ok(()) => return,
                            Err(_) if stop.is_cancelled() => return,
                            Err(error) => {
                                tracing::error!(worker = %name, %error, ?pause, "job worker stopped with an error; starting it again");
                            }
                        }
                        tokio::select! {
                            () = stop.cancelled() => return,
                            () = tokio::time::sleep(pause) => {}
                        }
                        pause = (pause * 2).min(std::time::Duration::from_secs(10));
                    }
                })
            }};
        }
        let task: JoinHandle<()> = match context.queue.storages() {
            Storages::Redis { queues, .. } => supervised!(queues),
            Storages::Sqlite { queues, .. } => supervised!(queues),
        };
        workers.push(task);
    }
    stop.cancelled().await;
    let grace = std::time::Duration::from_secs(config.shutdown_grace_seconds);
    let all = futures_util::future::join_all(workers.iter_mut());
    if tokio::time::timeout(grace, all).await.is_err() {
        tracing::warn!("jobs still running after the grace period; returning them to the queue");
        hard_stop.cancel();
        let all = futures_util::future::join_all(workers.iter_mut());
        if tokio::time::timeout(std::time::Duration::from_secs(5), all)
            .await
            .is_err()
        {
            for worker in &workers {
                worker.abort();
            }
        }
    }
    // The last job records are written before the worker counts as stopped.
    let _all = records.acquire_many(RECORDS_IN_FLIGHT).await;
}

/// The apalis handler: one delivery of one job.
async fn handle<S: JobStorage>(
    job: Job,
    shared: Data<Arc<Shared<S>>>,
    id: TaskId,
    delivery: Attempt,
) -> Result<(), BoxDynError> {
    let span = tracing::info_span!(
        "job",
        job.id = %id,
        job.kind = job.kind(),
        job.queue = shared.queue.as_str(),
        user.id = job.user_id().unwrap_or(""),
    );
    execute(&shared, job, id.to_string(), delivery.current())
        .instrument(span)
        .await
}

/// Runs `job` with retries: exponential backoff with jitter between attempts,
/// a time limit per attempt, permanent errors not retried. The final failure
/// is an [`AbortError`], so the backend keeps the job as dead (inspectable)
/// instead of delivering it again.
async fn execute<S: JobStorage>(
    shared: &Shared<S>,
    job: Job,
    job_id: String,
    delivery: usize,
) -> Result<(), BoxDynError> {
    let context = &shared.context;
    let config = &context.config;
    let retry = config.retry;
    let kind = job.kind();
    let queue = shared.queue.as_str();
    let started_at = context.jobs.now();
    let started = Instant::now();
    let mut record = JobRun {
        job_id,
        queue: queue.to_owned(),
        kind: kind.to_owned(),
        status: JobRunStatus::Running,
        attempts: 0,
        last_error: None,
        started_at,
        finished_at: None,
    };
    let max_attempts = retry.max_retries + 1;
    // A job delivered again and again (its workers keep dying) gives up too.
    if delivery > (max_attempts as usize) * 3 {
        let error = JobError::Redelivered {
            deliveries: delivery,
        };
        return Err(give_up(shared, &mut record, error, started).await);
    }
    let timeout = job.timeout(&config.limits());
    let mut attempt = 0;
    loop {
        attempt += 1;
        record.attempts = attempt;
        record.status = JobRunStatus::Running;
        let work = tokio::time::timeout(timeout, context.run(&job));
        tokio::pin!(work);
        // A job that finishes quickly is recorded once, when it ends; one
        // still running after a moment is recorded as running first.
        let quick = tokio::select! {
            biased;
            result = &mut work => Some(result),
            () = tokio::time::sleep(RECORD_RUNNING_AFTER) => None,
            () = shared.hard_stop.cancelled() => return Err(interrupted(shared, &mut record).await),
        };
        let result = match quick {
            Some(result) => result,
            None => {
                save(&shared.context, &record).await;
                tokio::select! {
                    result = &mut work => result,
                    () = shared.hard_stop.cancelled() => return Err(interrupted(shared, &mut record).await),
                }
            }
        };
        let outcome = result.unwrap_or(Err(JobError::TimedOut { limit: timeout }));
        let error = match outcome {
            Ok(()) => {
                finish(shared, &mut record, JobRunStatus::Done, None, started).await;
                return Ok(());
            }
            Err(error) => error,
        };
        if !error.is_retryable() || attempt == max_attempts {
            tracing::warn!(attempt, error = %error.chain(), "job failed");
            return Err(give_up(shared, &mut record, error, started).await);
        }
        let mut delay = retry.backoff(attempt);
        if let Some(after) = error.retry_after() {
            delay = delay.max(after);
        }
        tracing::info!(attempt, error = %error.chain(), delay_ms = delay.as_millis() as u64, "job attempt failed; retrying");
        metrics::counter!("tasker_jobs_retried_total", "queue" => queue, "kind" => kind)
            .increment(1);
        record.status = JobRunStatus::Retrying;
        record.last_error = Some(error.chain());
        save(&shared.context, &record).await;
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = shared.hard_stop.cancelled() => {
                return Err("interrupted by shutdown".into());
            }
        }
    }
}

/// How long a job runs before it is recorded as running (quicker jobs are
/// recorded once, when they end).
const RECORD_RUNNING_AFTER: std::time::Duration = std::time::Duration::from_millis(100);

/// Interrupted by the shutdown: back to the queue, no attempt used.
async fn interrupted<S: JobStorage>(shared: &Shared<S>, record: &mut JobRun) -> BoxDynError {
    record.status = JobRunStatus::Retrying;
    record.last_error = Some("interrupted by shutdown; returned to the queue".into());
    save(&shared.context, record).await;
    "interrupted by shutdown".into()
}

/// Records the final failure; the [`AbortError`] tells the queue to keep the
/// job as dead instead of delivering it again.
async fn give_up<S: JobStorage>(
    shared: &Shared<S>,
    record: &mut JobRun,
    error: JobError,
    started: Instant,
) -> BoxDynError {
    finish(shared, record, JobRunStatus::Failed, Some(&error), started).await;
    Box::new(AbortError::new(error))
}

async fn finish<S: JobStorage>(
    shared: &Shared<S>,
    record: &mut JobRun,
    status: JobRunStatus,
    error: Option<&JobError>,
    started: Instant,
) {
    record.status = status;
    record.finished_at = Some(shared.context.jobs.now());
    if let Some(error) = error {
        record.last_error = Some(error.chain());
    }
    match Arc::clone(&shared.records).acquire_owned().await {
        Ok(permit) => {
            let context = shared.context.clone();
            let record = record.clone();
            tokio::spawn(
                async move {
                    save(&context, &record).await;
                    drop(permit);
                }
                .in_current_span(),
            );
        }
        Err(_) => save(&shared.context, record).await,
    }
    let outcome = match status {
        JobRunStatus::Done => "done",
        _ => "failed",
    };
    let queue = shared.queue.as_str();
    let kind = record.kind.clone();
    metrics::counter!("tasker_jobs_processed_total", "queue" => queue, "kind" => kind.clone(), "outcome" => outcome)
        .increment(1);
    metrics::histogram!("tasker_job_duration_seconds", "queue" => queue, "kind" => kind)
        .record(started.elapsed().as_secs_f64());
}

/// Job records are for monitoring: failing to write one never fails the job.
async fn save<S: JobStorage>(context: &JobContext<S>, record: &JobRun) {
    if let Err(error) = context.jobs.record_job_run(record).await {
        tracing::warn!(%error, "could not record the job run");
    }
}
