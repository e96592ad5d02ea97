//! Rate limits: a token bucket (GCRA) per client IP and one per
//! authenticated user.
//!
//! Past the limit the answer is `429 RATE_LIMITED` with `Retry-After` and
//! `RateLimit-Limit` / `RateLimit-Remaining` / `RateLimit-Reset`; responses
//! within the limit carry `RateLimit-Limit` and `RateLimit-Remaining` too.
//! The client IP comes from [`ClientAddr`](crate::ClientAddr), which the host's
//! server inserts; `X-Forwarded-For` counts only from trusted proxies. IPv6
//! clients are counted per /64. Requests without a `ClientAddr` share one
//! bucket (and a warning is logged once).
//!
//! The buckets live in this process by default, so several instances each
//! count their own. With the `redis` feature and
//! `RateLimitLayer::with_redis` (or `TaskerApiBuilder::redis_rate_limits`)
//! they live in Redis instead, shared by every instance; the check is one
//! atomic script call using Redis's clock. When Redis cannot be reached the
//! request is let through and a warning logged: a limiter outage never takes
//! the API down.

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
    time::Duration,
};

use governor::{
    DefaultKeyedRateLimiter, Quota, RateLimiter,
    clock::{Clock, DefaultClock},
    middleware::StateInformationMiddleware,
    state::keyed::DefaultKeyedStateStore,
};
use http::{HeaderValue, Request, Response};
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

/// Where the buckets live.
#[derive(Debug, Clone)]
enum Buckets {
    /// In this process.
    Local {
        limiter: Arc<Limiter>,
        checks: Arc<AtomicU64>,
    },
    /// In Redis, shared by every instance.
    #[cfg(feature = "redis")]
    Redis(redis_buckets::RedisBuckets),
}

/// Limits requests per client IP or per user.
#[derive(Debug, Clone)]
pub struct RateLimitLayer {
    buckets: Buckets,
    key_by: KeyBy,
    /// Per-IP Redis buckets only: on routes for which this says `false`, the
    /// IP bucket is counted together with the user's by the per-user layer
    /// (one Redis round trip instead of two), or after the response if the
    /// request never got there (refused by authentication).
    defer_ip: Option<fn(&str) -> bool>,
    /// The sustained rate (the local buckets keep it in their quota).
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    per_second: u32,
    limit: u32,
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
            buckets: Buckets::Local {
                limiter: Arc::new(limiter.with_middleware::<StateInformationMiddleware>()),
                checks: Arc::new(AtomicU64::new(0)),
            },
            key_by,
            defer_ip: None,
            per_second: per_second.max(1),
            limit: burst.max(1),
        }
    }

    /// Keeps the buckets in Redis under keys starting with `prefix`, shared
    /// by every instance using the same Redis and prefix.
    #[cfg(feature = "redis")]
    pub fn with_redis(mut self, connection: redis::aio::ConnectionManager, prefix: &str) -> Self {
        self.buckets = Buckets::Redis(redis_buckets::RedisBuckets::new(connection, prefix));
        self
    }

    /// Per-IP Redis buckets: count the IP with the user's bucket, in one
    /// Redis round trip, on routes where `counted_at_once(path)` is false.
    #[cfg(feature = "redis")]
    pub(crate) fn deferring_ip_checks(mut self, counted_at_once: fn(&str) -> bool) -> Self {
        if matches!(self.buckets, Buckets::Redis(_)) && matches!(self.key_by, KeyBy::Ip { .. }) {
            self.defer_ip = Some(counted_at_once);
        }
        self
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
    async fn check(&self, key: &str) -> Result<u32, ApiError> {
        let refused = |retry_after: Duration| ApiError::RateLimited {
            retry_after,
            limit: self.limit,
        };
        match &self.buckets {
            Buckets::Local { limiter, checks } => {
                // Forget idle buckets now and then so the map does not grow forever.
                if checks.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
                    limiter.retain_recent();
                }
                match limiter.check_key(&key.to_owned()) {
                    Ok(snapshot) => Ok(snapshot.remaining_burst_capacity()),
                    Err(not_until) => Err(refused(
                        not_until.wait_time_from(DefaultClock::default().now()),
                    )),
                }
            }
            #[cfg(feature = "redis")]
            Buckets::Redis(buckets) => buckets
                .check(key, self.per_second, self.limit)
                .await
                .map_err(refused),
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

/// The response future of [`RateLimit`].
pub type ResponseFuture<E> = Pin<Box<dyn Future<Output = Result<Response<Body>, E>> + Send>>;

impl<S, B> Service<Request<B>> for RateLimit<S>
where
    S: Service<Request<B>, Response = Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // The ready service answers; a fresh clone waits for the next call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let layer = self.layer.clone();
        Box::pin(async move {
            let Some(key) = layer.key(&request) else {
                return inner.call(request).await;
            };
            let mut request = request;
            if let Some(counted_at_once) = layer.defer_ip
                && !counted_at_once(request.uri().path())
            {
                let pending = Arc::new(DeferredIpCheck {
                    key: key.clone(),
                    per_second: layer.per_second,
                    limit: layer.limit,
                    counted: std::sync::atomic::AtomicBool::new(false),
                });
                request.extensions_mut().insert(Arc::clone(&pending));
                let response = inner.call(request).await?;
                if pending.counted.load(Ordering::Acquire) {
                    return Ok(response);
                }
                // Refused before the per-user layer (no or a bad token): the
                // IP bucket still counts it, and a flood gets 429s.
                return Ok(match layer.check(&key).await {
                    Ok(_) => response,
                    Err(error) => error.into_response(),
                });
            }
            let checked = match request.extensions().get::<Arc<DeferredIpCheck>>() {
                #[cfg(feature = "redis")]
                Some(ip) => layer.check_with_ip(&key, ip).await,
                _ => layer.check(&key).await,
            };
            match checked {
                Ok(remaining) => {
                    let mut response = inner.call(request).await?;
                    let headers = response.headers_mut();
                    if !headers.contains_key("ratelimit-limit") {
                        headers.insert("ratelimit-limit", HeaderValue::from(layer.limit));
                        headers.insert("ratelimit-remaining", HeaderValue::from(remaining));
                    }
                    Ok(response)
                }
                Err(error) => {
                    tracing::debug!(%key, "rate limited");
                    Ok(error.into_response())
                }
            }
        })
    }
}

/// An IP bucket the per-IP layer left to the per-user layer to count.
#[derive(Debug)]
#[cfg_attr(not(feature = "redis"), allow(dead_code))]
struct DeferredIpCheck {
    key: String,
    per_second: u32,
    limit: u32,
    counted: std::sync::atomic::AtomicBool,
}

impl RateLimitLayer {
    /// This (per-user) bucket and the deferred IP bucket in one Redis script
    /// call; the IP bucket is counted first, as if the layers had each
    /// checked in turn.
    #[cfg(feature = "redis")]
    async fn check_with_ip(&self, key: &str, ip: &DeferredIpCheck) -> Result<u32, ApiError> {
        let Buckets::Redis(buckets) = &self.buckets else {
            return self.check(key).await;
        };
        ip.counted.store(true, Ordering::Release);
        buckets
            .check_pair(
                (&ip.key, ip.per_second, ip.limit),
                (key, self.per_second, self.limit),
            )
            .await
            .map_err(|(retry_after, limit)| ApiError::RateLimited { retry_after, limit })
    }
}

#[cfg(feature = "redis")]
mod redis_buckets {
    //! GCRA buckets in Redis: one key per bucket holding its theoretical
    //! arrival time, updated by a script so that check-and-set is atomic.

    use std::{fmt, sync::Arc, time::Duration};

    /// Admits a request when, in each bucket `KEYS[i]` in turn (interval
    /// `ARGV[2i-1]` µs, burst `ARGV[2i]`), its new theoretical arrival time
    /// stays within `burst` intervals of now; stops at the first bucket that
    /// refuses. Returns `{admitted, retry_after_us, remaining in the last
    /// bucket, refused_by}` (`refused_by` is the bucket's number, 0 when
    /// admitted).
    const GCRA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local remaining = 0
for i = 1, #KEYS do
  local interval = tonumber(ARGV[2 * i - 1])
  local burst = tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call('GET', KEYS[i]) or now)
  if tat < now then tat = now end
  local new_tat = tat + interval
  local window = burst * interval
  if new_tat - now > window then
    return {0, new_tat - now - window, 0, i}
  end
  redis.call('SET', KEYS[i], string.format('%.0f', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1)
  remaining = math.floor((window - (new_tat - now)) / interval)
end
return {1, 0, remaining, 0}
";

    /// How long a request waits for Redis before it is let through.
    const BUDGET: Duration = Duration::from_millis(250);

    /// After a failure, how long requests skip Redis (and are let through)
    /// before the next one tries it again.
    const BACK_OFF: Duration = Duration::from_secs(1);

    #[derive(Clone)]
    pub(super) struct RedisBuckets {
        connection: redis::aio::ConnectionManager,
        prefix: Arc<str>,
        script: Arc<redis::Script>,
        /// Until when Redis is skipped after a failure.
        down_until: Arc<std::sync::Mutex<Option<std::time::Instant>>>,
    }

    impl fmt::Debug for RedisBuckets {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("RedisBuckets")
                .field("prefix", &self.prefix)
                .finish_non_exhaustive()
        }
    }

    impl RedisBuckets {
        pub(super) fn new(connection: redis::aio::ConnectionManager, prefix: &str) -> Self {
            Self {
                connection,
                prefix: prefix.into(),
                script: Arc::new(redis::Script::new(GCRA)),
                down_until: Arc::new(std::sync::Mutex::new(None)),
            }
        }

        /// One bucket `(key, per_second, burst)`: `Ok(remaining)`, or
        /// `Err(retry_after)` when over the limit.
        pub(super) async fn check(
            &self,
            key: &str,
            per_second: u32,
            burst: u32,
        ) -> Result<u32, Duration> {
            self.check_all(&[(key, per_second, burst)])
                .await
                .map_err(|(retry_after, _)| retry_after)
        }

        /// Two buckets in one round trip: `Ok(remaining of the second)`, or
        /// `Err((retry_after, burst))` of the bucket that refused.
        pub(super) async fn check_pair(
            &self,
            first: (&str, u32, u32),
            second: (&str, u32, u32),
        ) -> Result<u32, (Duration, u32)> {
            self.check_all(&[first, second]).await
        }

        async fn check_all(&self, buckets: &[(&str, u32, u32)]) -> Result<u32, (Duration, u32)> {
            let mut invocation = self.script.prepare_invoke();
            for (key, per_second, burst) in buckets {
                let interval_us = (1_000_000 / u64::from((*per_second).max(1))).max(1);
                invocation
                    .key(format!("{}{key}", self.prefix))
                    .arg(interval_us)
                    .arg((*burst).max(1));
            }
            let last_burst = buckets.last().map_or(1, |b| b.2);
            let now = std::time::Instant::now();
            {
                let mut down = self.down_until.lock().unwrap_or_else(|e| e.into_inner());
                match *down {
                    // Fail open at once while Redis is known to be down.
                    Some(until) if now < until => return Ok(last_burst),
                    Some(_) => *down = None,
                    None => {}
                }
            }
            let mut connection = self.connection.clone();
            let outcome: redis::RedisResult<(i64, i64, i64, usize)> = match tokio::time::timeout(
                BUDGET,
                invocation.invoke_async(&mut connection),
            )
            .await
            {
                Ok(outcome) => outcome,
                Err(_) => Err(redis::RedisError::from((
                    redis::ErrorKind::Io,
                    "no answer within the rate-limit budget",
                ))),
            };
            // Only an unreachable Redis is skipped; an error Redis answered
            // (a bad key) concerns that bucket alone.
            if outcome.as_ref().is_err_and(|e| {
                e.is_io_error()
                    || e.is_timeout()
                    || e.is_connection_dropped()
                    || e.is_connection_refusal()
            }) {
                *self.down_until.lock().unwrap_or_else(|e| e.into_inner()) = Some(now + BACK_OFF);
            }
            match outcome {
                Ok((1, _, remaining, _)) => Ok(u32::try_from(remaining).unwrap_or(0)),
                Ok((_, retry_after_us, _, refused_by)) => Err((
                    Duration::from_micros(u64::try_from(retry_after_us).unwrap_or(0)),
                    buckets
                        .get(refused_by.saturating_sub(1))
                        .map_or(last_burst, |b| b.2)
                        .max(1),
                )),
                Err(error) => {
                    // Fail open: an unreachable limiter must not take the API
                    // down, nor slow it: requests skip Redis for a second.
                    tracing::warn!(%error, "rate limit check failed in Redis; requests let through for 1 s");
                    Ok(last_burst)
                }
            }
        }
    }
}
