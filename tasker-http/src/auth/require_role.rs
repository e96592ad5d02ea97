//! [`RequireRoleLayer`] and [`RequireRole`]: admit only callers with a role.

use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use http::{Request, Response};
use tower::{Layer, Service};

use super::{AuthError, AuthUser};
use crate::{body::Body, error::ApiError};

/// Wraps a service in [`RequireRole`]: it answers `401` when the request has
/// no [`AuthUser`] and `403` when the user lacks the role. Place it inside
/// (after) [`AuthLayer`](super::AuthLayer), around the routes to guard.
///
/// ```
/// use std::convert::Infallible;
///
/// use http::{Request, Response, StatusCode};
/// use tasker_core::domain::UserId;
/// use tasker_http::{AuthUser, Body, auth::RequireRoleLayer, body::full};
/// use tower::{Layer, ServiceExt, service_fn};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let admin_only = RequireRoleLayer::new("admin").layer(service_fn(|_: Request<Body>| async {
///     Ok::<_, Infallible>(Response::new(full("welcome")))
/// }));
///
/// let mut user = AuthUser::new(UserId::parse("user_1")?);
/// user.role = Some("member".into());
/// let mut request = Request::new(full(""));
/// request.extensions_mut().insert(user);
/// let response = admin_only.oneshot(request).await?;
/// assert_eq!(response.status(), StatusCode::FORBIDDEN);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct RequireRoleLayer {
    role: Arc<str>,
}

impl RequireRoleLayer {
    /// A layer admitting only users whose role is `role`.
    pub fn new(role: impl Into<String>) -> Self {
        Self {
            role: Arc::from(role.into()),
        }
    }

    /// The required role.
    pub fn role(&self) -> &str {
        &self.role
    }
}

impl<S> Layer<S> for RequireRoleLayer {
    type Service = RequireRole<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireRole {
            inner,
            role: Arc::clone(&self.role),
        }
    }
}

/// Calls the inner service only for users with the required role. Built by
/// [`RequireRoleLayer`].
#[derive(Debug, Clone)]
pub struct RequireRole<S> {
    inner: S,
    role: Arc<str>,
}

impl<S> RequireRole<S> {
    /// Wraps `inner`, admitting only users whose role is `role`.
    pub fn new(inner: S, role: impl Into<String>) -> Self {
        Self {
            inner,
            role: Arc::from(role.into()),
        }
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S, B> Service<Request<B>> for RequireRole<S>
where
    S: Service<Request<B>, Response = Response<Body>>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = RequireRoleFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let refusal = match request.extensions().get::<AuthUser>() {
            None => ApiError::from(AuthError::MissingToken),
            Some(user) if user.has_role(&self.role) => {
                return RequireRoleFuture {
                    state: State::Inner {
                        future: self.inner.call(request),
                    },
                };
            }
            Some(_) => ApiError::Forbidden {
                role: self.role.to_string(),
            },
        };
        RequireRoleFuture {
            state: State::Refused {
                response: Some(refusal.into_response()),
            },
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`RequireRole`].
    #[derive(Debug)]
    pub struct RequireRoleFuture<F> {
        #[pin]
        state: State<F>,
    }
}

pin_project_lite::pin_project! {
    #[project = StateProj]
    #[derive(Debug)]
    enum State<F> {
        // The inner service is answering.
        Inner {
            #[pin]
            future: F,
        },
        // The request was refused; the refusal until it is returned.
        Refused {
            response: Option<Response<Body>>,
        },
    }
}

impl<F, E> Future for RequireRoleFuture<F>
where
    F: Future<Output = Result<Response<Body>, E>>,
{
    type Output = Result<Response<Body>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Inner { future } => future.poll(cx),
            StateProj::Refused { response } => match response.take() {
                Some(response) => Poll::Ready(Ok(response)),
                None => Poll::Pending,
            },
        }
    }
}
