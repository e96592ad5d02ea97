//! The checks a configuration passes before anything starts: the rules that
//! types alone cannot state (a public address needs a secret, a transport its
//! key, URLs their scheme, a JWKS https), every failure named by its key.

use super::{Config, ConfigError, RedisConfig, ServerConfig, StorageBackend, parse_headers};
use tasker_mail::TransportKind;

impl Config {
    /// Every problem at once.
    pub(super) fn validate(&self) -> Result<(), Vec<ConfigError>> {
        let mut errors = Vec::new();
        let auth = &self.auth;
        let has_secret = auth
            .jwt_secret
            .as_ref()
            .is_some_and(|s| !s.expose().is_empty());
        if let Some(user) = &self.bench.user {
            if !self.server.host.is_loopback() {
                errors.push(ConfigError::new(
                    "bench.user",
                    "turns authentication off, so it is only accepted with a loopback server.host",
                ));
            }
            if let Err(e) = tasker_core::domain::UserId::parse(user) {
                errors.push(ConfigError::new("bench.user", e.to_string()));
            }
        }
        if let Err(e) = tasker_core::model::TimeZoneName::parse(&self.users.time_zone) {
            errors.push(ConfigError::new("users.time_zone", e.error()));
        }
        if !self.server.host.is_loopback() && !has_secret && auth.jwks_url.is_none() {
            errors.push(ConfigError::new(
                "server.host",
                format!(
                    "{} is not a loopback address: set auth.jwt_secret (TASKER_AUTH__JWT_SECRET) \
                     or auth.jwks_url (TASKER_AUTH__JWKS_URL) before serving on the network",
                    self.server.host
                ),
            ));
        }
        for (key, value) in [
            (
                "auth.jwt_secret",
                auth.jwt_secret.as_ref().map(|s| s.expose()),
            ),
            (
                "storage.link_signing_key",
                self.storage.link_signing_key.as_ref().map(|s| s.expose()),
            ),
            (
                "metrics.token",
                self.metrics.token.as_ref().map(|s| s.expose()),
            ),
        ] {
            if value.is_some_and(is_placeholder) {
                errors.push(ConfigError::new(
                    key,
                    "is still the placeholder from .env.example: use a random value \
                     (e.g. `openssl rand -hex 32`)",
                ));
            }
        }
        if let Some(secret) = &auth.jwt_secret
            && secret.expose().len() < 32
        {
            errors.push(ConfigError::new(
                "auth.jwt_secret",
                "must be at least 32 characters (use a random value, e.g. `openssl rand -hex 32`)",
            ));
        }
        // The rule of the library's authenticator: https, or http to a
        // loopback host; an empty value counts as unset there too.
        if let Some(url) = auth
            .jwks_url
            .as_deref()
            .filter(|url| !url.trim().is_empty())
            && let Err(problem) = tasker_http::auth::check_jwks_url(url)
        {
            errors.push(ConfigError::new(
                "auth.jwks_url",
                format!("{problem} (TASKER_AUTH__JWKS_URL)"),
            ));
        }
        if let Some(url) = &self.database.url
            && !["postgres://", "postgresql://", "sqlite:"]
                .iter()
                .any(|scheme| url.starts_with(scheme))
        {
            errors.push(ConfigError::new(
                "database.url",
                "must start with postgres://, postgresql:// or sqlite:",
            ));
        }
        if let Some(url) = &self.database.migration_url {
            let postgres = |url: &str| {
                ["postgres://", "postgresql://"]
                    .iter()
                    .any(|s| url.starts_with(s))
            };
            if !postgres(url) {
                errors.push(ConfigError::new(
                    "database.migration_url",
                    "must start with postgres:// or postgresql:// (TASKER_DATABASE__MIGRATION_URL)",
                ));
            } else if !self.database.url.as_deref().is_some_and(postgres) {
                errors.push(ConfigError::new(
                    "database.migration_url",
                    "is for a PostgreSQL database.url only (TASKER_DATABASE__MIGRATION_URL)",
                ));
            }
        }
        if self.database.max_connections == 0 {
            errors.push(ConfigError::new(
                "database.max_connections",
                "must be at least 1",
            ));
        }
        errors.extend(server_limit_errors(&self.server));
        errors.extend(redis_errors(&self.redis));
        if self.rate_limit.per_second == 0 {
            errors.push(ConfigError::new(
                "rate_limit.per_second",
                "must be at least 1",
            ));
        }
        match self.mail.transport {
            TransportKind::Resend if self.mail.resend.api_key.is_none() => {
                errors.push(ConfigError::new(
                    "mail.resend.api_key",
                    "is required when mail.transport is resend (TASKER_MAIL__RESEND__API_KEY)",
                ));
            }
            TransportKind::Smtp if self.mail.smtp.host.is_empty() => {
                errors.push(ConfigError::new(
                    "mail.smtp.host",
                    "is required when mail.transport is smtp (TASKER_MAIL__SMTP__HOST)",
                ));
            }
            _ => {}
        }
        if let Err(e) = self.jobs.validate() {
            let message = match std::error::Error::source(&e) {
                Some(cause) => format!("{}: {cause}", e.problem),
                None => e.problem.to_string(),
            };
            errors.push(ConfigError::new(format!("jobs.{}", e.key), message));
        }
        if self.storage.backend == StorageBackend::S3 {
            if self.storage.s3.bucket.as_deref().is_none_or(str::is_empty) {
                errors.push(ConfigError::new(
                    "storage.s3.bucket",
                    "is required when storage.backend is s3 (TASKER_STORAGE__S3__BUCKET)",
                ));
            }
            if let Some(endpoint) = &self.storage.s3.endpoint
                && !is_http_url(endpoint)
            {
                errors.push(ConfigError::new(
                    "storage.s3.endpoint",
                    "must be an http:// or https:// URL",
                ));
            }
        }
        if let Some(key) = &self.storage.link_signing_key
            && key.expose().len() < 32
        {
            errors.push(ConfigError::new(
                "storage.link_signing_key",
                "must be at least 32 characters",
            ));
        }
        if !is_http_url(&self.clerk.api_url) {
            errors.push(ConfigError::new(
                "clerk.api_url",
                "must be an http:// or https:// URL",
            ));
        }
        if let Err(e) = self.log.level.parse::<tracing_subscriber::EnvFilter>() {
            errors.push(ConfigError::new(
                "log.level",
                format!("is not a level or filter ({e}); use e.g. info, debug or info,sqlx=warn"),
            ));
        }
        if let Some(endpoint) = &self.telemetry.otlp_endpoint
            && !is_http_url(endpoint)
        {
            errors.push(ConfigError::new(
                "telemetry.otlp_endpoint",
                "must be an http:// or https:// URL",
            ));
        }
        if !(0.0..=1.0).contains(&self.telemetry.sample_ratio) {
            errors.push(ConfigError::new(
                "telemetry.sample_ratio",
                "must be between 0.0 and 1.0",
            ));
        }
        if let Some(headers) = &self.telemetry.otlp_headers
            && parse_headers(headers.expose()).is_none()
        {
            errors.push(ConfigError::new(
                "telemetry.otlp_headers",
                "must be name=value pairs separated by commas",
            ));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// The longest a slow-client timeout may be, in seconds (one day): a larger
/// value is a mistake (milliseconds for seconds), not a limit.
const MAX_TIMEOUT_SECONDS: u64 = 86_400;
/// The largest connection cap accepted: more than any one process can keep
/// open (file descriptors), so a larger value is a typo.
const MAX_CONNECTIONS: usize = 1_000_000;

/// The slow-client limits: each timeout 1 s to one day, the connection cap
/// 1 to a million. Zero would mean "closed at once" or "nothing served".
fn server_limit_errors(server: &ServerConfig) -> Vec<ConfigError> {
    let mut errors = Vec::new();
    for (key, value) in [
        (
            "server.header_read_timeout_seconds",
            server.header_read_timeout_seconds,
        ),
        ("server.idle_timeout_seconds", server.idle_timeout_seconds),
        (
            "server.body_read_timeout_seconds",
            server.body_read_timeout_seconds,
        ),
    ] {
        if !(1..=MAX_TIMEOUT_SECONDS).contains(&value) {
            errors.push(ConfigError::new(
                key,
                format!("must be between 1 and {MAX_TIMEOUT_SECONDS} seconds, not {value}"),
            ));
        }
    }
    if !(1..=MAX_CONNECTIONS).contains(&server.max_connections) {
        errors.push(ConfigError::new(
            "server.max_connections",
            format!(
                "must be between 1 and {MAX_CONNECTIONS}, not {}",
                server.max_connections
            ),
        ));
    }
    errors
}

/// `redis.url` must be a Redis URL (`redis://` or `rediss://` for TLS);
/// `redis.ca_file` goes with a `rediss://` URL only.
fn redis_errors(redis: &RedisConfig) -> Vec<ConfigError> {
    let mut errors = Vec::new();
    let tls = match &redis.url {
        Some(url) if url.starts_with("redis://") || url.starts_with("rediss://") => {
            // The parser's messages never repeat the URL, so no password is
            // echoed.
            if let Err(e) = redis::IntoConnectionInfo::into_connection_info(url.as_str()) {
                errors.push(ConfigError::new(
                    "redis.url",
                    format!("is not a valid Redis URL: {e}"),
                ));
            }
            url.starts_with("rediss://")
        }
        Some(_) => {
            errors.push(ConfigError::new(
                "redis.url",
                "must start with redis:// (or rediss:// for TLS)",
            ));
            false
        }
        None => false,
    };
    // The file itself is read when Redis is connected (`app::redis_client`).
    if redis.ca_file.is_some() && !tls {
        errors.push(ConfigError::new(
            "redis.ca_file",
            "is only used with a rediss:// redis.url (TLS); set one or remove the CA file",
        ));
    }
    errors
}

/// Text shipped in `.env.example`, never a real secret.
fn is_placeholder(value: &str) -> bool {
    let value = value.to_ascii_lowercase();
    value.contains("change-me") || value.contains("change_me")
}

fn is_http_url(url: &str) -> bool {
    (url.starts_with("http://") || url.starts_with("https://")) && url.len() > "https://".len()
}
