//! Wiring: stores, mailer, queue and the API, built from a [`Config`].

use std::{
    fmt,
    path::Path,
    sync::Arc,
    time::{Duration, Instant},
};

use tasker_core::{
    clock::SystemClock,
    domain::UserId,
    service::Services,
    store::{AnyStore, StoreOptions},
    unsubscribe::UnsubscribeLinks,
};
use tasker_http::{
    AuthUser, TaskerApi,
    auth::{AuthLayer, JwtAuthenticator, JwtConfig, JwtSecret},
    download::DownloadLinks,
    health::HealthError,
};
use tasker_jobs::{
    Chain, ClerkDirectory, JobContext, JobError, JobQueue, KnownUsers, UserDirectory,
};
use tasker_mail::{AnyMailer, Templates};

use crate::{
    config::{Config, RedisConfig},
    secret, storage,
};

/// Start-up failed; the message names the key or the dependency.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StartError {
    #[error("{0}")]
    Config(String),
    #[error("{what}: {message}")]
    Dependency { what: &'static str, message: String },
}

impl StartError {
    pub(crate) fn dependency(what: &'static str, error: impl fmt::Display) -> Self {
        Self::Dependency {
            what,
            message: error.to_string(),
        }
    }
}

/// Everything a process role needs.
#[derive(Clone)]
pub(crate) struct App {
    pub(crate) config: Arc<Config>,
    pub(crate) store: AnyStore,
    pub(crate) services: Services<AnyStore>,
    pub(crate) queue: JobQueue,
    pub(crate) context: JobContext<AnyStore>,
    pub(crate) templates: Arc<Templates>,
    /// The auth settings in force, with the secret resolved.
    pub(crate) jwt: JwtConfig,
    /// The one-click unsubscribe links, when configured.
    pub(crate) unsubscribe: Option<UnsubscribeLinks>,
    pub(crate) redis: Option<redis::aio::ConnectionManager>,
}

impl fmt::Debug for App {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("App")
            .field("database", &self.store.backend())
            .field("queue", &self.queue.backend_name())
            .finish_non_exhaustive()
    }
}

/// Opens the database (applying migrations when `migrate`), the blob store,
/// the mailer and the queue.
pub(crate) async fn build(config: Config, migrate: bool) -> Result<App, StartError> {
    let config = Arc::new(config);
    let store = connect_store(&config).await?;
    if migrate {
        apply_migrations(&config, &store).await?;
    }
    let blobs = storage::blob_store(&config)?;
    let services = Services::new(store.clone(), Arc::new(SystemClock), blobs.clone())
        .with_settings_defaults(config.users.defaults());

    let mailer = AnyMailer::from_config(&config.mail)
        .map_err(|e| StartError::Config(format!("mail.{e}")))?;
    let templates = Arc::new(
        Templates::from_config(&config.mail)
            .map_err(|e| StartError::dependency("mail templates", e))?,
    );
    let client = match &config.redis.url {
        Some(url) => Some(redis_client(url, &config.redis)?),
        None => None,
    };
    let queue = match &client {
        Some(client) => JobQueue::redis_client(client.clone(), &config.jobs).await,
        None => JobQueue::sqlite(config.queue_path(), &config.jobs).await,
    }
    .map_err(|e| {
        let message = JobError::from(e).chain();
        StartError::dependency("job queue", with_tls_hint(&config, message))
    })?;

    let known: Arc<dyn UserDirectory> = Arc::new(KnownUsers::new(services.jobs.clone()));
    let directory: Arc<dyn UserDirectory> = match &config.clerk.secret_key {
        Some(key) => {
            let clerk = ClerkDirectory::new(key.expose())
                .map_err(|e| StartError::dependency("clerk", e.chain()))?
                .with_base_url(config.clerk.api_url.clone());
            // Addresses from token claims first; Clerk for the users who never
            // sent one.
            Arc::new(Chain(vec![known, Arc::new(clerk)]))
        }
        None => known,
    };
    let context = JobContext::new(
        services.jobs.clone(),
        Arc::new(mailer),
        Arc::clone(&templates),
        directory,
        queue.clone(),
    )
    .with_blobs(blobs);

    let redis = match client {
        Some(client) => Some(
            redis_connection(client)
                .await
                .map_err(|e| StartError::dependency("redis", with_tls_hint(&config, e)))?,
        ),
        None => None,
    };
    let mut jwt = config.auth.clone();
    if jwt.jwt_secret.is_none() && jwt.jwks_url.is_none() {
        jwt.jwt_secret = Some(JwtSecret::new(secret::development_secret(
            &config.server.data_dir,
        )?));
    }
    let unsubscribe = unsubscribe_links(&config, &jwt);
    let context = match &unsubscribe {
        Some(links) => context.with_unsubscribe_links(links.clone()),
        None => context,
    };
    Ok(App {
        config,
        store,
        services,
        queue,
        context,
        templates,
        jwt,
        redis,
        unsubscribe,
    })
}

/// The one-click unsubscribe links of recurring e-mails: to the API at
/// `http.downloads.public_base_url`, signed with a key derived from
/// `storage.link_signing_key` or `auth.jwt_secret` (so the API and the
/// workers agree). Without both, recurring e-mails carry no
/// `List-Unsubscribe` header.
fn unsubscribe_links(config: &Config, jwt: &JwtConfig) -> Option<UnsubscribeLinks> {
    let base = config.http.downloads.public_base_url.as_deref()?;
    let secret = match (&config.storage.link_signing_key, &jwt.jwt_secret) {
        (Some(key), _) => key.expose().to_owned(),
        (None, Some(secret)) => secret.expose().to_owned(),
        (None, None) => {
            tracing::warn!(
                "no storage.link_signing_key and no auth.jwt_secret: recurring e-mails carry no \
                 List-Unsubscribe link"
            );
            return None;
        }
    };
    let key = secret::derive_key(&secret, "tasker unsubscribe links");
    Some(UnsubscribeLinks::new(key, base))
}

pub(crate) async fn connect_store(config: &Config) -> Result<AnyStore, StartError> {
    let db = &config.database;
    let mut options = StoreOptions::default()
        .with_max_connections(db.max_connections)
        .with_slow_statement_threshold(
            (db.slow_query_ms > 0).then(|| Duration::from_millis(db.slow_query_ms)),
        )
        .with_prepared_statements(db.prepared_statements);
    options.acquire_timeout = Duration::from_secs(db.acquire_timeout_seconds.max(1));
    let url = config.database_url();
    if let Some(path) = url.strip_prefix("sqlite://")
        && let Some(dir) = Path::new(path.split('?').next().unwrap_or(path)).parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)
            .map_err(|e| StartError::dependency("database", format!("{}: {e}", dir.display())))?;
    }
    AnyStore::connect(&url, &options)
        .await
        .map_err(|e| StartError::dependency("database", e))
}

/// Applies the pending migrations: over a connection of its own to
/// `database.migration_url` when that is set (PostgreSQL itself, when the
/// pool goes through a transaction-mode pooler that cannot hold the
/// migrations' session lock), else over `store`.
pub(crate) async fn apply_migrations(config: &Config, store: &AnyStore) -> Result<(), StartError> {
    let applied = match &config.database.migration_url {
        Some(url) => {
            let options = StoreOptions::default().with_max_connections(1);
            let direct = AnyStore::connect(url, &options)
                .await
                .map_err(|e| StartError::dependency("database migrations (migration_url)", e))?;
            let applied = direct.migrate().await;
            direct.close().await;
            applied
        }
        None => store.migrate().await,
    };
    applied.map_err(|e| StartError::dependency("database migrations", e))
}

const CERTIFICATE_PEM: &str = "-----BEGIN CERTIFICATE-----";

/// The Redis client for `url`: over TLS for `rediss://`, trusting the CA(s)
/// of `redis.ca_file` when set, else the webpki roots.
fn redis_client(url: &str, config: &RedisConfig) -> Result<redis::Client, StartError> {
    let client = match &config.ca_file {
        Some(path) => {
            let pem = std::fs::read(path).map_err(|e| {
                StartError::Config(format!(
                    "redis.ca_file: cannot read {}: {e}",
                    path.display()
                ))
            })?;
            // A file of no certificate would trust nothing, and every
            // connection would fail with a less helpful message.
            if !pem
                .windows(CERTIFICATE_PEM.len())
                .any(|w| w == CERTIFICATE_PEM.as_bytes())
            {
                return Err(StartError::Config(format!(
                    "redis.ca_file: {} holds no PEM certificate ({CERTIFICATE_PEM})",
                    path.display()
                )));
            }
            let tls = redis::TlsCertificates {
                client_tls: None,
                root_cert: Some(pem),
            };
            redis::Client::build_with_tls(url, tls)
        }
        None => redis::Client::open(url),
    };
    client.map_err(|e| StartError::dependency("redis", e))
}

/// A refused `rediss://` certificate says how to trust a private CA.
fn with_tls_hint(config: &Config, error: impl fmt::Display) -> String {
    let message = error.to_string();
    let tls = config
        .redis
        .url
        .as_deref()
        .is_some_and(|url| url.starts_with("rediss://"));
    if tls && message.contains("certificate") {
        let trusted = match &config.redis.ca_file {
            Some(path) => format!("the CA(s) in redis.ca_file ({})", path.display()),
            None => "the webpki roots; for a private CA set redis.ca_file \
                     (TASKER_REDIS__CA_FILE)"
                .to_owned(),
        };
        format!("{message} (the Redis server's certificate is checked against {trusted})")
    } else {
        message
    }
}

async fn redis_connection(
    client: redis::Client,
) -> Result<redis::aio::ConnectionManager, redis::RedisError> {
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(5)))
        .set_response_timeout(Some(Duration::from_secs(2)));
    redis::aio::ConnectionManager::new_with_config(client, config).await
}

impl App {
    /// The verifier of tokens, for the API and the admin routes.
    pub(crate) fn authenticator(&self) -> Result<JwtAuthenticator, StartError> {
        JwtAuthenticator::new(self.jwt.clone())
            .map_err(|e| StartError::Config(format!("auth: {e}")))
    }

    /// The tasker API with the JWT layer, health checks, shared rate limits
    /// and download links, as configured.
    pub(crate) fn api(&self, authenticator: JwtAuthenticator) -> Result<TaskerApi, StartError> {
        let seen = tasker_http::users::RememberUsersLayer::new(
            self.services.jobs.clone(),
            Arc::new(self.queue.clone()),
        );
        let mut builder = TaskerApi::builder(self.services.clone());
        match &self.config.bench.user {
            // Benchmarks only (loopback, checked by the configuration): every
            // request is this user's, no token is read.
            Some(user) => {
                tracing::warn!(%user, "bench.user is set: authentication is OFF, every request acts as this user");
                let caller = AuthUser::new(
                    UserId::parse(user)
                        .map_err(|e| StartError::Config(format!("bench.user: {e}")))?,
                );
                let auth = tower::ServiceBuilder::new()
                    .map_request(move |mut request: http::Request<_>| {
                        request.extensions_mut().insert(caller.clone());
                        request
                    })
                    .layer(seen)
                    .into_inner();
                builder = builder.auth_layer(auth);
            }
            None => {
                let auth = tower::ServiceBuilder::new()
                    .layer(AuthLayer::new(authenticator))
                    .layer(seen)
                    .into_inner();
                builder = builder.auth_layer(auth);
            }
        }
        #[cfg(feature = "otlp")]
        if self.config.telemetry.otlp_endpoint.is_some() {
            builder = builder.on_request_span(crate::telemetry::continue_trace);
        }
        if self.config.bench.bare {
            tracing::warn!(
                "bench.bare is set: no request ids, trace spans, security headers or CORS"
            );
            builder = builder.without_standard_layers();
        }
        let ttl = Duration::from_secs(self.config.http.downloads.link_ttl_seconds);
        let links = match storage::presigner(&self.config)? {
            Some(signer) => DownloadLinks::Presigned { signer, ttl },
            None => DownloadLinks::signed(self.link_key(), ttl),
        };
        if let Some(unsubscribe) = &self.unsubscribe {
            builder = builder.unsubscribe_links(unsubscribe.clone());
        }
        let store = self.store.clone();
        let mut builder = builder
            .settings(self.config.http.clone())
            .download_links(links)
            .health_check("database", move || {
                let store = store.clone();
                async move {
                    store
                        .ping()
                        .await
                        .map(drop)
                        .map_err(|e| HealthError::new("unreachable").with_source(e))
                }
            });
        if let Some(redis) = &self.redis {
            let ping = redis.clone();
            builder = builder
                .redis_rate_limits(
                    redis.clone(),
                    format!("{}:ratelimit", self.config.jobs.queue_prefix),
                )
                .health_check("redis", move || {
                    let mut conn = ping.clone();
                    async move {
                        let command = redis::cmd("PING");
                        let ping = command.query_async::<String>(&mut conn);
                        match tokio::time::timeout(Duration::from_secs(1), ping).await {
                            Ok(Ok(_)) => Ok(()),
                            Ok(Err(e)) => Err(HealthError::new("unreachable").with_source(e)),
                            Err(e) => Err(HealthError::new("unreachable").with_source(e)),
                        }
                    }
                });
        }
        Ok(builder.build())
    }

    /// The download-link key: configured, or derived from the JWT secret (so
    /// every instance with the same secret agrees), or random per process.
    fn link_key(&self) -> Vec<u8> {
        if let Some(key) = &self.config.storage.link_signing_key {
            return key.expose().as_bytes().to_vec();
        }
        match &self.jwt.jwt_secret {
            Some(secret) => secret::derive_key(secret.expose(), "tasker download links"),
            None => {
                tracing::warn!(
                    "no storage.link_signing_key and no auth.jwt_secret: download links are \
                     signed with a per-process key and only work on the instance that made them"
                );
                secret::random_key()
            }
        }
    }

    /// Readiness: the database answers and no migration is pending.
    pub(crate) async fn ready(&self) -> Result<Duration, String> {
        let started = Instant::now();
        let pending = self
            .store
            .pending_migrations()
            .await
            .map_err(|_| "database unreachable".to_owned())?;
        if pending > 0 {
            return Err(format!("{pending} migration(s) not applied"));
        }
        Ok(started.elapsed())
    }

    /// Closes the pools and the queue connection.
    pub(crate) async fn close(&self) {
        self.queue.close().await;
        self.store.close().await;
    }
}
