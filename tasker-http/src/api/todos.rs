//! `/api/v1/todos`.

use http::{Response, StatusCode, request::Parts};
use tasker_core::{
    model::{CreateTodo, NewTodo, TodoPatch, UpdateTodo},
    query::{TodoListParams, TodoQuery},
    store::Store,
};

use super::AppState;
use crate::{
    body::{Body, RequestBody},
    conditional,
    error::ApiError,
    extract::{caller, caller_and_id, json, query},
    response::{self, json_tagged, no_content},
    routes::PathParams,
};

pub(crate) async fn create<S: Store>(
    state: &AppState<S>,
    parts: &Parts,
    body: RequestBody,
) -> Result<Response<Body>, ApiError> {
    let user = caller(&parts.extensions)?;
    let input: CreateTodo = json(parts, body, &state.settings).await?;
    let new = NewTodo::try_from(input)?;
    let todo = state.services.todos.create(&user.user_id, new).await?;
    response::json(StatusCode::CREATED, &todo)
}

pub(crate) async fn list<S: Store>(
    state: &AppState<S>,
    parts: &Parts,
) -> Result<Response<Body>, ApiError> {
    let user = caller(&parts.extensions)?;
    let params: TodoListParams = query(&parts.uri)?;
    let query = TodoQuery::try_from(params)?;
    let page = state.services.todos.list(&user.user_id, &query).await?;
    json_tagged(&parts.headers, &page)
}

pub(crate) async fn stats<S: Store>(
    state: &AppState<S>,
    parts: &Parts,
) -> Result<Response<Body>, ApiError> {
    let user = caller(&parts.extensions)?;
    let stats = state.services.todos.stats(&user.user_id).await?;
    json_tagged(&parts.headers, &stats)
}

pub(crate) async fn get<S: Store>(
    state: &AppState<S>,
    parts: &Parts,
    params: &PathParams,
) -> Result<Response<Body>, ApiError> {
    let (user, id) = caller_and_id(parts, params)?;
    let todo = state.services.todos.get(&user.user_id, id).await?;
    json_tagged(&parts.headers, &todo)
}

pub(crate) async fn update<S: Store>(
    state: &AppState<S>,
    parts: &Parts,
    params: &PathParams,
    body: RequestBody,
) -> Result<Response<Body>, ApiError> {
    let (user, id) = caller_and_id(parts, params)?;
    let input: UpdateTodo = json(parts, body, &state.settings).await?;
    let patch = TodoPatch::try_from(input)?;
    let current =
        conditional::require_current(&parts.headers, state.services.todos.get(&user.user_id, id))
            .await?;
    let todos = &state.services.todos;
    let todo = match current {
        // Written only if nobody changed the todo since its tag was checked.
        Some(current) => {
            todos
                .update_if_unchanged(&user.user_id, id, patch, current.todo.updated_at)
                .await?
        }
        None => todos.update(&user.user_id, id, patch).await?,
    };
    response::json(StatusCode::OK, &todo)
}

pub(crate) async fn delete<S: Store>(
    state: &AppState<S>,
    parts: &Parts,
    params: &PathParams,
) -> Result<Response<Body>, ApiError> {
    let (user, id) = caller_and_id(parts, params)?;
    let current =
        conditional::require_current(&parts.headers, state.services.todos.get(&user.user_id, id))
            .await?;
    let todos = &state.services.todos;
    match current {
        // Deleted only if nobody changed the todo since its tag was checked.
        Some(current) => {
            todos
                .delete_if_unchanged(&user.user_id, id, current.todo.updated_at)
                .await?
        }
        None => todos.delete(&user.user_id, id).await?,
    }
    Ok(no_content())
}
