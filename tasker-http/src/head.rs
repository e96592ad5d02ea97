//! `HEAD`: the `GET` response without its body (RFC 9110 §9.3.2).
//!
//! The route table runs a route's `GET` operation for `HEAD` (see
//! `routes::Routes::find`), so status and headers (`ETag`, caching,
//! rate-limit headers, `304`, `401`) are the `GET`'s. [`HeadBodies`], the
//! outermost stage, drops the body of every answer to a `HEAD`, whoever made
//! it (a handler, a refusal, the panic `500`), and states the length the
//! `GET` body would have had, so no host needs to strip it.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body::Body as _;
use pin_project_lite::pin_project;
use tower::Service;

use crate::body::{Body, empty};

/// Answers `HEAD` requests with what `inner` answers, minus the body.
#[derive(Clone)]
pub(crate) struct HeadBodies<S>(pub(crate) S);

impl<S, B> Service<Request<B>> for HeadBodies<S>
where
    S: Service<Request<B>, Response = Response<Body>>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        ResponseFuture {
            head: request.method() == Method::HEAD,
            inner: self.0.call(request),
        }
    }
}

pin_project! {
    /// The response future of [`HeadBodies`].
    pub(crate) struct ResponseFuture<F> {
        head: bool,
        #[pin]
        inner: F,
    }
}

impl<F, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<Body>, E>>,
{
    type Output = Result<Response<Body>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let head = *this.head;
        this.inner.poll(cx).map_ok(|response| {
            if head {
                without_body(response)
            } else {
                response
            }
        })
    }
}

/// `response` with an empty body; `Content-Length` says how long the body
/// was, where the `GET` would have sent one (not on `1xx`, `204`, `304`) and
/// its length is known.
fn without_body(response: Response<Body>) -> Response<Body> {
    let (mut parts, body) = response.into_parts();
    let status = parts.status;
    let may_have_length = !(status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED);
    if may_have_length
        && !parts.headers.contains_key(header::CONTENT_LENGTH)
        && let Some(length) = body.size_hint().exact()
    {
        parts
            .headers
            .insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    }
    // Dropping the body releases whatever it held (a file's bytes) unread.
    drop(body);
    Response::from_parts(parts, empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::full;

    #[test]
    fn the_body_goes_and_its_length_stays() {
        let response = without_body(Response::new(full("hello")));
        assert_eq!(response.headers()[header::CONTENT_LENGTH], "5");
        assert_eq!(response.body().size_hint().exact(), Some(0));
    }

    #[test]
    fn no_length_is_stated_for_a_304() {
        let mut response = Response::new(empty());
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        let response = without_body(response);
        assert!(!response.headers().contains_key(header::CONTENT_LENGTH));
    }
}
