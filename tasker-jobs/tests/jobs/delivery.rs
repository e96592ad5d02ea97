//! Digests and exactly-one e-mail per event.

use std::{collections::HashMap, time::Duration};

use tasker_jobs::{CronJob, Job, Worker, fire, job_stats};
use time::Duration as TimeDuration;

use crate::support::{Backend, T0, World, both, eventually};

both!(
    every_due_todo_is_reminded_once_in_per_user_digests,
    overdue_notices_go_out_once_per_due_date,
    a_weekly_report_goes_out_once_per_week,
    a_welcome_goes_out_once,
);

async fn every_due_todo_is_reminded_once_in_per_user_digests(backend: Backend) {
    let w = World::new(backend).await;
    // 250 todos due within the window, batch size 100: users span batches.
    let users = [
        w.user("ann").await,
        w.user("bob").await,
        w.user("cyd").await,
    ];
    let per_user = [120usize, 80, 50];
    for (user, n) in users.iter().zip(per_user) {
        for i in 0..n {
            w.todo_due(
                user,
                &format!("task {i}"),
                T0 + TimeDuration::minutes(10 + i as i64),
            )
            .await;
        }
    }
    // Not due soon: never reminded.
    w.todo_due(&users[0], "later", T0 + TimeDuration::days(3))
        .await;

    let stop = tasker_jobs::CancellationToken::new();
    let worker = Worker::start(w.context.clone(), stop.clone());
    fire(&w.queue, CronJob::DueDateReminders, T0).await;

    let fake = w.fake.clone();
    let mails = eventually(Duration::from_secs(30), "three digests", || {
        let fake = fake.clone();
        async move { (fake.deliveries().len() >= 3).then(|| fake.deliveries()) }
    })
    .await;
    let by_to: HashMap<_, _> = mails
        .iter()
        .map(|d| {
            (
                d.to.split(['<', '>']).nth(1).unwrap_or(&d.to).to_owned(),
                d.clone(),
            )
        })
        .collect();
    assert_eq!(by_to.len(), 3, "one digest per user: {mails:?}");
    let ann = &by_to["ann@example.com"];
    assert!(ann.text.contains("task 0"), "{}", ann.text);
    assert!(!ann.text.contains("later"), "{}", ann.text);
    // At most ten listed; the rest counted.
    assert!(!ann.text.contains("task 10 ["), "{}", ann.text);
    assert!(ann.text.contains("110 more"), "{}", ann.text);

    // Every one of the 250 todos is on the ledger as delivered.
    let jobs = &w.services.jobs;
    let mut scan = jobs.due_soon(TimeDuration::hours(24), 100);
    while scan.next_batch().await.unwrap().is_some() {}
    let left = scan.seen();
    assert_eq!(left, 0, "every due todo was claimed");

    // The next cron tick (15 minutes later) sends nothing new.
    w.clock.advance(TimeDuration::minutes(15));
    fire(
        &w.queue,
        CronJob::DueDateReminders,
        T0 + TimeDuration::minutes(15),
    )
    .await;
    wait_idle(&w).await;
    assert_eq!(w.fake.deliveries().len(), 3);

    stop.cancel();
    worker.wait().await;
    let stats = job_stats(&w.context, 10).await.unwrap();
    assert!(stats.failed.is_empty(), "{:?}", stats.failed);
}

async fn overdue_notices_go_out_once_per_due_date(backend: Backend) {
    let w = World::new(backend).await;
    let ann = w.user("ann").await;
    let late = w.todo_due(&ann, "late", T0 - TimeDuration::hours(2)).await;
    w.todo_due(&ann, "fine", T0 + TimeDuration::days(3)).await;

    let stop = tasker_jobs::CancellationToken::new();
    let worker = Worker::start(w.context.clone(), stop.clone());
    fire(&w.queue, CronJob::OverdueNotices, T0).await;
    let fake = w.fake.clone();
    eventually(Duration::from_secs(20), "the overdue notice", || {
        let fake = fake.clone();
        async move { (!fake.deliveries().is_empty()).then_some(()) }
    })
    .await;
    // A retried scan the next day finds nothing new.
    w.clock.advance(TimeDuration::days(1));
    fire(
        &w.queue,
        CronJob::OverdueNotices,
        T0 + TimeDuration::days(1),
    )
    .await;
    wait_idle(&w).await;
    let mails = w.fake.deliveries();
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(mails[0].text.contains("late"));
    assert!(!mails[0].text.contains("fine"));
    assert!(mails[0].key.as_deref().unwrap().starts_with("overdue/ann/"));

    // A new due date is a new event: one more notice.
    let patch: tasker_core::model::UpdateTodo = serde_json::from_value(serde_json::json!({
        "dueDate": "2026-11-26T06:00:00Z"
    }))
    .unwrap();
    let patch = tasker_core::model::TodoPatch::try_from(patch).unwrap();
    w.services.todos.update(&ann, late, patch).await.unwrap();
    w.clock.advance(TimeDuration::days(1));
    fire(
        &w.queue,
        CronJob::OverdueNotices,
        T0 + TimeDuration::days(2),
    )
    .await;
    let fake = w.fake.clone();
    eventually(Duration::from_secs(20), "the second notice", || {
        let fake = fake.clone();
        async move { (fake.deliveries().len() == 2).then_some(()) }
    })
    .await;
    stop.cancel();
    worker.wait().await;
}

async fn a_weekly_report_goes_out_once_per_week(backend: Backend) {
    let w = World::new(backend).await;
    let ann = w.user("ann").await;
    w.todo_due(&ann, "something", T0 + TimeDuration::days(1))
        .await;
    let stop = tasker_jobs::CancellationToken::new();
    let worker = Worker::start(w.context.clone(), stop.clone());
    // Two schedulers, two ticks of the same Monday, and a manual run with the same week.
    let monday = time::macros::datetime!(2026-11-30 09:00 UTC);
    w.clock.set(monday);
    fire(&w.queue, CronJob::WeeklyReports, monday).await;
    fire(&w.queue, CronJob::WeeklyReports, monday).await;
    w.queue
        .push(Job::WeeklyReport {
            user_id: "ann".into(),
            week_start: tasker_jobs::previous_week_start(monday),
            week_end: None,
        })
        .await
        .unwrap();
    let fake = w.fake.clone();
    eventually(Duration::from_secs(20), "the weekly report", || {
        let fake = fake.clone();
        async move { (!fake.deliveries().is_empty()).then_some(()) }
    })
    .await;
    wait_idle(&w).await;
    let mails = w.fake.deliveries();
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0].key.as_deref(), Some("weekly_report/ann/2026-W48"));
    // The tick pushed twice was stored once; the extra manual job may reach
    // the mailer, but with the same idempotency key, so nothing is sent twice.
    let requests = w.fake.requests();
    assert!(requests.len() <= 2, "{requests:?}");
    assert!(
        requests
            .iter()
            .all(|(key, _)| key.as_deref() == Some("weekly_report/ann/2026-W48"))
    );
    stop.cancel();
    worker.wait().await;
}

async fn a_welcome_goes_out_once(backend: Backend) {
    use tasker_core::queue::{Enqueue, JobRequest};
    let w = World::new(backend).await;
    let ann = w.user("ann").await;
    let handle: std::sync::Arc<dyn Enqueue> = std::sync::Arc::new(w.queue.clone());
    handle
        .enqueue(JobRequest::Welcome { user: ann.clone() })
        .await
        .unwrap();
    handle
        .enqueue(JobRequest::Welcome { user: ann.clone() })
        .await
        .unwrap();
    let stop = tasker_jobs::CancellationToken::new();
    let worker = Worker::start(w.context.clone(), stop.clone());
    let fake = w.fake.clone();
    eventually(Duration::from_secs(20), "the welcome", || {
        let fake = fake.clone();
        async move { (!fake.deliveries().is_empty()).then_some(()) }
    })
    .await;
    // Even a later job for the same user sends nothing: the ledger says delivered.
    w.queue
        .push(Job::Welcome {
            user_id: "ann".into(),
        })
        .await
        .unwrap();
    wait_idle(&w).await;
    assert_eq!(w.fake.deliveries().len(), 1);
    assert_eq!(w.fake.deliveries()[0].key.as_deref(), Some("welcome/ann"));
    stop.cancel();
    worker.wait().await;
}

/// Waits until no queue has a pending or running job and no run is open.
pub(crate) async fn wait_idle(w: &World) {
    let context = w.context.clone();
    eventually(Duration::from_secs(30), "an idle queue", || {
        let context = context.clone();
        async move {
            let stats = job_stats(&context, 1).await.ok()?;
            let busy = stats
                .queues
                .iter()
                .any(|q| q.pending > 0 || q.running > 0 || q.retrying > 0);
            (!busy).then_some(())
        }
    })
    .await;
    // A job taken but not yet recorded as running shows in neither count for
    // an instant; a second look a little later settles it.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stats = job_stats(&w.context, 1).await.unwrap();
    assert!(
        stats
            .queues
            .iter()
            .all(|q| q.pending == 0 && q.running == 0),
        "{stats:?}"
    );
}
