//! The schema backs the rules up: constraints refuse what the services would
//! never write, and concurrent writers do not trip over each other.

use std::collections::HashSet;

use tasker_core::{
    Error,
    domain::{TodoPriority, TodoStatus},
    model::Todo,
    store::TodoStore,
};
use uuid::Uuid;

use crate::support::{Ctx, T0, contract, user};

contract!(
    migrating_again_changes_nothing,
    constraints_refuse_inconsistent_rows,
    concurrent_creates_all_land_with_distinct_sort_orders,
    the_database_refuses_a_grandchild,
);

fn raw_todo(title: &str) -> Todo {
    Todo {
        id: Uuid::now_v7(),
        user_id: user("alice"),
        title: title.to_owned(),
        description: None,
        status: TodoStatus::Draft,
        priority: TodoPriority::Medium,
        due_date: None,
        completed_at: None,
        parent_todo_id: None,
        category_id: None,
        metadata: None,
        sort_order: 0,
        created_at: T0,
        updated_at: T0,
    }
}

async fn migrating_again_changes_nothing(ctx: Ctx) {
    let alice = user("alice");
    let todo = ctx.todo(&alice, "Before").await;
    ctx.store
        .migrate()
        .await
        .expect("second migrate is a no-op");
    assert_eq!(
        ctx.services.todos.get(&alice, todo.id).await.unwrap().todo,
        todo
    );
}

async fn constraints_refuse_inconsistent_rows(ctx: Ctx) {
    let storage_error = |r: tasker_core::Result<Todo>| matches!(r, Err(Error::Storage { .. }));

    let mut completed_without_instant = raw_todo("inconsistent");
    completed_without_instant.status = TodoStatus::Completed;
    assert!(storage_error(
        ctx.store.insert_todo(&completed_without_instant).await
    ));

    let mut instant_without_completion = raw_todo("inconsistent");
    instant_without_completion.completed_at = Some(T0);
    assert!(storage_error(
        ctx.store.insert_todo(&instant_without_completion).await
    ));

    let mut own_parent = raw_todo("loop");
    own_parent.parent_todo_id = Some(own_parent.id);
    assert!(ctx.store.insert_todo(&own_parent).await.is_err());

    let mut too_long = raw_todo("x");
    too_long.title = "x".repeat(256);
    assert!(storage_error(ctx.store.insert_todo(&too_long).await));

    let mut dangling = raw_todo("dangling");
    dangling.parent_todo_id = Some(Uuid::now_v7());
    assert!(matches!(
        ctx.store.insert_todo(&dangling).await,
        Err(Error::NotFound(_))
    ));

    let page = ctx
        .services
        .todos
        .list(&user("alice"), &Default::default())
        .await
        .unwrap();
    assert_eq!(page.total, 0, "nothing half-written");
}

async fn concurrent_creates_all_land_with_distinct_sort_orders(ctx: Ctx) {
    let alice = user("alice");
    let tasks: Vec<_> = (0..24)
        .map(|i| {
            let todos = ctx.services.todos.clone();
            let alice = alice.clone();
            tokio::spawn(async move {
                let title =
                    tasker_core::domain::TodoTitle::parse(&format!("parallel {i}")).unwrap();
                todos
                    .create(&alice, tasker_core::model::NewTodo::new(title))
                    .await
            })
        })
        .collect();
    let mut orders = HashSet::new();
    for task in tasks {
        let todo = task
            .await
            .unwrap()
            .expect("every concurrent create succeeds");
        orders.insert(todo.sort_order);
    }
    assert_eq!(orders.len(), 24, "sort orders are distinct");
    assert_eq!(ctx.services.todos.stats(&alice).await.unwrap().total, 24);
}

async fn the_database_refuses_a_grandchild(ctx: Ctx) {
    // Written straight to the store, past the service's own checks.
    let root = ctx.store.insert_todo(&raw_todo("root")).await.unwrap();
    let mut child = raw_todo("child");
    child.parent_todo_id = Some(root.id);
    let child = ctx.store.insert_todo(&child).await.unwrap();
    let mut grandchild = raw_todo("grandchild");
    grandchild.parent_todo_id = Some(child.id);
    let result = ctx.store.insert_todo(&grandchild).await;
    assert!(
        matches!(&result, Err(Error::Validation(e)) if e.has("parentTodoId")),
        "{result:?}"
    );

    let mut bobs = raw_todo("bob's child");
    bobs.user_id = user("bob");
    bobs.parent_todo_id = Some(root.id);
    assert!(
        ctx.store.insert_todo(&bobs).await.is_err(),
        "a parent of another user"
    );

    // Moving the root under another root would make `child` a grandchild.
    let other = ctx.store.insert_todo(&raw_todo("other")).await.unwrap();
    let changes = tasker_core::store::TodoChanges {
        patch: tasker_core::model::TodoPatch {
            parent_todo_id: Some(Some(other.id)),
            ..Default::default()
        },
        completed_at: None,
        updated_at: T0,
        expected_updated_at: None,
    };
    let result = ctx
        .store
        .update_todo(&user("alice"), root.id, &changes)
        .await;
    assert!(
        matches!(&result, Err(Error::Validation(e)) if e.has("parentTodoId")),
        "{result:?}"
    );
}
