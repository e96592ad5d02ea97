//! [`RoutingLayer`]: the one match of each request.

use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use http::{Request, Response};
use pin_project_lite::pin_project;
use tower::{Layer, Service};

use super::Routes;
use crate::{body::Body, rate_limit::RateLimitLayer};

/// Matches every request against the table, once. A request it answers
/// itself (`404`, `405`, `OPTIONS`) still counts in its client's rate-limit
/// buckets.
pub(crate) struct RoutingLayer<T> {
    routes: Arc<Routes<T>>,
    limits: Option<RateLimitLayer>,
}

impl<T> RoutingLayer<T> {
    pub(crate) fn new(routes: Arc<Routes<T>>, limits: Option<RateLimitLayer>) -> Self {
        Self { routes, limits }
    }
}

impl<T, S> Layer<S> for RoutingLayer<T> {
    type Service = Routing<T, S>;

    fn layer(&self, inner: S) -> Self::Service {
        Routing {
            inner,
            routes: Arc::clone(&self.routes),
            limits: self.limits.clone(),
        }
    }
}

/// The service made by [`RoutingLayer`]: `404`, `405` and `OPTIONS` itself,
/// the [`RouteMatch`] into the extensions of everything else.
pub(crate) struct Routing<T, S> {
    inner: S,
    routes: Arc<Routes<T>>,
    limits: Option<RateLimitLayer>,
}

impl<T, S: Clone> Clone for Routing<T, S> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            routes: Arc::clone(&self.routes),
            limits: self.limits.clone(),
        }
    }
}

impl<T, S, B> Service<Request<B>> for Routing<T, S>
where
    S: Service<Request<B>, Response = Response<Body>>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        match self.routes.find(request.uri().path(), request.method()) {
            Ok(matched) => {
                tracing::Span::current().record("route", tracing::field::display(matched.template));
                request.extensions_mut().insert(matched);
                ResponseFuture::Inner {
                    future: self.inner.call(request),
                }
            }
            Err(unmatched) => match &self.limits {
                Some(limits) => {
                    let limits = limits.clone();
                    let keys = limits.keys_of(&request);
                    ResponseFuture::Refused {
                        future: Box::pin(async move {
                            limits.count_refused(&keys, unmatched.into_response()).await
                        }),
                    }
                }
                None => ResponseFuture::Refused {
                    future: Box::pin(std::future::ready(unmatched.into_response())),
                },
            },
        }
    }
}

pin_project! {
    /// The response future of [`RoutingLayer`]'s service.
    #[project = Projected]
    pub(crate) enum ResponseFuture<F> {
        Inner { #[pin] future: F },
        Refused { future: Pin<Box<dyn Future<Output = Response<Body>> + Send>> },
    }
}

impl<F, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<Body>, E>>,
{
    type Output = Result<Response<Body>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            Projected::Inner { future } => future.poll(cx),
            Projected::Refused { future } => future.as_mut().poll(cx).map(Ok),
        }
    }
}
