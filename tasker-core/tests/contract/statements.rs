//! PostgreSQL statements: named, prepared and cached per connection by
//! default; with `prepared_statements` off (for a transaction-pooling
//! PgBouncer), none is left on the connection and every store path works.

use sqlx::Row as _;
use tasker_core::{
    domain::TodoTitle,
    model::TodoPatch,
    query::{TodoListParams, TodoQuery},
    store::{AnyStore, Pool, StoreOptions},
};

use crate::support::{Ctx, user};

/// The named prepared statements on the pool's (one) connection.
async fn named_statements(store: &AnyStore) -> i64 {
    let Pool::Postgres(pool) = store.pool() else {
        panic!("a PostgreSQL store");
    };
    // The simple protocol: this count prepares nothing itself.
    let row = sqlx::raw_sql("SELECT count(*) AS n FROM pg_prepared_statements")
        .fetch_one(pool)
        .await
        .expect("count prepared statements");
    row.try_get("n").expect("a count")
}

/// Creates, lists, updates and deletes todos: plain statements and
/// transactions, reads and writes.
async fn exercise(ctx: &Ctx) {
    let alice = user("alice");
    let parent = ctx.todo(&alice, "Parent").await;
    let child = ctx.subtask(&alice, &parent, "Child").await;
    let query = TodoQuery::try_from(TodoListParams::default()).expect("query");
    let page = ctx.services.todos.list(&alice, &query).await.expect("list");
    assert_eq!(page.data.len(), 1, "one root todo");
    assert_eq!(page.data[0].children.len(), 1, "with its subtask");
    let patch = TodoPatch {
        title: Some(TodoTitle::parse("Renamed").expect("title")),
        ..TodoPatch::default()
    };
    let updated = ctx
        .services
        .todos
        .update(&alice, child.id, patch)
        .await
        .expect("update");
    assert_eq!(updated.title.as_str(), "Renamed");
    ctx.services
        .todos
        .delete(&alice, parent.id)
        .await
        .expect("delete");
    let page = ctx.services.todos.list(&alice, &query).await.expect("list");
    assert!(page.data.is_empty(), "deleted with its subtask");
}

fn one_connection() -> StoreOptions {
    StoreOptions::default().with_max_connections(1)
}

#[tokio::test]
async fn unprepared_statements_leave_no_named_statement_on_the_connection() {
    let Some(ctx) = Ctx::postgres_with(&one_connection().with_prepared_statements(false)).await
    else {
        return;
    };
    exercise(&ctx).await;
    assert_eq!(named_statements(&ctx.store).await, 0);
}

#[tokio::test]
async fn prepared_statements_are_named_and_kept_by_default() {
    let Some(ctx) = Ctx::postgres_with(&one_connection()).await else {
        return;
    };
    exercise(&ctx).await;
    assert!(
        named_statements(&ctx.store).await > 0,
        "the default prepares and caches named statements"
    );
}
