//! Cron ticks: fired once however many schedulers share the queue.

use std::time::Duration;

use tasker_jobs::{CronJob, JobQueue, Priority, fire};

use crate::support::{Backend, T0, World, both, queue_for};

both!(concurrent_schedulers_enqueue_a_tick_once);

async fn concurrent_schedulers_enqueue_a_tick_once(backend: Backend) {
    let w = World::new(backend).await;
    // Three more "instances" with their own connections to the same queue.
    let dir = tempfile::tempdir().unwrap();
    let mut others: Vec<JobQueue> = Vec::new();
    for _ in 0..3 {
        let queue = match backend {
            Backend::Redis => queue_for(backend, &w.config, dir.path()).await,
            // The same SQLite file as the world's queue.
            Backend::Sqlite => w.queue.clone(),
        };
        others.push(queue);
    }
    let mut all = vec![w.queue.clone()];
    all.extend(others);
    let fires = all
        .iter()
        .map(|queue| fire(queue, CronJob::AutoArchive, T0));
    futures_util::future::join_all(fires).await;
    // A different tick is a different job.
    fire(&w.queue, CronJob::AutoArchive, T0 + time::Duration::days(1)).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let backlog = w.queue.backlog(Priority::Low).await.unwrap();
    assert_eq!(backlog.pending, 2, "{backlog:?}");
}

#[test]
fn cron_jobs_have_names_and_schedules() {
    let config = tasker_jobs::JobsConfig::default();
    let names: Vec<_> = CronJob::ALL.iter().map(|j| j.name()).collect();
    assert_eq!(
        names,
        [
            "due-date-reminders",
            "overdue-notices",
            "weekly-reports",
            "auto-archive",
            "orphan-sweep"
        ]
    );
    assert_eq!(
        CronJob::DueDateReminders.schedule(&config),
        Some("0 */15 * * * *")
    );
    assert_eq!(
        CronJob::WeeklyReports.schedule(&config),
        Some("0 0 * * * *"),
        "hourly: each user's report goes out from Monday 09:00 in their zone"
    );
    assert_eq!("auto-archive".parse::<CronJob>(), Ok(CronJob::AutoArchive));
    let error = "backup".parse::<CronJob>().unwrap_err();
    assert!(error.contains("due-date-reminders"), "{error}");
    let mut off = config.clone();
    off.cron.auto_archive = String::new();
    assert_eq!(CronJob::AutoArchive.schedule(&off), None);
}
