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
use tasker_core::{service::Services, store::Store, unsubscribe::UnsubscribeLinks};
use tower::{Layer, Service, ServiceBuilder, ServiceExt, util::BoxCloneSyncService};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::{
    api::{AppState, HealthChecks},
    body::{Body, BoxError, RequestBody, boxed_request},
    download::DownloadLinks,
    head::HeadBodies,
    health::HealthCheck,
    idempotency::IdempotencyLayer,
    pipeline::{Authentication, Deadline, Handle, Inner},
    rate_limit::{PerIp, PerUser, RateLimitLayer},
    request_id::RequestIdLayer,
    routes::{Routes, RoutingLayer},
    security_headers,
    settings::HttpSettings,
    trace::{SpanHook, TraceLayer},
};

/// The tasker REST API as a `tower::Service`, with its whole layer stack:
/// security headers, CORS, request id, tracing and panic → `500` outside;
/// then the route match, authentication, rate limits, timeout, idempotency
/// and the handler.
///
/// `HEAD` is answered on every `GET` route (the `GET`'s status and headers,
/// no body), and `OPTIONS` on every route (`204` with `Allow`; with CORS on,
/// the CORS layer answers it).
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
            unsubscribe: None,
            health: HealthChecks::default(),
            standard_layers: true,
            span_hook: None,
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
    type Future = <Inner as Service<Request<RequestBody>>>::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    // The host clones the service for each request (axum, salvo and
    // `ServiceExt::oneshot` all do), so the ready one answers it directly.
    fn call(&mut self, request: Request<B>) -> Self::Future {
        self.inner.call(request.map(boxed_request))
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
    unsubscribe: Option<UnsubscribeLinks>,
    health: HealthChecks,
    standard_layers: bool,
    span_hook: Option<SpanHook>,
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
            .field("span_hook", &self.span_hook.is_some())
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

    /// Answers the one-click unsubscribe links of the e-mails
    /// (`/api/v1/unsubscribe/{token}`) made with the same key. Without
    /// them, those links are `404 UNSUBSCRIBE_LINK_INVALID`.
    pub fn unsubscribe_links(mut self, links: UnsubscribeLinks) -> Self {
        self.unsubscribe = Some(links);
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

    /// Calls `hook` with each request span as soon as it is made, and the
    /// request's headers: where a host continues an incoming trace (see
    /// [`SpanHook`]). Not called without the standard layers.
    pub fn on_request_span(
        mut self,
        hook: impl Fn(&tracing::Span, &http::HeaderMap) + Send + Sync + 'static,
    ) -> Self {
        self.span_hook = Some(Arc::new(hook));
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

    /// The finished service: the route match, then authentication (public
    /// routes skip it), rate limits, the deadline, idempotency and the
    /// handler, inside the standard layers.
    pub fn build(self) -> TaskerApi {
        let settings = self.settings;
        let downloads = self.downloads.unwrap_or_else(|| {
            DownloadLinks::random(Duration::from_secs(settings.downloads.link_ttl_seconds))
        });
        let state = Arc::new(AppState {
            services: self.services,
            settings: settings.clone(),
            downloads,
            unsubscribe: self.unsubscribe,
            health: self.health,
            openapi_json: Bytes::from(crate::openapi::document_json()),
            uploads: tokio::sync::Semaphore::new(settings.max_concurrent_uploads.max(1)),
        });
        let routes = Arc::new(Routes::<S>::new());
        let handlers = ServiceBuilder::new()
            .layer(IdempotencyLayer::new(Arc::clone(&state)))
            .service(Handle::new(state, Arc::clone(&routes)));
        let limits = &settings.rate_limit;
        let limits = limits.enabled.then(|| {
            let (ip_rate, ip_burst) = limits.per_ip();
            let (user_rate, user_burst) = limits.per_user();
            let layer = RateLimitLayer::new()
                .bucket(
                    PerIp {
                        trusted_proxies: limits.trusted_proxies.clone(),
                    },
                    ip_rate,
                    ip_burst,
                )
                .bucket(PerUser, user_rate, user_burst);
            #[cfg(feature = "redis")]
            if let Some((connection, prefix)) = self.redis_limits {
                return layer.with_redis(connection, &prefix);
            }
            layer
        });
        let limited: Inner = BoxCloneSyncService::new(
            ServiceBuilder::new()
                .option_layer(limits.clone())
                .service(Deadline::new(handlers, settings.request_timeout()))
                .map_err(|never| match never {}),
        );
        let authenticated = match self.auth {
            Some(wrap) => BoxCloneSyncService::new(Authentication::new(
                limited.clone(),
                wrap(limited),
                limits.clone(),
            )),
            None => limited,
        };
        let routed = RoutingLayer::new(routes, limits).layer(authenticated);
        if !self.standard_layers {
            // Panics still become 500s.
            return TaskerApi {
                inner: BoxCloneSyncService::new(HeadBodies(crate::trace::CatchPanic(routed))),
            };
        }
        // Security headers and CORS wrap everything, the panic response too;
        // a HEAD's body is dropped outside all of it.
        let stack = ServiceBuilder::new()
            .layer_fn(HeadBodies)
            .layer(security_headers::layer(settings.hsts_max_age_seconds))
            .option_layer(cors(&settings))
            .layer(RequestIdLayer)
            .layer(
                TraceLayer::trusted_proxies(settings.rate_limit.trusted_proxies.iter().copied())
                    .span_hook(self.span_hook),
            )
            .service(routed);
        TaskerApi {
            inner: BoxCloneSyncService::new(stack.map_err(|never| match never {})),
        }
    }
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
