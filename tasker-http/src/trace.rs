//! One span per request, one log line per response, and panics turned into
//! `500` responses.
//!
//! The span carries `method`, `path`, `request_id`, `client_ip` (derived as
//! the per-IP rate limit derives it: `X-Forwarded-For` believed only from a
//! trusted proxy), `user_agent` (at most [`USER_AGENT_MAX_BYTES`] bytes,
//! invalid UTF-8 shown as U+FFFD), and — once known — the matched `route`
//! template and the `user_id`. An absent client address or user agent is an
//! empty string. A host may see each span as it is made
//! ([`TraceLayer::on_request_span`]), to continue an incoming trace and to
//! fill its empty `trace_id` and `span_id` fields with the ids of the
//! exported span (the reference server does when it exports traces). The closing event adds
//! `status` and `latency_ms`; for an error response it adds the error
//! itself from the [`ErrorContext`] (a `5xx` at `error`
//! level with its cause chain, a `4xx` at `debug`).
//!
//! The panic catcher is our own rather than tower-http's `catch-panic`,
//! whose responses have an unsynchronised body (`UnsyncBoxBody`), where
//! [`TaskerApi`](crate::TaskerApi) answers with the `Sync` [`Body`].

use std::{
    convert::Infallible,
    future::Future,
    net::IpAddr,
    panic::AssertUnwindSafe,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Instant,
};

use futures_util::FutureExt;
use http::{Request, Response};
use pin_project_lite::pin_project;
use tower::{Layer, Service};
use tracing::{Instrument, field::Empty};

use crate::{
    body::Body, client_ip::client_ip, error::ApiError, error::ErrorContext, request_id::RequestId,
};

/// The longest user agent a request span carries, in bytes; the rest is cut.
pub const USER_AGENT_MAX_BYTES: usize = 256;

/// Called with each request span as soon as it is made, and the request's
/// headers, before anything runs inside the span: where a host continues an
/// incoming trace (a W3C `traceparent`) by setting the span's parent.
pub type SpanHook = Arc<dyn Fn(&tracing::Span, &http::HeaderMap) + Send + Sync>;

/// Adds the request span and catches panics.
///
/// [`TraceLayer::default`] believes no `X-Forwarded-For`; give it the
/// trusted proxies with [`TraceLayer::trusted_proxies`] (the
/// [`TaskerApi`](crate::TaskerApi) builder passes
/// `settings.rate_limit.trusted_proxies`).
#[derive(Clone, Default)]
pub struct TraceLayer {
    trusted_proxies: Arc<[IpAddr]>,
    on_span: Option<SpanHook>,
}

impl std::fmt::Debug for TraceLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TraceLayer")
            .field("trusted_proxies", &self.trusted_proxies)
            .field("on_span", &self.on_span.is_some())
            .finish()
    }
}

impl TraceLayer {
    /// A layer that takes the client IP from `X-Forwarded-For` when the peer
    /// is one of `proxies`, as the per-IP rate limit does.
    pub fn trusted_proxies(proxies: impl IntoIterator<Item = IpAddr>) -> Self {
        Self {
            trusted_proxies: proxies.into_iter().collect(),
            on_span: None,
        }
    }

    /// Calls `hook` with each request span as soon as it is made (see
    /// [`SpanHook`]).
    pub fn on_request_span(
        self,
        hook: impl Fn(&tracing::Span, &http::HeaderMap) + Send + Sync + 'static,
    ) -> Self {
        self.span_hook(Some(Arc::new(hook)))
    }

    pub(crate) fn span_hook(mut self, hook: Option<SpanHook>) -> Self {
        self.on_span = hook;
        self
    }
}

impl<S> Layer<S> for TraceLayer {
    type Service = Trace<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Trace {
            inner: CatchPanic(inner),
            trusted_proxies: Arc::clone(&self.trusted_proxies),
            on_span: self.on_span.clone(),
        }
    }
}

/// The service made by [`TraceLayer`].
#[derive(Clone)]
pub struct Trace<S> {
    inner: CatchPanic<S>,
    trusted_proxies: Arc<[IpAddr]>,
    on_span: Option<SpanHook>,
}

impl<S: std::fmt::Debug> std::fmt::Debug for Trace<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trace")
            .field("inner", &self.inner)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("on_span", &self.on_span.is_some())
            .finish()
    }
}

impl<S, B> Service<Request<B>> for Trace<S>
where
    S: Service<Request<B>, Response = Response<Body>, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .and_then(|id| id.header_value().to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let client_ip = client_ip(
            request.extensions(),
            request.headers(),
            &self.trusted_proxies,
        )
        .map(|ip| ip.to_string())
        .unwrap_or_default();
        let user_agent = loggable_user_agent(request.headers());
        let span = tracing::info_span!(
            "request",
            method = %request.method(),
            path = %loggable_path(request.uri().path()),
            request_id = %request_id,
            client_ip = %client_ip,
            // A `&str` value: the text formatter quotes and escapes it.
            user_agent = user_agent.as_ref(),
            route = Empty,
            user_id = Empty,
            trace_id = Empty,
            span_id = Empty,
        );
        if let Some(hook) = &self.on_span {
            hook(&span, request.headers());
        }
        let started = Instant::now();
        let future = {
            let _entered = span.enter();
            self.inner.call(request)
        };
        ResponseFuture {
            inner: Box::pin(
                async move {
                    let response = future.await?;
                    log_response(&response, started);
                    Ok(response)
                }
                .instrument(span),
            ),
        }
    }
}

/// Only the panic → `500` part of [`Trace`], for a stack without spans.
#[derive(Debug, Clone)]
pub struct CatchPanic<S>(pub(crate) S);

impl<S, B> Service<Request<B>> for CatchPanic<S>
where
    S: Service<Request<B>, Response = Response<Body>, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // A panic while building the future is caught like one inside it.
        let future = std::panic::catch_unwind(AssertUnwindSafe(|| self.0.call(request)));
        ResponseFuture {
            inner: Box::pin(async move {
                let outcome = match future {
                    Ok(future) => AssertUnwindSafe(future).catch_unwind().await,
                    Err(panic) => Err(panic),
                };
                Ok(match outcome {
                    Ok(Ok(response)) => response,
                    Ok(Err(never)) => match never {},
                    Err(panic) => panic_response(panic),
                })
            }),
        }
    }
}

pin_project! {
    /// The response future of [`Trace`] and [`CatchPanic`].
    pub struct ResponseFuture {
        #[pin]
        inner: Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>,
    }
}

impl std::fmt::Debug for ResponseFuture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl Future for ResponseFuture {
    type Output = Result<Response<Body>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().inner.poll(cx)
    }
}

/// The `500` answer to a caught panic.
pub(crate) fn panic_response(panic: Box<dyn std::any::Any + Send>) -> Response<Body> {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    ApiError::Panic(message).into_response()
}

/// The path as it may be logged: a signed download link is a credential, so
/// its token is left out.
fn loggable_path(path: &str) -> &str {
    const FILES: &str = "/api/v1/files/";
    match path.find(FILES) {
        Some(at) if path.len() > at + FILES.len() => "/api/v1/files/{token}",
        _ => path,
    }
}

/// The `User-Agent` as it may be logged: at most [`USER_AGENT_MAX_BYTES`]
/// bytes, invalid UTF-8 (a character cut in two too) as U+FFFD, empty when
/// absent.
fn loggable_user_agent(headers: &http::HeaderMap) -> std::borrow::Cow<'_, str> {
    let bytes = headers
        .get(http::header::USER_AGENT)
        .map(http::HeaderValue::as_bytes)
        .unwrap_or_default();
    String::from_utf8_lossy(&bytes[..bytes.len().min(USER_AGENT_MAX_BYTES)])
}

fn log_response(response: &Response<Body>, started: Instant) {
    let status = response.status().as_u16();
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    match response.extensions().get::<ErrorContext>() {
        Some(ErrorContext(error)) if error.is_server_error() => {
            tracing::error!(
                status,
                latency_ms,
                code = error.code(),
                error = %error,
                cause = ?std::error::Error::source(error.as_ref()).map(ToString::to_string),
                "request failed"
            );
        }
        Some(ErrorContext(error)) => {
            tracing::debug!(status, latency_ms, code = error.code(), error = %error, "request refused");
        }
        None => tracing::info!(status, latency_ms, "request completed"),
    }
}
