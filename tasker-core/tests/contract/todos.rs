//! Todo rules: defaults, subtasks, completedAt, partial updates, deletes.

use bytes::Bytes;
use serde_json::json;
use tasker_core::{
    Resource,
    domain::{AttachmentName, TodoDescription, TodoMetadata, TodoPriority, TodoStatus, TodoTitle},
    model::{NewAttachment, Nullable, TodoPatch, UpdateTodo},
    store::NotificationStore,
};
use time::{Duration, macros::datetime};

use crate::support::{Ctx, T0, assert_invalid, assert_not_found, contract, user};

contract!(
    creating_a_todo_applies_defaults_and_increasing_sort_order,
    every_field_reads_back_as_written,
    a_subtask_cannot_have_subtasks,
    a_parent_or_category_of_another_user_is_not_found,
    a_todo_with_subtasks_cannot_become_a_subtask,
    a_todo_cannot_be_its_own_parent,
    completing_sets_completed_at_and_any_other_status_clears_it,
    patch_keeps_absent_fields_and_clears_null_ones,
    an_update_without_fields_is_refused,
    deleting_a_todo_removes_subtasks_comments_and_attachments,
    a_populated_todo_lists_each_child_comment_and_attachment_once,
    stats_count_each_status_and_overdue,
);

async fn creating_a_todo_applies_defaults_and_increasing_sort_order(ctx: Ctx) {
    let alice = user("alice");
    let first = ctx.todo(&alice, "First").await;
    let second = ctx.todo(&alice, "Second").await;
    assert_eq!(first.status, TodoStatus::Draft);
    assert_eq!(first.priority, TodoPriority::Medium);
    assert_eq!(first.completed_at, None);
    assert_eq!(first.metadata, None);
    assert_eq!(first.created_at, T0);
    assert_eq!(first.updated_at, T0);
    assert_eq!(first.user_id, alice);
    assert_eq!(first.id.get_version_num(), 7);
    assert!(
        second.sort_order > first.sort_order,
        "{} then {}",
        first.sort_order,
        second.sort_order
    );
}

async fn every_field_reads_back_as_written(ctx: Ctx) {
    let alice = user("alice");
    let category = ctx.category(&alice, "Work").await;
    let due = datetime!(2026-12-01 17:30:15.123456 UTC);
    let metadata = TodoMetadata::from_json(
        "metadata",
        &json!({"tags": ["q4", "ünïcode"], "reminder": "1h before", "color": "#abc", "difficulty": 2.5}),
    )
    .unwrap();
    let created = ctx
        .todo_with(&alice, "Quarterly report — “draft”", |n| {
            n.description = Some(TodoDescription::parse("Line 1\nLine 2 'quoted' %_").unwrap());
            n.priority = TodoPriority::High;
            n.due_date = Some(due);
            n.category_id = Some(category.id);
            n.metadata = Some(metadata.clone());
        })
        .await;
    let read = ctx.services.todos.get(&alice, created.id).await.unwrap();
    assert_eq!(read.todo, created);
    assert_eq!(read.todo.title, "Quarterly report — “draft”");
    assert_eq!(
        read.todo.description.as_deref(),
        Some("Line 1\nLine 2 'quoted' %_")
    );
    assert_eq!(read.todo.due_date, Some(due));
    assert_eq!(read.todo.metadata, Some(metadata));
    assert_eq!(read.category, Some(category));
    assert!(read.children.is_empty() && read.comments.is_empty() && read.attachments.is_empty());
}

async fn a_subtask_cannot_have_subtasks(ctx: Ctx) {
    let alice = user("alice");
    let root = ctx.todo(&alice, "Root").await;
    let child = ctx.subtask(&alice, &root, "Child").await;
    assert_eq!(child.parent_todo_id, Some(root.id));

    let mut grandchild = tasker_core::model::NewTodo::new(TodoTitle::parse("Grandchild").unwrap());
    grandchild.parent_todo_id = Some(child.id);
    assert_invalid(
        ctx.services.todos.create(&alice, grandchild).await,
        "parentTodoId",
    );

    let other = ctx.todo(&alice, "Other").await;
    let patch = TodoPatch {
        parent_todo_id: Some(Some(child.id)),
        ..Default::default()
    };
    assert_invalid(
        ctx.services.todos.update(&alice, other.id, patch).await,
        "parentTodoId",
    );
    assert_eq!(
        ctx.services
            .todos
            .get(&alice, other.id)
            .await
            .unwrap()
            .todo
            .parent_todo_id,
        None
    );
}

async fn a_parent_or_category_of_another_user_is_not_found(ctx: Ctx) {
    let (alice, bob) = (user("alice"), user("bob"));
    let bobs_todo = ctx.todo(&bob, "Bob's").await;
    let bobs_category = ctx.category(&bob, "Bob's").await;

    let mut new = tasker_core::model::NewTodo::new(TodoTitle::parse("Sneaky").unwrap());
    new.parent_todo_id = Some(bobs_todo.id);
    assert_not_found(
        ctx.services.todos.create(&alice, new).await,
        Resource::ParentTodo,
    );

    let mut new = tasker_core::model::NewTodo::new(TodoTitle::parse("Sneaky").unwrap());
    new.category_id = Some(bobs_category.id);
    assert_not_found(
        ctx.services.todos.create(&alice, new).await,
        Resource::Category,
    );

    let mut new = tasker_core::model::NewTodo::new(TodoTitle::parse("Ghost").unwrap());
    new.category_id = Some(uuid::Uuid::now_v7());
    assert_not_found(
        ctx.services.todos.create(&alice, new).await,
        Resource::Category,
    );

    let mine = ctx.todo(&alice, "Mine").await;
    let patch = TodoPatch {
        parent_todo_id: Some(Some(bobs_todo.id)),
        ..Default::default()
    };
    assert_not_found(
        ctx.services.todos.update(&alice, mine.id, patch).await,
        Resource::ParentTodo,
    );
    let patch = TodoPatch {
        category_id: Some(Some(bobs_category.id)),
        ..Default::default()
    };
    assert_not_found(
        ctx.services.todos.update(&alice, mine.id, patch).await,
        Resource::Category,
    );
    let after = ctx.services.todos.get(&alice, mine.id).await.unwrap().todo;
    assert_eq!(after, mine, "a refused update changes nothing");
}

async fn a_todo_with_subtasks_cannot_become_a_subtask(ctx: Ctx) {
    let alice = user("alice");
    let parent = ctx.todo(&alice, "Parent").await;
    ctx.subtask(&alice, &parent, "Child").await;
    let other_root = ctx.todo(&alice, "Other root").await;
    let patch = TodoPatch {
        parent_todo_id: Some(Some(other_root.id)),
        ..Default::default()
    };
    assert_invalid(
        ctx.services.todos.update(&alice, parent.id, patch).await,
        "parentTodoId",
    );
}

async fn a_todo_cannot_be_its_own_parent(ctx: Ctx) {
    let alice = user("alice");
    let todo = ctx.todo(&alice, "Loop").await;
    let patch = TodoPatch {
        parent_todo_id: Some(Some(todo.id)),
        ..Default::default()
    };
    assert_invalid(
        ctx.services.todos.update(&alice, todo.id, patch).await,
        "parentTodoId",
    );
}

async fn completing_sets_completed_at_and_any_other_status_clears_it(ctx: Ctx) {
    let alice = user("alice");
    let todo = ctx.todo(&alice, "Finish me").await;
    let status = |s| TodoPatch {
        status: Some(s),
        ..Default::default()
    };
    ctx.clock.advance(Duration::hours(1));
    let done = ctx
        .services
        .todos
        .update(&alice, todo.id, status(TodoStatus::Completed))
        .await
        .unwrap();
    assert_eq!(done.status, TodoStatus::Completed);
    assert_eq!(done.completed_at, Some(T0 + Duration::hours(1)));
    assert_eq!(done.updated_at, T0 + Duration::hours(1));

    ctx.clock.advance(Duration::hours(1));
    let again = ctx
        .services
        .todos
        .update(&alice, todo.id, status(TodoStatus::Completed))
        .await
        .unwrap();
    assert_eq!(
        again.completed_at, done.completed_at,
        "completing twice keeps the first instant"
    );

    for other in [TodoStatus::Active, TodoStatus::Draft, TodoStatus::Archived] {
        let t = ctx
            .services
            .todos
            .update(&alice, todo.id, status(other))
            .await
            .unwrap();
        assert_eq!((t.status, t.completed_at), (other, None));
    }
}

async fn patch_keeps_absent_fields_and_clears_null_ones(ctx: Ctx) {
    let alice = user("alice");
    let category = ctx.category(&alice, "Home").await;
    let todo = ctx
        .todo_with(&alice, "Full", |n| {
            n.description = Some(TodoDescription::parse("desc").unwrap());
            n.due_date = Some(T0 + Duration::days(1));
            n.category_id = Some(category.id);
            n.metadata =
                Some(TodoMetadata::from_json("metadata", &json!({"tags": ["x"]})).unwrap());
        })
        .await;

    let only_title: UpdateTodo = serde_json::from_value(json!({"title": "Renamed"})).unwrap();
    let renamed = ctx
        .services
        .todos
        .update(&alice, todo.id, TodoPatch::try_from(only_title).unwrap())
        .await
        .unwrap();
    assert_eq!(renamed.title, "Renamed");
    assert_eq!(
        (
            renamed.description.clone(),
            renamed.due_date,
            renamed.category_id,
            renamed.metadata.clone()
        ),
        (
            todo.description.clone(),
            todo.due_date,
            todo.category_id,
            todo.metadata.clone()
        )
    );

    let clear = UpdateTodo {
        description: Nullable::Null,
        due_date: Nullable::Null,
        category_id: Nullable::Null,
        metadata: Nullable::Null,
        ..Default::default()
    };
    let cleared = ctx
        .services
        .todos
        .update(&alice, todo.id, TodoPatch::try_from(clear).unwrap())
        .await
        .unwrap();
    assert_eq!(cleared.title, "Renamed");
    assert_eq!(cleared.description, None);
    assert_eq!(cleared.due_date, None);
    assert_eq!(cleared.category_id, None);
    assert_eq!(cleared.metadata, None);
    assert_eq!(
        ctx.services.todos.get(&alice, todo.id).await.unwrap().todo,
        cleared
    );
}

async fn an_update_without_fields_is_refused(ctx: Ctx) {
    let alice = user("alice");
    let todo = ctx.todo(&alice, "Same").await;
    assert_invalid(
        ctx.services
            .todos
            .update(&alice, todo.id, TodoPatch::default())
            .await,
        "body",
    );
    assert!(
        TodoPatch::try_from(UpdateTodo::default())
            .unwrap_err()
            .has("body")
    );
}

async fn deleting_a_todo_removes_subtasks_comments_and_attachments(ctx: Ctx) {
    let alice = user("alice");
    let parent = ctx.todo(&alice, "Parent").await;
    let child = ctx.subtask(&alice, &parent, "Child").await;
    let keep = ctx.todo(&alice, "Keep").await;
    ctx.comment(&alice, &parent, "on parent").await;
    ctx.comment(&alice, &child, "on child").await;
    let kept_comment = ctx.comment(&alice, &keep, "on keep").await;
    let file = |name: &str| NewAttachment {
        name: AttachmentName::parse(name).unwrap(),
        mime_type: Some("text/plain".into()),
        content: Bytes::from_static(b"data"),
    };
    let on_parent = ctx
        .services
        .attachments
        .upload(&alice, parent.id, file("p.txt"))
        .await
        .unwrap();
    let on_child = ctx
        .services
        .attachments
        .upload(&alice, child.id, file("c.txt"))
        .await
        .unwrap();
    let on_keep = ctx
        .services
        .attachments
        .upload(&alice, keep.id, file("k.txt"))
        .await
        .unwrap();
    // Notifications recorded for the child must not block the delete either.
    let dated = TodoPatch {
        due_date: Some(Some(T0)),
        ..Default::default()
    };
    ctx.services
        .todos
        .update(&alice, child.id, dated)
        .await
        .unwrap();
    let claimed = ctx
        .store
        .claim_todo_notifications(
            tasker_core::store::TodoNotificationKind::Overdue,
            &alice,
            &[(child.id, T0)],
            "claim",
            T0,
        )
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);

    ctx.services.todos.delete(&alice, parent.id).await.unwrap();

    assert_not_found(
        ctx.services.todos.get(&alice, parent.id).await,
        Resource::Todo,
    );
    assert_not_found(
        ctx.services.todos.get(&alice, child.id).await,
        Resource::Todo,
    );
    for gone in [&on_parent, &on_child] {
        assert!(
            ctx.blobs.get(&gone.download_key).await.is_err(),
            "file {} removed",
            gone.download_key
        );
    }
    let kept = ctx.services.todos.get(&alice, keep.id).await.unwrap();
    assert_eq!(kept.comments, vec![kept_comment]);
    assert_eq!(kept.attachments, vec![on_keep.clone()]);
    assert_eq!(
        ctx.blobs.get(&on_keep.download_key).await.unwrap().as_ref(),
        b"data"
    );
    assert_not_found(
        ctx.services.todos.delete(&alice, parent.id).await,
        Resource::Todo,
    );
}

async fn a_populated_todo_lists_each_child_comment_and_attachment_once(ctx: Ctx) {
    let alice = user("alice");
    let parent = ctx.todo(&alice, "Parent").await;
    let children = [
        ctx.subtask(&alice, &parent, "c1").await,
        ctx.subtask(&alice, &parent, "c2").await,
        ctx.subtask(&alice, &parent, "c3").await,
    ];
    let mut comments = Vec::new();
    for i in 0..3 {
        ctx.clock.advance(Duration::seconds(1));
        comments.push(ctx.comment(&alice, &parent, &format!("comment {i}")).await);
    }
    let mut attachments = Vec::new();
    for name in ["a.txt", "b.txt"] {
        ctx.clock.advance(Duration::seconds(1));
        let file = NewAttachment {
            name: AttachmentName::parse(name).unwrap(),
            mime_type: None,
            content: Bytes::from_static(b"x"),
        };
        let attachment = ctx.services.attachments.upload(&alice, parent.id, file);
        attachments.push(attachment.await.unwrap());
    }
    attachments.reverse();

    let populated = ctx.services.todos.get(&alice, parent.id).await.unwrap();
    assert_eq!(
        populated.children,
        children.to_vec(),
        "children once each, in sort order"
    );
    assert_eq!(
        populated.comments, comments,
        "comments once each, oldest first"
    );
    assert_eq!(
        populated.attachments, attachments,
        "attachments once each, newest first (as the Go service listed them)"
    );
}

async fn stats_count_each_status_and_overdue(ctx: Ctx) {
    let alice = user("alice");
    let set = |s| TodoPatch {
        status: Some(s),
        ..Default::default()
    };
    let past = Some(T0 - Duration::hours(1));
    let overdue_draft = ctx
        .todo_with(&alice, "late draft", |n| n.due_date = past)
        .await;
    let overdue_active = ctx
        .todo_with(&alice, "late active", |n| n.due_date = past)
        .await;
    ctx.services
        .todos
        .update(&alice, overdue_active.id, set(TodoStatus::Active))
        .await
        .unwrap();
    let late_but_done = ctx
        .todo_with(&alice, "late done", |n| n.due_date = past)
        .await;
    ctx.services
        .todos
        .update(&alice, late_but_done.id, set(TodoStatus::Completed))
        .await
        .unwrap();
    let archived = ctx
        .todo_with(&alice, "late archived", |n| n.due_date = past)
        .await;
    ctx.services
        .todos
        .update(&alice, archived.id, set(TodoStatus::Archived))
        .await
        .unwrap();
    ctx.todo_with(&alice, "future", |n| {
        n.due_date = Some(T0 + Duration::hours(1))
    })
    .await;
    ctx.subtask(&alice, &overdue_draft, "child").await;
    ctx.todo(&user("bob"), "not alice's").await;

    let stats = ctx.services.todos.stats(&alice).await.unwrap();
    assert_eq!(
        (
            stats.total,
            stats.draft,
            stats.active,
            stats.completed,
            stats.archived,
            stats.overdue
        ),
        (6, 3, 1, 1, 1, 2)
    );
    ctx.clock.advance(Duration::hours(2));
    assert_eq!(ctx.services.todos.stats(&alice).await.unwrap().overdue, 3);
}
