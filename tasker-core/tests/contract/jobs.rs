//! Queries for background jobs: every batch handled, each notification once per due date.

use std::collections::HashSet;

use tasker_core::{
    domain::{TodoStatus, UserId},
    model::{Todo, TodoPatch},
    store::TodoNotificationKind,
};
use time::Duration;

use crate::support::{Ctx, T0, contract, user};

contract!(
    a_reminder_is_due_once_per_todo_and_due_date,
    reminder_batches_cover_every_matching_todo,
    overdue_notices_are_once_per_due_date,
    weekly_statistics_count_the_week,
    a_weekly_report_is_recorded_once_per_week,
    auto_archive_processes_every_batch,
    users_are_listed_in_batches,
    users_are_remembered_with_their_contact,
    job_runs_are_counted_and_failures_listed,
    download_keys_in_use_are_found,
);

/// Runs the due-soon query to the end, collecting every batch.
async fn due_soon(ctx: &Ctx, batch: u32) -> Vec<Vec<Todo>> {
    let mut scan = ctx.services.jobs.due_soon(Duration::hours(24), batch);
    let mut batches = Vec::new();
    while let Some(todos) = scan.next_batch().await.unwrap() {
        batches.push(todos);
    }
    batches
}

async fn overdue(ctx: &Ctx, batch: u32) -> Vec<Todo> {
    let mut scan = ctx.services.jobs.overdue(batch);
    let mut found = Vec::new();
    while let Some(todos) = scan.next_batch().await.unwrap() {
        found.extend(todos);
    }
    found
}

async fn a_reminder_is_due_once_per_todo_and_due_date(ctx: Ctx) {
    let alice = user("alice");
    let soon = ctx
        .todo_with(&alice, "soon", |n| {
            n.due_date = Some(T0 + Duration::hours(2))
        })
        .await;
    ctx.todo_with(&alice, "next week", |n| {
        n.due_date = Some(T0 + Duration::days(7))
    })
    .await;
    ctx.todo_with(&alice, "past", |n| {
        n.due_date = Some(T0 - Duration::hours(1))
    })
    .await;
    let done = ctx
        .todo_with(&alice, "done", |n| {
            n.due_date = Some(T0 + Duration::hours(3))
        })
        .await;
    let complete = TodoPatch {
        status: Some(TodoStatus::Completed),
        ..Default::default()
    };
    ctx.services
        .todos
        .update(&alice, done.id, complete)
        .await
        .unwrap();
    ctx.todo(&alice, "undated").await;

    let found: Vec<Todo> = due_soon(&ctx, 100).await.concat();
    assert_eq!(
        found.iter().map(|t| t.title.as_str()).collect::<Vec<_>>(),
        ["soon"]
    );

    let jobs = &ctx.services.jobs;
    let kind = TodoNotificationKind::DueReminder;
    let keys = due_keys(&found);
    let claimed = jobs
        .claim_todo_notifications(kind, &alice, &keys, "digest-1")
        .await
        .unwrap();
    assert_eq!(ids(&claimed), [soon.id]);
    // A retry of the same job finds its claim again until it is delivered.
    let again = jobs
        .claim_todo_notifications(kind, &alice, &keys, "digest-1")
        .await
        .unwrap();
    assert_eq!(ids(&again), [soon.id]);
    // Another job never gets a todo that is already claimed.
    let other = jobs
        .claim_todo_notifications(kind, &alice, &keys, "digest-2")
        .await
        .unwrap();
    assert!(other.is_empty());
    // Bob cannot claim Alice's todos.
    let bob = jobs
        .claim_todo_notifications(kind, &user("bob"), &keys, "digest-3")
        .await
        .unwrap();
    assert!(bob.is_empty());
    assert_eq!(
        jobs.mark_todo_notifications_delivered(kind, "digest-1")
            .await
            .unwrap(),
        1
    );
    let delivered = jobs
        .claim_todo_notifications(kind, &alice, &keys, "digest-1")
        .await
        .unwrap();
    assert!(delivered.is_empty(), "delivered: nothing left to send");
    ctx.clock.advance(Duration::minutes(15));
    assert!(
        due_soon(&ctx, 100).await.is_empty(),
        "the next cron tick finds nothing"
    );

    // Moving the due date makes the todo eligible again.
    let moved = TodoPatch {
        due_date: Some(Some(T0 + Duration::hours(5))),
        ..Default::default()
    };
    ctx.services
        .todos
        .update(&alice, soon.id, moved)
        .await
        .unwrap();
    let found: Vec<Todo> = due_soon(&ctx, 100).await.concat();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, soon.id);
}

async fn reminder_batches_cover_every_matching_todo(ctx: Ctx) {
    let mut expected = HashSet::new();
    for u in ["carol", "alice", "bob"] {
        for i in 0..9 {
            let t = ctx
                .todo_with(&user(u), &format!("{u} {i}"), |n| {
                    n.due_date = Some(T0 + Duration::hours(1))
                })
                .await;
            expected.insert(t.id);
        }
    }
    let batches = due_soon(&ctx, 10).await;
    assert_eq!(
        batches.iter().map(Vec::len).collect::<Vec<_>>(),
        [10, 10, 7]
    );
    let all: Vec<Todo> = batches.concat();
    assert_eq!(all.iter().map(|t| t.id).collect::<HashSet<_>>(), expected);
    let users: Vec<&str> = all.iter().map(|t| t.user_id.as_str()).collect();
    let mut sorted = users.clone();
    sorted.sort_unstable();
    assert_eq!(users, sorted, "grouped by user, so one digest per user");
}

async fn overdue_notices_are_once_per_due_date(ctx: Ctx) {
    let alice = user("alice");
    let late = ctx
        .todo_with(&alice, "late", |n| {
            n.due_date = Some(T0 - Duration::hours(1))
        })
        .await;
    ctx.todo_with(&alice, "future", |n| {
        n.due_date = Some(T0 + Duration::hours(1))
    })
    .await;
    let archived = ctx
        .todo_with(&alice, "archived", |n| {
            n.due_date = Some(T0 - Duration::days(3))
        })
        .await;
    let archive = TodoPatch {
        status: Some(TodoStatus::Archived),
        ..Default::default()
    };
    ctx.services
        .todos
        .update(&alice, archived.id, archive)
        .await
        .unwrap();

    let found = overdue(&ctx, 1).await;
    assert_eq!(found.iter().map(|t| t.id).collect::<Vec<_>>(), [late.id]);
    let jobs = &ctx.services.jobs;
    let alice = user("alice");
    let keys = due_keys(&found);
    let claimed = jobs
        .claim_todo_notifications(TodoNotificationKind::Overdue, &alice, &keys, "overdue-1")
        .await
        .unwrap();
    assert_eq!(ids(&claimed), [late.id]);
    assert!(overdue(&ctx, 1).await.is_empty());
    // A reminder claim is separate from an overdue claim.
    let claimed = jobs
        .claim_todo_notifications(TodoNotificationKind::DueReminder, &alice, &keys, "rem-1")
        .await
        .unwrap();
    assert_eq!(ids(&claimed), [late.id]);
    ctx.clock.advance(Duration::hours(2));
    let found = overdue(&ctx, 1).await;
    assert_eq!(found.len(), 1, "the todo that became overdue meanwhile");
    assert_eq!(found[0].title, "future");
}

async fn weekly_statistics_count_the_week(ctx: Ctx) {
    let alice = user("alice");
    let week_start = T0 - Duration::days(7);
    // Created before the week, completed within it.
    ctx.clock.set(week_start - Duration::days(1));
    let old = ctx.todo(&alice, "old").await;
    ctx.clock.set(week_start + Duration::days(1));
    let complete = TodoPatch {
        status: Some(TodoStatus::Completed),
        ..Default::default()
    };
    ctx.services
        .todos
        .update(&alice, old.id, complete.clone())
        .await
        .unwrap();
    let fresh = ctx.todo(&alice, "fresh").await;
    ctx.services
        .todos
        .update(&alice, fresh.id, complete)
        .await
        .unwrap();
    let active = ctx
        .todo_with(&alice, "overdue", |n| {
            n.due_date = Some(T0 - Duration::days(2))
        })
        .await;
    let activate = TodoPatch {
        status: Some(TodoStatus::Active),
        ..Default::default()
    };
    ctx.services
        .todos
        .update(&alice, active.id, activate)
        .await
        .unwrap();
    ctx.clock.set(T0);
    ctx.todo(&alice, "after the week").await;
    ctx.todo(&user("bob"), "bob's").await;

    let stats = ctx
        .services
        .jobs
        .weekly_stats(&alice, week_start, 10)
        .await
        .unwrap();
    assert_eq!(stats.to, T0);
    assert_eq!(
        (stats.created, stats.completed, stats.active, stats.overdue),
        (2, 2, 1, 1)
    );
    let completed: Vec<&str> = stats
        .completed_todos
        .iter()
        .map(|t| t.title.as_str())
        .collect();
    assert_eq!(completed.len(), 2);
    assert!(completed.contains(&"old") && completed.contains(&"fresh"));
    assert_eq!(
        stats
            .overdue_todos
            .iter()
            .map(|t| t.title.as_str())
            .collect::<Vec<_>>(),
        ["overdue"]
    );

    let limited = ctx
        .services
        .jobs
        .weekly_stats(&alice, week_start, 1)
        .await
        .unwrap();
    assert_eq!((limited.completed, limited.completed_todos.len()), (2, 1));
}

async fn a_weekly_report_is_recorded_once_per_week(ctx: Ctx) {
    let alice = user("alice");
    let jobs = &ctx.services.jobs;
    let week =
        |at| tasker_core::service::JobService::<tasker_core::store::AnyStore>::week_period(at);
    let this_week = week(T0);
    assert_eq!(week(T0 + Duration::days(2)), this_week, "same ISO week");
    assert_ne!(week(T0 + Duration::days(7)), this_week, "next week");
    assert!(
        jobs.claim_user_notification(&alice, "weekly_report", &this_week)
            .await
            .unwrap()
    );
    assert!(
        jobs.claim_user_notification(&alice, "weekly_report", &this_week)
            .await
            .unwrap(),
        "claimed but not delivered: a retry sends it"
    );
    jobs.mark_user_notification_delivered(&alice, "weekly_report", &this_week)
        .await
        .unwrap();
    assert!(
        !jobs
            .claim_user_notification(&alice, "weekly_report", &this_week)
            .await
            .unwrap(),
        "delivered once"
    );
    let next = week(T0 + Duration::days(7));
    assert!(
        jobs.claim_user_notification(&alice, "weekly_report", &next)
            .await
            .unwrap()
    );
    assert!(
        jobs.claim_user_notification(&user("bob"), "weekly_report", &this_week)
            .await
            .unwrap()
    );
}

async fn users_are_remembered_with_their_contact(ctx: Ctx) {
    let alice = user("alice");
    let jobs = &ctx.services.jobs;
    assert!(jobs.known_user(&alice).await.unwrap().is_none());
    assert!(
        jobs.remember_user(&alice, None, None).await.unwrap(),
        "first time"
    );
    assert!(
        !jobs
            .remember_user(&alice, Some(" a@example.com "), Some("Alice"))
            .await
            .unwrap()
    );
    ctx.clock.advance(Duration::hours(1));
    // An absent or empty value keeps the stored one.
    assert!(!jobs.remember_user(&alice, Some(""), None).await.unwrap());
    let known = jobs.known_user(&alice).await.unwrap().unwrap();
    assert_eq!(known.email.as_deref(), Some("a@example.com"));
    assert_eq!(known.name.as_deref(), Some("Alice"));
    assert_eq!(known.first_seen_at, T0);
    assert!(jobs.known_user(&user("bob")).await.unwrap().is_none());
}

async fn job_runs_are_counted_and_failures_listed(ctx: Ctx) {
    use tasker_core::model::{JobRun, JobRunStatus};
    let jobs = &ctx.services.jobs;
    let run = |id: &str, queue: &str, status, attempts, error: Option<&str>| JobRun {
        job_id: id.into(),
        queue: queue.into(),
        kind: "noop".into(),
        status,
        attempts,
        last_error: error.map(Into::into),
        started_at: T0,
        finished_at: matches!(status, JobRunStatus::Done | JobRunStatus::Failed)
            .then_some(T0 + Duration::seconds(1)),
    };
    jobs.record_job_run(&run("a", "default", JobRunStatus::Running, 1, None))
        .await
        .unwrap();
    jobs.record_job_run(&run(
        "a",
        "default",
        JobRunStatus::Retrying,
        1,
        Some("smtp down"),
    ))
    .await
    .unwrap();
    // A later record without an error keeps the last one.
    jobs.record_job_run(&run("a", "default", JobRunStatus::Failed, 3, None))
        .await
        .unwrap();
    jobs.record_job_run(&run("b", "default", JobRunStatus::Done, 1, None))
        .await
        .unwrap();
    jobs.record_job_run(&run("c", "critical", JobRunStatus::Done, 2, None))
        .await
        .unwrap();
    jobs.record_job_run(&run("d", "low", JobRunStatus::Running, 1, None))
        .await
        .unwrap();

    let counts = jobs.job_run_counts().await.unwrap();
    let by = |q: &str| counts.iter().find(|c| c.queue == q).cloned().unwrap();
    let default = by("default");
    assert_eq!(
        (
            default.running,
            default.done,
            default.failed,
            default.retried
        ),
        (0, 1, 1, 1)
    );
    assert_eq!((by("critical").done, by("critical").retried), (1, 1));
    assert_eq!(by("low").running, 1);

    let failed = jobs.failed_job_runs(10).await.unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].job_id, "a");
    assert_eq!(failed[0].attempts, 3);
    assert_eq!(failed[0].last_error.as_deref(), Some("smtp down"));

    ctx.clock.advance(Duration::days(8));
    assert_eq!(jobs.prune_job_runs(Duration::days(7)).await.unwrap(), 3);
    let left = jobs.job_run_counts().await.unwrap();
    assert_eq!(
        left.iter().map(|c| c.running).sum::<u64>(),
        1,
        "running runs are kept"
    );
}

async fn download_keys_in_use_are_found(ctx: Ctx) {
    let alice = user("alice");
    let todo = ctx.todo(&alice, "with file").await;
    let file = tasker_core::model::NewAttachment {
        name: tasker_core::domain::AttachmentName::parse("a.txt").unwrap(),
        mime_type: Some("text/plain".into()),
        content: bytes::Bytes::from_static(b"data"),
    };
    let stored = ctx
        .services
        .attachments
        .upload(&alice, todo.id, file)
        .await
        .unwrap();
    let mut keys: Vec<String> = (0..450).map(|i| format!("gone/{i}")).collect();
    keys.insert(300, stored.download_key.clone());
    let found = ctx
        .services
        .jobs
        .existing_download_keys(&keys)
        .await
        .unwrap();
    assert_eq!(found, [stored.download_key]);
}

fn due_keys(todos: &[Todo]) -> Vec<(uuid::Uuid, time::OffsetDateTime)> {
    todos
        .iter()
        .map(|t| (t.id, t.due_date.expect("a due date")))
        .collect()
}

fn ids(todos: &[Todo]) -> Vec<uuid::Uuid> {
    todos.iter().map(|t| t.id).collect()
}

async fn auto_archive_processes_every_batch(ctx: Ctx) {
    let alice = user("alice");
    let complete = TodoPatch {
        status: Some(TodoStatus::Completed),
        ..Default::default()
    };
    ctx.clock.set(T0 - Duration::days(40));
    let mut old = Vec::new();
    for i in 0..25 {
        let t = ctx.todo(&alice, &format!("old {i}")).await;
        ctx.services
            .todos
            .update(&alice, t.id, complete.clone())
            .await
            .unwrap();
        old.push(t.id);
    }
    ctx.clock.set(T0 - Duration::days(10));
    let recent = ctx.todo(&alice, "recent").await;
    ctx.services
        .todos
        .update(&alice, recent.id, complete)
        .await
        .unwrap();
    let open = ctx.todo(&alice, "open").await;
    ctx.clock.set(T0);

    let archived = ctx
        .services
        .jobs
        .archive_completed(Duration::days(30), 10)
        .await
        .unwrap();
    assert_eq!(archived, 25);
    for id in old {
        let t = ctx.services.todos.get(&alice, id).await.unwrap().todo;
        assert_eq!(
            (t.status, t.completed_at, t.updated_at),
            (TodoStatus::Archived, None, T0)
        );
    }
    let recent = ctx
        .services
        .todos
        .get(&alice, recent.id)
        .await
        .unwrap()
        .todo;
    assert_eq!(recent.status, TodoStatus::Completed);
    assert_eq!(
        ctx.services
            .todos
            .get(&alice, open.id)
            .await
            .unwrap()
            .todo
            .status,
        TodoStatus::Draft
    );
    assert_eq!(
        ctx.services
            .jobs
            .archive_completed(Duration::days(30), 10)
            .await
            .unwrap(),
        0
    );
}

async fn users_are_listed_in_batches(ctx: Ctx) {
    let mut expected = Vec::new();
    for i in 0..7 {
        let u = user(&format!("user_{i}"));
        ctx.todo(&u, "one").await;
        ctx.todo(&u, "two").await;
        expected.push(u);
    }
    let mut seen: Vec<UserId> = Vec::new();
    let mut calls = 0;
    let mut scan = ctx.services.jobs.users(3);
    while let Some(users) = scan.next_batch().await.unwrap() {
        seen.extend(users);
        calls += 1;
    }
    let total = scan.seen();
    assert_eq!(total, 7);
    assert_eq!(calls, 3);
    assert_eq!(seen, expected);
}
