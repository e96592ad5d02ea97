//! Handlers, one module per resource.

mod attachments;
mod categories;
mod comments;
mod system;
mod todos;

use std::{future::Future, pin::Pin};

use http::{Method, Request, Response};
use tasker_core::{service::Services, store::Store};

pub(crate) use attachments::MULTIPART_OVERHEAD;
pub(crate) use system::HealthChecks;

use crate::{
    body::{Body, RequestBody},
    download::DownloadLinks,
    error::ApiError,
    router::{PathParams, Route, Router},
    settings::HttpSettings,
};

/// A handler's future, boxed so that each is checked for `Send` on its own.
type HandlerFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Response<Body>, ApiError>> + Send + 'a>>;

/// What every handler reads.
#[derive(Debug)]
pub(crate) struct AppState<S> {
    pub(crate) services: Services<S>,
    pub(crate) settings: HttpSettings,
    pub(crate) router: Router,
    pub(crate) downloads: DownloadLinks,
    pub(crate) health: HealthChecks,
    pub(crate) openapi_json: bytes::Bytes,
    pub(crate) uploads: tokio::sync::Semaphore,
}

/// Calls the handler of `route` for `method` (already known to be allowed).
pub(crate) async fn handle<S: Store + 'static>(
    state: &AppState<S>,
    route: Route,
    method: &Method,
    params: PathParams,
    request: Request<RequestBody>,
) -> Result<Response<Body>, ApiError> {
    use Route as R;
    let (parts, body) = request.into_parts();
    let future: HandlerFuture<'_> = match (route, method.as_str()) {
        (R::Todos, "GET") => Box::pin(todos::list(state, &parts)),
        (R::Todos, "POST") => Box::pin(todos::create(state, &parts, body)),
        (R::TodoStats, _) => Box::pin(todos::stats(state, &parts)),
        (R::Todo, "GET") => Box::pin(todos::get(state, &parts, &params)),
        (R::Todo, "PATCH") => Box::pin(todos::update(state, &parts, &params, body)),
        (R::Todo, "DELETE") => Box::pin(todos::delete(state, &parts, &params)),
        (R::TodoComments, "GET") => Box::pin(comments::list(state, &parts, &params)),
        (R::TodoComments, "POST") => Box::pin(comments::add(state, &parts, &params, body)),
        (R::Comment, "PATCH") => Box::pin(comments::update(state, &parts, &params, body)),
        (R::Comment, "DELETE") => Box::pin(comments::delete(state, &parts, &params)),
        (R::Categories, "GET") => Box::pin(categories::list(state, &parts)),
        (R::Categories, "POST") => Box::pin(categories::create(state, &parts, body)),
        (R::Category, "GET") => Box::pin(categories::get(state, &parts, &params)),
        (R::Category, "PATCH") => Box::pin(categories::update(state, &parts, &params, body)),
        (R::Category, "DELETE") => Box::pin(categories::delete(state, &parts, &params)),
        (R::TodoAttachments, _) => Box::pin(attachments::upload(state, &parts, &params, body)),
        (R::TodoAttachment, _) => Box::pin(attachments::delete(state, &parts, &params)),
        (R::AttachmentDownload, _) => Box::pin(attachments::link(state, &parts, &params)),
        (R::File, _) => Box::pin(attachments::serve_file(state, &params)),
        (R::Status, _) => Box::pin(system::status(state)),
        (R::OpenApi, _) => return Ok(system::openapi(state)),
        (R::Docs, _) => return system::docs("", &parts),
        (R::DocsIndex, _) => return system::docs("index.html", &parts),
        (R::DocsAsset, _) => return system::docs(params.get("asset"), &parts),
        _ => return Err(ApiError::RouteNotFound),
    };
    future.await
}
