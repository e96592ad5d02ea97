//! Building success responses.

use http::{HeaderMap, HeaderValue, Response, StatusCode, header};
use serde::Serialize;

use crate::{
    body::{Body, empty, full},
    conditional,
    error::ApiError,
};

/// The JSON bytes of `value`.
pub(crate) fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(value).map_err(|error| ApiError::Internal(error.into()))
}

fn json_bytes(status: StatusCode, bytes: Vec<u8>) -> Response<Body> {
    let mut response = Response::new(full(bytes));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    // Responses carry one user's data: never for shared caches.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    response
}

/// `status` with `value` as JSON.
pub(crate) fn json<T: Serialize>(
    status: StatusCode,
    value: &T,
) -> Result<Response<Body>, ApiError> {
    Ok(json_bytes(status, to_json(value)?))
}

/// `200` with `value` as JSON and its `ETag`, or `304` when the client's
/// `If-None-Match` already names it.
pub(crate) fn json_tagged<T: Serialize>(
    request_headers: &HeaderMap,
    value: &T,
) -> Result<Response<Body>, ApiError> {
    let bytes = to_json(value)?;
    let tag = conditional::etag(&bytes);
    let mut response = if conditional::not_modified(request_headers, &tag) {
        let mut response = Response::new(empty());
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-cache"),
        );
        response
    } else {
        json_bytes(StatusCode::OK, bytes)
    };
    response.headers_mut().insert(header::ETAG, tag);
    Ok(response)
}

/// `204 No Content`.
pub(crate) fn no_content() -> Response<Body> {
    let mut response = Response::new(empty());
    *response.status_mut() = StatusCode::NO_CONTENT;
    response
}
