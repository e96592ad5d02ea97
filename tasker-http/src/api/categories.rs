//! `/api/v1/categories`.

use http::{Response, StatusCode, request::Parts};
use tasker_core::{
    model::{CategoryPatch, CreateCategory, NewCategory, UpdateCategory},
    query::{CategoryListParams, CategoryQuery},
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
    let input: CreateCategory = json(parts, body, &state.settings).await?;
    let new = NewCategory::try_from(input)?;
    let category = state.services.categories.create(&user.user_id, new).await?;
    response::json(StatusCode::CREATED, &category)
}

pub(crate) async fn list<S: Store>(
    state: &AppState<S>,
    parts: &Parts,
) -> Result<Response<Body>, ApiError> {
    let user = caller(&parts.extensions)?;
    let params: CategoryListParams = query(&parts.uri)?;
    let query = CategoryQuery::try_from(params)?;
    let page = state
        .services
        .categories
        .list(&user.user_id, &query)
        .await?;
    json_tagged(&parts.headers, &page)
}

pub(crate) async fn get<S: Store>(
    state: &AppState<S>,
    parts: &Parts,
    params: &PathParams,
) -> Result<Response<Body>, ApiError> {
    let (user, id) = caller_and_id(parts, params)?;
    let category = state.services.categories.get(&user.user_id, id).await?;
    json_tagged(&parts.headers, &category)
}

pub(crate) async fn update<S: Store>(
    state: &AppState<S>,
    parts: &Parts,
    params: &PathParams,
    body: RequestBody,
) -> Result<Response<Body>, ApiError> {
    let (user, id) = caller_and_id(parts, params)?;
    let input: UpdateCategory = json(parts, body, &state.settings).await?;
    let patch = CategoryPatch::try_from(input)?;
    let current = conditional::require_current(
        &parts.headers,
        state.services.categories.get(&user.user_id, id),
    )
    .await?;
    let categories = &state.services.categories;
    let category = match current {
        // Written only if nobody changed the category since its tag was checked.
        Some(current) => {
            categories
                .update_if_unchanged(&user.user_id, id, patch, current.updated_at)
                .await?
        }
        None => categories.update(&user.user_id, id, patch).await?,
    };
    response::json(StatusCode::OK, &category)
}

pub(crate) async fn delete<S: Store>(
    state: &AppState<S>,
    parts: &Parts,
    params: &PathParams,
) -> Result<Response<Body>, ApiError> {
    let (user, id) = caller_and_id(parts, params)?;
    let current = conditional::require_current(
        &parts.headers,
        state.services.categories.get(&user.user_id, id),
    )
    .await?;
    let categories = &state.services.categories;
    match current {
        // Deleted only if nobody changed the category since its tag was checked.
        Some(current) => {
            categories
                .delete_if_unchanged(&user.user_id, id, current.updated_at)
                .await?
        }
        None => categories.delete(&user.user_id, id).await?,
    }
    Ok(no_content())
}
