//! Rate limits: a token bucket (GCRA) per client IP and one per
//! authenticated user.
//!
//! Past the limit the answer is `429 RATE_LIMITED` with `Retry-After` and
//! `RateLimit-Limit` / `RateLimit-Remaining` / `RateLimit-Reset`; responses
//! within the limit carry `RateLimit-Limit` and `RateLimit-Remaining` too.
//! The client IP comes from [`ClientAddr`](crate::ClientAddr), which the host's
//! server inserts; `X-Forwarded-For` counts only from trusted proxies. IPv6
//! clients are counted per /64. Requests without a `ClientAddr` share one
//! bucket (and a warning is logged once). The buckets live in this process;
//! several instances each keep their own.

use std::{
    future::Future,
    net::IpAddr,
    num::NonZeroU32,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    task::{Context, Poll},
};

use governor::{
    DefaultKeyedRateLimiter, Quota, RateLimiter,
    clock::{Clock, DefaultClock},
    middleware::StateInformationMiddleware,
    state::keyed::DefaultKeyedStateStore,
};
use http::{HeaderValue, Request, Response};
use pin_project_lite::pin_project;
use tower::{Layer, Service};

use crate::{
    AuthUser,
    body::Body,
    client_ip::{bucket_key, client_ip},
    error::ApiError,
};

type Limiter =
    RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock, StateInformationMiddleware>;

/// Says once that the host gives no peer addresses.
fn warn_no_client_addr() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        tracing::warn!(
            "requests carry no tasker_http::ClientAddr: all clients share one per-IP rate-limit \
             bucket; insert the peer address into the request extensions"
        );
    });
}

/// What a bucket is keyed by.
#[derive(Debug, Clone)]
enum KeyBy {
    Ip { trusted_proxies: Arc<[IpAddr]> },
    User,
}

/// Limits requests per client IP or per user.
#[derive(Debug, Clone)]
pub struct RateLimitLayer {
    limiter: Arc<Limiter>,
    key_by: KeyBy,
    limit: u32,
    checks: Arc<AtomicU64>,
}

fn quota(per_second: u32, burst: u32) -> Quota {
    let rate = NonZeroU32::new(per_second.max(1)).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN);
    Quota::per_second(rate).allow_burst(burst)
}

impl RateLimitLayer {
    /// `per_second` sustained with bursts of `burst`, per client IP.
    /// `X-Forwarded-For` is believed only from `trusted_proxies`.
    pub fn per_ip(per_second: u32, burst: u32, trusted_proxies: Vec<IpAddr>) -> Self {
        Self::new(
            per_second,
            burst,
            KeyBy::Ip {
                trusted_proxies: trusted_proxies.into(),
            },
        )
    }

    /// `per_second` sustained with bursts of `burst`, per authenticated user
    /// (requests without an [`AuthUser`] pass).
    pub fn per_user(per_second: u32, burst: u32) -> Self {
        Self::new(per_second, burst, KeyBy::User)
    }

    fn new(per_second: u32, burst: u32, key_by: KeyBy) -> Self {
        let limiter: DefaultKeyedRateLimiter<String> = RateLimiter::keyed(quota(per_second, burst));
        Self {
            limiter: Arc::new(limiter.with_middleware::<StateInformationMiddleware>()),
            key_by,
            limit: burst.max(1),
            checks: Arc::new(AtomicU64::new(0)),
        }
    }

    fn key<B>(&self, request: &Request<B>) -> Option<String> {
        match &self.key_by {
            KeyBy::Ip { trusted_proxies } => Some(
                match client_ip(request.extensions(), request.headers(), trusted_proxies) {
                    Some(ip) => bucket_key(ip),
                    None => {
                        warn_no_client_addr();
                        // Better one shared bucket than no limit at all.
                        "ip:unknown".to_owned()
                    }
                },
            ),
            KeyBy::User => request
                .extensions()
                .get::<AuthUser>()
                .map(|user| format!("user:{}", user.user_id)),
        }
    }

    /// `Ok(remaining)` or the `429` error.
    fn check(&self, key: &String) -> Result<u32, ApiError> {
        // Forget idle buckets now and then so the map does not grow forever.
        if self.checks.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
            self.limiter.retain_recent();
        }
        match self.limiter.check_key(key) {
            Ok(snapshot) => Ok(snapshot.remaining_burst_capacity()),
            Err(not_until) => Err(ApiError::RateLimited {
                retry_after: not_until.wait_time_from(DefaultClock::default().now()),
                limit: self.limit,
            }),
        }
    }
}

impl<S> Layer<S> for RateLimitLayer {
    type Service = RateLimit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RateLimit {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service made by [`RateLimitLayer`].
#[derive(Debug, Clone)]
pub struct RateLimit<S> {
    inner: S,
    layer: RateLimitLayer,
}

impl<S, B> Service<Request<B>> for RateLimit<S>
where
    S: Service<Request<B>, Response = Response<Body>>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let Some(key) = self.layer.key(&request) else {
            return ResponseFuture::Inner {
                inner: self.inner.call(request),
                headers: None,
            };
        };
        match self.layer.check(&key) {
            Ok(remaining) => ResponseFuture::Inner {
                inner: self.inner.call(request),
                headers: Some((self.layer.limit, remaining)),
            },
            Err(error) => {
                tracing::debug!(%key, "rate limited");
                ResponseFuture::Refused {
                    response: Some(error.into_response()),
                }
            }
        }
    }
}

pin_project! {
    /// The response future of [`RateLimit`]: the inner future (and the
    /// limit with what remains of it, for the headers), or the `429`.
    #[project = Projection]
    #[allow(missing_docs)]
    #[derive(Debug)]
    pub enum ResponseFuture<F> {
        /// Within the limit: the inner service answers.
        Inner {
            #[pin]
            inner: F,
            headers: Option<(u32, u32)>,
        },
        /// Over the limit.
        Refused {
            response: Option<Response<Body>>,
        },
    }
}

impl<F, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<Body>, E>>,
{
    type Output = Result<Response<Body>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            Projection::Inner { inner, headers } => {
                let mut response = std::task::ready!(inner.poll(cx))?;
                if let Some((limit, remaining)) = headers.take() {
                    let map = response.headers_mut();
                    if !map.contains_key("ratelimit-limit") {
                        map.insert("ratelimit-limit", HeaderValue::from(limit));
                        map.insert("ratelimit-remaining", HeaderValue::from(remaining));
                    }
                }
                Poll::Ready(Ok(response))
            }
            Projection::Refused { response } => match response.take() {
                Some(response) => Poll::Ready(Ok(response)),
                None => Poll::Pending,
            },
        }
    }
}
