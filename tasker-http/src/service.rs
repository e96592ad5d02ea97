//! [`TaskerApi`]: the whole API, layers included, as one `tower::Service`.

use std::{
    convert::Infallible,
    fmt,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, header};
use tasker_core::{service::Services, store::Store};
use tower::{Layer, Service, ServiceBuilder, ServiceExt, util::BoxCloneSyncService};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::{
    api::{AppState, HealthChecks},
    body::{Body, BoxError, RequestBody, boxed_request},
    download::DownloadLinks,
    error::ApiError,
    health::HealthCheck,
    rate_limit::RateLimitLayer,
    request_id::RequestIdLayer,
    router::{self, Router},
    security_headers::SecurityHeaders,
    settings::HttpSettings,
    trace::TraceLayer,
};

type Inner = BoxCloneSyncService<Request<RequestBody>, Response<Body>, Infallible>;

/// The tasker REST API as a `tower::Service`, with its whole layer stack:
/// request id, tracing, panic → `500`, security headers, CORS, rate limits,
/// authentication, timeout, routing.
///
/// It accepts any request body and never fails: every error is a response
/// with the reference error body. Build one with [`TaskerApi::builder`].
///
/// ```no_run
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// use tasker_core::{blob::BlobStore, clock::SystemClock, service::Services, store::{AnyStore, StoreOptions}};
/// use tasker_http::TaskerApi;
///
/// let store = AnyStore::connect("sqlite://data/tasker.db", &StoreOptions::default()).await?;
/// store.migrate().await?;
/// let services = Services::new(store, std::sync::Arc::new(SystemClock), BlobStore::local("data/files")?);
/// let api = TaskerApi::builder(services).build();
/// // Serve `api` with hyper, or mount it in axum / salvo.
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct TaskerApi {
    inner: Inner,
}

impl fmt::Debug for TaskerApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskerApi").finish_non_exhaustive()
    }
}

impl TaskerApi {
    /// A builder over the tasker-core services.
    pub fn builder<S: Store + 'static>(services: Services<S>) -> TaskerApiBuilder<S> {
        TaskerApiBuilder {
            services,
            settings: HttpSettings::default(),
            auth: None,
            downloads: None,
            health: HealthChecks::default(),
            standard_layers: true,
            #[cfg(feature = "redis")]
            redis_limits: None,
        }
    }
}

impl<B> Service<Request<B>> for TaskerApi
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = tower::util::Oneshot<Inner, Request<RequestBody>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        self.inner.clone().oneshot(request.map(boxed_request))
    }
}

/// A function that wraps the routed service in an authentication layer.
type AuthWrap = Box<dyn FnOnce(Inner) -> Inner + Send>;

/// Configures a [`TaskerApi`].
pub struct TaskerApiBuilder<S> {
    services: Services<S>,
    settings: HttpSettings,
    auth: Option<AuthWrap>,
    downloads: Option<DownloadLinks>,
    health: HealthChecks,
    standard_layers: bool,
    #[cfg(feature = "redis")]
    redis_limits: Option<(redis::aio::ConnectionManager, String)>,
}

impl<S> fmt::Debug for TaskerApiBuilder<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskerApiBuilder")
            .field("settings", &self.settings)
            .field("auth", &self.auth.is_some())
            .field("downloads", &self.downloads)
            .field("health", &self.health)
            .field("standard_layers", &self.standard_layers)
            .finish_non_exhaustive()
    }
}

impl<S: Store + 'static> TaskerApiBuilder<S> {
    /// Limits, rate limits, CORS and headers (default: [`HttpSettings::default`]).
    pub fn settings(mut self, settings: HttpSettings) -> Self {
        self.settings = settings;
        self
    }

    /// Authenticates requests with `layer` (such as
    /// [`AuthLayer`](crate::auth::AuthLayer) over a
    /// [`JwtAuthenticator`](crate::auth::JwtAuthenticator)). It must insert an
    /// [`AuthUser`](crate::AuthUser) into the request extensions for requests
    /// it accepts. Without one, the host application must insert `AuthUser`
    /// itself before the request reaches this service; API routes answer
    /// `401` otherwise.
    pub fn auth_layer<L>(mut self, layer: L) -> Self
    where
        L: Layer<Inner> + Send + 'static,
        L::Service: Service<Request<RequestBody>, Response = Response<Body>, Error = Infallible>
            + Clone
            + Send
            + Sync
            + 'static,
        <L::Service as Service<Request<RequestBody>>>::Future: Send + 'static,
    {
        self.auth = Some(Box::new(move |inner| {
            BoxCloneSyncService::new(layer.layer(inner))
        }));
        self
    }

    /// How attachment download URLs are made (default: links signed with a
    /// random per-process key, valid for `settings.downloads.link_ttl_seconds`).
    pub fn download_links(mut self, links: DownloadLinks) -> Self {
        self.downloads = Some(links);
        self
    }

    /// Keeps the rate-limit buckets in Redis (keys starting with `prefix`,
    /// such as `"tasker:rl:"`), so that every instance sharing the Redis
    /// counts together.
    #[cfg(feature = "redis")]
    pub fn redis_rate_limits(
        mut self,
        connection: redis::aio::ConnectionManager,
        prefix: impl Into<String>,
    ) -> Self {
        self.redis_limits = Some((connection, prefix.into()));
        self
    }

    /// Adds a named dependency check to `/status` (`"database"`, `"redis"`).
    /// Without a `"database"` check, `/status` asks the store a question.
    pub fn health_check(mut self, name: impl Into<String>, check: impl HealthCheck) -> Self {
        self.health.checks.push((name.into(), Arc::new(check)));
        self
    }

    /// Leaves out the request-id, trace-span, security-header and CORS
    /// layers, for a host that adds its own (or to measure what they cost).
    /// Routing, timeouts, error bodies, authentication and the rate limits
    /// (as `settings.rate_limit.enabled` says) stay.
    pub fn without_standard_layers(mut self) -> Self {
        self.standard_layers = false;
        self
    }

    /// The finished service.
    pub fn build(self) -> TaskerApi {
        let settings = self.settings;
        let downloads = self.downloads.unwrap_or_else(|| {
            DownloadLinks::random(Duration::from_secs(settings.downloads.link_ttl_seconds))
        });
        let openapi_json = Bytes::from(crate::openapi::document_json());
        let timeout = settings.request_timeout();
        let state = Arc::new(AppState {
            services: self.services,
            settings: settings.clone(),
            router: Router::new(),
            downloads,
            health: self.health,
            openapi_json,
            uploads: tokio::sync::Semaphore::new(settings.max_concurrent_uploads.max(1)),
        });
        let routed = tower::service_fn(move |request: Request<RequestBody>| {
            let state = Arc::clone(&state);
            async move {
                let response =
                    match tokio::time::timeout(timeout, router::dispatch(state, request)).await {
                        Ok(response) => response,
                        Err(_) => ApiError::Timeout(timeout).into_response(),
                    };
                Ok::<_, Infallible>(response)
            }
        });
        let limits = &settings.rate_limit;
        #[cfg(feature = "redis")]
        let redis_limits = self.redis_limits;
        let placed = |layer: RateLimitLayer| {
            #[cfg(feature = "redis")]
            if let Some((connection, prefix)) = &redis_limits {
                return layer.with_redis(connection.clone(), prefix);
            }
            layer
        };
        let (user_rate, user_burst) = limits.per_user();
        let mut inner: Inner = BoxCloneSyncService::new(
            ServiceBuilder::new()
                .option_layer(
                    limits
                        .enabled
                        .then(|| placed(RateLimitLayer::per_user(user_rate, user_burst))),
                )
                .service(routed)
                .map_err(|never| match never {}),
        );
        #[cfg(feature = "redis")]
        let has_auth = self.auth.is_some();
        if let Some(wrap) = self.auth {
            inner = skip_auth_on_public_routes(inner.clone(), wrap(inner));
        }
        let (ip_rate, ip_burst) = limits.per_ip();
        let per_ip = limits.enabled.then(|| {
            let layer = placed(RateLimitLayer::per_ip(
                ip_rate,
                ip_burst,
                limits.trusted_proxies.clone(),
            ));
            // With an auth layer, every routed request passes the per-user
            // layer, which counts both Redis buckets in one round trip.
            #[cfg(feature = "redis")]
            let layer = if has_auth {
                layer.deferring_ip_checks(is_public)
            } else {
                layer
            };
            layer
        });
        if !self.standard_layers {
            // Panics still become 500s.
            let catching = crate::trace::CatchPanic(inner);
            let stack = ServiceBuilder::new().option_layer(per_ip).service(catching);
            return TaskerApi {
                inner: BoxCloneSyncService::new(stack.map_err(|never| match never {})),
            };
        }
        let security = SecurityHeaders::new(settings.hsts_max_age_seconds);
        // Security headers and CORS wrap everything, the panic response too.
        let stack = ServiceBuilder::new()
            .map_response(move |response| security.apply(response))
            .option_layer(cors(&settings))
            .layer(RequestIdLayer)
            .layer(TraceLayer)
            .option_layer(per_ip)
            .service(inner);
        TaskerApi {
            inner: BoxCloneSyncService::new(stack.map_err(|never| match never {})),
        }
    }
}

/// Routes that need no caller: a stale or foreign `Authorization` header on
/// them is ignored instead of answered with `401`.
fn is_public(path: &str) -> bool {
    matches!(path, "/status" | "/api/status" | "/openapi.json" | "/docs")
        || path.starts_with("/docs/")
        || path.starts_with("/api/v1/files/")
}

/// Public routes go straight to `plain`, everything else through `authed`.
fn skip_auth_on_public_routes(plain: Inner, authed: Inner) -> Inner {
    BoxCloneSyncService::new(tower::service_fn(move |request: Request<RequestBody>| {
        let service = if is_public(request.uri().path()) {
            plain.clone()
        } else {
            authed.clone()
        };
        service.oneshot(request)
    }))
}

/// The CORS layer for the configured origins, if any (`*` allows any origin).
fn cors(settings: &HttpSettings) -> Option<CorsLayer> {
    let configured = &settings.cors.allowed_origins;
    if configured.is_empty() {
        return None;
    }
    let allow_origin = if configured.iter().any(|origin| origin.trim() == "*") {
        AllowOrigin::any()
    } else {
        let origins: Vec<HeaderValue> = configured
            .iter()
            .filter_map(|origin| match HeaderValue::from_str(origin.trim()) {
                Ok(value) => Some(value),
                Err(_) => {
                    tracing::warn!(%origin, "CORS origin ignored: not a valid header value");
                    None
                }
            })
            .collect();
        AllowOrigin::list(origins)
    };
    let mut layer = CorsLayer::new()
        .allow_origin(allow_origin)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PATCH,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::IF_MATCH,
            header::IF_NONE_MATCH,
            crate::idempotency::IDEMPOTENCY_KEY,
            http::HeaderName::from_static("x-request-id"),
        ])
        .expose_headers([
            header::ETAG,
            header::RETRY_AFTER,
            crate::idempotency::REPLAYED,
            http::HeaderName::from_static("x-request-id"),
            http::HeaderName::from_static("ratelimit-limit"),
            http::HeaderName::from_static("ratelimit-remaining"),
        ]);
    if let Some(age) = settings.cors.max_age_seconds {
        layer = layer.max_age(Duration::from_secs(age));
    }
    Some(layer)
}
