//! Sorts: priority and status by meaning, undated todos last both ways, titles ignoring case.

use tasker_core::{
    domain::{TodoPriority, TodoStatus},
    model::TodoPatch,
    query::TodoListParams,
};
use time::Duration;

use super::{list, params, titles};
use crate::support::{Ctx, T0, contract, user};

contract!(
    priority_and_status_sort_by_meaning,
    todos_without_due_date_sort_last_both_ways,
    title_sort_ignores_case,
);

async fn priority_and_status_sort_by_meaning(ctx: Ctx) {
    let alice = user("alice");
    for (title, priority) in [
        ("m", TodoPriority::Medium),
        ("h", TodoPriority::High),
        ("l", TodoPriority::Low),
    ] {
        ctx.todo_with(&alice, title, |n| n.priority = priority)
            .await;
    }
    let sorted = |order: &str| TodoListParams {
        sort: Some("priority".into()),
        order: Some(order.into()),
        ..params()
    };
    assert_eq!(
        titles(&list(&ctx, &alice, sorted("desc")).await),
        ["h", "m", "l"]
    );
    assert_eq!(
        titles(&list(&ctx, &alice, sorted("asc")).await),
        ["l", "m", "h"]
    );

    let bob = user("bob");
    for (title, status) in [
        ("archived", TodoStatus::Archived),
        ("draft", TodoStatus::Draft),
        ("completed", TodoStatus::Completed),
        ("active", TodoStatus::Active),
    ] {
        let t = ctx.todo(&bob, title).await;
        if status != TodoStatus::Draft {
            let patch = TodoPatch {
                status: Some(status),
                ..Default::default()
            };
            ctx.services.todos.update(&bob, t.id, patch).await.unwrap();
        }
    }
    let by_status = TodoListParams {
        sort: Some("status".into()),
        order: Some("asc".into()),
        ..params()
    };
    assert_eq!(
        titles(&list(&ctx, &bob, by_status).await),
        ["draft", "active", "completed", "archived"]
    );
}

async fn todos_without_due_date_sort_last_both_ways(ctx: Ctx) {
    let alice = user("alice");
    ctx.todo(&alice, "none").await;
    ctx.todo_with(&alice, "early", |n| {
        n.due_date = Some(T0 + Duration::days(1))
    })
    .await;
    ctx.todo_with(&alice, "late", |n| {
        n.due_date = Some(T0 + Duration::days(2))
    })
    .await;
    let by_due = |order: &str| TodoListParams {
        sort: Some("due_date".into()),
        order: Some(order.into()),
        ..params()
    };
    assert_eq!(
        titles(&list(&ctx, &alice, by_due("asc")).await),
        ["early", "late", "none"]
    );
    assert_eq!(
        titles(&list(&ctx, &alice, by_due("desc")).await),
        ["late", "early", "none"]
    );
}

async fn title_sort_ignores_case(ctx: Ctx) {
    let alice = user("alice");
    for title in ["banana", "Apple", "cherry", "apricot"] {
        ctx.todo(&alice, title).await;
    }
    let by_title = TodoListParams {
        sort: Some("title".into()),
        order: Some("asc".into()),
        ..params()
    };
    assert_eq!(
        titles(&list(&ctx, &alice, by_title).await),
        ["Apple", "apricot", "banana", "cherry"]
    );
}
