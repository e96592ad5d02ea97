//! Configuration: defaults, then `tasker.toml`, then `.env`, then `TASKER_…`
//! environment variables (`__` separates sections), validated before anything
//! starts. Every key is listed in `docs/configuration.md` and `.env.example`.

use std::{
    fmt,
    net::{IpAddr, Ipv4Addr},
    path::{Path, PathBuf},
    time::Duration,
};

use figment::{
    Figment,
    providers::{Env, Format, Toml},
};
use serde::Deserialize;
use tasker_core::model::{Notifications, SettingsDefaults, TimeZoneName};
use tasker_http::{HttpSettings, RateLimitSettings, auth::JwtConfig};
use tasker_jobs::JobsConfig;
use tasker_mail::{MailConfig, Secret};

mod validate;

/// A configuration problem, naming the key (`server.port`) and what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("{key}: {message}")]
pub(crate) struct ConfigError {
    pub(crate) key: String,
    pub(crate) message: String,
}

impl ConfigError {
    pub(crate) fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// Several problems at once, so an operator fixes them in one go.
#[derive(Debug)]
pub(crate) struct ConfigErrors(pub(crate) Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "invalid configuration:")?;
        for error in &self.0 {
            writeln!(f, "  {error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// The whole server configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Config {
    pub(crate) server: ServerConfig,
    pub(crate) database: DatabaseConfig,
    pub(crate) redis: RedisConfig,
    pub(crate) auth: JwtConfig,
    pub(crate) rate_limit: RateLimitSettings,
    pub(crate) http: HttpSettings,
    pub(crate) storage: StorageConfig,
    pub(crate) mail: MailConfig,
    pub(crate) jobs: JobsConfig,
    pub(crate) clerk: ClerkConfig,
    pub(crate) users: UsersConfig,
    pub(crate) log: LogConfig,
    pub(crate) telemetry: TelemetryConfig,
    pub(crate) metrics: MetricsConfig,
    pub(crate) bench: BenchConfig,
}

/// `bench.*`: switches for measuring what the layer stack costs (`bench/run`).
/// Never for production.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct BenchConfig {
    /// Every API request acts as this user and no token is checked. Refused
    /// unless `server.host` is a loopback address.
    pub(crate) user: Option<String>,
    /// Leave out the request-id, trace-span, security-header and CORS layers.
    pub(crate) bare: bool,
}

/// `server.*`: where to listen and where local state lives.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct ServerConfig {
    pub(crate) host: IpAddr,
    pub(crate) port: u16,
    /// SQLite files, the job queue file, attachments, mail previews and the
    /// generated development secret live here unless configured otherwise.
    pub(crate) data_dir: PathBuf,
    /// How long in-flight requests may run after SIGTERM (jobs have
    /// `jobs.shutdown_grace_seconds`).
    pub(crate) shutdown_grace_seconds: u64,
    /// A request head must arrive within this many seconds (counted from
    /// the accept, or from the end of the previous response on a keep-alive
    /// connection).
    pub(crate) header_read_timeout_seconds: u64,
    /// A connection with no byte read or written for this long is closed.
    pub(crate) idle_timeout_seconds: u64,
    /// A request body must arrive within this many seconds of its head:
    /// `408` if nothing was answered yet.
    pub(crate) body_read_timeout_seconds: u64,
    /// Connections served at once; more wait in the listen backlog.
    pub(crate) max_connections: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 8080,
            data_dir: PathBuf::from("./data"),
            shutdown_grace_seconds: 30,
            header_read_timeout_seconds: 10,
            idle_timeout_seconds: 60,
            body_read_timeout_seconds: 30,
            max_connections: 1024,
        }
    }
}

/// `database.*`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct DatabaseConfig {
    /// `postgres://…` or `sqlite://…`; default `sqlite://<data_dir>/tasker.db`.
    pub(crate) url: Option<String>,
    pub(crate) max_connections: u32,
    pub(crate) acquire_timeout_seconds: u64,
    /// Statements slower than this are logged as warnings; 0 turns it off.
    pub(crate) slow_query_ms: u64,
    /// Apply migrations when `serve` or `worker` starts.
    pub(crate) migrate_on_start: bool,
    /// PostgreSQL: named, cached statements (`true`), or unnamed ones that
    /// survive a transaction-mode pooler such as PgBouncer (`false`).
    pub(crate) prepared_statements: bool,
    /// PostgreSQL: migrations (and their session-level lock) run over this
    /// direct connection when set, the pool uses `url`.
    pub(crate) migration_url: Option<String>,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: None,
            max_connections: 10,
            acquire_timeout_seconds: 5,
            slow_query_ms: 500,
            migrate_on_start: true,
            prepared_statements: true,
            migration_url: None,
        }
    }
}

/// `redis.*`: when `url` is set, jobs and rate limits use Redis.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RedisConfig {
    pub(crate) url: Option<String>,
    /// PEM file of the CA(s) that signed the certificate of a `rediss://`
    /// server, trusted instead of the webpki roots (a private CA).
    pub(crate) ca_file: Option<PathBuf>,
}

/// Where attachment bytes are kept.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum StorageBackend {
    #[default]
    Local,
    S3,
}

/// `storage.*`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct StorageConfig {
    pub(crate) backend: StorageBackend,
    /// Default `<data_dir>/attachments`.
    pub(crate) local_dir: Option<PathBuf>,
    /// Key for signed download links; shared by every instance. Default:
    /// derived from `auth.jwt_secret`.
    pub(crate) link_signing_key: Option<Secret>,
    pub(crate) s3: S3Config,
}

/// `storage.s3.*`: any S3-compatible endpoint.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct S3Config {
    pub(crate) bucket: Option<String>,
    pub(crate) region: String,
    /// For MinIO, R2, … (`https://…`); unset means AWS.
    pub(crate) endpoint: Option<String>,
    pub(crate) access_key_id: Option<String>,
    pub(crate) secret_access_key: Option<Secret>,
    /// Path-style requests and plain HTTP, for local S3-compatible servers.
    pub(crate) allow_http: bool,
    /// Download links are presigned S3 URLs instead of links served here.
    pub(crate) presign: bool,
}

impl Default for S3Config {
    fn default() -> Self {
        Self {
            bucket: None,
            region: "us-east-1".to_owned(),
            endpoint: None,
            access_key_id: None,
            secret_access_key: None,
            allow_http: false,
            presign: true,
        }
    }
}

/// `clerk.*`: the user directory for e-mail addresses (Clerk Backend API).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct ClerkConfig {
    pub(crate) secret_key: Option<Secret>,
    pub(crate) api_url: String,
}

impl Default for ClerkConfig {
    fn default() -> Self {
        Self {
            secret_key: None,
            api_url: "https://api.clerk.com".to_owned(),
        }
    }
}

/// `users.*`: the settings of a user who chose none (`GET /api/v1/me`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct UsersConfig {
    pub(crate) time_zone: String,
    pub(crate) due_reminders: bool,
    pub(crate) overdue_notices: bool,
    pub(crate) weekly_report: bool,
    pub(crate) weekly_report_when_empty: bool,
}

impl Default for UsersConfig {
    fn default() -> Self {
        let defaults = SettingsDefaults::default();
        let n = defaults.notifications;
        Self {
            time_zone: defaults.time_zone.as_str().to_owned(),
            due_reminders: n.due_reminders,
            overdue_notices: n.overdue_notices,
            weekly_report: n.weekly_report,
            weekly_report_when_empty: n.weekly_report_when_empty,
        }
    }
}

impl UsersConfig {
    /// The defaults for the services; `users.time_zone` was checked by
    /// `Config::validate` (an unknown name would be UTC).
    pub(crate) fn defaults(&self) -> SettingsDefaults {
        SettingsDefaults {
            time_zone: TimeZoneName::parse(&self.time_zone).unwrap_or_else(|_| TimeZoneName::utc()),
            notifications: Notifications {
                due_reminders: self.due_reminders,
                overdue_notices: self.overdue_notices,
                weekly_report: self.weekly_report,
                weekly_report_when_empty: self.weekly_report_when_empty,
            },
        }
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum LogFormat {
    #[default]
    Console,
    Json,
}

/// `log.*`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct LogConfig {
    /// A level (`info`) or `tracing` filter directives (`info,sqlx=warn`).
    pub(crate) level: String,
    pub(crate) format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: "info".to_owned(),
            format: LogFormat::Console,
        }
    }
}

/// `telemetry.*`: OpenTelemetry trace export.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct TelemetryConfig {
    /// OTLP/HTTP endpoint, e.g. `http://127.0.0.1:4318` or
    /// `https://otlp.nr-data.net`; unset means no export.
    pub(crate) otlp_endpoint: Option<String>,
    /// Extra headers for the exporter, `name=value` pairs separated by commas
    /// (for example the `api-key` a vendor asks for).
    pub(crate) otlp_headers: Option<Secret>,
    pub(crate) service_name: String,
    /// Share of traces kept, 0.0–1.0.
    pub(crate) sample_ratio: f64,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            otlp_endpoint: None,
            otlp_headers: None,
            service_name: "tasker".to_owned(),
            sample_ratio: 1.0,
        }
    }
}

/// `metrics.*`: the Prometheus endpoint.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct MetricsConfig {
    /// Serve `/metrics`.
    pub(crate) enabled: bool,
    /// A bearer token `/metrics` requires; unset means open (bind it to a
    /// private network).
    pub(crate) token: Option<Secret>,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            token: None,
        }
    }
}

/// Whether `TASKER_<rest>` is configuration: every key lives in a section
/// (`SERVER__PORT`). Anything else — the test suites' `TASKER_TEST_…`, the
/// `TASKER_PORT`-style variables an orchestrator derives from a service name
/// — is not read.
fn is_config_variable(rest: &str) -> bool {
    rest.contains("__") && !is_known_other(rest)
}

/// `TASKER_` variables that are known not to be configuration, read quietly
/// past: the test suites' own, and `TASKER_CONFIG`.
fn is_known_other(rest: &str) -> bool {
    let rest = rest.to_ascii_lowercase();
    rest.starts_with("test_") || rest == "config"
}

/// Keys whose values are never repeated in an error message.
fn is_secret_key(path: &[String]) -> bool {
    path.last().is_some_and(|key| {
        ["secret", "password", "token", "key", "headers"]
            .iter()
            .any(|word| key.contains(word))
    })
}

impl Config {
    /// Whether e-mail can never find an address: tokens from a JWKS issuer
    /// (Clerk's session tokens carry no `email` claim) and no Clerk secret
    /// key to look addresses up with.
    pub(crate) fn recipients_unknowable(&self) -> bool {
        self.auth.jwks_url.is_some() && self.clerk.secret_key.is_none()
    }

    /// Reads `.env` (when present), `toml_path` (when present) and the
    /// environment, then validates.
    pub(crate) fn load(toml_path: Option<&Path>) -> Result<Self, ConfigErrors> {
        // Only the working directory's files: never a parent directory's.
        match dotenvy::from_path(".env") {
            Ok(()) => {}
            Err(e) if e.not_found() => {}
            Err(e) => return Err(ConfigErrors(vec![ConfigError::new(".env", e.to_string())])),
        }
        let explicit = toml_path.is_some();
        let toml_path = toml_path.map_or_else(|| PathBuf::from("tasker.toml"), Path::to_path_buf);
        if explicit && !toml_path.exists() {
            return Err(ConfigErrors(vec![ConfigError::new(
                "--config",
                format!("{} does not exist", toml_path.display()),
            )]));
        }
        let mut figment = Figment::new();
        if toml_path.exists() {
            figment = figment.merge(Toml::file_exact(&toml_path));
        }
        let figment = figment.merge(
            Env::prefixed("TASKER_")
                // Before `split`, which turns `SERVER__PORT` into `server.port`.
                .filter(|key| is_config_variable(key.as_str()))
                .split("__"),
        );
        let names: Vec<String> = std::env::vars_os()
            .filter_map(|(name, _)| name.into_string().ok())
            .collect();
        let go_style = crate::go_keys::go_style_variables(names.iter().map(String::as_str));
        if !go_style.is_empty() {
            return Err(ConfigErrors(go_style));
        }
        for name in names {
            if let Some(rest) = name.strip_prefix("TASKER_")
                && !is_config_variable(rest)
                && !is_known_other(rest)
            {
                eprintln!(
                    "tasker: ignoring {name}: configuration variables name a section and a \
                     key, like TASKER_SERVER__PORT"
                );
            }
        }
        Self::from_figment(&figment)
    }

    /// Extracts and validates a configuration from `figment`.
    pub(crate) fn from_figment(figment: &Figment) -> Result<Self, ConfigErrors> {
        let mut config: Config = figment.extract().map_err(|errors| {
            ConfigErrors(errors.into_iter().map(figment_error).collect::<Vec<_>>())
        })?;
        if figment.find_value("http.rate_limit").is_ok() {
            return Err(ConfigErrors(vec![ConfigError::new(
                "http.rate_limit",
                "rate limits are configured under rate_limit.* (TASKER_RATE_LIMIT__…)",
            )]));
        }
        config.http.rate_limit = config.rate_limit.clone();
        // Mail previews live in the data directory unless placed elsewhere.
        if figment.find_value("mail.preview_dir").is_err() {
            config.mail.preview_dir = config.server.data_dir.join("mail-preview");
        }
        config.validate().map(|()| config).map_err(ConfigErrors)
    }

    /// The database URL, defaulting to a SQLite file in the data directory.
    pub(crate) fn database_url(&self) -> String {
        match &self.database.url {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}",
                self.server.data_dir.join("tasker.db").display()
            ),
        }
    }

    /// The SQLite job queue file, used when no Redis is configured.
    pub(crate) fn queue_path(&self) -> PathBuf {
        self.server.data_dir.join("jobs.db")
    }

    /// The local attachments directory.
    pub(crate) fn attachments_dir(&self) -> PathBuf {
        self.storage
            .local_dir
            .clone()
            .unwrap_or_else(|| self.server.data_dir.join("attachments"))
    }

    /// The grace period for in-flight work at shutdown.
    pub(crate) fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.server.shutdown_grace_seconds)
    }
}

/// `a=b,c=d` → pairs; `None` when a pair has no `=` or an empty name.
pub(crate) fn parse_headers(text: &str) -> Option<Vec<(String, String)>> {
    text.split(',')
        .filter(|pair| !pair.trim().is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=')?;
            let name = name.trim();
            (!name.is_empty()).then(|| (name.to_owned(), value.trim().to_owned()))
        })
        .collect()
}

/// One figment error as `key: what is wrong (where the value came from)`.
fn figment_error(error: figment::Error) -> ConfigError {
    let key = if error.path.is_empty() {
        "configuration".to_owned()
    } else {
        error.path.join(".")
    };
    let source = error
        .metadata
        .as_ref()
        .map(|metadata| match &metadata.source {
            Some(figment::Source::File(path)) => path.display().to_string(),
            _ if metadata.name.contains("environment") && !error.path.is_empty() => format!(
                "the TASKER_{} environment variable",
                error.path.join("__").to_uppercase()
            ),
            _ => metadata.name.to_string(),
        });
    let hides_value = matches!(
        error.kind,
        figment::error::Kind::InvalidType(..)
            | figment::error::Kind::InvalidValue(..)
            | figment::error::Kind::InvalidLength(..)
            | figment::error::Kind::Message(_)
    );
    let kind = if hides_value && is_secret_key(&error.path) {
        // The value of a secret stays out of logs and terminals.
        "must be text (the value is not shown)".to_owned()
    } else {
        error.kind.to_string()
    };
    let message = match source {
        Some(source) => format!("{kind} (from {source})"),
        None => kind,
    };
    ConfigError::new(key, message)
}
