//! [`Authenticate`]: the policy turning request headers into an
//! [`AuthUser`], and [`bearer_token`].

use std::future::Future;

use http::{HeaderMap, header::AUTHORIZATION};

use super::{AuthError, AuthUser};

/// Turns request headers into the authenticated caller.
///
/// [`AuthLayer`](super::AuthLayer) runs it on every request. The contract:
///
/// - `Ok(None)` when the request carries no credentials (no `Authorization`
///   header): the request goes on unauthenticated;
/// - `Ok(Some(user))` when they verify: `user` goes into the request
///   extensions;
/// - `Err(_)` when credentials are present but do not verify: the request is
///   refused with `401`.
///
/// [`JwtAuthenticator`](super::JwtAuthenticator) is the built-in policy. A
/// host application can supply its own, as a type implementing this trait or
/// as a closure:
///
/// ```
/// use http::HeaderMap;
/// use tasker_core::domain::UserId;
/// use tasker_http::auth::{AuthError, AuthLayer, AuthUser, bearer_token};
///
/// // Accepts one fixed API key (a sketch: use a constant-time comparison).
/// let layer = AuthLayer::new(|headers: &HeaderMap| {
///     let result = match bearer_token(headers) {
///         Ok(None) => Ok(None),
///         Ok(Some("let-me-in")) => UserId::parse("service")
///             .map(|id| Some(AuthUser::new(id)))
///             .map_err(|_| AuthError::InvalidSubject),
///         Ok(Some(_)) => Err(AuthError::Rejected { reason: "unknown API key".into() }),
///         Err(error) => Err(error),
///     };
///     std::future::ready(result)
/// });
/// # let _ = layer;
/// ```
pub trait Authenticate: Clone + Send + Sync + 'static {
    /// Authenticates the request with these headers.
    fn authenticate(
        &self,
        headers: &HeaderMap,
    ) -> impl Future<Output = Result<Option<AuthUser>, AuthError>> + Send;
}

impl<F, Fut> Authenticate for F
where
    F: Fn(&HeaderMap) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<Option<AuthUser>, AuthError>> + Send,
{
    fn authenticate(
        &self,
        headers: &HeaderMap,
    ) -> impl Future<Output = Result<Option<AuthUser>, AuthError>> + Send {
        self(headers)
    }
}

/// The bearer token of the `Authorization` header.
///
/// `Ok(None)` without the header; an error when it is not one well-formed
/// `Bearer <token>` header (the scheme is matched case-insensitively).
///
/// ```
/// use http::{HeaderMap, HeaderValue, header::AUTHORIZATION};
/// use tasker_http::auth::{AuthError, bearer_token};
///
/// let mut headers = HeaderMap::new();
/// assert_eq!(bearer_token(&headers), Ok(None));
/// headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer abc.def.ghi"));
/// assert_eq!(bearer_token(&headers), Ok(Some("abc.def.ghi")));
/// headers.insert(AUTHORIZATION, HeaderValue::from_static("Basic dXNlcjpwdw=="));
/// assert_eq!(bearer_token(&headers), Err(AuthError::InvalidScheme));
/// ```
///
/// # Errors
/// [`AuthError::InvalidScheme`] for another scheme, [`AuthError::Malformed`]
/// for several `Authorization` headers, a non-ASCII value or an empty token.
pub fn bearer_token(headers: &HeaderMap) -> Result<Option<&str>, AuthError> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(AuthError::Malformed);
    }
    let value = value.to_str().map_err(|_| AuthError::Malformed)?.trim();
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::InvalidScheme);
    }
    let token = token.trim();
    if token.is_empty() || token.contains(char::is_whitespace) {
        return Err(AuthError::Malformed);
    }
    Ok(Some(token))
}
