//! Filters: roots by default, subtasks by parent, every filter alone and combined, due dates.

use tasker_core::{
    domain::{TodoPriority, TodoStatus},
    model::TodoPatch,
    query::TodoListParams,
};
use time::Duration;

use super::{list, params, titles};
use crate::support::{Ctx, T0, contract, user};

contract!(
    roots_by_default_and_subtasks_by_parent,
    every_filter_narrows_the_list,
    a_plain_due_to_date_includes_that_whole_day,
);

async fn roots_by_default_and_subtasks_by_parent(ctx: Ctx) {
    let alice = user("alice");
    let parent = ctx.todo(&alice, "Parent").await;
    ctx.subtask(&alice, &parent, "Child A").await;
    ctx.subtask(&alice, &parent, "Child B").await;
    ctx.todo(&alice, "Loner").await;

    let roots = list(&ctx, &alice, params()).await;
    assert_eq!(roots.total, 2);
    let parent_row = roots.data.iter().find(|t| t.todo.id == parent.id).unwrap();
    assert_eq!(parent_row.children.len(), 2);

    let children = list(
        &ctx,
        &alice,
        TodoListParams {
            parent_todo_id: Some(parent.id.to_string()),
            sort: Some("title".into()),
            order: Some("asc".into()),
            ..params()
        },
    )
    .await;
    assert_eq!(titles(&children), ["Child A", "Child B"]);
}

async fn every_filter_narrows_the_list(ctx: Ctx) {
    let alice = user("alice");
    let work = ctx.category(&alice, "Work").await;
    let set = |s| TodoPatch {
        status: Some(s),
        ..Default::default()
    };
    let late = ctx
        .todo_with(&alice, "late", |n| {
            n.due_date = Some(T0 - Duration::days(1))
        })
        .await;
    let soon = ctx
        .todo_with(&alice, "soon", |n| {
            n.due_date = Some(T0 + Duration::days(1));
            n.priority = TodoPriority::High;
            n.category_id = Some(work.id);
        })
        .await;
    let later = ctx
        .todo_with(&alice, "later", |n| {
            n.due_date = Some(T0 + Duration::days(10))
        })
        .await;
    let done = ctx
        .todo_with(&alice, "done late", |n| {
            n.due_date = Some(T0 - Duration::days(2))
        })
        .await;
    ctx.services
        .todos
        .update(&alice, done.id, set(TodoStatus::Completed))
        .await
        .unwrap();
    ctx.services
        .todos
        .update(&alice, later.id, set(TodoStatus::Active))
        .await
        .unwrap();
    ctx.todo(&alice, "undated").await;
    let _ = (late, soon);

    let cases: Vec<(TodoListParams, Vec<&str>)> = vec![
        (
            TodoListParams {
                status: Some("active".into()),
                ..params()
            },
            vec!["later"],
        ),
        (
            TodoListParams {
                status: Some("completed".into()),
                ..params()
            },
            vec!["done late"],
        ),
        (
            TodoListParams {
                priority: Some("high".into()),
                ..params()
            },
            vec!["soon"],
        ),
        (
            TodoListParams {
                category_id: Some(work.id.to_string()),
                ..params()
            },
            vec!["soon"],
        ),
        (
            TodoListParams {
                due_from: Some("2026-11-23".into()),
                due_to: Some("2026-11-30".into()),
                ..params()
            },
            vec!["soon"],
        ),
        (
            TodoListParams {
                due_to: Some("2026-11-23T00:00:00Z".into()),
                ..params()
            },
            vec!["late", "done late"],
        ),
        (
            TodoListParams {
                overdue: Some("true".into()),
                ..params()
            },
            vec!["late"],
        ),
        (
            TodoListParams {
                overdue: Some("false".into()),
                ..params()
            },
            vec!["soon", "later", "done late", "undated"],
        ),
        (
            TodoListParams {
                completed: Some("true".into()),
                ..params()
            },
            vec!["done late"],
        ),
        (
            TodoListParams {
                completed: Some("false".into()),
                ..params()
            },
            vec!["late", "soon", "later", "undated"],
        ),
        (
            TodoListParams {
                status: Some("draft".into()),
                overdue: Some("false".into()),
                ..params()
            },
            vec!["soon", "undated"],
        ),
    ];
    for (p, expected) in cases {
        let label = format!("{p:?}");
        let p = TodoListParams {
            sort: Some("created_at".into()),
            order: Some("asc".into()),
            ..p
        };
        let page = list(&ctx, &alice, p).await;
        assert_eq!(titles(&page), expected, "{label}");
        assert_eq!(page.total, expected.len() as u64, "{label}");
    }
}

async fn a_plain_due_to_date_includes_that_whole_day(ctx: Ctx) {
    let alice = user("alice");
    let day_end = time::macros::datetime!(2026-11-30 23:30 UTC);
    ctx.todo_with(&alice, "late on the 30th", |n| n.due_date = Some(day_end))
        .await;
    ctx.todo_with(&alice, "on the 1st", |n| {
        n.due_date = Some(day_end + Duration::hours(1))
    })
    .await;
    let until = TodoListParams {
        due_from: Some("2026-11-30".into()),
        due_to: Some("2026-11-30".into()),
        ..params()
    };
    assert_eq!(
        titles(&list(&ctx, &alice, until).await),
        ["late on the 30th"]
    );
}
