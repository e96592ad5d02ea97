//! The stages after the route match: authentication where the route asks
//! for it, then (inside it) the rate limits, the deadline, idempotency and
//! the handler the route names.

use std::{
    convert::Infallible,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use http::{Request, Response};
use pin_project_lite::pin_project;
use tower::{Service, util::BoxCloneSyncService};

use crate::{
    api::AppState,
    body::{Body, RequestBody},
    error::ApiError,
    rate_limit::{Counted, RateLimitLayer},
    routes::{Access, MatchedRoute, RouteMatch, Routes},
};

/// The service type every stage is boxed as.
pub(crate) type Inner = BoxCloneSyncService<Request<RequestBody>, Response<Body>, Infallible>;

/// A boxed response future of a stage.
type Boxed = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

/// Runs authenticated routes through the host's authentication, public ones
/// past it; a request authentication refuses is still counted in the
/// rate-limit buckets it has (its client's), which it never reached.
#[derive(Clone)]
pub(crate) struct Authentication {
    public: Inner,
    authenticated: Inner,
    limits: Option<RateLimitLayer>,
}

impl Authentication {
    /// `authenticated` is `public` wrapped in the host's authentication
    /// layer; `limits` the rate-limit layer inside both, if any.
    pub(crate) fn new(public: Inner, authenticated: Inner, limits: Option<RateLimitLayer>) -> Self {
        Self {
            public,
            authenticated,
            limits,
        }
    }
}

impl Service<Request<RequestBody>> for Authentication {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = ResponseFuture;

    /// Ready when both paths are, as `tower::steer::Steer` does: which one a
    /// request takes is known only when it comes.
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        if self.public.poll_ready(cx)?.is_pending() {
            return Poll::Pending;
        }
        self.authenticated.poll_ready(cx)
    }

    fn call(&mut self, request: Request<RequestBody>) -> Self::Future {
        let access = request
            .extensions()
            .get::<RouteMatch>()
            .map_or(Access::Authenticated, |matched| matched.access);
        if !access.needs_token() {
            return ResponseFuture {
                inner: self.public.call(request),
            };
        }
        let Some(limits) = self.limits.clone() else {
            return ResponseFuture {
                inner: self.authenticated.call(request),
            };
        };
        let keys = limits.keys_of(&request);
        let future = self.authenticated.call(request);
        ResponseFuture {
            inner: Box::pin(async move {
                let response = future.await?;
                if response.extensions().get::<Counted>().is_some() {
                    return Ok(response);
                }
                // Refused by authentication: the client's bucket still counts
                // it, and a flood of bad tokens gets 429s.
                Ok(limits.count_refused(&keys, response).await)
            }),
        }
    }
}

pin_project! {
    /// The response future of the pipeline's own stages.
    pub(crate) struct ResponseFuture {
        #[pin]
        inner: Boxed,
    }
}

impl Future for ResponseFuture {
    type Output = Result<Response<Body>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().inner.poll(cx)
    }
}

/// Answers a request past `timeout` with `503 TIMEOUT`; what `inner`
/// answers in time carries the [`MatchedRoute`].
#[derive(Clone)]
pub(crate) struct Deadline<S> {
    inner: S,
    timeout: Duration,
}

impl<S> Deadline<S> {
    pub(crate) fn new(inner: S, timeout: Duration) -> Self {
        Self { inner, timeout }
    }
}

impl<S> Service<Request<RequestBody>> for Deadline<S>
where
    S: Service<Request<RequestBody>, Response = Response<Body>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<RequestBody>) -> Self::Future {
        let template = request
            .extensions()
            .get::<RouteMatch>()
            .map(|matched| matched.template);
        let timeout = self.timeout;
        // Boxed first: the async block over a generic future is not `Send`
        // for every lifetime, as the boxed one is.
        let future: Boxed = Box::pin(self.inner.call(request));
        ResponseFuture {
            inner: Box::pin(async move {
                Ok(match tokio::time::timeout(timeout, future).await {
                    Ok(Ok(mut response)) => {
                        if let Some(template) = template {
                            response.extensions_mut().insert(MatchedRoute(template));
                        }
                        response
                    }
                    Ok(Err(never)) => match never {},
                    Err(_) => ApiError::Timeout(timeout).into_response(),
                })
            }),
        }
    }
}

/// Calls the handler the matched route names.
pub(crate) struct Handle<T> {
    state: Arc<AppState<T>>,
    routes: Arc<Routes<T>>,
}

impl<T> Handle<T> {
    pub(crate) fn new(state: Arc<AppState<T>>, routes: Arc<Routes<T>>) -> Self {
        Self { state, routes }
    }
}

impl<T> Clone for Handle<T> {
    fn clone(&self) -> Self {
        Self {
            state: Arc::clone(&self.state),
            routes: Arc::clone(&self.routes),
        }
    }
}

impl<T: Send + Sync + 'static> Service<Request<RequestBody>> for Handle<T> {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<RequestBody>) -> Self::Future {
        if let Some(user) = request.extensions().get::<crate::AuthUser>() {
            tracing::Span::current().record("user_id", tracing::field::display(&user.user_id));
        }
        let Some(matched) = request.extensions().get::<RouteMatch>() else {
            return ResponseFuture {
                inner: Box::pin(async { Ok(ApiError::RouteNotFound.into_response()) }),
            };
        };
        let handler = self.routes.handler(matched);
        let future = handler(Arc::clone(&self.state), request);
        ResponseFuture {
            inner: Box::pin(
                async move { Ok(future.await.unwrap_or_else(ApiError::into_response)) },
            ),
        }
    }
}
