//! Rate limits: token buckets (GCRA), by default one per client IP and one
//! per authenticated user, all checked by one layer in one step.
//!
//! Past a limit the answer is `429 RATE_LIMITED` with `Retry-After` and
//! `RateLimit-Limit` / `RateLimit-Remaining` / `RateLimit-Reset` of the bucket
//! that refused; responses within the limits carry `RateLimit-Limit` and
//! `RateLimit-Remaining` of the last bucket counted (the user's, when there is
//! one). What a bucket is keyed by is a [`RateLimitKey`] policy: [`PerIp`]
//! (the client IP from [`ClientAddr`](crate::ClientAddr), `X-Forwarded-For`
//! only from trusted proxies, IPv6 per /64, requests without a `ClientAddr`
//! sharing one bucket, with a warning logged once) and [`PerUser`].
//!
//! The buckets live in this process by default, so several instances each
//! count their own. With the `redis` feature and
//! `RateLimitLayer::with_redis` (or `TaskerApiBuilder::redis_rate_limits`)
//! they live in Redis instead, shared by every instance; every bucket of a
//! request is checked in one atomic script call using Redis's clock. When
//! Redis cannot be reached the request is let through and a warning logged:
//! a limiter outage never takes the API down.

use std::{
    fmt,
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
use http::{Extensions, HeaderMap, HeaderValue, Request, Response};
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

/// What a bucket is keyed by: the key of a request's bucket, or `None` when
/// this kind of bucket does not apply to it.
///
/// ```
/// use http::{Extensions, HeaderMap};
/// use tasker_http::rate_limit::RateLimitLayer;
///
/// // One bucket per API key header, 50 requests a second with bursts of 100.
/// let layer = RateLimitLayer::new().bucket(
///     |headers: &HeaderMap, _: &Extensions| {
///         let key = headers.get("x-api-key")?.to_str().ok()?;
///         Some(format!("key:{key}"))
///     },
///     50,
///     100,
/// );
/// # let _ = layer;
/// ```
pub trait RateLimitKey: Send + Sync + 'static {
    /// The bucket key for a request with these headers and extensions.
    fn key(&self, headers: &HeaderMap, extensions: &Extensions) -> Option<String>;
}

impl<F> RateLimitKey for F
where
    F: Fn(&HeaderMap, &Extensions) -> Option<String> + Send + Sync + 'static,
{
    fn key(&self, headers: &HeaderMap, extensions: &Extensions) -> Option<String> {
        self(headers, extensions)
    }
}

/// One bucket per client IP (see the module docs).
#[derive(Debug, Clone, Default)]
pub struct PerIp {
    /// The proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpAddr>,
}

impl RateLimitKey for PerIp {
    fn key(&self, headers: &HeaderMap, extensions: &Extensions) -> Option<String> {
        Some(
            match client_ip(extensions, headers, &self.trusted_proxies) {
                Some(ip) => bucket_key(ip),
                None => {
                    warn_no_client_addr();
                    // Better one shared bucket than no limit at all.
                    "ip:unknown".to_owned()
                }
            },
        )
    }
}

/// One bucket per authenticated user; requests without an [`AuthUser`] have
/// none.
#[derive(Debug, Clone, Copy, Default)]
pub struct PerUser;

impl RateLimitKey for PerUser {
    fn key(&self, _: &HeaderMap, extensions: &Extensions) -> Option<String> {
        extensions
            .get::<AuthUser>()
            .map(|user| format!("user:{}", user.user_id))
    }
}

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

/// One kind of bucket: its key policy and quota.
#[derive(Clone)]
struct Bucket {
    key: Arc<dyn RateLimitKey>,
    /// The sustained rate (the local buckets keep it in their quota).
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    per_second: u32,
    limit: u32,
    /// The buckets of this kind when they live in this process.
    local: Arc<Limiter>,
}

/// Where the buckets live.
#[derive(Debug, Clone)]
enum Place {
    /// In this process.
    Local { checks: Arc<AtomicU64> },
    /// In Redis, shared by every instance.
    #[cfg(feature = "redis")]
    Redis(redis_buckets::RedisBuckets),
}

/// Limits requests: every bucket that applies to a request is counted, in
/// the order added, and the first one that is empty refuses it.
#[derive(Clone)]
pub struct RateLimitLayer {
    /// Shared: the layer is cloned with the service for every request.
    limits: Arc<Limits>,
}

/// What a [`RateLimitLayer`] counts, and where.
#[derive(Clone)]
struct Limits {
    buckets: Vec<Bucket>,
    place: Place,
}

impl fmt::Debug for RateLimitLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimitLayer")
            .field("buckets", &self.limits.buckets.len())
            .field("place", &self.limits.place)
            .finish()
    }
}

impl Default for RateLimitLayer {
    fn default() -> Self {
        Self::new()
    }
}

fn quota(per_second: u32, burst: u32) -> Quota {
    let rate = NonZeroU32::new(per_second.max(1)).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN);
    Quota::per_second(rate).allow_burst(burst)
}

/// A request's buckets: the bucket kind's index and the key.
type Keys = Vec<(usize, String)>;

impl RateLimitLayer {
    /// A layer without buckets (it limits nothing until one is added).
    pub fn new() -> Self {
        Self {
            limits: Arc::new(Limits {
                buckets: Vec::new(),
                place: Place::Local {
                    checks: Arc::new(AtomicU64::new(0)),
                },
            }),
        }
    }

    /// Adds a bucket kind: `per_second` sustained with bursts of `burst`,
    /// per key of `key`.
    pub fn bucket(mut self, key: impl RateLimitKey, per_second: u32, burst: u32) -> Self {
        let limiter: DefaultKeyedRateLimiter<String> = RateLimiter::keyed(quota(per_second, burst));
        Arc::make_mut(&mut self.limits).buckets.push(Bucket {
            key: Arc::new(key),
            per_second: per_second.max(1),
            limit: burst.max(1),
            local: Arc::new(limiter.with_middleware::<StateInformationMiddleware>()),
        });
        self
    }

    /// `per_second` sustained with bursts of `burst`, per client IP.
    /// `X-Forwarded-For` is believed only from `trusted_proxies`.
    pub fn per_ip(per_second: u32, burst: u32, trusted_proxies: Vec<IpAddr>) -> Self {
        Self::new().bucket(PerIp { trusted_proxies }, per_second, burst)
    }

    /// `per_second` sustained with bursts of `burst`, per authenticated user
    /// (requests without an [`AuthUser`] pass).
    pub fn per_user(per_second: u32, burst: u32) -> Self {
        Self::new().bucket(PerUser, per_second, burst)
    }

    /// Keeps the buckets in Redis under keys starting with `prefix`, shared
    /// by every instance using the same Redis and prefix.
    #[cfg(feature = "redis")]
    pub fn with_redis(mut self, connection: redis::aio::ConnectionManager, prefix: &str) -> Self {
        Arc::make_mut(&mut self.limits).place =
            Place::Redis(redis_buckets::RedisBuckets::new(connection, prefix));
        self
    }

    /// The buckets that apply to a request.
    fn keys(&self, headers: &HeaderMap, extensions: &Extensions) -> Keys {
        self.limits
            .buckets
            .iter()
            .enumerate()
            .filter_map(|(index, bucket)| Some((index, bucket.key.key(headers, extensions)?)))
            .collect()
    }

    /// Counts a request in its buckets: `Ok(Some((limit, remaining)))` of
    /// the last one, or the `429` of the first that refused; `Ok(None)`
    /// without buckets.
    async fn check(&self, keys: &Keys) -> Result<Option<(u32, u32)>, ApiError> {
        let Some(last) = keys
            .last()
            .map(|(index, _)| self.limits.buckets[*index].limit)
        else {
            return Ok(None);
        };
        match &self.limits.place {
            Place::Local { checks } => {
                // Forget idle buckets now and then so the maps do not grow forever.
                let sweep = checks.fetch_add(1, Ordering::Relaxed) % 4096 == 4095;
                let mut remaining = last;
                for (index, key) in keys {
                    let bucket = &self.limits.buckets[*index];
                    if sweep {
                        bucket.local.retain_recent();
                    }
                    match bucket.local.check_key(key) {
                        Ok(snapshot) => remaining = snapshot.remaining_burst_capacity(),
                        Err(not_until) => {
                            return Err(ApiError::RateLimited {
                                retry_after: not_until
                                    .wait_time_from(DefaultClock::default().now()),
                                limit: bucket.limit,
                            });
                        }
                    }
                }
                Ok(Some((last, remaining)))
            }
            #[cfg(feature = "redis")]
            Place::Redis(redis) => {
                let all: Vec<(&str, u32, u32)> = keys
                    .iter()
                    .map(|(index, key)| {
                        let bucket = &self.limits.buckets[*index];
                        (key.as_str(), bucket.per_second, bucket.limit)
                    })
                    .collect();
                redis
                    .check_all(&all)
                    .await
                    .map(|remaining| Some((last, remaining)))
                    .map_err(|(retry_after, limit)| ApiError::RateLimited { retry_after, limit })
            }
        }
    }

    /// Counts a request that never reached this layer (refused before it,
    /// by authentication) in the buckets `keys` taken from it beforehand:
    /// the response, with the rate-limit headers, or the `429`.
    pub(crate) async fn count_refused(
        &self,
        keys: &Keys,
        response: Response<Body>,
    ) -> Response<Body> {
        finish(self.check(keys).await, response)
    }

    /// The buckets of a request, before it reaches this layer.
    pub(crate) fn keys_of<B>(&self, request: &Request<B>) -> Keys {
        self.keys(request.headers(), request.extensions())
    }
}

#[cfg(feature = "redis")]
mod redis_buckets {
    //! GCRA buckets in Redis: one key per bucket holding its theoretical
    //! arrival time, updated by a script so that check-and-set is atomic.

    use std::{fmt, sync::Arc, time::Duration};

    use tracing::Instrument;

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

        /// The buckets `(key, per_second, burst)` in one round trip, in
        /// turn: `Ok(remaining in the last)`, or `Err((retry_after, burst))`
        /// of the bucket that refused.
        pub(super) async fn check_all(
            &self,
            buckets: &[(&str, u32, u32)],
        ) -> Result<u32, (Duration, u32)> {
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
                invocation
                    .invoke_async(&mut connection)
                    .instrument(tracing::info_span!(
                        "redis.command",
                        db.system = "redis",
                        db.operation = "EVALSHA"
                    )),
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

/// Marks a response whose request this layer counted.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Counted;

/// The response with the rate-limit headers, or the `429`.
fn finish(
    checked: Result<Option<(u32, u32)>, ApiError>,
    mut response: Response<Body>,
) -> Response<Body> {
    match checked {
        Ok(Some((limit, remaining))) => {
            let headers = response.headers_mut();
            if !headers.contains_key("ratelimit-limit") {
                headers.insert("ratelimit-limit", HeaderValue::from(limit));
                headers.insert("ratelimit-remaining", HeaderValue::from(remaining));
            }
            response
        }
        Ok(None) => response,
        Err(error) => {
            tracing::debug!("rate limited");
            error.into_response()
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
        ResponseFuture {
            inner: Box::pin(async move {
                let keys = layer.keys_of(&request);
                let mut response = match layer.check(&keys).await {
                    Ok(counted) => finish(Ok(counted), inner.call(request).await?),
                    Err(error) => finish(Err(error), Response::new(crate::body::empty())),
                };
                response.extensions_mut().insert(Counted);
                Ok(response)
            }),
        }
    }
}

pin_project! {
    /// The response future of [`RateLimit`].
    pub struct ResponseFuture<E> {
        #[pin]
        inner: Pin<Box<dyn Future<Output = Result<Response<Body>, E>> + Send>>,
    }
}

impl<E> fmt::Debug for ResponseFuture<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<E> Future for ResponseFuture<E> {
    type Output = Result<Response<Body>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().inner.poll(cx)
    }
}
