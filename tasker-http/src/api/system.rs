//! `/status`, `/openapi.json` and `/docs`.

use std::{collections::BTreeMap, sync::Arc, time::Instant};

use http::{HeaderValue, Response, StatusCode, header, request::Parts};
use serde::Serialize;
use tasker_core::{domain::UserId, store::Store};

use super::AppState;
use crate::{
    body::{Body, full},
    error::ApiError,
    response,
};

pub(crate) use crate::health::HealthChecks;
use crate::health::HealthError;

/// One dependency's result in `/status`.
#[derive(Debug, Serialize)]
struct CheckResult {
    status: &'static str,
    response_time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// The `/status` body (reference shape).
#[derive(Debug, Serialize)]
struct StatusBody {
    status: &'static str,
    timestamp: String,
    environment: String,
    checks: BTreeMap<String, CheckResult>,
}

async fn run(name: &str, check: impl Future<Output = Result<(), HealthError>>) -> CheckResult {
    let started = Instant::now();
    let outcome = tokio::time::timeout(std::time::Duration::from_secs(5), check).await;
    let response_time = format!("{:?}", started.elapsed());
    match outcome {
        Ok(Ok(())) => CheckResult {
            status: "healthy",
            response_time,
            error: None,
        },
        Ok(Err(error)) => {
            if let Some(cause) = std::error::Error::source(&error) {
                tracing::warn!(check = name, %error, %cause, "health check failed");
            }
            CheckResult {
                status: "unhealthy",
                response_time,
                error: Some(error.message().to_owned()),
            }
        }
        Err(_) => CheckResult {
            status: "unhealthy",
            response_time,
            error: Some("timed out after 5s".into()),
        },
    }
}

pub(crate) async fn status<S: Store>(state: &AppState<S>) -> Result<Response<Body>, ApiError> {
    let mut checks = BTreeMap::new();
    let has_database = state
        .health
        .checks
        .iter()
        .any(|(name, _)| name == "database");
    if !has_database {
        // Without a registered check, ask the store a question it must answer.
        let services = &state.services;
        let probe = async {
            let nobody =
                UserId::parse("health-check").map_err(|e| HealthError::new(e.to_string()))?;
            match services.categories.get(&nobody, uuid::Uuid::nil()).await {
                Ok(_) | Err(tasker_core::Error::NotFound(_)) => Ok(()),
                Err(e) => Err(HealthError::new("database unreachable").with_source(e)),
            }
        };
        checks.insert("database".to_owned(), run("database", probe).await);
    }
    for (name, check) in &state.health.checks {
        checks.insert(name.clone(), run(name, check.check()).await);
    }
    let healthy = checks.values().all(|check| check.status == "healthy");
    let body = StatusBody {
        status: if healthy { "healthy" } else { "unhealthy" },
        timestamp: tasker_core::domain::timestamp::format(state.services.clock().now()),
        environment: state.settings.environment.clone(),
        checks,
    };
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let mut response = response::json(status, &body)?;
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

pub(crate) fn openapi<S>(state: &AppState<S>) -> Response<Body> {
    let mut response = Response::new(full(state.openapi_json.clone()));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// The interactive API explorer, served from files bundled in the binary.
pub(crate) fn docs(asset: &str, parts: &Parts) -> Result<Response<Body>, ApiError> {
    if asset.is_empty() {
        // `/docs` → `/docs/`, relative so that it works under any mount prefix.
        let mut response = Response::new(crate::body::empty());
        *response.status_mut() = StatusCode::PERMANENT_REDIRECT;
        let last = parts.uri.path().rsplit('/').next().unwrap_or("docs");
        let target = format!("{last}/");
        if let Ok(value) = HeaderValue::from_str(&target) {
            response.headers_mut().insert(header::LOCATION, value);
        }
        return Ok(response);
    }
    let config = Arc::new(utoipa_swagger_ui::Config::new(["../openapi.json"]));
    let file = utoipa_swagger_ui::serve(asset, config)
        .map_err(|error| ApiError::Internal(error.to_string().into()))?
        .ok_or(ApiError::RouteNotFound)?;
    let mut response = Response::new(full(file.bytes.into_owned()));
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&file.content_type) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    if file.gzpipped {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    Ok(response)
}
