//! `/api/v1/me`: the caller's settings.

use http::{Response, StatusCode, request::Parts};
use tasker_core::{
    model::{JsonObject, SettingsChange, UpdateSettings},
    store::Store,
};

use super::AppState;
use crate::{
    body::{Body, RequestBody},
    error::ApiError,
    extract::{caller, json},
    response::{self, json_tagged},
};

pub(crate) async fn get<S: Store>(
    state: &AppState<S>,
    parts: &Parts,
) -> Result<Response<Body>, ApiError> {
    let user = caller(&parts.extensions)?;
    let settings = state.services.settings.get(&user.user_id).await?;
    json_tagged(&parts.headers, &settings)
}

pub(crate) async fn update<S: Store>(
    state: &AppState<S>,
    parts: &Parts,
    body: RequestBody,
) -> Result<Response<Body>, ApiError> {
    let user = caller(&parts.extensions)?;
    let JsonObject(input): JsonObject<UpdateSettings> = json(parts, body, &state.settings).await?;
    let change = SettingsChange::try_from(input)?;
    let settings = state
        .services
        .settings
        .update(&user.user_id, &change)
        .await?;
    response::json(StatusCode::OK, &settings)
}
