//! The response body type and bounded reading of request bodies.

use std::{future::Future, pin::Pin};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};

use crate::error::ApiError;

/// A boxed error, as carried by bodies.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The body of every response this crate produces (and of requests once they
/// are inside the layer stack).
pub type Body = http_body_util::combinators::BoxBody<Bytes, BoxError>;

/// A body holding `bytes`.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

/// An empty body.
pub fn empty() -> Body {
    full(Bytes::new())
}

/// The body of requests inside the layer stack (any body the host's server
/// hands in, boxed; it need not be `Sync`).
pub type RequestBody = http_body_util::combinators::UnsyncBoxBody<Bytes, BoxError>;

/// Turns any request body into a [`RequestBody`].
pub(crate) fn boxed_request<B>(body: B) -> RequestBody
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    body.map_err(Into::into).boxed_unsync()
}

/// Reads a whole body, refusing it with `413` once it grows past `limit` bytes.
///
/// A `Content-Length` over the limit is refused before a byte is read. (The
/// future is boxed and `'static`, which keeps handlers provably `Send`.)
pub(crate) fn read_limited(
    headers: &http::HeaderMap,
    body: RequestBody,
    limit: usize,
) -> Pin<Box<dyn Future<Output = Result<Bytes, ApiError>> + Send + 'static>> {
    let declared = content_length(headers);
    Box::pin(async move {
        if declared.is_some_and(|length| length > limit as u64) {
            return Err(ApiError::PayloadTooLarge { limit });
        }
        let mut body = body;
        let mut buffer = bytes::BytesMut::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(ApiError::BodyRead)?;
            if let Ok(data) = frame.into_data() {
                if buffer.len() + data.len() > limit {
                    return Err(ApiError::PayloadTooLarge { limit });
                }
                buffer.extend_from_slice(&data);
            }
        }
        Ok(buffer.freeze())
    })
}

/// The request's declared `Content-Length`, if it parses.
pub(crate) fn content_length(headers: &http::HeaderMap) -> Option<u64> {
    headers
        .get(http::header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}
