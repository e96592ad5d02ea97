//! Listing todos: paging arithmetic, every filter and sort, literal search,
//! and a fixed number of statements per page.

mod cursors;
mod filters;
mod paging;
mod search;
mod sorting;

use tasker_core::{
    domain::UserId,
    model::{Page, PopulatedTodo},
    query::{TodoListParams, TodoQuery},
};

use crate::support::Ctx;

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
