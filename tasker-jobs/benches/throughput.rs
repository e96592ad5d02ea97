//! Job throughput, end to end (enqueue → done), through each queue backend.
//!
//! `cargo bench -p tasker-jobs --bench throughput` (Redis at
//! `TASKER_TEST_REDIS_URL`, default `redis://127.0.0.1:6379`). Prints jobs/s
//! for no-op jobs and for due-date reminder digests (rendered and written by
//! the preview transport), on SQLite and on Redis.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use tasker_core::{
    clock::SystemClock,
    domain::UserId,
    model::{CreateTodo, NewTodo},
    service::Services,
    testing::TestStore,
};
use tasker_jobs::{
    CancellationToken, CronJob, Job, JobContext, JobQueue, JobsConfig, KnownUsers, Worker,
    job_stats,
};
use tasker_mail::{PreviewMailer, Templates};

const NOOP_JOBS: usize = 2_000;
const DIGEST_USERS: usize = 300;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        for backend in ["sqlite", "redis"] {
            let noop = noop(backend).await;
            println!("{backend:>6}  no-op jobs        {noop:>8.0} jobs/s  ({NOOP_JOBS} jobs)");
            let digests = reminders(backend).await;
            println!(
                "{backend:>6}  reminder digests  {digests:>8.0} jobs/s  ({DIGEST_USERS} users, one e-mail each)"
            );
        }
    });
}

struct Setup {
    context: JobContext,
    services: Services<tasker_core::store::AnyStore>,
    _store: TestStore,
    _dir: tempfile::TempDir,
}

async fn setup(backend: &str) -> Setup {
    let store = TestStore::sqlite().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let blobs = tasker_core::blob::BlobStore::local(dir.path().join("files")).expect("blobs");
    let services = Services::new(store.store.clone(), Arc::new(SystemClock), blobs);
    let config = JobsConfig {
        queue_prefix: format!("tasker-bench-{}", uuid::Uuid::now_v7().simple()),
        poll_interval_ms: 10,
        ..JobsConfig::default()
    };
    let queue = match backend {
        "redis" => {
            let url = std::env::var("TASKER_TEST_REDIS_URL")
                .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
            JobQueue::redis(&url, &config).await.expect("Redis")
        }
        _ => JobQueue::sqlite(dir.path().join("jobs.db"), &config)
            .await
            .expect("SQLite queue"),
    };
    let mailer = PreviewMailer::new(dir.path().join("mail"), "bench@example.com", None);
    let context = JobContext::new(
        services.jobs.clone(),
        Arc::new(mailer),
        Arc::new(Templates::embedded()),
        Arc::new(KnownUsers::new(services.jobs.clone())),
        queue,
    );
    Setup {
        context,
        services,
        _store: store,
        _dir: dir,
    }
}

/// Waits until `n` job runs of the default queue are done; returns jobs/s since `start`.
async fn until_done(context: &JobContext, n: u64, start: Instant) -> f64 {
    loop {
        let stats = job_stats(context, 1).await.expect("stats");
        let done: u64 = stats.queues.iter().map(|q| q.done).sum();
        if done >= n {
            return n as f64 / start.elapsed().as_secs_f64();
        }
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "stuck at {done}/{n}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn noop(backend: &str) -> f64 {
    let s = setup(backend).await;
    let stop = CancellationToken::new();
    let worker = Worker::start(s.context.clone(), stop.clone());
    let start = Instant::now();
    for _ in 0..NOOP_JOBS {
        s.context.queue().push(Job::Noop).await.expect("push");
    }
    let rate = until_done(&s.context, NOOP_JOBS as u64, start).await;
    stop.cancel();
    worker.wait().await;
    rate
}

async fn reminders(backend: &str) -> f64 {
    let s = setup(backend).await;
    let due = time::OffsetDateTime::now_utc() + time::Duration::hours(2);
    let due = due
        .format(&time::format_description::well_known::Rfc3339)
        .expect("date");
    for i in 0..DIGEST_USERS {
        let user = UserId::parse(&format!("user{i:04}")).expect("user");
        s.services
            .jobs
            .remember_user(&user, Some(&format!("user{i}@example.com")), None)
            .await
            .expect("user");
        let raw: CreateTodo = serde_json::from_value(serde_json::json!({
            "title": format!("task of user {i}"), "dueDate": due,
        }))
        .expect("todo");
        let new = NewTodo::try_from(raw).expect("valid");
        s.services.todos.create(&user, new).await.expect("create");
    }
    let stop = CancellationToken::new();
    let worker = Worker::start(s.context.clone(), stop.clone());
    let start = Instant::now();
    CronJob::DueDateReminders
        .run_now(s.context.queue(), time::OffsetDateTime::now_utc())
        .await
        .expect("push");
    // The scan plus one digest per user.
    let rate = until_done(&s.context, DIGEST_USERS as u64 + 1, start).await;
    stop.cancel();
    worker.wait().await;
    rate
}
