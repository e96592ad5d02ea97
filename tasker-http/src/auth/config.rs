//! [`JwtConfig`]: how bearer tokens are verified, and [`JwtSecret`].

use std::{fmt, time::Duration};

use serde::{Deserialize, Deserializer, de};

/// The configuration of a [`JwtAuthenticator`](super::JwtAuthenticator).
///
/// Deserializes from the `auth` section of the server configuration; every
/// field has a default, so an empty section is valid (but
/// [`JwtAuthenticator::new`](super::JwtAuthenticator::new) needs a secret or a
/// JWKS URL). From the environment the keys are `TASKER_AUTH__JWT_SECRET`,
/// `TASKER_AUTH__JWKS_URL`, `TASKER_AUTH__ISSUER`, `TASKER_AUTH__AUDIENCE`,
/// `TASKER_AUTH__AUTHORIZED_PARTIES`, `TASKER_AUTH__LEEWAY_SECONDS`,
/// `TASKER_AUTH__JWKS_REFRESH_INTERVAL_SECONDS` and
/// `TASKER_AUTH__JWKS_TIMEOUT_SECONDS`. The two lists accept either a list or
/// one comma-separated string.
///
/// ```
/// use tasker_http::auth::JwtConfig;
///
/// let config: JwtConfig = serde_json::from_value(serde_json::json!({
///     "jwks_url": "https://clerk.example.com/.well-known/jwks.json",
///     "issuer": "https://clerk.example.com",
///     "authorized_parties": "https://app.example.com, https://admin.example.com",
/// }))
/// .unwrap();
/// assert_eq!(config.authorized_parties.len(), 2);
/// assert_eq!(config.leeway_seconds, 30);
/// assert!(config.jwt_secret.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JwtConfig {
    /// The shared secret for HS256 tokens (`TASKER_AUTH__JWT_SECRET`).
    pub jwt_secret: Option<JwtSecret>,
    /// Where to fetch the JSON Web Key Set for RS256/ES256 tokens, e.g. a
    /// Clerk instance's `/.well-known/jwks.json` (`TASKER_AUTH__JWKS_URL`).
    pub jwks_url: Option<String>,
    /// The required `iss` claim, when set (`TASKER_AUTH__ISSUER`).
    pub issuer: Option<String>,
    /// The accepted `aud` values; when non-empty, `aud` is required and must
    /// name one of them (`TASKER_AUTH__AUDIENCE`).
    #[serde(deserialize_with = "string_list")]
    pub audience: Vec<String>,
    /// The accepted `azp` values; when non-empty, `azp` is required and must
    /// be one of them (`TASKER_AUTH__AUTHORIZED_PARTIES`).
    #[serde(deserialize_with = "string_list")]
    pub authorized_parties: Vec<String>,
    /// Clock skew tolerated on `exp` and `nbf`, in seconds (default 30).
    pub leeway_seconds: u64,
    /// The least time between two JWKS fetches, in seconds (default 30): an
    /// unknown `kid` triggers at most one refetch per interval.
    pub jwks_refresh_interval_seconds: u64,
    /// How long a request may wait for a JWKS fetch, in seconds (default 5).
    pub jwks_timeout_seconds: u64,
    /// How long fetched keys are trusted without asking the JWKS again, in
    /// seconds (default 3600): a key the provider has revoked stops working
    /// at most this long after. When the JWKS cannot be reached, the cached
    /// keys keep working.
    pub jwks_max_age_seconds: u64,
}

impl Default for JwtConfig {
    fn default() -> Self {
        Self {
            jwt_secret: None,
            jwks_url: None,
            issuer: None,
            audience: Vec::new(),
            authorized_parties: Vec::new(),
            leeway_seconds: 30,
            jwks_refresh_interval_seconds: 30,
            jwks_timeout_seconds: 5,
            jwks_max_age_seconds: 3600,
        }
    }
}

impl JwtConfig {
    /// A configuration verifying HS256 tokens with `secret`.
    pub fn with_secret(secret: impl Into<String>) -> Self {
        Self {
            jwt_secret: Some(JwtSecret::new(secret)),
            ..Self::default()
        }
    }

    /// A configuration verifying RS256/ES256 tokens with the key set at `url`.
    pub fn with_jwks_url(url: impl Into<String>) -> Self {
        Self {
            jwks_url: Some(url.into()),
            ..Self::default()
        }
    }

    /// [`leeway_seconds`](Self::leeway_seconds) as a duration.
    pub fn leeway(&self) -> Duration {
        Duration::from_secs(self.leeway_seconds)
    }

    /// [`jwks_refresh_interval_seconds`](Self::jwks_refresh_interval_seconds)
    /// as a duration.
    pub fn jwks_refresh_interval(&self) -> Duration {
        Duration::from_secs(self.jwks_refresh_interval_seconds)
    }

    /// [`jwks_max_age_seconds`](Self::jwks_max_age_seconds) as a duration.
    pub fn jwks_max_age(&self) -> Duration {
        Duration::from_secs(self.jwks_max_age_seconds)
    }

    /// [`jwks_timeout_seconds`](Self::jwks_timeout_seconds) as a duration.
    pub fn jwks_timeout(&self) -> Duration {
        Duration::from_secs(self.jwks_timeout_seconds)
    }
}

/// A secret string whose `Debug` output never shows it.
///
/// ```
/// use tasker_http::auth::JwtSecret;
///
/// let secret = JwtSecret::new("hunter2");
/// assert_eq!(format!("{secret:?}"), "JwtSecret([redacted])");
/// assert_eq!(secret.expose(), "hunter2");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct JwtSecret(String);

impl JwtSecret {
    /// Wraps `secret`.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself; keep it out of logs.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for JwtSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JwtSecret([redacted])")
    }
}

impl From<String> for JwtSecret {
    fn from(secret: String) -> Self {
        Self(secret)
    }
}

impl From<&str> for JwtSecret {
    fn from(secret: &str) -> Self {
        Self(secret.to_owned())
    }
}

impl<'de> Deserialize<'de> for JwtSecret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // An all-digit secret may reach us as a number from an env provider.
        struct SecretVisitor;
        impl de::Visitor<'_> for SecretVisitor {
            type Value = JwtSecret;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a secret string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(JwtSecret(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(JwtSecret(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(JwtSecret(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(JwtSecret(v.to_string()))
            }
        }
        deserializer.deserialize_any(SecretVisitor)
    }
}

/// Deserializes a list of strings from a list or a comma-separated string.
fn string_list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    struct ListVisitor;
    impl<'de> de::Visitor<'de> for ListVisitor {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of strings or a comma-separated string")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(split_list(v))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(vec![v.to_string()])
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(vec![v.to_string()])
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut items = Vec::new();
            while let Some(item) = seq.next_element::<String>()? {
                items.extend(split_list(&item));
            }
            Ok(items)
        }
    }
    deserializer.deserialize_any(ListVisitor)
}

/// `"a, b,,c"` → `["a", "b", "c"]`.
fn split_list(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Why a JWKS URL is refused by [`check_jwks_url`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwksUrlError {
    /// The text is not a URL.
    #[error("is not a valid URL")]
    Invalid,
    /// The URL is not `https://` (nor `http://`) with a host.
    #[error("must be an https:// URL")]
    NotHttps,
    /// The URL is `http://` to a host that is not loopback: the keys that
    /// decide who is signed in would travel unauthenticated.
    #[error(
        "must be an https:// URL: http:// is accepted only for a loopback host \
         (localhost, 127.0.0.0/8, ::1)"
    )]
    InsecureHttp,
}

/// Checks a JWKS URL: `https://` with a host, or `http://` to a loopback host
/// (`localhost`, `127.0.0.0/8`, `::1`, for a local test server). Surrounding
/// whitespace is ignored. [`JwtAuthenticator::new`](super::JwtAuthenticator::new)
/// applies the same rule.
///
/// ```
/// use tasker_http::auth::{JwksUrlError, check_jwks_url};
///
/// assert_eq!(check_jwks_url("https://clerk.example.com/.well-known/jwks.json"), Ok(()));
/// assert_eq!(check_jwks_url("http://127.0.0.1:8081/jwks.json"), Ok(()));
/// assert_eq!(
///     check_jwks_url("http://clerk.example.com/.well-known/jwks.json"),
///     Err(JwksUrlError::InsecureHttp)
/// );
/// ```
///
/// # Errors
/// The [`JwksUrlError`] saying what is wrong with the URL.
pub fn check_jwks_url(url: &str) -> Result<(), JwksUrlError> {
    parse_jwks_url(url).map(drop)
}

/// The JWKS URL, parsed and checked as [`check_jwks_url`] describes.
pub(crate) fn parse_jwks_url(raw: &str) -> Result<reqwest::Url, JwksUrlError> {
    let url = reqwest::Url::parse(raw.trim()).map_err(|_| JwksUrlError::Invalid)?;
    match url.scheme() {
        _ if !url.has_host() => Err(JwksUrlError::NotHttps),
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(JwksUrlError::InsecureHttp),
        _ => Err(JwksUrlError::NotHttps),
    }
}

/// Whether the URL's host is `localhost` or a loopback address (the parser
/// has already lower-cased names and normalised addresses such as `127.1`).
fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host_str() {
        Some("localhost") => true,
        Some(host) => host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}
