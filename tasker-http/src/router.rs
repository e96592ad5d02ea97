//! The route table: path templates to handlers, with `404` and `405` for the rest.

use std::sync::Arc;

use http::{Method, Request, Response};
use tasker_core::store::Store;

use crate::{
    api::{self, AppState},
    body::{Body, RequestBody},
    error::ApiError,
};

/// The route template a request matched (`/api/v1/todos/{id}`), found in the
/// response extensions, for logs and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MatchedRoute(pub &'static str);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    Todos,
    TodoStats,
    Todo,
    TodoComments,
    TodoAttachments,
    TodoAttachment,
    AttachmentDownload,
    Comment,
    Categories,
    Category,
    File,
    Status,
    OpenApi,
    Docs,
    DocsIndex,
    DocsAsset,
}

/// Every route with its template and methods.
pub(crate) const ROUTES: &[(&str, Route, &[Method])] = &[
    ("/api/v1/todos", Route::Todos, &[Method::GET, Method::POST]),
    ("/api/v1/todos/stats", Route::TodoStats, &[Method::GET]),
    (
        "/api/v1/todos/{id}",
        Route::Todo,
        &[Method::GET, Method::PATCH, Method::DELETE],
    ),
    (
        "/api/v1/todos/{id}/comments",
        Route::TodoComments,
        &[Method::GET, Method::POST],
    ),
    (
        "/api/v1/todos/{id}/attachments",
        Route::TodoAttachments,
        &[Method::POST],
    ),
    (
        "/api/v1/todos/{id}/attachments/{attachmentId}",
        Route::TodoAttachment,
        &[Method::DELETE],
    ),
    (
        "/api/v1/todos/{id}/attachments/{attachmentId}/download",
        Route::AttachmentDownload,
        &[Method::GET],
    ),
    (
        "/api/v1/comments/{id}",
        Route::Comment,
        &[Method::PATCH, Method::DELETE],
    ),
    (
        "/api/v1/categories",
        Route::Categories,
        &[Method::GET, Method::POST],
    ),
    (
        "/api/v1/categories/{id}",
        Route::Category,
        &[Method::GET, Method::PATCH, Method::DELETE],
    ),
    ("/api/v1/files/{token}", Route::File, &[Method::GET]),
    ("/status", Route::Status, &[Method::GET]),
    ("/api/status", Route::Status, &[Method::GET]),
    ("/openapi.json", Route::OpenApi, &[Method::GET]),
    ("/docs", Route::Docs, &[Method::GET]),
    ("/docs/", Route::DocsIndex, &[Method::GET]),
    ("/docs/{asset}", Route::DocsAsset, &[Method::GET]),
];

/// Every `(method, path template)` the service answers, in matchit syntax
/// (`/api/v1/todos/{id}`, `/docs/{asset}`).
///
/// ```
/// let routes: Vec<_> = tasker_http::routes().collect();
/// assert!(routes.contains(&(http::Method::GET, "/api/v1/todos/{id}")));
/// ```
pub fn routes() -> impl Iterator<Item = (Method, &'static str)> {
    ROUTES.iter().flat_map(|(template, _, methods)| {
        methods
            .iter()
            .map(move |method| (method.clone(), *template))
    })
}

/// The compiled route table.
#[derive(Debug)]
pub(crate) struct Router {
    inner: matchit::Router<usize>,
}

impl Router {
    pub(crate) fn new() -> Self {
        let mut inner = matchit::Router::new();
        for (index, (template, _, _)) in ROUTES.iter().enumerate() {
            if let Err(error) = inner.insert(*template, index) {
                // The table is a constant checked by the tests.
                unreachable!("route table conflict at {template}: {error}");
            }
        }
        Self { inner }
    }
}

/// Path parameters of a matched route.
#[derive(Debug, Default)]
pub(crate) struct PathParams {
    pairs: Vec<(String, String)>,
}

impl PathParams {
    pub(crate) fn get(&self, name: &str) -> &str {
        self.pairs
            .iter()
            .find(|(key, _)| key == name)
            .map_or("", |(_, value)| value.as_str())
    }
}

/// Routes one request to its handler. Never fails: errors become responses.
pub(crate) async fn dispatch<S: Store + 'static>(
    state: Arc<AppState<S>>,
    request: Request<RequestBody>,
) -> Response<Body> {
    let path = request.uri().path().to_owned();
    let Ok(found) = state.router.inner.at(&path) else {
        return ApiError::RouteNotFound.into_response();
    };
    let (template, route, methods) = &ROUTES[*found.value];
    let params = PathParams {
        pairs: found
            .params
            .iter()
            .map(|(key, value)| (key.to_owned(), value.to_owned()))
            .collect(),
    };
    let span = tracing::Span::current();
    span.record("route", tracing::field::display(template));
    if let Some(user) = request.extensions().get::<crate::AuthUser>() {
        span.record("user_id", tracing::field::display(&user.user_id));
    }
    let method = request.method().clone();
    let mut response = if methods.contains(&method) {
        let result = if crate::idempotency::applies_to(&method) {
            let state = Arc::clone(&state);
            crate::idempotency::handle(state, *route, method.clone(), params, request).await
        } else {
            api::handle(&state, *route, &method, params, request).await
        };
        result.unwrap_or_else(ApiError::into_response)
    } else {
        ApiError::MethodNotAllowed {
            allowed: methods.to_vec(),
        }
        .into_response()
    };
    response.extensions_mut().insert(MatchedRoute(template));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_route_table_compiles_and_static_segments_win() {
        let router = Router::new();
        let stats = router.inner.at("/api/v1/todos/stats").unwrap();
        assert_eq!(ROUTES[*stats.value].1, Route::TodoStats);
        let todo = router.inner.at("/api/v1/todos/abc").unwrap();
        assert_eq!(ROUTES[*todo.value].1, Route::Todo);
        assert!(router.inner.at("/api/v1/nothing").is_err());
    }
}
