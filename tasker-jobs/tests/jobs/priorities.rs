//! Capacity shared between queues: a flood of low jobs never delays critical ones.

use std::time::Duration;

use tasker_jobs::{Job, Priority, PushOptions, Worker};

use crate::support::{Backend, World, both, eventually};

both!(
    a_critical_job_starts_within_one_slot_under_a_low_backlog,
    concurrent_pushes_while_the_worker_runs_all_land,
    a_job_pushed_onto_an_idle_queue_starts_within_the_poll_interval
);

async fn a_job_pushed_onto_an_idle_queue_starts_within_the_poll_interval(backend: Backend) {
    // A long heartbeat: an idle worker must not wait for it to look again.
    // The bound below is a sixth of it, so a loaded machine (CI builds on two
    // cores) cannot make a poll look like a heartbeat, or the reverse.
    let mut config = crate::support::test_config();
    config.heartbeat_seconds = 30;
    config.poll_interval_ms = 50;
    let w = World::with_config(backend, config).await;
    let stop = tasker_jobs::CancellationToken::new();
    let worker = Worker::start(w.context.clone(), stop.clone());
    tokio::time::sleep(Duration::from_millis(700)).await;
    for n in 1..=3u64 {
        let pushed = std::time::Instant::now();
        w.queue.push(Job::Noop).await.unwrap();
        done_reaches(&w, n, Duration::from_secs(40)).await;
        let waited = pushed.elapsed();
        assert!(
            waited < Duration::from_secs(5),
            "job {n} waited {waited:?}: the worker waited for its heartbeat"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    stop.cancel();
    worker.wait().await;
}

/// Waits until `n` job runs are recorded done.
async fn done_reaches(w: &World, n: u64, limit: Duration) {
    let context = w.context.clone();
    eventually(limit, &format!("{n} jobs done"), || {
        let context = context.clone();
        async move {
            let stats = tasker_jobs::job_stats(&context, 1).await.ok()?;
            let done: u64 = stats.queues.iter().map(|q| q.done).sum();
            (done == n).then_some(())
        }
    })
    .await;
}

async fn concurrent_pushes_while_the_worker_runs_all_land(backend: Backend) {
    let w = World::new(backend).await;
    let stop = tasker_jobs::CancellationToken::new();
    let worker = Worker::start(w.context.clone(), stop.clone());
    // Eight pushers at once, while the worker fetches: on SQLite every push is
    // a write transaction racing the others.
    let pushers: Vec<_> = (0..8)
        .map(|_| {
            let queue = w.queue.clone();
            tokio::spawn(async move {
                for _ in 0..40 {
                    queue.push(Job::Noop).await.expect("every push lands");
                }
            })
        })
        .collect();
    for pusher in pushers {
        pusher.await.expect("pusher");
    }
    done_reaches(&w, 320, Duration::from_secs(30)).await;
    stop.cancel();
    worker.wait().await;
}

async fn a_critical_job_starts_within_one_slot_under_a_low_backlog(backend: Backend) {
    let w = World::new(backend).await;
    // Every e-mail takes 300 ms; the low queue has one slot (default 6:3:1).
    w.fake.script(|s| s.delay = Duration::from_millis(300));
    for i in 0..20 {
        let name = format!("low{i}");
        w.user(&name).await;
        w.queue
            .push_with(
                Job::Welcome { user_id: name },
                PushOptions {
                    priority: Some(Priority::Low),
                    ..PushOptions::default()
                },
            )
            .await
            .unwrap();
    }
    let stop = tasker_jobs::CancellationToken::new();
    let worker = Worker::start(w.context.clone(), stop.clone());
    let fake = w.fake.clone();
    eventually(Duration::from_secs(20), "the low backlog to start", || {
        let fake = fake.clone();
        async move { (!fake.requests().is_empty()).then_some(()) }
    })
    .await;
    w.user("vip").await;
    let pushed = std::time::Instant::now();
    w.queue
        .push(Job::Welcome {
            user_id: "vip".into(),
        })
        .await
        .unwrap();
    let fake = w.fake.clone();
    let started = eventually(Duration::from_secs(20), "the critical job", || {
        let fake = fake.clone();
        async move {
            fake.requests()
                .iter()
                .find(|(key, _)| key.as_deref() == Some("welcome/vip"))
                .map(|(_, at)| *at)
        }
    })
    .await;
    let waited = started - pushed;
    // One low job takes 300 ms; the critical one must not wait for the backlog (6 s).
    assert!(waited < Duration::from_millis(1_000), "waited {waited:?}");
    let low_done_before = w
        .fake
        .requests()
        .iter()
        .filter(|(_, at)| *at < started)
        .count();
    assert!(
        low_done_before < 10,
        "the low backlog was still there: {low_done_before}"
    );
    stop.cancel();
    worker.wait().await;
}
