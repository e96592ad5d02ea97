//! Retries, backoff, permanent failures, timeouts, and a worker killed mid-job.

use std::time::{Duration, Instant};

use tasker_core::model::JobRunStatus;
use tasker_jobs::{Job, Worker, job_stats};

use crate::{
    delivery::wait_idle,
    support::{Backend, World, both, eventually, test_config},
};

both!(
    a_retryable_failure_is_retried_with_growing_delays,
    a_permanent_failure_is_not_retried_and_stays_inspectable,
    an_attempt_past_its_time_limit_is_retried_then_fails,
    a_worker_killed_mid_job_leaves_exactly_one_email,
);

async fn welcome(w: &World) {
    w.user("ann").await;
    w.queue
        .push(Job::Welcome {
            user_id: "ann".into(),
        })
        .await
        .unwrap();
}

async fn a_retryable_failure_is_retried_with_growing_delays(backend: Backend) {
    let w = World::new(backend).await;
    w.fake.script(|s| s.fail_with.extend([503, 503]));
    welcome(&w).await;
    let stop = tasker_jobs::CancellationToken::new();
    let worker = Worker::start(w.context.clone(), stop.clone());
    let fake = w.fake.clone();
    eventually(Duration::from_secs(20), "the third attempt", || {
        let fake = fake.clone();
        async move { (!fake.deliveries().is_empty()).then_some(()) }
    })
    .await;
    let times: Vec<Instant> = w.fake.requests().iter().map(|(_, at)| *at).collect();
    assert_eq!(times.len(), 3);
    // Base 200 ms, doubled, with jitter in [0.5, 1): at least 100 ms, then 200 ms.
    let first = times[1] - times[0];
    let second = times[2] - times[1];
    assert!(first >= Duration::from_millis(100), "{first:?}");
    assert!(second >= Duration::from_millis(200), "{second:?}");
    assert!(second < Duration::from_secs(2), "{second:?}");
    wait_idle(&w).await;
    let stats = job_stats(&w.context, 10).await.unwrap();
    let critical = &stats.queues[0];
    assert_eq!(
        (critical.done, critical.retried, critical.failed),
        (1, 1, 0)
    );
    stop.cancel();
    worker.wait().await;
}

async fn a_permanent_failure_is_not_retried_and_stays_inspectable(backend: Backend) {
    let w = World::new(backend).await;
    w.fake.script(|s| s.fail_with.extend([422, 422, 422]));
    welcome(&w).await;
    let stop = tasker_jobs::CancellationToken::new();
    let worker = Worker::start(w.context.clone(), stop.clone());
    let context = w.context.clone();
    let failed = eventually(Duration::from_secs(20), "the failed job", || {
        let context = context.clone();
        async move {
            let stats = job_stats(&context, 10).await.ok()?;
            stats.failed.first().cloned()
        }
    })
    .await;
    assert_eq!(failed.kind, "welcome");
    assert_eq!(failed.status, JobRunStatus::Failed);
    assert_eq!(failed.attempts, 1, "a permanent error is not retried");
    assert!(
        failed.last_error.as_deref().unwrap().contains("422"),
        "{failed:?}"
    );
    // The queue does not deliver it again.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(w.fake.requests().len(), 1);
    stop.cancel();
    worker.wait().await;
}

async fn an_attempt_past_its_time_limit_is_retried_then_fails(backend: Backend) {
    let mut config = test_config();
    config.timeout_seconds = 1;
    config.retry.max_retries = 1;
    let w = World::with_config(backend, config).await;
    w.fake.script(|s| s.delay = Duration::from_secs(3));
    welcome(&w).await;
    let stop = tasker_jobs::CancellationToken::new();
    let worker = Worker::start(w.context.clone(), stop.clone());
    let context = w.context.clone();
    let failed = eventually(Duration::from_secs(20), "the timed-out job", || {
        let context = context.clone();
        async move { job_stats(&context, 10).await.ok()?.failed.first().cloned() }
    })
    .await;
    assert_eq!(failed.attempts, 2, "one retry after the first timeout");
    assert!(
        failed
            .last_error
            .as_deref()
            .unwrap()
            .contains("timed out after 1 s")
    );
    assert_eq!(w.fake.requests().len(), 2);
    stop.cancel();
    worker.wait().await;
}

/// The worker runs on its own runtime, which is dropped while the e-mail
/// request is in flight (the provider took the message; its answer is lost).
/// A new worker takes the job again after the dead one's heartbeat expires;
/// the same idempotency key means the provider does not send it twice, and
/// the ledger ends delivered.
async fn a_worker_killed_mid_job_leaves_exactly_one_email(backend: Backend) {
    let w = World::new(backend).await;
    w.fake.script(|s| s.hang = 1);
    welcome(&w).await;

    let context = w.separate_context().await;
    let (kill, killed) = tokio::sync::oneshot::channel::<()>();
    let doomed = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let _worker = Worker::start(context, tasker_jobs::CancellationToken::new());
            let _ = killed.await;
        });
        // Every task of the runtime is dropped where it stands: no ack, no heartbeat.
        rt.shutdown_background();
    });
    let fake = w.fake.clone();
    eventually(Duration::from_secs(20), "the first request", || {
        let fake = fake.clone();
        async move { (!fake.requests().is_empty()).then_some(()) }
    })
    .await;
    kill.send(()).unwrap();
    doomed.join().unwrap();
    let killed_at = Instant::now();
    let stop = tasker_jobs::CancellationToken::new();
    let worker = Worker::start(w.context.clone(), stop.clone());
    let fake = w.fake.clone();
    eventually(Duration::from_secs(30), "the job to run again", || {
        let fake = fake.clone();
        async move { (fake.requests().len() >= 2).then_some(()) }
    })
    .await;
    let recovery = killed_at.elapsed();
    eprintln!("recovery after a killed worker ({backend:?}): {recovery:?}");
    wait_idle(&w).await;
    assert_eq!(w.fake.deliveries().len(), 1, "exactly one e-mail");
    let requests = w.fake.requests();
    assert_eq!(requests[0].0, requests[1].0, "same idempotency key");
    let stats = job_stats(&w.context, 10).await.unwrap();
    assert!(stats.failed.is_empty());
    // The ledger says delivered: another welcome job sends nothing.
    w.queue
        .push(Job::Welcome {
            user_id: "ann".into(),
        })
        .await
        .unwrap();
    wait_idle(&w).await;
    assert_eq!(w.fake.requests().len(), 2);
    stop.cancel();
    worker.wait().await;
}
