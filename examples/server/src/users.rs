//! Remembers each authenticated user (id and e-mail from the token) and sends
//! the welcome e-mail the first time a user is seen.

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
    store::AnyStore,
};
use tasker_http::AuthUser;
use tower::{Layer, Service};

/// How long a user is not looked at again after being recorded.
const REFRESH: Duration = Duration::from_secs(600);
/// Users remembered in memory before the table is emptied.
const CAPACITY: usize = 100_000;

/// A layer placed after authentication: see the module docs.
#[derive(Clone)]
pub(crate) struct SeenUsersLayer {
    state: Arc<State>,
}

struct State {
    jobs: JobService<AnyStore>,
    queue: Arc<dyn Enqueue>,
    seen: Mutex<HashMap<(String, Option<String>), Instant>>,
}

impl SeenUsersLayer {
    pub(crate) fn new(jobs: JobService<AnyStore>, queue: Arc<dyn Enqueue>) -> Self {
        Self {
            state: Arc::new(State {
                jobs,
                queue,
                seen: Mutex::default(),
            }),
        }
    }
}

impl<S> Layer<S> for SeenUsersLayer {
    type Service = SeenUsers<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SeenUsers {
            inner,
            state: Arc::clone(&self.state),
        }
    }
}

/// The service of [`SeenUsersLayer`].
#[derive(Clone)]
pub(crate) struct SeenUsers<S> {
    inner: S,
    state: Arc<State>,
}

impl<S, B> Service<Request<B>> for SeenUsers<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

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

impl State {
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
                        tracing::warn!(user_id = %user.user_id.as_str(), error = %e, "welcome e-mail not enqueued");
                    }
                }
                Ok(false) => {}
                Err(e) => {
                    // Forget it, so the next request tries again.
                    state
                        .seen
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .remove(&(user.user_id.as_str().to_owned(), user.email.clone()));
                    tracing::warn!(user_id = %user.user_id.as_str(), error = %e, "could not record the user");
                }
            }
        });
    }
}
