//! Request ids: `x-request-id` taken from the client when it looks sane,
//! generated (UUID v7) otherwise, stored in the request extensions as a
//! [`RequestId`] and echoed on the response.
//!
//! ```
//! use http::{Request, Response};
//! use tasker_http::{Body, body::empty, request_id::{RequestId, RequestIdLayer}};
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//!
//! # tokio_test_block(async {
//! let service = ServiceBuilder::new()
//!     .layer(RequestIdLayer)
//!     .service(service_fn(|req: Request<Body>| async move {
//!         assert!(req.extensions().get::<RequestId>().is_some());
//!         Ok::<_, std::convert::Infallible>(Response::new(empty()))
//!     }));
//! let request = Request::builder().header("x-request-id", "abc-123").body(empty()).unwrap();
//! let response = service.oneshot(request).await.unwrap();
//! assert_eq!(response.headers()["x-request-id"], "abc-123");
//! # });
//! # fn tokio_test_block(f: impl std::future::Future<Output = ()>) {
//! #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
//! # }
//! ```

use std::{
    fmt,
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use http::{HeaderName, HeaderValue, Request, Response};
use pin_project_lite::pin_project;
use tower::{Layer, Service};

/// The request id header.
pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of one request, in the request (and response) extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(HeaderValue);

impl RequestId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        self.0.to_str().unwrap_or_default()
    }

    /// A fresh id.
    pub fn generate() -> Self {
        let text = uuid::Uuid::now_v7().to_string();
        Self(HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("-")))
    }

    /// The client's id when it is 1–128 characters of `[A-Za-z0-9._:-]`.
    fn from_client(value: &HeaderValue) -> Option<Self> {
        let bytes = value.as_bytes();
        let sane = !bytes.is_empty()
            && bytes.len() <= 128
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(b));
        sane.then(|| Self(value.clone()))
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Adds a [`RequestId`] to every request and its response.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestIdLayer;

impl<S> Layer<S> for RequestIdLayer {
    type Service = SetRequestId<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SetRequestId { inner }
    }
}

/// The service made by [`RequestIdLayer`].
#[derive(Debug, Clone)]
pub struct SetRequestId<S> {
    inner: S,
}

impl<S, B, ResBody> Service<Request<B>> for SetRequestId<S>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let id = request
            .headers()
            .get(&X_REQUEST_ID)
            .and_then(RequestId::from_client)
            .unwrap_or_else(RequestId::generate);
        request
            .headers_mut()
            .insert(X_REQUEST_ID.clone(), id.0.clone());
        request.extensions_mut().insert(id.clone());
        ResponseFuture {
            inner: self.inner.call(request),
            id: Some(id),
        }
    }
}

pin_project! {
    /// The response future of [`SetRequestId`].
    #[derive(Debug)]
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        id: Option<RequestId>,
    }
}

impl<F, ResBody, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = std::task::ready!(this.inner.poll(cx))?;
        if let Some(id) = this.id.take() {
            response
                .headers_mut()
                .insert(X_REQUEST_ID.clone(), id.0.clone());
            response.extensions_mut().insert(id);
        }
        Poll::Ready(Ok(response))
    }
}
