//! `Idempotency-Key`: a write retried with the same key runs once.
//!
//! A write (an operation the route table marks idempotent: every `POST`,
//! `PATCH` and `DELETE`) that carries `Idempotency-Key` is claimed in
//! the store under the caller and the key, with a fingerprint of the request
//! (method, path and query, content type, body). Then:
//!
//! - a new key runs the request in one transaction with the record of its
//!   response ([`IdempotentWrite`]): a response below `400` commits with
//!   its writes and is kept for [`IDEMPOTENCY_TTL`] (24 h); a `4xx` rolls
//!   them back and is kept; a `5xx` rolls them back and releases the key,
//!   so that a retry runs the request again. A request whose transaction
//!   lost a conflict with a concurrent one runs again, up to four times;
//! - the same key with the same request replays the kept response byte for
//!   byte, with `Idempotent-Replayed: true`;
//! - the same key with a different request is `422 IDEMPOTENCY_KEY_REUSED`;
//! - while the first request still runs, a duplicate gets
//!   `409 IDEMPOTENCY_KEY_IN_USE` with `Retry-After`.
//!
//! The request runs in a task of its own: a client that disconnects, or a
//! request timeout, does not cut it off before its commit. A process that
//! dies before the commit wrote nothing; its claim is taken over after
//! [`ABANDONED_AFTER`], and the retry runs the request once.

use std::{
    convert::Infallible,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full};
use pin_project_lite::pin_project;
use sha2::{Digest, Sha256};
use tasker_core::{
    domain::{FieldError, UserId},
    store::{
        CONFLICT_ATTEMPTS, IDEMPOTENCY_TTL, IdempotencyClaim, IdempotencyStore, IdempotentWrite,
        Store, StoredResponse, conflict_pause,
    },
};
use tower::{Layer, Service, ServiceExt};
use tracing::Instrument;

use crate::{
    api::AppState,
    body::{Body, RequestBody, boxed_request, full, read_limited},
    error::ApiError,
    routes::RouteMatch,
};

/// The request header.
pub(crate) const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");

/// The response header set on a replayed response.
pub(crate) const REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// A claim without a response older than this belongs to a request that
/// died (its process stopped): a retry takes the key over.
pub const ABANDONED_AFTER: time::Duration = time::Duration::minutes(5);

/// The longest key accepted.
const MAX_KEY_LEN: usize = 255;

/// Response headers kept with the body: the ones that describe it.
const KEPT_HEADERS: [HeaderName; 5] = [
    header::CONTENT_TYPE,
    header::LOCATION,
    header::ETAG,
    header::LAST_MODIFIED,
    header::CACHE_CONTROL,
];

/// The key, checked: 1–255 visible ASCII characters.
fn key_of(request: &Request<RequestBody>) -> Result<Option<String>, ApiError> {
    let Some(value) = request.headers().get(&IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    let invalid = || {
        ApiError::Validation(
            FieldError::new(
                "Idempotency-Key",
                format!("must be 1 to {MAX_KEY_LEN} visible ASCII characters"),
            )
            .into(),
        )
    };
    let bytes = value.as_bytes();
    if bytes.is_empty() || bytes.len() > MAX_KEY_LEN || !bytes.iter().all(|b| b.is_ascii_graphic())
    {
        return Err(invalid());
    }
    Ok(Some(value.to_str().map_err(|_| invalid())?.to_owned()))
}

/// Runs the writes the route table marks idempotent through the
/// `Idempotency-Key` protocol (see the module docs); other requests, and
/// requests without the header or without a caller, go straight on.
pub(crate) struct IdempotencyLayer<T> {
    state: Arc<AppState<T>>,
}

impl<T> IdempotencyLayer<T> {
    pub(crate) fn new(state: Arc<AppState<T>>) -> Self {
        Self { state }
    }
}

impl<T, S> Layer<S> for IdempotencyLayer<T> {
    type Service = Idempotency<T, S>;

    fn layer(&self, inner: S) -> Self::Service {
        Idempotency {
            inner,
            state: Arc::clone(&self.state),
        }
    }
}

/// The service made by [`IdempotencyLayer`].
pub(crate) struct Idempotency<T, S> {
    inner: S,
    state: Arc<AppState<T>>,
}

impl<T, S: Clone> Clone for Idempotency<T, S> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            state: Arc::clone(&self.state),
        }
    }
}

impl<T, S> Service<Request<RequestBody>> for Idempotency<T, S>
where
    T: Store + 'static,
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
        // The ready service answers; a fresh clone waits for the next call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        // Each call answers with the service in hand and keeps a clone for
        // the next (a request run again after a conflict).
        let next: Next = Box::new(move |request| {
            let spare = inner.clone();
            Box::pin(std::mem::replace(&mut inner, spare).oneshot(request))
        });
        let state = Arc::clone(&self.state);
        ResponseFuture {
            inner: Box::pin(async move {
                Ok(run(state, next, request)
                    .await
                    .unwrap_or_else(ApiError::into_response))
            }),
        }
    }
}

/// A boxed response future.
type Boxed = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

/// The inner service: each call runs the request once.
type Next = Box<dyn FnMut(Request<RequestBody>) -> Boxed + Send>;

pin_project! {
    /// The response future of [`Idempotency`].
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

/// One request through the protocol.
async fn run<T: Store + 'static>(
    state: Arc<AppState<T>>,
    mut next: Next,
    request: Request<RequestBody>,
) -> Result<Response<Body>, ApiError> {
    let Some(limit) = request
        .extensions()
        .get::<RouteMatch>()
        .filter(|matched| matched.idempotent)
        .map(|matched| matched.body.bytes(&state.settings))
    else {
        return Ok(next(request).await.unwrap_or_else(|never| match never {}));
    };
    let key = key_of(&request)?;
    let user = request
        .extensions()
        .get::<crate::AuthUser>()
        .map(|user| user.user_id.clone());
    let (Some(key), Some(user)) = (key, user) else {
        return Ok(next(request).await.unwrap_or_else(|never| match never {}));
    };
    let (parts, body) = request.into_parts();
    let body = read_limited(&parts.headers, body, limit).await?;
    let fingerprint = fingerprint(&parts, &body);
    let store = state.services.store().clone();
    let now = state.services.clock().now();
    let claim = store
        .claim_idempotency_key(
            &user,
            &key,
            &fingerprint,
            now,
            now - IDEMPOTENCY_TTL,
            now - ABANDONED_AFTER,
        )
        .await?;
    match claim {
        IdempotencyClaim::Claimed => {}
        IdempotencyClaim::InProgress => return Err(ApiError::IdempotencyKeyInUse),
        IdempotencyClaim::Mismatch => return Err(ApiError::IdempotencyKeyReused),
        IdempotencyClaim::Completed(stored) => return Ok(replay(stored)),
        _ => return Err(ApiError::IdempotencyKeyInUse),
    }
    let claimed = Claimed {
        store,
        user,
        key,
        at: now,
    };
    // Detached: the write and the record of its response are not separated
    // by a disconnect or a timeout of the caller.
    let task = tokio::spawn(
        async move {
            let mut attempt = 1;
            loop {
                let request =
                    Request::from_parts(parts.clone(), boxed_request(Full::new(body.clone())));
                let write = claimed
                    .store
                    .idempotent_write(&claimed.user, &claimed.key, claimed.at);
                let response = write
                    .run(next(request))
                    .await
                    .unwrap_or_else(|never| match never {});
                if write.conflicted() && attempt < CONFLICT_ATTEMPTS {
                    write.roll_back();
                    tracing::debug!(
                        attempt,
                        "idempotent write lost a conflict; running it again"
                    );
                    tokio::time::sleep(conflict_pause(attempt)).await;
                    attempt += 1;
                    continue;
                }
                return claimed.finish(write, response).await;
            }
        }
        .in_current_span(),
    );
    match task.await {
        Ok(response) => Ok(response),
        Err(error) => Err(ApiError::Panic(error.to_string())),
    }
}

/// The key this request claimed.
struct Claimed<T> {
    store: T,
    user: UserId,
    key: String,
    at: time::OffsetDateTime,
}

impl<T: IdempotencyStore> Claimed<T> {
    /// Commits the request's writes with its response (below `400`), or
    /// rolls them back and keeps the response (`4xx`: nothing was done, as
    /// a retry will be told) or releases the key (`5xx`: a retry runs it
    /// again). Returns the response with its body intact.
    async fn finish(&self, write: IdempotentWrite, response: Response<Body>) -> Response<Body> {
        let (parts, body) = response.into_parts();
        let bytes = match body.collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(error) => {
                write.roll_back();
                self.release().await;
                return ApiError::Internal(error).into_response();
            }
        };
        if parts.status.is_server_error() {
            write.roll_back();
            self.release().await;
            return Response::from_parts(parts, full(bytes));
        }
        let stored = StoredResponse {
            status: parts.status.as_u16(),
            headers: KEPT_HEADERS
                .iter()
                .filter_map(|name| {
                    let value = parts.headers.get(name)?.to_str().ok()?;
                    Some((name.as_str().to_owned(), value.to_owned()))
                })
                .collect(),
            body: bytes.to_vec(),
        };
        if parts.status.is_client_error() {
            write.roll_back();
            if let Err(error) = self
                .store
                .complete_idempotency_key(&self.user, &self.key, &stored)
                .await
            {
                // Nothing was written; a retry gets 409 until the claim is abandoned.
                tracing::warn!(%error, "the response for an idempotency key was not stored");
            }
            return Response::from_parts(parts, full(bytes));
        }
        match write.commit(&stored).await {
            Ok(true) => Response::from_parts(parts, full(bytes)),
            // Taken over as abandoned: the other request answers for the key.
            Ok(false) => ApiError::IdempotencyKeyInUse.into_response(),
            // Not released: the commit may have happened (see `IdempotentWrite::commit`).
            Err(error) => ApiError::from(error).into_response(),
        }
    }

    async fn release(&self) {
        if let Err(error) = self
            .store
            .release_idempotency_key(&self.user, &self.key)
            .await
        {
            tracing::warn!(%error, "an idempotency key was not released");
        }
    }
}

/// The kept response, as first sent, marked as a replay.
fn replay(stored: StoredResponse) -> Response<Body> {
    let mut response = Response::new(full(Bytes::from(stored.body)));
    *response.status_mut() =
        StatusCode::from_u16(stored.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    for (name, value) in stored.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            headers.append(name, value);
        }
    }
    headers.insert(REPLAYED, HeaderValue::from_static("true"));
    response
}

/// What makes two requests "the same": method, path and query, content type
/// and body.
fn fingerprint(parts: &http::request::Parts, body: &[u8]) -> String {
    let mut hash = Sha256::new();
    hash.update(parts.method.as_str());
    hash.update([0]);
    hash.update(
        parts
            .uri
            .path_and_query()
            .map_or("", |p| p.as_str())
            .as_bytes(),
    );
    hash.update([0]);
    if let Some(content_type) = parts.headers.get(header::CONTENT_TYPE) {
        hash.update(content_type.as_bytes());
    }
    hash.update([0]);
    hash.update(body);
    hex(&hash.finalize())
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use http::Method;

    use super::*;

    fn with_key(value: &[u8]) -> Request<RequestBody> {
        Request::builder()
            .method(Method::POST)
            .header(IDEMPOTENCY_KEY, HeaderValue::from_bytes(value).unwrap())
            .body(crate::body::boxed_request(
                http_body_util::Empty::<Bytes>::new(),
            ))
            .unwrap()
    }

    #[test]
    fn keys_are_one_to_255_visible_ascii_characters() {
        assert_eq!(
            key_of(&with_key(b"abc-123")).unwrap().as_deref(),
            Some("abc-123")
        );
        assert!(key_of(&with_key(&[b'k'; 255])).unwrap().is_some());
        for bad in [
            &b""[..],
            &[b'k'; 256][..],
            b"two words",
            b"tab\there",
            b"\xe9t\xe9",
        ] {
            let error = key_of(&with_key(bad)).unwrap_err();
            assert_eq!(error.status(), StatusCode::BAD_REQUEST, "{bad:?}");
            let body = error.body();
            assert_eq!(body.errors.unwrap()[0].field, "Idempotency-Key");
        }
    }

    #[test]
    fn the_fingerprint_covers_method_path_type_and_body() {
        let parts = |method: Method, uri: &str, ct: &str| {
            Request::builder()
                .method(method)
                .uri(uri)
                .header(header::CONTENT_TYPE, ct)
                .body(())
                .unwrap()
                .into_parts()
                .0
        };
        let base = fingerprint(&parts(Method::POST, "/a", "application/json"), b"{}");
        assert_eq!(base.len(), 64);
        assert_eq!(
            base,
            fingerprint(&parts(Method::POST, "/a", "application/json"), b"{}")
        );
        assert_ne!(
            base,
            fingerprint(&parts(Method::PATCH, "/a", "application/json"), b"{}")
        );
        assert_ne!(
            base,
            fingerprint(&parts(Method::POST, "/b", "application/json"), b"{}")
        );
        assert_ne!(
            base,
            fingerprint(&parts(Method::POST, "/a", "text/plain"), b"{}")
        );
        assert_ne!(
            base,
            fingerprint(&parts(Method::POST, "/a", "application/json"), b"{ }")
        );
    }
}
