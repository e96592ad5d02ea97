//! [`AuthLayer`] and [`Auth`]: run an [`Authenticate`] policy on every
//! request.

use std::{
    fmt,
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use http::{Request, Response};
use tower::{Layer, Service};

use super::Authenticate;
use crate::{body::Body, error::ApiError};

/// Wraps a service in [`Auth`], authenticating every request with `A`.
///
/// ```
/// use std::convert::Infallible;
///
/// use http::{Request, Response, StatusCode, header::AUTHORIZATION};
/// use tasker_http::{
///     AuthUser, Body,
///     auth::{AuthLayer, JwtAuthenticator, JwtConfig},
///     body::full,
/// };
/// use tower::{ServiceBuilder, ServiceExt, service_fn};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let authenticator = JwtAuthenticator::new(JwtConfig::with_secret("a-32-byte-or-longer-shared-secret"))?;
/// let service = ServiceBuilder::new()
///     .layer(AuthLayer::new(authenticator))
///     .service(service_fn(|request: Request<Body>| async move {
///         let who = match request.extensions().get::<AuthUser>() {
///             Some(user) => user.user_id.as_str().to_owned(),
///             None => "anonymous".to_owned(),
///         };
///         Ok::<_, Infallible>(Response::new(full(who)))
///     }));
///
/// // No credentials: the request passes through unauthenticated.
/// let response = service.clone().oneshot(Request::new(full(""))).await?;
/// assert_eq!(response.status(), StatusCode::OK);
///
/// // Credentials that do not verify: refused at once.
/// let request = Request::builder()
///     .header(AUTHORIZATION, "Bearer not.a.token")
///     .body(full(""))?;
/// let response = service.oneshot(request).await?;
/// assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct AuthLayer<A> {
    authenticator: A,
}

impl<A> AuthLayer<A> {
    /// A layer authenticating requests with `authenticator`.
    pub fn new(authenticator: A) -> Self {
        Self { authenticator }
    }
}

impl<S, A: Clone> Layer<S> for AuthLayer<A> {
    type Service = Auth<S, A>;

    fn layer(&self, inner: S) -> Self::Service {
        Auth {
            inner,
            authenticator: self.authenticator.clone(),
        }
    }
}

/// Authenticates each request, then calls the inner service.
///
/// On `Ok(Some(user))` the [`AuthUser`](super::AuthUser) goes into the request
/// extensions; on `Ok(None)` the request goes on as it is (an `AuthUser` a
/// host layer inserted earlier stays); on `Err(_)` the answer is `401` and
/// the inner service is not called. Built by [`AuthLayer`].
#[derive(Debug, Clone)]
pub struct Auth<S, A> {
    inner: S,
    authenticator: A,
}

impl<S, A> Auth<S, A> {
    /// Wraps `inner`, authenticating with `authenticator`.
    pub fn new(inner: S, authenticator: A) -> Self {
        Self {
            inner,
            authenticator,
        }
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S, A, B> Service<Request<B>> for Auth<S, A>
where
    S: Service<Request<B>, Response = Response<Body>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Send + 'static,
    A: Authenticate,
    B: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = AuthFuture<S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // The clone goes in place of the service that was polled ready, which
        // is the one called.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let authenticator = self.authenticator.clone();
        AuthFuture {
            inner: Box::pin(async move {
                let (mut parts, body) = request.into_parts();
                match authenticator.authenticate(&parts.headers).await {
                    Ok(Some(user)) => {
                        parts.extensions.insert(user);
                    }
                    Ok(None) => {}
                    Err(error) => {
                        tracing::debug!(reason = %error, "request refused: authentication failed");
                        return Ok(ApiError::from(error).into_response());
                    }
                }
                inner.call(Request::from_parts(parts, body)).await
            }),
        }
    }
}

/// The response future of [`Auth`].
pub struct AuthFuture<E> {
    inner: Pin<Box<dyn Future<Output = Result<Response<Body>, E>> + Send>>,
}

impl<E> fmt::Debug for AuthFuture<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthFuture").finish_non_exhaustive()
    }
}

impl<E> Future for AuthFuture<E> {
    type Output = Result<Response<Body>, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
}
