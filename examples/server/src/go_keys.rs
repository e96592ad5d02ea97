//! The Go service's configuration variables (`TASKER_SERVER.PORT`, …).
//!
//! The Go service read `TASKER_` variables whose key path is separated by
//! `.`; tasker separates it by `__` and names several settings differently.
//! Such a variable is never read (a server on other settings than the
//! operator meant is worse than none): start-up stops with one error per
//! variable, naming the tasker key to set instead.

use crate::config::ConfigError;

/// What became of one Go setting in tasker.
struct GoKey {
    /// The Go key path, lowercase (`server.port`).
    go: &'static str,
    /// What to set instead.
    instead: &'static str,
}

const GO_KEYS: &[GoKey] = &[
    GoKey {
        go: "primary.env",
        instead: "set TASKER_HTTP__ENVIRONMENT (http.environment)",
    },
    GoKey {
        go: "server.port",
        instead: "set TASKER_SERVER__PORT (server.port)",
    },
    GoKey {
        go: "server.read_timeout",
        instead: "set TASKER_SERVER__HEADER_READ_TIMEOUT_SECONDS (server.header_read_timeout_seconds) and TASKER_SERVER__BODY_READ_TIMEOUT_SECONDS (server.body_read_timeout_seconds) for reading a request, TASKER_HTTP__REQUEST_TIMEOUT_SECONDS (http.request_timeout_seconds) for the whole request",
    },
    GoKey {
        go: "server.write_timeout",
        instead: "set TASKER_HTTP__REQUEST_TIMEOUT_SECONDS (http.request_timeout_seconds) for the whole request",
    },
    GoKey {
        go: "server.idle_timeout",
        instead: "set TASKER_SERVER__IDLE_TIMEOUT_SECONDS (server.idle_timeout_seconds), in seconds",
    },
    GoKey {
        go: "server.cors_allowed_origins",
        instead: "set TASKER_HTTP__CORS__ALLOWED_ORIGINS (http.cors.allowed_origins)",
    },
    GoKey {
        go: "database.host",
        instead: DATABASE_URL,
    },
    GoKey {
        go: "database.port",
        instead: DATABASE_URL,
    },
    GoKey {
        go: "database.user",
        instead: DATABASE_URL,
    },
    GoKey {
        go: "database.password",
        instead: DATABASE_URL,
    },
    GoKey {
        go: "database.name",
        instead: DATABASE_URL,
    },
    GoKey {
        go: "database.ssl_mode",
        instead: DATABASE_URL,
    },
    GoKey {
        go: "database.max_open_conns",
        instead: "set TASKER_DATABASE__MAX_CONNECTIONS (database.max_connections)",
    },
    GoKey {
        go: "database.max_idle_conns",
        instead: "remove it: tasker has no such setting",
    },
    GoKey {
        go: "database.conn_max_lifetime",
        instead: "remove it: tasker has no such setting",
    },
    GoKey {
        go: "database.conn_max_idle_time",
        instead: "remove it: tasker has no such setting",
    },
    GoKey {
        go: "auth.secret_key",
        instead: "set TASKER_CLERK__SECRET_KEY (clerk.secret_key) for e-mail addresses, and \
                  TASKER_AUTH__JWKS_URL (auth.jwks_url) to verify Clerk's tokens",
    },
    GoKey {
        go: "redis.address",
        instead: REDIS_URL,
    },
    GoKey {
        go: "redis.password",
        instead: REDIS_URL,
    },
    GoKey {
        go: "integration.resend_api_key",
        instead: "set TASKER_MAIL__RESEND__API_KEY (mail.resend.api_key) and TASKER_MAIL__TRANSPORT=resend",
    },
    GoKey {
        go: "aws.region",
        instead: "set TASKER_STORAGE__S3__REGION (storage.s3.region)",
    },
    GoKey {
        go: "aws.access_key_id",
        instead: "set TASKER_STORAGE__S3__ACCESS_KEY_ID (storage.s3.access_key_id)",
    },
    GoKey {
        go: "aws.secret_access_key",
        instead: "set TASKER_STORAGE__S3__SECRET_ACCESS_KEY (storage.s3.secret_access_key)",
    },
    GoKey {
        go: "aws.upload_bucket",
        instead: "set TASKER_STORAGE__S3__BUCKET (storage.s3.bucket) and TASKER_STORAGE__BACKEND=s3",
    },
    GoKey {
        go: "aws.endpoint_url",
        instead: "set TASKER_STORAGE__S3__ENDPOINT (storage.s3.endpoint)",
    },
    GoKey {
        go: "observability.service_name",
        instead: "set TASKER_TELEMETRY__SERVICE_NAME (telemetry.service_name)",
    },
    GoKey {
        go: "observability.environment",
        instead: "set TASKER_HTTP__ENVIRONMENT (http.environment)",
    },
    GoKey {
        go: "observability.logging.level",
        instead: "set TASKER_LOG__LEVEL (log.level)",
    },
    GoKey {
        go: "observability.logging.format",
        instead: "set TASKER_LOG__FORMAT (log.format)",
    },
    GoKey {
        go: "observability.logging.slow_query_threshold",
        instead: "set TASKER_DATABASE__SLOW_QUERY_MS (database.slow_query_ms, in milliseconds)",
    },
    GoKey {
        go: "observability.new_relic.license_key",
        instead: NEW_RELIC,
    },
    GoKey {
        go: "observability.new_relic.app_log_forwarding_enabled",
        instead: NEW_RELIC,
    },
    GoKey {
        go: "observability.new_relic.distributed_tracing_enabled",
        instead: NEW_RELIC,
    },
    GoKey {
        go: "observability.new_relic.debug_logging",
        instead: NEW_RELIC,
    },
    GoKey {
        go: "observability.health_checks.enabled",
        instead: HEALTH,
    },
    GoKey {
        go: "observability.health_checks.interval",
        instead: HEALTH,
    },
    GoKey {
        go: "observability.health_checks.timeout",
        instead: HEALTH,
    },
    GoKey {
        go: "observability.health_checks.checks",
        instead: HEALTH,
    },
    GoKey {
        go: "cron.archive_days_threshold",
        instead: "set TASKER_JOBS__SETTINGS__ARCHIVE_AFTER_DAYS (jobs.settings.archive_after_days)",
    },
    GoKey {
        go: "cron.batch_size",
        instead: "set TASKER_JOBS__SETTINGS__BATCH_SIZE (jobs.settings.batch_size)",
    },
    GoKey {
        go: "cron.reminder_hours",
        instead: "set TASKER_JOBS__SETTINGS__REMINDER_WINDOW_HOURS (jobs.settings.reminder_window_hours)",
    },
    GoKey {
        go: "cron.max_todos_per_user_notification",
        instead: "set TASKER_JOBS__SETTINGS__DIGEST_LIMIT (jobs.settings.digest_limit)",
    },
];

const DATABASE_URL: &str = "set TASKER_DATABASE__URL (database.url), one URL: postgres://user:password@host:port/name?sslmode=…";
const REDIS_URL: &str = "set TASKER_REDIS__URL (redis.url), one URL: redis://:password@host:port";
const NEW_RELIC: &str = "send traces over OTLP instead: TASKER_TELEMETRY__OTLP_ENDPOINT and \
                         TASKER_TELEMETRY__OTLP_HEADERS (New Relic: api-key=<license key>)";
const HEALTH: &str =
    "remove it: tasker checks its dependencies on each /status request (see docs/operations.md)";

/// One error per Go-style variable among `names` (the environment's
/// variable names). A `TASKER_` name whose key path has a `.` is the Go
/// service's spelling; a known key names the tasker setting to use.
pub(crate) fn go_style_variables<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<ConfigError> {
    names
        .into_iter()
        .filter_map(|name| {
            let rest = name.strip_prefix("TASKER_")?;
            if !rest.contains('.') {
                return None;
            }
            let key = rest.to_ascii_lowercase();
            let message = match GO_KEYS.iter().find(|k| k.go == key) {
                Some(known) => format!("is the Go service's spelling and is not read: {}", known.instead),
                None => "is the Go service's spelling and is not read: tasker's variables separate \
                         the key path with `__`, like TASKER_SERVER__PORT (see docs/configuration.md)"
                    .to_owned(),
            };
            Some(ConfigError::new(name, message))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_go_key_of_the_go_service_names_what_to_set() {
        // The 42 keys of the Go service's configuration (apps/backend/internal/config).
        assert_eq!(GO_KEYS.len(), 42);
        let errors = go_style_variables([
            "TASKER_SERVER.PORT",
            "TASKER_DATABASE.HOST",
            "TASKER_SERVER__PORT",
            "PATH",
        ]);
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(text.len(), 2, "{text:?}");
        assert!(
            text[0].contains("TASKER_SERVER.PORT") && text[0].contains("TASKER_SERVER__PORT"),
            "{text:?}"
        );
        assert!(text[1].contains("TASKER_DATABASE__URL"), "{text:?}");
        let unknown = go_style_variables(["TASKER_SOMETHING.ELSE"]);
        assert!(unknown[0].to_string().contains("__"));
    }
}
