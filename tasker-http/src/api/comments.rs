//! `/api/v1/todos/{id}/comments` and `/api/v1/comments/{id}`.

use http::{Response, StatusCode, request::Parts};
use tasker_core::{domain::CommentContent, model::CommentInput, store::Store};

use super::AppState;
use crate::{
    body::{Body, RequestBody},
    error::ApiError,
    extract::{caller_and_id, json},
    response::{self, json_tagged, no_content},
    routes::PathParams,
};

pub(crate) async fn add<S: Store>(
    state: &AppState<S>,
    parts: &Parts,
    params: &PathParams,
    body: RequestBody,
) -> Result<Response<Body>, ApiError> {
    let (user, todo_id) = caller_and_id(parts, params)?;
    let input: CommentInput = json(parts, body, &state.settings).await?;
    let content = CommentContent::try_from(input)?;
    let comment = state
        .services
        .comments
        .add(&user.user_id, todo_id, content)
        .await?;
    response::json(StatusCode::CREATED, &comment)
}

pub(crate) async fn list<S: Store>(
    state: &AppState<S>,
    parts: &Parts,
    params: &PathParams,
) -> Result<Response<Body>, ApiError> {
    let (user, todo_id) = caller_and_id(parts, params)?;
    let comments = state.services.comments.list(&user.user_id, todo_id).await?;
    json_tagged(&parts.headers, &comments)
}

pub(crate) async fn update<S: Store>(
    state: &AppState<S>,
    parts: &Parts,
    params: &PathParams,
    body: RequestBody,
) -> Result<Response<Body>, ApiError> {
    let (user, id) = caller_and_id(parts, params)?;
    let input: CommentInput = json(parts, body, &state.settings).await?;
    let content = CommentContent::try_from(input)?;
    let comment = state
        .services
        .comments
        .update(&user.user_id, id, content)
        .await?;
    response::json(StatusCode::OK, &comment)
}

pub(crate) async fn delete<S: Store>(
    state: &AppState<S>,
    parts: &Parts,
    params: &PathParams,
) -> Result<Response<Body>, ApiError> {
    let (user, id) = caller_and_id(parts, params)?;
    state.services.comments.delete(&user.user_id, id).await?;
    Ok(no_content())
}
