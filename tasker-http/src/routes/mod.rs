//! The route table: every fact about a route in one entry, matched once.
//!
//! Each [`Route`] names its path template, whether it needs a caller, and per
//! method the handler, the body it reads, whether `Idempotency-Key` applies
//! and its OpenAPI operation. [`RoutingLayer`] matches the path once and puts
//! the [`RouteMatch`] into the request extensions; authentication, rate
//! limits, idempotency and the handler read their facts from it, and the
//! OpenAPI document is assembled from the same entries. `HEAD` runs a
//! route's `GET` operation, and the router answers `OPTIONS` itself; neither
//! is an entry (nor in the document).

use std::{future::Future, pin::Pin, sync::Arc};

use http::{Method, Request, Response};
use tasker_core::store::Store;

mod layer;
mod table;

pub(crate) use layer::RoutingLayer;
use table::table;

use crate::{
    api::AppState,
    body::{Body, RequestBody},
    error::ApiError,
    openapi::Operation as Doc,
    settings::HttpSettings,
};

/// The route template a request matched (`/api/v1/todos/{id}`), found in the
/// response extensions, for logs and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MatchedRoute(pub &'static str);

/// A handler's future.
pub(crate) type HandlerFuture =
    Pin<Box<dyn Future<Output = Result<Response<Body>, ApiError>> + Send>>;

/// A handler: the state and the request, whose extensions hold its
/// [`RouteMatch`].
pub(crate) type Handler<S> = fn(Arc<AppState<S>>, Request<RequestBody>) -> HandlerFuture;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// No caller needed: a stale or foreign `Authorization` header is ignored.
    Public,
    /// The caller is authenticated; handlers answer `401` without one.
    Authenticated,
    /// A signed link: its signature is the credential, so no bearer token
    /// is read, and a bad or expired signature is the handler's `401`/`404`.
    SignedLink,
}

impl Access {
    /// Whether the bearer token is read (and rate limits apply).
    pub(crate) fn needs_token(self) -> bool {
        self == Self::Authenticated
    }
}

/// The body an operation reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyLimit {
    /// None (any body is left unread).
    Empty,
    /// JSON, up to `json_body_limit`.
    Json,
    /// A multipart upload, up to `upload_limit` plus the multipart framing.
    Upload,
}

impl BodyLimit {
    /// The most bytes the body may have.
    pub(crate) fn bytes(self, settings: &HttpSettings) -> usize {
        match self {
            Self::Empty | Self::Json => settings.json_body_limit,
            Self::Upload => settings
                .upload_limit
                .saturating_add(crate::api::MULTIPART_OVERHEAD),
        }
    }
}

/// One method of a route.
pub(crate) struct Operation<S> {
    pub(crate) method: Method,
    pub(crate) handler: Handler<S>,
    pub(crate) body: BodyLimit,
    /// Whether `Idempotency-Key` is honoured.
    pub(crate) idempotent: bool,
    /// Adds the `#[utoipa::path]` description to the document.
    pub(crate) doc: Doc,
}

/// One path template and its methods.
pub(crate) struct Route<S> {
    pub(crate) template: &'static str,
    pub(crate) access: Access,
    pub(crate) operations: Vec<Operation<S>>,
}

/// The table for what needs no store: the route list and the document.
fn facts() -> Vec<Route<tasker_core::store::AnyStore>> {
    table()
}

/// Every `(method, path template)` of the route table, in matchit syntax
/// (`/api/v1/todos/{id}`, `/docs/{asset}`): the operations the document
/// lists. Besides these, the service answers `HEAD` wherever there is a
/// `GET`, and `OPTIONS` on every path.
///
/// ```
/// let routes: Vec<_> = tasker_http::routes().collect();
/// assert!(routes.contains(&(http::Method::GET, "/api/v1/todos/{id}")));
/// ```
pub fn routes() -> impl Iterator<Item = (Method, &'static str)> {
    facts().into_iter().flat_map(|route| {
        route
            .operations
            .into_iter()
            .map(move |operation| (operation.method, route.template))
    })
}

/// One operation's place in the table and its facts, for the document.
pub(crate) struct OperationFacts {
    pub(crate) template: &'static str,
    pub(crate) method: Method,
    pub(crate) access: Access,
    pub(crate) body: BodyLimit,
    pub(crate) idempotent: bool,
}

/// The facts of every operation, in table order.
pub(crate) fn operation_facts() -> impl Iterator<Item = OperationFacts> {
    facts().into_iter().flat_map(|route| {
        route
            .operations
            .into_iter()
            .map(move |operation| OperationFacts {
                template: route.template,
                method: operation.method,
                access: route.access,
                body: operation.body,
                idempotent: operation.idempotent,
            })
    })
}

/// The OpenAPI operations of every route, in table order.
pub(crate) fn documents() -> impl Iterator<Item = Doc> {
    facts()
        .into_iter()
        .flat_map(|route| route.operations.into_iter().map(|operation| operation.doc))
}

/// The compiled route table.
pub(crate) struct Routes<S> {
    table: Vec<Route<S>>,
    matcher: matchit::Router<usize>,
}

impl<S> std::fmt::Debug for Routes<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Routes")
            .field("routes", &self.table.len())
            .finish_non_exhaustive()
    }
}

impl<S: Store + 'static> Routes<S> {
    pub(crate) fn new() -> Self {
        let table = table();
        let mut matcher = matchit::Router::new();
        for (index, route) in table.iter().enumerate() {
            if let Err(error) = matcher.insert(route.template, index) {
                // The table is a constant checked by the tests.
                unreachable!("route table conflict at {}: {error}", route.template);
            }
        }
        Self { table, matcher }
    }
}

impl<S> Routes<S> {
    /// The route and operation for this path and method: `404` for an
    /// unknown path, `405` (with the route) for a method it does not have,
    /// and the router's own answer to `OPTIONS`. `HEAD` runs the route's
    /// `GET` operation (the body is dropped by [`crate::head`]).
    fn find(&self, path: &str, method: &Method) -> Result<RouteMatch, Unmatched> {
        let Ok(found) = self.matcher.at(path) else {
            return Err(Unmatched::NotFound);
        };
        let index = *found.value;
        let route = &self.table[index];
        let position = route
            .operations
            .iter()
            .position(|op| op.method == method)
            .or_else(|| {
                (method == Method::HEAD)
                    .then(|| {
                        route
                            .operations
                            .iter()
                            .position(|op| op.method == Method::GET)
                    })
                    .flatten()
            });
        let Some(position) = position else {
            let allowed = allowed(route);
            return Err(if method == Method::OPTIONS {
                Unmatched::Options {
                    template: route.template,
                    allowed,
                }
            } else {
                Unmatched::MethodNotAllowed {
                    template: route.template,
                    allowed,
                }
            });
        };
        let operation = &route.operations[position];
        Ok(RouteMatch {
            template: route.template,
            access: route.access,
            body: operation.body,
            idempotent: operation.idempotent,
            params: PathParams {
                pairs: found
                    .params
                    .iter()
                    .map(|(key, value)| (key.to_owned(), value.to_owned()))
                    .collect(),
            },
            route: index,
            operation: position,
        })
    }

    /// The handler of a match.
    pub(crate) fn handler(&self, matched: &RouteMatch) -> Handler<S> {
        self.table[matched.route].operations[matched.operation].handler
    }
}

/// The methods a route answers, for `Allow`: its operations in table order,
/// `HEAD` right after `GET`, and `OPTIONS` last (the router answers it).
fn allowed<S>(route: &Route<S>) -> Vec<Method> {
    let mut methods = Vec::with_capacity(route.operations.len() + 2);
    for operation in &route.operations {
        methods.push(operation.method.clone());
        if operation.method == Method::GET {
            methods.push(Method::HEAD);
        }
    }
    methods.push(Method::OPTIONS);
    methods
}

/// A request that matched no operation, which the router answers itself.
#[derive(Debug)]
enum Unmatched {
    /// No route has this path: `404`.
    NotFound,
    /// The route has no such method: `405` with `Allow`.
    MethodNotAllowed {
        template: &'static str,
        allowed: Vec<Method>,
    },
    /// `OPTIONS` (when CORS is on, the CORS layer answers it before the
    /// router): `204` with `Allow`.
    Options {
        template: &'static str,
        allowed: Vec<Method>,
    },
}

impl Unmatched {
    /// `404`, or `405`/`204` carrying the [`MatchedRoute`].
    fn into_response(self) -> Response<Body> {
        match self {
            Self::NotFound => ApiError::RouteNotFound.into_response(),
            Self::MethodNotAllowed { template, allowed } => {
                let mut response = ApiError::MethodNotAllowed { allowed }.into_response();
                response.extensions_mut().insert(MatchedRoute(template));
                response
            }
            Self::Options { template, allowed } => {
                let mut response = crate::response::no_content();
                if let Some(value) = crate::error::allow_header(&allowed) {
                    response.headers_mut().insert(http::header::ALLOW, value);
                }
                response.extensions_mut().insert(MatchedRoute(template));
                response
            }
        }
    }
}

/// Path parameters of a matched route.
#[derive(Debug, Default, Clone)]
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

/// The route a request matched, in its extensions: the facts every later
/// layer reads.
#[derive(Debug, Clone)]
pub(crate) struct RouteMatch {
    pub(crate) template: &'static str,
    pub(crate) access: Access,
    pub(crate) body: BodyLimit,
    pub(crate) idempotent: bool,
    pub(crate) params: PathParams,
    route: usize,
    operation: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_route_table_compiles_and_static_segments_win() {
        let routes = Routes::<tasker_core::store::AnyStore>::new();
        let stats = routes.find("/api/v1/todos/stats", &Method::GET).unwrap();
        assert_eq!(stats.template, "/api/v1/todos/stats");
        let todo = routes.find("/api/v1/todos/abc", &Method::GET).unwrap();
        assert_eq!(todo.template, "/api/v1/todos/{id}");
        assert_eq!(todo.params.get("id"), "abc");
        assert!(routes.find("/api/v1/nothing", &Method::GET).is_err());
    }

    #[test]
    fn head_runs_the_get_operation_and_options_is_the_routers() {
        let routes = Routes::<tasker_core::store::AnyStore>::new();
        let get = routes.find("/api/v1/todos/abc", &Method::GET).unwrap();
        let head = routes.find("/api/v1/todos/abc", &Method::HEAD).unwrap();
        assert_eq!((head.route, head.operation), (get.route, get.operation));
        assert!(matches!(
            routes.find("/api/v1/todos/abc/attachments", &Method::HEAD),
            Err(Unmatched::MethodNotAllowed { .. })
        ));
        let Err(Unmatched::Options { allowed, .. }) =
            routes.find("/api/v1/todos/abc", &Method::OPTIONS)
        else {
            panic!("OPTIONS is answered by the router");
        };
        assert_eq!(
            allowed,
            [
                Method::GET,
                Method::HEAD,
                Method::PATCH,
                Method::DELETE,
                Method::OPTIONS
            ]
        );
        assert!(matches!(
            routes.find("/nothing", &Method::OPTIONS),
            Err(Unmatched::NotFound)
        ));
    }

    #[test]
    fn each_operation_documents_its_own_path_and_method() {
        for route in facts() {
            for operation in route.operations {
                let mut document = utoipa::openapi::OpenApi::default();
                (operation.doc)(&mut document);
                let paths: Vec<_> = document.paths.paths.keys().collect();
                assert_eq!(
                    paths,
                    [route.template],
                    "{} {}",
                    operation.method,
                    route.template
                );
                let item = &document.paths.paths[route.template];
                let documented = [
                    (Method::GET, item.get.is_some()),
                    (Method::POST, item.post.is_some()),
                    (Method::PATCH, item.patch.is_some()),
                    (Method::DELETE, item.delete.is_some()),
                    (Method::PUT, item.put.is_some()),
                ];
                let methods: Vec<_> = documented
                    .into_iter()
                    .filter_map(|(method, present)| present.then_some(method))
                    .collect();
                assert_eq!(
                    methods,
                    std::slice::from_ref(&operation.method),
                    "{}",
                    route.template
                );
            }
        }
    }
}
