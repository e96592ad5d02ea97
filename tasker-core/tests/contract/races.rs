//! Concurrent writes: the rules hold, no write deadlocks, and a write the
//! database rolls back in favour of another is retried, then counted as
//! unavailable.
//!
//! Every transaction that locks several todos takes them in id order, todos
//! before categories (see `TodoStore`); on PostgreSQL each race below asserts
//! that the server detected no deadlock at all (`pg_stat_database.deadlocks`),
//! which the store's retries would otherwise hide.

use std::time::Duration as StdDuration;

use tasker_core::{
    Error,
    domain::TodoStatus,
    model::{Todo, TodoPatch},
    store::Pool,
};
use time::Duration;

use crate::support::{Ctx, contract, user};

contract!(
    concurrent_reparenting_never_nests_subtasks,
    deleting_a_todo_while_its_subtask_moves_never_deadlocks,
    deleting_a_category_while_its_todos_are_deleted_never_deadlocks,
    archiving_while_todos_are_deleted_never_deadlocks,
    deadlocks_and_busy_locks_count_as_unavailable,
);

/// Rounds of each race. Before moves locked their rows in id order, 15 rounds
/// of the reparenting race deadlocked in every run and failed one run in 40
/// (two deadlocks in a row); 100 rounds make a deadlock all but certain.
const ROUNDS: usize = 100;

/// Deadlocks PostgreSQL detected in the case's database (`None` on SQLite,
/// whose writers are serialised). The backends report their counts within a
/// second of going idle, so this waits two.
async fn deadlocks(ctx: &Ctx) -> Option<i64> {
    let Pool::Postgres(pool) = ctx.store.pool() else {
        return None;
    };
    tokio::time::sleep(StdDuration::from_secs(2)).await;
    let (n,): (i64,) =
        sqlx::query_as("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
            .fetch_one(pool)
            .await
            .expect("read pg_stat_database");
    Some(n)
}

#[track_caller]
fn assert_no_deadlock(found: Option<i64>) {
    if let Some(n) = found {
        assert_eq!(n, 0, "PostgreSQL detected {n} deadlocks");
    }
}

fn under(parent: uuid::Uuid) -> TodoPatch {
    TodoPatch {
        parent_todo_id: Some(Some(parent)),
        ..Default::default()
    }
}

async fn concurrent_reparenting_never_nests_subtasks(ctx: Ctx) {
    let alice = user("alice");
    for round in 0..ROUNDS {
        let x = ctx.todo(&alice, &format!("x{round}")).await;
        let y = ctx.todo(&alice, &format!("y{round}")).await;
        let z = ctx.todo(&alice, &format!("z{round}")).await;
        let move_under = |child: uuid::Uuid, parent: uuid::Uuid| {
            let todos = ctx.services.todos.clone();
            let alice = alice.clone();
            tokio::spawn(async move { todos.update(&alice, child, under(parent)).await })
        };
        // x under y while y goes under z (or, every other round, under x):
        // at most one may win.
        let other = if round % 2 == 0 { z.id } else { x.id };
        let (a, b) = (move_under(x.id, y.id), move_under(y.id, other));
        let (a, b) = (a.await.unwrap(), b.await.unwrap());
        assert!(
            !(a.is_ok() && b.is_ok()),
            "round {round}: both moves succeeded"
        );
        for loser in [&a, &b].into_iter().filter(|r| r.is_err()) {
            assert!(
                matches!(loser, Err(Error::Validation(e)) if e.has("parentTodoId")),
                "round {round}: {loser:?}"
            );
        }
        for id in [x.id, y.id] {
            let todo = ctx.services.todos.get(&alice, id).await.unwrap().todo;
            if let Some(parent) = todo.parent_todo_id {
                let parent = ctx.services.todos.get(&alice, parent).await.unwrap().todo;
                assert_eq!(
                    parent.parent_todo_id, None,
                    "round {round}: a grandchild exists"
                );
            }
        }
    }
    assert_no_deadlock(deadlocks(&ctx).await);
}

async fn deleting_a_todo_while_its_subtask_moves_never_deadlocks(ctx: Ctx) {
    let alice = user("alice");
    for round in 0..ROUNDS {
        let parent = ctx.todo(&alice, &format!("parent{round}")).await;
        let child = ctx.subtask(&alice, &parent, &format!("child{round}")).await;
        let other = ctx.todo(&alice, &format!("other{round}")).await;
        let todos = ctx.services.todos.clone();
        let who = alice.clone();
        let delete = tokio::spawn(async move { todos.delete(&who, parent.id).await });
        // The child moves to another parent, or, every other round, back
        // under its own (the same two rows the delete locks).
        let target = if round % 2 == 0 { other.id } else { parent.id };
        let moved = ctx
            .services
            .todos
            .update(&alice, child.id, under(target))
            .await;
        delete.await.unwrap().expect("the delete succeeds");
        match moved {
            // Moved first: it survives the delete only if it left the parent.
            Ok(_) => {
                let kept = ctx.services.todos.get(&alice, child.id).await;
                assert_eq!(kept.is_ok(), target == other.id, "round {round}");
            }
            // Moved after the delete: the child (or its new parent) is gone.
            Err(e) => assert!(
                matches!(e, Error::NotFound(_)),
                "round {round}: the move failed with {e:?}"
            ),
        }
    }
    assert_no_deadlock(deadlocks(&ctx).await);
}

async fn deleting_a_category_while_its_todos_are_deleted_never_deadlocks(ctx: Ctx) {
    let alice = user("alice");
    for round in 0..ROUNDS {
        let category = ctx.category(&alice, &format!("c{round}")).await;
        let in_category = |n: &mut tasker_core::model::NewTodo| n.category_id = Some(category.id);
        let parent = ctx
            .todo_with(&alice, &format!("p{round}"), in_category)
            .await;
        // Several subtasks in the category: the delete of the family and the
        // clearing of the category lock the same rows.
        for i in 0..3 {
            ctx.todo_with(&alice, &format!("s{round}.{i}"), |n| {
                n.category_id = Some(category.id);
                n.parent_todo_id = Some(parent.id);
            })
            .await;
        }
        let categories = ctx.services.categories.clone();
        let who = alice.clone();
        let drop_category = tokio::spawn(async move { categories.delete(&who, category.id).await });
        let deleted = ctx.services.todos.delete(&alice, parent.id).await;
        drop_category
            .await
            .unwrap()
            .expect("the category delete succeeds");
        deleted.expect("the todo delete succeeds");
        let left = ctx.services.todos.get(&alice, parent.id).await;
        assert!(matches!(left, Err(Error::NotFound(_))), "round {round}");
    }
    assert_no_deadlock(deadlocks(&ctx).await);
}

/// A completed todo, under `parent` when given.
async fn completed(ctx: &Ctx, title: &str, parent: Option<&Todo>) -> Todo {
    let alice = user("alice");
    let todo = ctx
        .todo_with(&alice, title, |n| n.parent_todo_id = parent.map(|p| p.id))
        .await;
    let patch = TodoPatch {
        status: Some(TodoStatus::Completed),
        ..Default::default()
    };
    ctx.services
        .todos
        .update(&alice, todo.id, patch)
        .await
        .expect("complete")
}

async fn archiving_while_todos_are_deleted_never_deadlocks(ctx: Ctx) {
    let alice = user("alice");
    for round in 0..ROUNDS / 4 {
        let mut parents = Vec::new();
        for p in 0..4 {
            let parent = completed(&ctx, &format!("p{round}.{p}"), None).await;
            for s in 0..2 {
                completed(&ctx, &format!("s{round}.{p}.{s}"), Some(&parent)).await;
            }
            parents.push(parent);
        }
        ctx.clock.advance(Duration::days(31));
        let jobs = ctx.services.jobs.clone();
        let archive =
            tokio::spawn(async move { jobs.archive_completed(Duration::days(30), 3).await });
        for parent in &parents {
            ctx.services
                .todos
                .delete(&alice, parent.id)
                .await
                .expect("the delete succeeds");
        }
        archive.await.unwrap().expect("archiving succeeds");
    }
    assert_no_deadlock(deadlocks(&ctx).await);
}

async fn deadlocks_and_busy_locks_count_as_unavailable(ctx: Ctx) {
    match ctx.store.pool() {
        Pool::Postgres(pool) => {
            for code in ["40P01", "40001"] {
                let raised = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '{code}'; END $$"
                )))
                .execute(pool)
                .await
                .expect_err("the statement raises");
                let error = Error::storage("update a todo", raised);
                assert!(error.is_conflict(), "{code} is a conflict");
                assert!(error.is_unavailable(), "{code} is unavailable");
            }
            let other = sqlx::query("SELECT 1/0").execute(pool).await.unwrap_err();
            let error = Error::storage("divide", other);
            assert!(!error.is_conflict() && !error.is_unavailable());
        }
        Pool::Sqlite(pool) => {
            use sqlx::{ConnectOptions as _, Connection as _};
            let options = (*pool.connect_options())
                .clone()
                .busy_timeout(StdDuration::ZERO);
            let mut holder = options.connect().await.expect("first connection");
            let mut waiter = options.connect().await.expect("second connection");
            sqlx::query("BEGIN IMMEDIATE")
                .execute(&mut holder)
                .await
                .unwrap();
            let busy = sqlx::query("BEGIN IMMEDIATE")
                .execute(&mut waiter)
                .await
                .expect_err("the write lock is taken");
            let error = Error::storage("update a todo", busy);
            assert!(
                error.is_unavailable(),
                "SQLITE_BUSY is unavailable: {error:?}"
            );
            assert!(
                !error.is_conflict(),
                "SQLITE_BUSY already waited: not retried"
            );
            sqlx::query("ROLLBACK").execute(&mut holder).await.unwrap();
            holder.close().await.unwrap();
            waiter.close().await.unwrap();
        }
        #[allow(unreachable_patterns)]
        _ => unreachable!("a contract case runs on PostgreSQL or SQLite"),
    }
}
