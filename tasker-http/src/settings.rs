//! [`HttpSettings`]: limits, rate limits, CORS, headers and download links.

use std::{net::IpAddr, time::Duration};

use serde::Deserialize;

/// Everything the HTTP layer can be tuned with. Every field has a default, so
/// `HttpSettings::default()` is a working configuration for local use.
///
/// It deserializes from configuration (the reference server maps
/// `TASKER_HTTP__*` and `TASKER_RATE_LIMIT__*` keys onto it).
///
/// ```
/// let settings = tasker_http::HttpSettings::default();
/// assert_eq!(settings.json_body_limit, 1024 * 1024);
/// assert_eq!(settings.rate_limit.per_second, 20);
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpSettings {
    /// Largest JSON body accepted, in bytes (default 1 MiB).
    pub json_body_limit: usize,
    /// Largest attachment accepted, in bytes (default 10 MiB).
    pub upload_limit: usize,
    /// Uploads read at the same time; more wait their turn (default 8), so
    /// uploads never hold more than this many times `upload_limit` in memory.
    pub max_concurrent_uploads: usize,
    /// Longest a request may take, in seconds (default 30).
    pub request_timeout_seconds: u64,
    /// Per-client and per-user rate limits.
    pub rate_limit: RateLimitSettings,
    /// Cross-origin requests.
    pub cors: CorsSettings,
    /// `Strict-Transport-Security` max-age in seconds; no header when `None`
    /// (enable it only when the service is reached over HTTPS).
    pub hsts_max_age_seconds: Option<u64>,
    /// The environment name shown by `/status` (default `development`).
    pub environment: String,
    /// Signed download links for attachments in a local blob store.
    pub downloads: DownloadSettings,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            json_body_limit: 1024 * 1024,
            upload_limit: 10 * 1024 * 1024,
            max_concurrent_uploads: 8,
            request_timeout_seconds: 30,
            rate_limit: RateLimitSettings::default(),
            cors: CorsSettings::default(),
            hsts_max_age_seconds: None,
            environment: "development".into(),
            downloads: DownloadSettings::default(),
        }
    }
}

impl HttpSettings {
    /// The request timeout as a [`Duration`].
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_seconds.max(1))
    }
}

/// Rate limits: a token bucket per client IP and one per authenticated user.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitSettings {
    /// Whether limits apply at all (default `true`).
    pub enabled: bool,
    /// Sustained requests per second per client IP (default 20).
    pub per_second: u32,
    /// Requests a client may make in a burst (default 2 × `per_second`).
    pub burst: Option<u32>,
    /// Sustained requests per second per user (default: `per_second`).
    pub per_user_per_second: Option<u32>,
    /// Burst per user (default: 2 × the per-user rate).
    pub per_user_burst: Option<u32>,
    /// Proxies whose `X-Forwarded-For` is believed. Empty (the default): the
    /// socket address is the client, and the header is ignored.
    pub trusted_proxies: Vec<IpAddr>,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            per_second: 20,
            burst: None,
            per_user_per_second: None,
            per_user_burst: None,
            trusted_proxies: Vec::new(),
        }
    }
}

impl RateLimitSettings {
    /// Per-IP rate and burst.
    pub fn per_ip(&self) -> (u32, u32) {
        let rate = self.per_second.max(1);
        (rate, self.burst.unwrap_or(rate.saturating_mul(2)).max(1))
    }

    /// Per-user rate and burst.
    pub fn per_user(&self) -> (u32, u32) {
        let rate = self.per_user_per_second.unwrap_or(self.per_second).max(1);
        (
            rate,
            self.per_user_burst.unwrap_or(rate.saturating_mul(2)).max(1),
        )
    }
}

/// Cross-origin resource sharing.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CorsSettings {
    /// Origins allowed to call the API from a browser (exact matches, such as
    /// `https://app.example.com`). Empty (the default): no CORS headers.
    pub allowed_origins: Vec<String>,
    /// How long browsers may cache a preflight answer, in seconds (default none).
    pub max_age_seconds: Option<u64>,
}

/// Signed, expiring download links, used when the blob store cannot presign.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DownloadSettings {
    /// How long a link stays valid, in seconds (default 300).
    pub link_ttl_seconds: u64,
    /// The public base URL links start with, including any mount prefix
    /// (such as `https://api.example.com`). When unset, the request's `Host`
    /// header is used with `http://`.
    pub public_base_url: Option<String>,
}

impl Default for DownloadSettings {
    fn default() -> Self {
        Self {
            link_ttl_seconds: 300,
            public_base_url: None,
        }
    }
}
