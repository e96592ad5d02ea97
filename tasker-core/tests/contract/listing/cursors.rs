//! Cursor pages: the rows of numbered pages in every sort, and refused malformed cursors.

use tasker_core::{
    domain::{TodoPriority, UserId},
    query::{TodoListParams, TodoQuery},
};
use time::Duration;

use super::{SORTS, list, params};
use crate::support::{Ctx, T0, contract, user};

contract!(
    cursor_pages_match_offset_pages_in_every_sort,
    cursor_requests_are_checked,
);

/// Walks a list by `nextCursor` and returns the ids in order, checking the
/// page numbers the cursors carry.
async fn walk_by_cursor(ctx: &Ctx, who: &UserId, base: TodoListParams) -> Vec<uuid::Uuid> {
    let mut ids = Vec::new();
    let mut cursor = None;
    for expected_page in 1.. {
        let page = list(
            ctx,
            who,
            TodoListParams {
                cursor: cursor.clone(),
                ..base.clone()
            },
        )
        .await;
        assert_eq!(page.page, expected_page);
        ids.extend(page.data.iter().map(|t| t.todo.id));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
        assert!(expected_page < 100, "the walk never ends");
    }
    ids
}

async fn cursor_pages_match_offset_pages_in_every_sort(ctx: Ctx) {
    let alice = user("alice");
    // Ties on every key (pairs share a time, title, priority and due date),
    // some todos without a due date, and mixed case in titles.
    for i in 0..17 {
        ctx.todo_with(
            &alice,
            &format!("{} {}", if i % 2 == 0 { "Task" } else { "task" }, i / 2),
            |n| {
                n.priority = [TodoPriority::Low, TodoPriority::High][i % 2];
                n.due_date = (i % 3 != 0).then(|| T0 + Duration::days((i / 4) as i64));
            },
        )
        .await;
        if i % 2 == 1 {
            ctx.clock.advance(Duration::seconds(1));
        }
    }
    ctx.todo(&user("bob"), "not alice's").await;
    for sort in SORTS {
        for order in ["asc", "desc"] {
            let base = TodoListParams {
                limit: Some("4".into()),
                sort: Some(sort.into()),
                order: Some(order.into()),
                ..params()
            };
            let mut by_offset = Vec::new();
            for n in 1..=5 {
                let page = list(
                    &ctx,
                    &alice,
                    TodoListParams {
                        page: Some(n.to_string()),
                        ..base.clone()
                    },
                )
                .await;
                assert_eq!(page.next_cursor.is_some(), n < 5, "{sort} {order} page {n}");
                by_offset.extend(page.data.iter().map(|t| t.todo.id));
            }
            let by_cursor = walk_by_cursor(&ctx, &alice, base.clone()).await;
            assert_eq!(by_cursor.len(), 17, "{sort} {order}");
            assert_eq!(by_cursor, by_offset, "{sort} {order}");
            // The cursor alone carries the sort order.
            let first = list(&ctx, &alice, base.clone()).await;
            let second = list(
                &ctx,
                &alice,
                TodoListParams {
                    cursor: first.next_cursor.clone(),
                    limit: Some("4".into()),
                    ..params()
                },
            )
            .await;
            let ids: Vec<_> = second.data.iter().map(|t| t.todo.id).collect();
            assert_eq!(ids, by_offset[4..8], "{sort} {order} without sort/order");
        }
    }
    // Filters still apply on cursor pages.
    let high = TodoListParams {
        limit: Some("3".into()),
        priority: Some("high".into()),
        ..params()
    };
    let ids = walk_by_cursor(&ctx, &alice, high).await;
    assert_eq!(ids.len(), 8);
}

async fn cursor_requests_are_checked(ctx: Ctx) {
    let alice = user("alice");
    for i in 0..3 {
        ctx.todo(&alice, &format!("t{i}")).await;
    }
    let first = list(
        &ctx,
        &alice,
        TodoListParams {
            limit: Some("1".into()),
            ..params()
        },
    )
    .await;
    let cursor = first.next_cursor.clone().expect("more pages");
    let errors = |p: TodoListParams| TodoQuery::try_from(p).unwrap_err();
    for bad in ["", "x", "MXxjcmVhdGVkX2F0", "%%%", &format!("{cursor}x")] {
        let e = errors(TodoListParams {
            cursor: Some(bad.into()),
            ..params()
        });
        assert!(e.has("cursor"), "{bad:?}: {e:?}");
    }
    let e = errors(TodoListParams {
        cursor: Some(cursor.clone()),
        page: Some("2".into()),
        ..params()
    });
    assert!(e.has("page"), "{e:?}");
    let e = errors(TodoListParams {
        cursor: Some(cursor.clone()),
        sort: Some("title".into()),
        ..params()
    });
    assert!(e.has("cursor"), "{e:?}");
    // A cursor page costs the same statements as a numbered page.
    let before = ctx.store.statements_executed();
    let page = list(
        &ctx,
        &alice,
        TodoListParams {
            cursor: Some(cursor),
            limit: Some("1".into()),
            ..params()
        },
    )
    .await;
    assert!(ctx.store.statements_executed() - before <= 5);
    assert_eq!(page.page, 2);
    assert_eq!(page.total, 3);
    assert_eq!(page.data.len(), 1);
    assert_ne!(page.data[0].todo.id, first.data[0].todo.id);
}
