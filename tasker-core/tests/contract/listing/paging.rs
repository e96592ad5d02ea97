//! Numbered pages: the arithmetic, ties broken by id, and a fixed statement count per page.

use std::collections::HashSet;

use bytes::Bytes;
use tasker_core::{domain::AttachmentName, model::NewAttachment, query::TodoListParams};
use time::Duration;

use super::{SORTS, list, params, titles};
use crate::support::{Ctx, contract, user};

contract!(
    pages_count_and_stop_at_the_end,
    ties_break_by_id_so_pages_never_repeat_or_skip,
    a_page_costs_the_same_statements_whatever_its_size,
);

async fn pages_count_and_stop_at_the_end(ctx: Ctx) {
    let alice = user("alice");
    for i in 0..25 {
        ctx.todo(&alice, &format!("t{i:02}")).await;
        ctx.clock.advance(Duration::seconds(1));
    }
    let page = |n: &str| TodoListParams {
        page: Some(n.into()),
        limit: Some("10".into()),
        ..params()
    };
    let first = list(&ctx, &alice, page("1")).await;
    assert_eq!(
        (first.page, first.limit, first.total, first.total_pages),
        (1, 10, 25, 3)
    );
    assert_eq!(titles(&first)[0], "t24", "newest first by default");
    assert_eq!(list(&ctx, &alice, page("2")).await.data.len(), 10);
    let last = list(&ctx, &alice, page("3")).await;
    assert_eq!(last.data.len(), 5);
    assert_eq!(titles(&last)[4], "t00");
    let past = list(&ctx, &alice, page("4")).await;
    assert!(past.data.is_empty());
    assert_eq!((past.total, past.total_pages, past.page), (25, 3, 4));

    let none = list(&ctx, &user("nobody"), params()).await;
    assert_eq!((none.total, none.total_pages, none.data.len()), (0, 0, 0));
}

async fn ties_break_by_id_so_pages_never_repeat_or_skip(ctx: Ctx) {
    let alice = user("alice");
    // The clock stands still: every todo has the same createdAt and priority.
    let mut all = HashSet::new();
    for _ in 0..23 {
        all.insert(ctx.todo(&alice, "Same title").await.id);
    }
    for sort in SORTS {
        for order in ["asc", "desc"] {
            let mut seen = Vec::new();
            for page in 1..=5 {
                let p = TodoListParams {
                    page: Some(page.to_string()),
                    limit: Some("5".into()),
                    sort: Some(sort.into()),
                    order: Some(order.into()),
                    ..params()
                };
                seen.extend(
                    list(&ctx, &alice, p)
                        .await
                        .data
                        .into_iter()
                        .map(|t| t.todo.id),
                );
            }
            assert_eq!(seen.len(), 23, "{sort} {order}");
            assert_eq!(
                seen.iter().copied().collect::<HashSet<_>>(),
                all,
                "{sort} {order}"
            );
        }
    }
}

async fn a_page_costs_the_same_statements_whatever_its_size(ctx: Ctx) {
    let alice = user("alice");
    let category = ctx.category(&alice, "Busy").await;
    for i in 0..20 {
        let todo = ctx
            .todo_with(&alice, &format!("todo {i}"), |n| {
                n.category_id = Some(category.id)
            })
            .await;
        for c in 0..2 {
            ctx.subtask(&alice, &todo, &format!("child {c}")).await;
            ctx.comment(&alice, &todo, &format!("comment {c}")).await;
        }
        let file = NewAttachment {
            name: AttachmentName::parse("f.txt").unwrap(),
            mime_type: None,
            content: Bytes::from_static(b"f"),
        };
        ctx.services
            .attachments
            .upload(&alice, todo.id, file)
            .await
            .unwrap();
    }
    let cost = |limit: &'static str| {
        let ctx = &ctx;
        let alice = alice.clone();
        async move {
            let before = ctx.store.statements_executed();
            let page = list(
                ctx,
                &alice,
                TodoListParams {
                    limit: Some(limit.into()),
                    ..params()
                },
            )
            .await;
            (ctx.store.statements_executed() - before, page)
        }
    };
    let (one, small) = cost("1").await;
    let (twenty, full) = cost("20").await;
    assert_eq!(small.data.len(), 1);
    assert_eq!(full.data.len(), 20);
    assert_eq!(one, twenty, "statements for 1 todo vs 20 todos");
    assert!(
        twenty <= 5,
        "a page of 20 populated todos took {twenty} statements"
    );
    eprintln!("statements per populated page of 20: {twenty}");
    for todo in &full.data {
        assert_eq!(todo.children.len(), 2, "each child exactly once");
        assert_eq!(todo.comments.len(), 2, "each comment exactly once");
        assert_eq!(todo.attachments.len(), 1, "each attachment exactly once");
        assert_eq!(todo.category.as_ref().map(|c| c.id), Some(category.id));
        let ids: HashSet<_> = todo.children.iter().map(|c| c.id).collect();
        assert_eq!(ids.len(), 2);
    }
}
