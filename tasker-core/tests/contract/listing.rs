//! Listing todos: paging arithmetic, every filter and sort, literal search,
//! and a fixed number of statements per page.

use std::collections::HashSet;

use bytes::Bytes;
use tasker_core::{
    domain::{AttachmentName, TodoDescription, TodoPriority, TodoStatus, UserId},
    model::{NewAttachment, Page, PopulatedTodo, TodoPatch},
    query::{TodoListParams, TodoQuery},
};
use time::Duration;

use crate::support::{Ctx, T0, contract, user};

contract!(
    pages_count_and_stop_at_the_end,
    ties_break_by_id_so_pages_never_repeat_or_skip,
    roots_by_default_and_subtasks_by_parent,
    every_filter_narrows_the_list,
    priority_and_status_sort_by_meaning,
    todos_without_due_date_sort_last_both_ways,
    title_sort_ignores_case,
    search_matches_literally_and_ignores_case,
    search_ignores_case_beyond_ascii,
    a_plain_due_to_date_includes_that_whole_day,
    a_page_costs_the_same_statements_whatever_its_size,
    cursor_pages_match_offset_pages_in_every_sort,
    cursor_requests_are_checked,
);

/// Every sort key of the list.
const SORTS: [&str; 6] = [
    "created_at",
    "updated_at",
    "title",
    "priority",
    "status",
    "due_date",
];

fn query(params: TodoListParams) -> TodoQuery {
    TodoQuery::try_from(params).expect("valid query")
}

async fn list(ctx: &Ctx, who: &UserId, params: TodoListParams) -> Page<PopulatedTodo> {
    ctx.services
        .todos
        .list(who, &query(params))
        .await
        .expect("list")
}

fn titles(page: &Page<PopulatedTodo>) -> Vec<&str> {
    page.data.iter().map(|t| t.todo.title.as_str()).collect()
}

fn params() -> TodoListParams {
    TodoListParams::default()
}

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

async fn search_matches_literally_and_ignores_case(ctx: Ctx) {
    let alice = user("alice");
    for (title, description) in [
        ("100% done", None),
        ("1000 done", None),
        ("snake_case", None),
        ("snakeXcase", None),
        ("O'Reilly book", None),
        ("Plain", Some("with a BACK\\slash")),
        ("Shopping", Some("Buy MILK")),
    ] {
        ctx.todo_with(&alice, title, |n| {
            n.description = description.map(|d| TodoDescription::parse(d).unwrap());
        })
        .await;
    }
    ctx.todo(&user("bob"), "milk for bob").await;
    let search = |term: &str| TodoListParams {
        search: Some(term.into()),
        ..params()
    };
    for (term, expected) in [
        ("%", vec!["100% done"]),
        ("0%", vec!["100% done"]),
        ("_", vec!["snake_case"]),
        ("'", vec!["O'Reilly book"]),
        ("'; DROP TABLE todos; --", vec![]),
        ("\\", vec!["Plain"]),
        ("milk", vec!["Shopping"]),
        ("SNAKE", vec!["snakeXcase", "snake_case"]),
    ] {
        assert_eq!(
            titles(&list(&ctx, &alice, search(term)).await),
            expected,
            "{term:?}"
        );
    }
    assert_eq!(
        list(&ctx, &alice, params()).await.total,
        7,
        "the table survived"
    );
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

async fn search_ignores_case_beyond_ascii(ctx: Ctx) {
    let alice = user("alice");
    ctx.todo(&alice, "CAFÉ au lait").await;
    ctx.todo_with(&alice, "Groceries", |n| {
        n.description = Some(TodoDescription::parse("ÄPFEL und Straße").unwrap());
    })
    .await;
    ctx.todo(&alice, "cafe without accent").await;
    let search = |term: &str| TodoListParams {
        search: Some(term.into()),
        ..params()
    };
    for (term, expected) in [
        ("café", vec!["CAFÉ au lait"]),
        ("äpfel", vec!["Groceries"]),
        ("STRASSE", vec![]),
        ("straße", vec!["Groceries"]),
        ("CAFE", vec!["cafe without accent"]),
    ] {
        assert_eq!(
            titles(&list(&ctx, &alice, search(term)).await),
            expected,
            "{term:?}"
        );
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
