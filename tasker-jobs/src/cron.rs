//! [`Scheduler`]: cron on apalis-cron. Each tick is pushed to the queue with
//! a key made of the job name and the tick's time, so when several instances
//! schedule against one queue, a tick is enqueued (and runs) once.

use std::{fmt, str::FromStr};

use apalis_cron::CronScheduler;
use futures_util::StreamExt;
use time::OffsetDateTime;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::{
    config::{ConfigError, JobsConfig, cron_schedule},
    error::{JobError, QueueError},
    job::Job,
    queue::{JobQueue, PushOptions},
    runner::previous_week_start,
};

/// The scheduled jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CronJob {
    /// Due-date reminder digests.
    DueDateReminders,
    /// Overdue notice digests.
    OverdueNotices,
    /// Weekly reports.
    WeeklyReports,
    /// Auto-archive of old completed todos.
    AutoArchive,
    /// Removal of files no attachment refers to.
    OrphanSweep,
}

impl CronJob {
    /// Every scheduled job.
    pub const ALL: [Self; 5] = [
        Self::DueDateReminders,
        Self::OverdueNotices,
        Self::WeeklyReports,
        Self::AutoArchive,
        Self::OrphanSweep,
    ];

    /// The name used on the command line and in the admin route
    /// (`due-date-reminders`, …).
    pub fn name(self) -> &'static str {
        match self {
            Self::DueDateReminders => "due-date-reminders",
            Self::OverdueNotices => "overdue-notices",
            Self::WeeklyReports => "weekly-reports",
            Self::AutoArchive => "auto-archive",
            Self::OrphanSweep => "orphan-sweep",
        }
    }

    /// The Go service's name for the job where it differs from
    /// [`name`](Self::name) (`overdue-notifications`); accepted wherever a
    /// name is, so the Go service's scheduler entries keep working.
    pub fn go_name(self) -> Option<&'static str> {
        match self {
            Self::OverdueNotices => Some("overdue-notifications"),
            _ => None,
        }
    }

    /// Its schedule in `config`; `None` when disabled.
    pub fn schedule(self, config: &JobsConfig) -> Option<&str> {
        let i = Self::ALL.iter().position(|j| *j == self).unwrap_or(0);
        config.cron.schedules()[i].1
    }

    /// The job a tick at `at` enqueues.
    pub fn job(self, at: OffsetDateTime) -> Job {
        match self {
            Self::DueDateReminders => Job::DueReminderScan,
            Self::OverdueNotices => Job::OverdueScan,
            Self::WeeklyReports => Job::WeeklyReportScan {
                week_start: previous_week_start(at),
            },
            Self::AutoArchive => Job::AutoArchive,
            Self::OrphanSweep => Job::SweepOrphanBlobs,
        }
    }

    /// Enqueues this job now (`cron run <job>`, `POST /admin/cron/{job}`),
    /// outside the schedule and without de-duplication.
    ///
    /// # Errors
    /// [`QueueError`] when the queue refuses.
    pub async fn run_now(self, queue: &JobQueue, now: OffsetDateTime) -> Result<(), QueueError> {
        queue.push(self.job(now)).await
    }
}

impl fmt::Display for CronJob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for CronJob {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|j| j.name() == s || j.go_name() == Some(s))
            .ok_or_else(|| {
                let names: Vec<_> = Self::ALL.iter().map(|j| j.name()).collect();
                format!("unknown cron job `{s}`; known: {}", names.join(", "))
            })
    }
}

/// Pushes the cron jobs' ticks to the queue until stopped.
#[derive(Debug)]
pub struct Scheduler {
    tasks: Vec<JoinHandle<()>>,
}

impl Scheduler {
    /// Starts one schedule per enabled cron job (none when `cron.enabled` is off).
    ///
    /// # Errors
    /// A [`ConfigError`] naming the key of an invalid schedule.
    pub fn start(queue: JobQueue, stop: CancellationToken) -> Result<Self, ConfigError> {
        let config = queue.config().clone();
        let mut tasks = Vec::new();
        if !config.cron.enabled {
            return Ok(Self { tasks });
        }
        for (job, (key, expr)) in CronJob::ALL.into_iter().zip(config.cron.schedules()) {
            let Some(expr) = expr else {
                continue;
            };
            let schedule = cron_schedule(expr).map_err(|problem| ConfigError { key, problem })?;
            let queue = queue.clone();
            let stop = stop.clone();
            tasks.push(tokio::spawn(async move {
                let mut ticks = Box::pin(CronScheduler::new(schedule).into_stream());
                loop {
                    let tick = tokio::select! {
                        () = stop.cancelled() => return,
                        tick = ticks.next() => tick,
                    };
                    match tick {
                        Some(Ok(tick)) => {
                            let secs = i64::try_from(tick.get_timestamp()).unwrap_or_default();
                            let at = OffsetDateTime::from_unix_timestamp(secs)
                                .unwrap_or_else(|_| OffsetDateTime::now_utc());
                            fire(&queue, job, at).await;
                        }
                        Some(Err(error)) => {
                            tracing::error!(job = job.name(), %error, "cron schedule failed");
                            return;
                        }
                        None => return,
                    }
                }
            }));
        }
        Ok(Self { tasks })
    }

    /// Waits for the schedules to end (after the stop token fires).
    pub async fn wait(self) {
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// Enqueues the tick of `job` at `at`, keyed by name and time: however many
/// schedulers fire this tick, the queue stores it once.
pub async fn fire(queue: &JobQueue, job: CronJob, at: OffsetDateTime) {
    let key = format!("cron/{}/{}", job.name(), at.unix_timestamp());
    let options = PushOptions {
        idempotency_key: Some(key),
        ..PushOptions::default()
    };
    match queue.push_with(job.job(at), options).await {
        Ok(()) => tracing::info!(job = job.name(), tick = %at, "cron tick enqueued"),
        Err(error) => {
            let error = JobError::from(error).chain();
            tracing::error!(job = job.name(), %error, "cron tick could not be enqueued");
        }
    }
}
