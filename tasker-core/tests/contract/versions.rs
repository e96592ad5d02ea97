//! Optimistic concurrency: writes conditional on the version they read.

use tasker_core::{
    Error, Resource,
    domain::{CategoryName, TodoTitle},
    model::{CategoryPatch, TodoPatch},
};
use uuid::Uuid;

use crate::support::{Ctx, T0, assert_not_found, contract, user};

contract!(
    a_conditional_todo_update_applies_only_to_the_version_it_read,
    of_two_concurrent_conditional_updates_exactly_one_wins,
    a_conditional_category_update_applies_only_to_the_version_it_read,
    a_conditional_delete_removes_only_the_version_it_read,
);

fn retitle(title: &str) -> TodoPatch {
    TodoPatch {
        title: Some(TodoTitle::parse(title).unwrap()),
        ..Default::default()
    }
}

async fn a_conditional_todo_update_applies_only_to_the_version_it_read(ctx: Ctx) {
    let alice = user("alice");
    let todo = ctx.todo(&alice, "v1").await;
    // The clock has not moved, yet the write makes a new version.
    let updated = ctx
        .services
        .todos
        .update_if_unchanged(&alice, todo.id, retitle("v2"), todo.updated_at)
        .await
        .unwrap();
    assert_eq!(updated.title, "v2");
    assert!(updated.updated_at > todo.updated_at);
    assert_eq!(todo.updated_at, T0);
    let stale = ctx
        .services
        .todos
        .update_if_unchanged(&alice, todo.id, retitle("v3"), todo.updated_at)
        .await;
    assert!(
        matches!(stale, Err(Error::Stale(Resource::Todo))),
        "{stale:?}"
    );
    let now = ctx.services.todos.get(&alice, todo.id).await.unwrap();
    assert_eq!(now.todo.title, "v2", "the stale write changed nothing");
    assert_not_found(
        ctx.services
            .todos
            .update_if_unchanged(&alice, Uuid::now_v7(), retitle("x"), T0)
            .await,
        Resource::Todo,
    );
    assert_not_found(
        ctx.services
            .todos
            .update_if_unchanged(&user("bob"), todo.id, retitle("x"), updated.updated_at)
            .await,
        Resource::Todo,
    );
}

async fn of_two_concurrent_conditional_updates_exactly_one_wins(ctx: Ctx) {
    let alice = user("alice");
    for round in 0..5 {
        let todo = ctx.todo(&alice, &format!("round {round}")).await;
        let (a, b) = tokio::join!(
            ctx.services
                .todos
                .update_if_unchanged(&alice, todo.id, retitle("a"), todo.updated_at),
            ctx.services
                .todos
                .update_if_unchanged(&alice, todo.id, retitle("b"), todo.updated_at),
        );
        let wins = [a.is_ok(), b.is_ok()].into_iter().filter(|w| *w).count();
        assert_eq!(wins, 1, "round {round}: {a:?} / {b:?}");
        let loser = if a.is_ok() { b } else { a };
        assert!(
            matches!(loser, Err(Error::Stale(Resource::Todo))),
            "{loser:?}"
        );
    }
}

async fn a_conditional_category_update_applies_only_to_the_version_it_read(ctx: Ctx) {
    let alice = user("alice");
    let category = ctx.category(&alice, "Work").await;
    let rename = |name: &str| CategoryPatch {
        name: Some(CategoryName::parse(name).unwrap()),
        ..Default::default()
    };
    let renamed = ctx
        .services
        .categories
        .update_if_unchanged(&alice, category.id, rename("Office"), category.updated_at)
        .await
        .unwrap();
    assert!(renamed.updated_at > category.updated_at);
    let stale = ctx
        .services
        .categories
        .update_if_unchanged(&alice, category.id, rename("Home"), category.updated_at)
        .await;
    assert!(
        matches!(stale, Err(Error::Stale(Resource::Category))),
        "{stale:?}"
    );
    let now = ctx
        .services
        .categories
        .get(&alice, category.id)
        .await
        .unwrap();
    assert_eq!(now.name, "Office");
}

async fn a_conditional_delete_removes_only_the_version_it_read(ctx: Ctx) {
    let alice = user("alice");
    let todo = ctx.todo(&alice, "v1").await;
    let category = ctx.category(&alice, "Work").await;
    ctx.clock.advance(time::Duration::minutes(1));
    let changed = ctx
        .services
        .todos
        .update(&alice, todo.id, retitle("v2"))
        .await
        .unwrap();
    let renamed = ctx
        .services
        .categories
        .update(
            &alice,
            category.id,
            CategoryPatch {
                name: Some(CategoryName::parse("Office").unwrap()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    // The versions read before the change no longer delete anything.
    let stale = ctx
        .services
        .todos
        .delete_if_unchanged(&alice, todo.id, todo.updated_at)
        .await;
    assert!(
        matches!(stale, Err(Error::Stale(Resource::Todo))),
        "{stale:?}"
    );
    let stale = ctx
        .services
        .categories
        .delete_if_unchanged(&alice, category.id, category.updated_at)
        .await;
    assert!(
        matches!(stale, Err(Error::Stale(Resource::Category))),
        "{stale:?}"
    );
    assert!(ctx.services.todos.get(&alice, todo.id).await.is_ok());
    assert!(
        ctx.services
            .categories
            .get(&alice, category.id)
            .await
            .is_ok()
    );
    // The current versions do.
    ctx.services
        .todos
        .delete_if_unchanged(&alice, todo.id, changed.updated_at)
        .await
        .unwrap();
    ctx.services
        .categories
        .delete_if_unchanged(&alice, category.id, renamed.updated_at)
        .await
        .unwrap();
    assert_not_found(
        ctx.services.todos.get(&alice, todo.id).await,
        Resource::Todo,
    );
    assert_not_found(
        ctx.services
            .todos
            .delete_if_unchanged(&alice, todo.id, changed.updated_at)
            .await,
        Resource::Todo,
    );
}
