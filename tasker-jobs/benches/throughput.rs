//! Job throughput, end to end (enqueue → done), through each queue backend.
//!
//! `cargo bench -p tasker-jobs --bench throughput` (Redis at
//! `TASKER_TEST_REDIS_URL`, default `redis://127.0.0.1:6379`; PostgreSQL at
//! `TASKER_TEST_DATABASE_URL`). Prints jobs/s for no-op jobs and for due-date
//! reminder digests (rendered and written by the preview transport), and the
//! enqueue → done latency of a no-op job on an idle queue, for the two
//! production pairings: a SQLite queue with a SQLite store, and a Redis queue
//! with a PostgreSQL store. The worker runs with the default `JobsConfig`.
//!
//! `TASKER_BENCH_JOBS` sets the number of no-op jobs (default 2,000);
//! `TASKER_BENCH_TSV` names a file to append `figure<TAB>value` lines to
//! (`bench/run` reads it).

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

const DIGEST_USERS: usize = 300;
const LATENCY_SAMPLES: usize = 25;
const PUSHERS: usize = 4;

fn main() {
    let jobs: usize = std::env::var("TASKER_BENCH_JOBS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        for backend in ["sqlite", "redis"] {
            let noop = noop(backend, jobs).await;
            println!("{backend:>6}  no-op jobs        {noop:>8.0} jobs/s  ({jobs} jobs)");
            record(&format!("jobs_noop_{backend}"), noop);
            let digests = reminders(backend).await;
            println!(
                "{backend:>6}  reminder digests  {digests:>8.0} jobs/s  ({DIGEST_USERS} users, one e-mail each)"
            );
            record(&format!("jobs_digest_{backend}"), digests);
            let p50 = latency(backend).await;
            println!("{backend:>6}  enqueue → done    {p50:>8.1} ms p50 (idle queue)");
            record(&format!("jobs_latency_p50_{backend}_ms"), p50);
        }
    });
}

/// Appends a figure to `TASKER_BENCH_TSV`, if set.
fn record(name: &str, value: f64) {
    use std::io::Write as _;
    if let Ok(path) = std::env::var("TASKER_BENCH_TSV") {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .expect("TASKER_BENCH_TSV");
        writeln!(file, "{name}\t{value}").expect("write figure");
    }
}

struct Setup {
    context: JobContext<tasker_core::store::AnyStore>,
    services: Services<tasker_core::store::AnyStore>,
    _store: TestStore,
    _dir: tempfile::TempDir,
}

async fn setup(backend: &str) -> Setup {
    let store = match backend {
        "redis" => TestStore::postgres().await.expect("PostgreSQL"),
        _ => TestStore::sqlite().await,
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let blobs = tasker_core::blob::BlobStore::local(dir.path().join("files")).expect("blobs");
    let services = Services::new(store.store.clone(), Arc::new(SystemClock), blobs);
    let config = JobsConfig {
        queue_prefix: format!("tasker-bench-{}", uuid::Uuid::now_v7().simple()),
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

async fn done(context: &JobContext<tasker_core::store::AnyStore>) -> u64 {
    let stats = job_stats(context, 1).await.expect("stats");
    stats.queues.iter().map(|q| q.done).sum()
}

/// Waits until `n` job runs are done, polling every `every`; returns the
/// time since `start`.
async fn until_done(
    context: &JobContext<tasker_core::store::AnyStore>,
    n: u64,
    start: Instant,
    every: Duration,
) -> Duration {
    loop {
        let done = done(context).await;
        if done >= n {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "stuck at {done}/{n}"
        );
        tokio::time::sleep(every).await;
    }
}

async fn noop(backend: &str, jobs: usize) -> f64 {
    let s = setup(backend).await;
    let stop = CancellationToken::new();
    let worker = Worker::start(s.context.clone(), stop.clone());
    let start = Instant::now();
    let pushers: Vec<_> = (0..PUSHERS)
        .map(|p| {
            let context = s.context.clone();
            tokio::spawn(async move {
                for _ in (p..jobs).step_by(PUSHERS) {
                    context.queue().push(Job::Noop).await.expect("push");
                }
            })
        })
        .collect();
    for pusher in pushers {
        pusher.await.expect("pusher");
    }
    let pushed = start.elapsed();
    let done_then = done(&s.context).await;
    eprintln!("{backend}: {jobs} pushed in {pushed:.2?} ({done_then} done by then)");
    let elapsed = until_done(&s.context, jobs as u64, start, Duration::from_millis(20)).await;
    stop.cancel();
    worker.wait().await;
    jobs as f64 / elapsed.as_secs_f64()
}

/// Median time from pushing one no-op job onto an idle queue until it is
/// recorded done, in milliseconds.
async fn latency(backend: &str) -> f64 {
    let s = setup(backend).await;
    let stop = CancellationToken::new();
    let worker = Worker::start(s.context.clone(), stop.clone());
    // Let the worker reach its idle polling.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut samples = Vec::with_capacity(LATENCY_SAMPLES);
    for i in 0..LATENCY_SAMPLES {
        let before = done(&s.context).await;
        let start = Instant::now();
        s.context.queue().push(Job::Noop).await.expect("push");
        let elapsed = until_done(&s.context, before + 1, start, Duration::from_millis(1)).await;
        samples.push(elapsed.as_secs_f64() * 1000.0);
        // Idle again, at a varying phase of the poll interval.
        tokio::time::sleep(Duration::from_millis(150 + 37 * (i as u64 % 5))).await;
    }
    stop.cancel();
    worker.wait().await;
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
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
    let jobs = DIGEST_USERS as u64 + 1;
    let elapsed = until_done(&s.context, jobs, start, Duration::from_millis(20)).await;
    stop.cancel();
    worker.wait().await;
    jobs as f64 / elapsed.as_secs_f64()
}
