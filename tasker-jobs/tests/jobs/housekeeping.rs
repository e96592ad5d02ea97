//! Auto-archive and the orphaned file sweep, run through the queue.

use std::time::Duration;

use tasker_core::{
    domain::{AttachmentName, TodoStatus},
    model::{NewAttachment, TodoPatch},
};
use tasker_jobs::{Job, Worker};
use time::Duration as TimeDuration;

use crate::{
    delivery::wait_idle,
    support::{Backend, World, both},
};

both!(
    auto_archive_archives_exactly_the_old_completed_todos,
    the_sweep_removes_only_orphaned_files
);

async fn auto_archive_archives_exactly_the_old_completed_todos(backend: Backend) {
    let mut config = crate::support::test_config();
    config.settings.batch_size = 7;
    let w = World::with_config(backend, config).await;
    let ann = w.user("ann").await;
    let done = TodoPatch {
        status: Some(TodoStatus::Completed),
        ..Default::default()
    };
    // 20 completed 31 days ago (several batches of 7), 3 completed 29 days ago, 2 open.
    let mut old = Vec::new();
    for i in 0..20 {
        let id = w
            .todo_due(&ann, &format!("old {i}"), crate::support::T0)
            .await;
        w.services
            .todos
            .update(&ann, id, done.clone())
            .await
            .unwrap();
        old.push(id);
    }
    w.clock.advance(TimeDuration::days(2));
    let mut recent = Vec::new();
    for i in 0..3 {
        let id = w
            .todo_due(&ann, &format!("recent {i}"), crate::support::T0)
            .await;
        w.services
            .todos
            .update(&ann, id, done.clone())
            .await
            .unwrap();
        recent.push(id);
    }
    let open = w.todo_due(&ann, "open", crate::support::T0).await;
    w.clock.advance(TimeDuration::days(29));

    let stop = tasker_jobs::CancellationToken::new();
    let worker = Worker::start(w.context.clone(), stop.clone());
    w.queue.push(Job::AutoArchive).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    wait_idle(&w).await;
    for id in &old {
        let todo = w.services.todos.get(&ann, *id).await.unwrap();
        assert_eq!(todo.todo.status, TodoStatus::Archived);
    }
    for id in &recent {
        let todo = w.services.todos.get(&ann, *id).await.unwrap();
        assert_eq!(todo.todo.status, TodoStatus::Completed);
    }
    let todo = w.services.todos.get(&ann, open).await.unwrap();
    assert_ne!(todo.todo.status, TodoStatus::Archived);
    stop.cancel();
    worker.wait().await;
}

async fn the_sweep_removes_only_orphaned_files(backend: Backend) {
    let w = World::new(backend).await;
    // File times are real: the clock starts at the real "now" here.
    w.clock.set(time::OffsetDateTime::now_utc());
    let ann = w.user("ann").await;
    let todo = w.todo_due(&ann, "with file", crate::support::T0).await;
    let kept = w
        .services
        .attachments
        .upload(
            &ann,
            todo,
            NewAttachment {
                name: AttachmentName::parse("kept.txt").unwrap(),
                mime_type: Some("text/plain".into()),
                content: bytes::Bytes::from_static(b"kept"),
            },
        )
        .await
        .unwrap();
    w.blobs
        .put("orphans/lost.bin", bytes::Bytes::from_static(b"lost"))
        .await
        .unwrap();
    // Files modified within the grace period stay: the clock moves on instead.
    let stop = tasker_jobs::CancellationToken::new();
    let worker = Worker::start(w.context.clone(), stop.clone());
    w.queue.push(Job::SweepOrphanBlobs).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    wait_idle(&w).await;
    assert!(
        w.blobs.get("orphans/lost.bin").await.is_ok(),
        "young files are kept"
    );

    w.clock.advance(TimeDuration::hours(2));
    w.queue.push(Job::SweepOrphanBlobs).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    wait_idle(&w).await;
    assert!(
        w.blobs.get("orphans/lost.bin").await.is_err(),
        "the orphan is gone"
    );
    assert_eq!(
        w.blobs.get(&kept.download_key).await.unwrap(),
        bytes::Bytes::from_static(b"kept")
    );
    stop.cancel();
    worker.wait().await;
}
