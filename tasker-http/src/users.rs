//! [`RememberUsersLayer`]: records each authenticated user (id and e-mail
//! from the token) for the job worker's user directory, and enqueues the
//! welcome e-mail the first time a user is seen.
//!
//! Place it where an [`AuthUser`] is already in the request extensions:
//! behind tasker's JWT layer (stack it with the layer given to
//! [`TaskerApiBuilder::auth_layer`](crate::TaskerApiBuilder::auth_layer)), or
//! around a [`TaskerApi`](crate::TaskerApi) when the host inserts the
//! `AuthUser` itself.
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use tasker_core::{queue::Enqueue, service::Services, store::AnyStore};
//! # fn build(services: Services<AnyStore>, queue: Arc<dyn Enqueue>, authenticator: tasker_http::auth::JwtAuthenticator) {
//! use tasker_http::{TaskerApi, auth::AuthLayer, users::RememberUsersLayer};
//!
//! let auth = tower::ServiceBuilder::new()
//!     .layer(AuthLayer::new(authenticator))
//!     .layer(RememberUsersLayer::new(services.jobs.clone(), queue))
//!     .into_inner();
//! let api = TaskerApi::builder(services).auth_layer(auth).build();
//! # }
//! ```

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    task::{Context, Poll},
    time::{Duration, Instant},
};

use http::Request;
use tasker_core::{
    queue::{Enqueue, JobRequest},
    service::JobService,
    store::JobStore,
};
use tower::{Layer, Service};

use crate::AuthUser;

/// How long a user is not looked at again after being recorded.
const REFRESH: Duration = Duration::from_secs(600);
/// Users remembered in memory before the table is emptied.
const CAPACITY: usize = 100_000;

/// A layer placed after authentication: see the [module docs](self).
///
/// A user is recorded at most once per ten minutes per process (and again
/// when the token's e-mail changes), in a background task: the request is
/// never delayed, and a failure is logged and retried on a later request.
pub struct RememberUsersLayer<S> {
    state: Arc<State<S>>,
}

impl<S> Clone for RememberUsersLayer<S> {
    fn clone(&self) -> Self {
        Self {
            state: Arc::clone(&self.state),
        }
    }
}

impl<S> std::fmt::Debug for RememberUsersLayer<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RememberUsersLayer").finish_non_exhaustive()
    }
}

struct State<S> {
    jobs: JobService<S>,
    queue: Arc<dyn Enqueue>,
    seen: Mutex<HashMap<(String, Option<String>), Instant>>,
}

impl<S: JobStore + Clone + Send + Sync + 'static> RememberUsersLayer<S> {
    /// Records users through `jobs` and enqueues welcome e-mails on `queue`.
    pub fn new(jobs: JobService<S>, queue: Arc<dyn Enqueue>) -> Self {
        Self {
            state: Arc::new(State {
                jobs,
                queue,
                seen: Mutex::default(),
            }),
        }
    }
}

impl<S, I> Layer<I> for RememberUsersLayer<S> {
    type Service = RememberUsers<S, I>;

    fn layer(&self, inner: I) -> Self::Service {
        RememberUsers {
            inner,
            state: Arc::clone(&self.state),
        }
    }
}

/// The service of [`RememberUsersLayer`].
pub struct RememberUsers<S, I> {
    inner: I,
    state: Arc<State<S>>,
}

impl<S, I: Clone> Clone for RememberUsers<S, I> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            state: Arc::clone(&self.state),
        }
    }
}

impl<S, I> std::fmt::Debug for RememberUsers<S, I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RememberUsers").finish_non_exhaustive()
    }
}

impl<S, I, B> Service<Request<B>> for RememberUsers<S, I>
where
    S: JobStore + Clone + Send + Sync + 'static,
    I: Service<Request<B>>,
{
    type Response = I::Response;
    type Error = I::Error;
    type Future = I::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        if let Some(user) = request.extensions().get::<AuthUser>() {
            self.state.observe(user);
        }
        self.inner.call(request)
    }
}

impl<S: JobStore + Clone + Send + Sync + 'static> State<S> {
    /// Drops the user from the recently-seen table.
    fn forget(&self, user: &AuthUser) {
        self.seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&(user.user_id.as_str().to_owned(), user.email.clone()));
    }

    /// Records the user in the background unless it was recorded lately with
    /// the same e-mail; never delays or fails the request.
    fn observe(self: &Arc<Self>, user: &AuthUser) {
        let key = (user.user_id.as_str().to_owned(), user.email.clone());
        {
            let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            if seen
                .get(&key)
                .is_some_and(|at| now.duration_since(*at) < REFRESH)
            {
                return;
            }
            if seen.len() >= CAPACITY {
                seen.clear();
            }
            seen.insert(key, now);
        }
        let state = Arc::clone(self);
        let user = user.clone();
        tokio::spawn(async move {
            match state
                .jobs
                .remember_user(&user.user_id, user.email.as_deref(), None)
                .await
            {
                Ok(true) => {
                    if let Err(e) = state
                        .queue
                        .enqueue(JobRequest::Welcome {
                            user: user.user_id.clone(),
                        })
                        .await
                    {
                        // Not lost: the user is forgotten, so the next
                        // request (after the queue is back) is a first
                        // sighting again and enqueues the welcome.
                        // Recorded as an error value, so the log shows the queue's own
                        // cause (`error.sources`) under the seam's message.
                        tracing::warn!(user_id = %user.user_id.as_str(), error = &e as &dyn std::error::Error, "welcome e-mail not enqueued; will retry on the next request");
                        if let Err(e) = state.jobs.forget_user(&user.user_id).await {
                            tracing::warn!(user_id = %user.user_id.as_str(), error = %e, "could not forget the user");
                        }
                        state.forget(&user);
                    }
                }
                Ok(false) => {}
                Err(e) => {
                    // Forget it, so the next request tries again.
                    state.forget(&user);
                    tracing::warn!(user_id = %user.user_id.as_str(), error = %e, "could not record the user");
                }
            }
        });
    }
}
