//! The error type of tasker-http and its one mapping to responses.
//!
//! Every failure becomes the reference error body
//! `{code, message, status, override, errors, action}`. A `5xx` body never
//! carries internal detail: the cause rides in the response extensions as an
//! [`ErrorContext`] and is logged by the trace layer with the request id.

use std::{sync::Arc, time::Duration};

use http::{HeaderValue, Response, StatusCode, header};
use serde::Serialize;
use tasker_core::{Resource, domain::ValidationErrors};

use crate::body::{Body, BoxError, full};

/// The result type of tasker-http.
pub type Result<T, E = ApiError> = std::result::Result<T, E>;

/// Everything that turns into a non-2xx response.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// A tasker-core operation failed.
    #[error(transparent)]
    Core(#[from] tasker_core::Error),
    /// Fields or query parameters broke the rules; each is listed.
    #[error("validation failed: {0}")]
    Validation(#[from] ValidationErrors),
    /// The body is not well-formed JSON (or not the expected JSON shape).
    #[error("malformed JSON body: {detail}")]
    MalformedJson {
        /// What the parser said, safe to show.
        detail: String,
    },
    /// The body's content type is not the one the route accepts.
    #[error("unsupported content type, expected {expected}")]
    UnsupportedMediaType {
        /// The accepted content type.
        expected: &'static str,
    },
    /// The body is larger than the route accepts.
    #[error("body larger than {limit} bytes")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The body could not be read from the connection.
    #[error("the request body could not be read")]
    BodyRead(#[source] BoxError),
    /// No credentials, or credentials that do not verify.
    #[error("unauthorized: {reason}")]
    Unauthorized {
        /// Why, in words safe to show (never key material).
        reason: String,
    },
    /// Authenticated, but without the role the route needs.
    #[error("forbidden: requires role {role:?}")]
    Forbidden {
        /// The role that was required.
        role: String,
    },
    /// No route has this path.
    #[error("no route for this path")]
    RouteNotFound,
    /// The path exists but not with this method.
    #[error("method not allowed")]
    MethodNotAllowed {
        /// The methods the path does accept.
        allowed: Vec<http::Method>,
    },
    /// Too many requests from this client or user.
    #[error("rate limit exceeded")]
    RateLimited {
        /// When the client may try again.
        retry_after: Duration,
        /// The limit (requests per window), for the `RateLimit-*` headers.
        limit: u32,
    },
    /// `If-Match` named a representation that is no longer current.
    #[error("precondition failed: the resource has changed")]
    PreconditionFailed,
    /// An `Idempotency-Key` whose first request is still running.
    #[error("a request with this idempotency key is still running")]
    IdempotencyKeyInUse,
    /// An `Idempotency-Key` already used with a different request.
    #[error("the idempotency key was used with a different request")]
    IdempotencyKeyReused,
    /// A signed download link is invalid or expired.
    #[error("download link invalid or expired")]
    InvalidDownloadLink,
    /// An unsubscribe link is forged, altered, or not answered here.
    #[error("unsubscribe link invalid")]
    InvalidUnsubscribeLink,
    /// The request took longer than the configured timeout.
    #[error("request timed out after {0:?}")]
    Timeout(Duration),
    /// A handler panicked.
    #[error("handler panicked: {0}")]
    Panic(String),
    /// Anything else that is the server's fault.
    #[error("internal error")]
    Internal(#[source] BoxError),
}

/// `Retry-After` (seconds) of a `503` when the database is unreachable.
const UNAVAILABLE_RETRY_AFTER: u64 = 1;

/// Most field errors an error body lists. Every valid request has far fewer;
/// without a bound, a body of many unknown keys would be answered with one
/// error per key, many times the size of the request.
const MAX_FIELD_ERRORS: usize = 50;

/// One entry of the `errors` list of the error body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldErrorBody {
    /// The field or query parameter, as the client spelled it.
    pub field: String,
    /// What is wrong with it.
    pub error: String,
}

/// A suggested client action (kept for contract compatibility; `null` today).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ErrorAction {
    /// The kind of action, e.g. `redirect`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Text to show.
    pub message: String,
    /// The action's argument, e.g. a URL.
    pub value: String,
}

/// The reference error body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// A stable upper-snake code such as `TODO_NOT_FOUND` (see `docs/api.md`).
    pub code: String,
    /// A human-readable message.
    pub message: String,
    /// The HTTP status, repeated.
    pub status: u16,
    /// Whether the client should show `message` instead of its own text.
    #[serde(rename = "override")]
    pub override_message: bool,
    /// Each invalid field, or `null`.
    pub errors: Option<Vec<FieldErrorBody>>,
    /// A suggested action, or `null`.
    pub action: Option<ErrorAction>,
}

/// The error behind an error response, kept in its extensions for logging.
#[derive(Debug, Clone)]
pub struct ErrorContext(pub Arc<ApiError>);

impl ApiError {
    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        use tasker_core::Error as Core;
        match self {
            Self::Core(Core::Validation(_)) | Self::Validation(_) | Self::MalformedJson { .. } => {
                StatusCode::BAD_REQUEST
            }
            Self::Core(Core::NotFound(_))
            | Self::RouteNotFound
            | Self::InvalidDownloadLink
            | Self::InvalidUnsubscribeLink => StatusCode::NOT_FOUND,
            Self::Core(Core::CategoryNameTaken { .. }) | Self::IdempotencyKeyInUse => {
                StatusCode::CONFLICT
            }
            Self::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            Self::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::BodyRead(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            Self::Forbidden { .. } => StatusCode::FORBIDDEN,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::PreconditionFailed | Self::Core(Core::Stale(_)) => {
                StatusCode::PRECONDITION_FAILED
            }
            Self::Timeout(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Core(e) if e.is_unavailable() => StatusCode::SERVICE_UNAVAILABLE,
            Self::Core(e) if e.is_storage_full() => StatusCode::INSUFFICIENT_STORAGE,
            Self::Core(Core::Blob { .. }) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Core(_) | Self::Panic(_) | Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable code of this error (listed in `docs/api.md`).
    pub fn code(&self) -> &'static str {
        use tasker_core::Error as Core;
        match self {
            Self::Core(Core::Validation(_)) | Self::Validation(_) => "VALIDATION_FAILED",
            Self::Core(Core::NotFound(resource)) => match resource {
                Resource::Todo => "TODO_NOT_FOUND",
                Resource::ParentTodo => "PARENT_TODO_NOT_FOUND",
                Resource::Category => "CATEGORY_NOT_FOUND",
                Resource::Comment => "COMMENT_NOT_FOUND",
                Resource::Attachment => "ATTACHMENT_NOT_FOUND",
                _ => "NOT_FOUND",
            },
            Self::Core(Core::CategoryNameTaken { .. }) => "CATEGORY_NAME_TAKEN",
            Self::MalformedJson { .. } => "INVALID_JSON",
            Self::UnsupportedMediaType { .. } => "UNSUPPORTED_MEDIA_TYPE",
            Self::PayloadTooLarge { .. } => "PAYLOAD_TOO_LARGE",
            Self::BodyRead(_) => "BAD_REQUEST",
            Self::Unauthorized { .. } => "UNAUTHORIZED",
            Self::Forbidden { .. } => "FORBIDDEN",
            Self::RouteNotFound => "ROUTE_NOT_FOUND",
            Self::MethodNotAllowed { .. } => "METHOD_NOT_ALLOWED",
            Self::RateLimited { .. } => "RATE_LIMITED",
            Self::PreconditionFailed | Self::Core(Core::Stale(_)) => "PRECONDITION_FAILED",
            Self::InvalidDownloadLink => "DOWNLOAD_LINK_INVALID",
            Self::InvalidUnsubscribeLink => "UNSUBSCRIBE_LINK_INVALID",
            Self::IdempotencyKeyInUse => "IDEMPOTENCY_KEY_IN_USE",
            Self::IdempotencyKeyReused => "IDEMPOTENCY_KEY_REUSED",
            Self::Timeout(_) => "TIMEOUT",
            Self::Core(e) if e.is_unavailable() => "SERVICE_UNAVAILABLE",
            Self::Core(e) if e.is_storage_full() => "INSUFFICIENT_STORAGE",
            Self::Core(Core::Blob { .. }) => "FILE_STORAGE_UNAVAILABLE",
            Self::Core(_) | Self::Panic(_) | Self::Internal(_) => "INTERNAL_SERVER_ERROR",
        }
    }

    /// The message shown to the client: never internal detail.
    fn public_message(&self) -> String {
        use tasker_core::Error as Core;
        match self {
            Self::Core(Core::Validation(_)) | Self::Validation(_) => "Validation failed".into(),
            Self::Core(Core::NotFound(resource)) => {
                let mut text = resource.to_string();
                text[..1].make_ascii_uppercase();
                format!("{text} not found")
            }
            Self::Core(Core::CategoryNameTaken { name }) => {
                format!("A category named {name:?} already exists")
            }
            Self::MalformedJson { .. } => "The request body is not valid JSON".into(),
            Self::UnsupportedMediaType { expected } => {
                format!("Unsupported content type: send {expected}")
            }
            Self::PayloadTooLarge { limit } => {
                format!("The request body is larger than {limit} bytes")
            }
            Self::BodyRead(_) => "The request body could not be read".into(),
            Self::Unauthorized { reason } => format!("Unauthorized: {reason}"),
            Self::Forbidden { .. } => "You do not have permission to do this".into(),
            Self::RouteNotFound => "Route not found".into(),
            Self::MethodNotAllowed { .. } => "Method not allowed on this route".into(),
            Self::RateLimited { .. } => "Too many requests, slow down".into(),
            Self::PreconditionFailed | Self::Core(Core::Stale(_)) => {
                "The resource has changed since you read it (If-Match)".into()
            }
            Self::InvalidDownloadLink => "This download link is invalid or has expired".into(),
            Self::InvalidUnsubscribeLink => "This unsubscribe link is invalid".into(),
            Self::IdempotencyKeyInUse => {
                "A request with this Idempotency-Key is still running, retry shortly".into()
            }
            Self::IdempotencyKeyReused => {
                "This Idempotency-Key was already used with a different request".into()
            }
            Self::Timeout(_) => "The request took too long".into(),
            Self::Core(e) if e.is_unavailable() => {
                "The service is briefly unavailable, try again shortly".into()
            }
            Self::Core(e) if e.is_storage_full() => {
                "The file store is full; nothing was saved".into()
            }
            Self::Core(Core::Blob { .. }) => {
                "The file store is unavailable; nothing was saved".into()
            }
            Self::Core(_) | Self::Panic(_) | Self::Internal(_) => {
                "Something went wrong on our side".into()
            }
        }
    }

    fn field_errors(&self) -> Option<Vec<FieldErrorBody>> {
        use tasker_core::Error as Core;
        let list = match self {
            Self::Core(Core::Validation(errors)) | Self::Validation(errors) => errors.errors(),
            Self::Core(Core::CategoryNameTaken { .. }) => {
                return Some(vec![FieldErrorBody {
                    field: "name".into(),
                    error: "already taken".into(),
                }]);
            }
            Self::IdempotencyKeyReused => {
                return Some(vec![FieldErrorBody {
                    field: "Idempotency-Key".into(),
                    error: "already used with a different request".into(),
                }]);
            }
            Self::MalformedJson { detail } => {
                return Some(vec![FieldErrorBody {
                    field: "body".into(),
                    error: detail.clone(),
                }]);
            }
            _ => return None,
        };
        Some(
            list.iter()
                .take(MAX_FIELD_ERRORS)
                .map(|e| FieldErrorBody {
                    field: e.field().to_owned(),
                    error: e.error().to_owned(),
                })
                .collect(),
        )
    }

    /// Whether this is the server's fault (logged at error level).
    pub fn is_server_error(&self) -> bool {
        self.status().is_server_error()
    }

    /// The reference error body for this error.
    pub fn body(&self) -> ErrorBody {
        let status = self.status();
        ErrorBody {
            code: self.code().to_owned(),
            message: self.public_message(),
            status: status.as_u16(),
            override_message: false,
            errors: self.field_errors(),
            action: None,
        }
    }

    /// The response for this error; the error itself goes into the
    /// extensions as an [`ErrorContext`].
    pub fn into_response(self) -> Response<Body> {
        let body = self.body();
        let json = serde_json::to_vec(&body).unwrap_or_default();
        let mut response = Response::new(full(json));
        *response.status_mut() = self.status();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        match &self {
            Self::MethodNotAllowed { allowed } => {
                if let Some(value) = allow_header(allowed) {
                    headers.insert(header::ALLOW, value);
                }
            }
            Self::RateLimited { retry_after, limit } => {
                let seconds = retry_after.as_secs_f64().ceil().max(1.0) as u64;
                headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
                headers.insert("ratelimit-limit", HeaderValue::from(*limit));
                headers.insert("ratelimit-remaining", HeaderValue::from(0u32));
                headers.insert("ratelimit-reset", HeaderValue::from(seconds));
            }
            Self::Unauthorized { .. } => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            Self::Core(e) if e.is_unavailable() => {
                headers.insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(UNAVAILABLE_RETRY_AFTER),
                );
            }
            Self::IdempotencyKeyInUse => {
                headers.insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(UNAVAILABLE_RETRY_AFTER),
                );
            }
            _ => {}
        }
        response
            .extensions_mut()
            .insert(ErrorContext(Arc::new(self)));
        response
    }
}

/// The `Allow` header naming `methods`, comma-separated.
pub(crate) fn allow_header(methods: &[http::Method]) -> Option<HeaderValue> {
    let list = methods
        .iter()
        .map(http::Method::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    HeaderValue::from_str(&list).ok()
}
