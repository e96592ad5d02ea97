//! Request ids: `x-request-id` taken from the client when it looks sane,
//! generated (UUID v7) otherwise, stored in the request extensions as a
//! [`RequestId`] and echoed on the response. tower-http's request-id
//! middleware does the setting and echoing; [`DropUnsafeRequestId`] first
//! drops a client id that is not 1–128 characters of `[A-Za-z0-9._:-]`, so
//! that a generated one replaces it.
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

use std::task::{Context, Poll};

use http::{HeaderName, HeaderValue, Request};
use tower::{Layer, Service};
pub use tower_http::request_id::RequestId;
use tower_http::request_id::{MakeRequestId, PropagateRequestId, SetRequestId};

/// The request id header.
pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Makes a fresh id: a UUID v7.
#[derive(Debug, Clone, Copy, Default)]
pub struct MakeRequestUuidV7;

impl MakeRequestId for MakeRequestUuidV7 {
    fn make_request_id<B>(&mut self, _request: &Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(&uuid::Uuid::now_v7().to_string())
            .ok()
            .map(RequestId::new)
    }
}

/// Adds a [`RequestId`] to every request and its response.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestIdLayer;

impl<S> Layer<S> for RequestIdLayer {
    type Service = DropUnsafeRequestId<SetRequestId<PropagateRequestId<S>, MakeRequestUuidV7>>;

    fn layer(&self, inner: S) -> Self::Service {
        DropUnsafeRequestId {
            inner: SetRequestId::new(
                PropagateRequestId::new(inner, X_REQUEST_ID.clone()),
                X_REQUEST_ID.clone(),
                MakeRequestUuidV7,
            ),
        }
    }
}

/// Drops a client's `x-request-id` that does not look sane, then calls the
/// inner service. Part of [`RequestIdLayer`].
#[derive(Debug, Clone)]
pub struct DropUnsafeRequestId<S> {
    inner: S,
}

/// Whether a client's id may be used: 1–128 characters of `[A-Za-z0-9._:-]`.
fn is_sane(value: &HeaderValue) -> bool {
    let bytes = value.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 128
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(b))
}

impl<S, B> Service<Request<B>> for DropUnsafeRequestId<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let headers = request.headers_mut();
        // The first value counts; it replaces any others, or goes if unsafe.
        match headers.get(&X_REQUEST_ID).cloned() {
            Some(first) if is_sane(&first) => {
                headers.insert(X_REQUEST_ID.clone(), first);
            }
            Some(_) => {
                headers.remove(&X_REQUEST_ID);
            }
            None => {}
        }
        self.inner.call(request)
    }
}
