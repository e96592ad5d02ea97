//! The JWKS key cache behind [`JwtAuthenticator`](super::JwtAuthenticator).
//!
//! Keys are fetched lazily, on the first token whose `kid` is not cached, and
//! then only again for another unknown `kid`, at most once per refresh
//! interval (a flood of made-up `kid`s costs one fetch). Concurrent requests
//! waiting for the same refresh share one fetch. A fetch that fails, times
//! out or returns a document without a usable key leaves the cached keys in
//! place, and no request waits for keys longer than the configured timeout.
//!
//! Keys older than the maximum age are checked again on their next use: a
//! key the provider has withdrawn stops verifying then. If the JWKS cannot be
//! reached at that moment, the cached key still verifies (availability over
//! a provider outage).

use std::{
    collections::HashMap,
    fmt,
    sync::{Arc, PoisonError, RwLock},
    time::Duration,
};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use jsonwebtoken::{
    Algorithm, DecodingKey,
    jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, KeyOperations, PublicKeyUse},
};
use tokio::time::Instant;

use super::AuthError;

/// The largest JWKS document accepted, in bytes. A provider's key set is a
/// few kilobytes (Clerk's: one or two keys); the limit leaves room for many
/// keys while a misbehaving or hostile server cannot make every instance
/// buffer an endless body.
const MAX_JWKS_BYTES: usize = 256 * 1024;

/// The smallest RSA modulus accepted, in bits.
const MIN_RSA_BITS: usize = 2048;

/// One verification key, pinned to the one algorithm it may verify.
pub(crate) struct CachedKey {
    pub(crate) algorithm: Algorithm,
    pub(crate) key: DecodingKey,
}

type KeyMap = HashMap<String, Arc<CachedKey>>;

/// The fetched keys by `kid`, and the refresh machinery.
pub(crate) struct JwksCache {
    url: reqwest::Url,
    /// The URL without user info or query, for logs and `Debug`.
    shown_url: String,
    client: reqwest::Client,
    timeout: Duration,
    refresh_interval: Duration,
    max_age: Duration,
    keys: RwLock<Arc<KeyMap>>,
    /// When the cached keys were fetched.
    fetched_at: RwLock<Option<Instant>>,
    /// Held for the whole of a refresh (single flight); holds the start of
    /// the last fetch attempt.
    refresh: tokio::sync::Mutex<Option<Instant>>,
}

impl fmt::Debug for JwksCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwksCache")
            .field("url", &self.shown_url)
            .field("timeout", &self.timeout)
            .field("refresh_interval", &self.refresh_interval)
            .field("cached_keys", &self.snapshot().len())
            .finish_non_exhaustive()
    }
}

impl JwksCache {
    pub(crate) fn new(
        url: reqwest::Url,
        client: reqwest::Client,
        timeout: Duration,
        refresh_interval: Duration,
        max_age: Duration,
    ) -> Self {
        let port = url
            .port()
            .map(|port| format!(":{port}"))
            .unwrap_or_default();
        let shown_url = format!(
            "{}://{}{port}{}",
            url.scheme(),
            url.host_str().unwrap_or_default(),
            url.path()
        );
        Self {
            url,
            shown_url,
            client,
            timeout,
            refresh_interval,
            max_age,
            keys: RwLock::new(Arc::new(HashMap::new())),
            fetched_at: RwLock::new(None),
            refresh: tokio::sync::Mutex::new(None),
        }
    }

    /// A cache for the same key set, fetched with `client`, starting empty.
    pub(crate) fn with_client(&self, client: reqwest::Client) -> Self {
        Self::new(
            self.url.clone(),
            client,
            self.timeout,
            self.refresh_interval,
            self.max_age,
        )
    }

    /// The key named `kid`, refreshing the set (within the limits described in
    /// the module docs) when it is not cached.
    pub(crate) async fn key(&self, kid: &str) -> Result<Arc<CachedKey>, AuthError> {
        let cached = self.snapshot().get(kid).cloned();
        if let Some(key) = &cached
            && self.fresh()
        {
            return Ok(Arc::clone(key));
        }
        // A stale key still verifies when the key set cannot be asked again.
        let or_cached = |error: AuthError| cached.clone().ok_or(error);
        let deadline = Instant::now() + self.timeout;
        let Ok(mut last_fetch) = tokio::time::timeout_at(deadline, self.refresh.lock()).await
        else {
            return or_cached(AuthError::KeysUnavailable);
        };
        // Another request may have refreshed the set while this one waited.
        if self.fresh()
            && let Some(key) = self.snapshot().get(kid)
        {
            return Ok(Arc::clone(key));
        }
        if last_fetch.is_some_and(|at| at.elapsed() < self.refresh_interval) {
            return or_cached(AuthError::UnknownKey);
        }
        *last_fetch = Some(Instant::now());
        let fetched = match tokio::time::timeout_at(deadline, self.fetch()).await {
            Ok(Ok(keys)) => keys,
            Ok(Err(error)) => {
                tracing::warn!(url = %self.shown_url, %error, "JWKS refresh failed; keeping cached keys");
                return or_cached(AuthError::KeysUnavailable);
            }
            Err(_) => {
                tracing::warn!(url = %self.shown_url, timeout = ?self.timeout, "JWKS refresh timed out; keeping cached keys");
                return or_cached(AuthError::KeysUnavailable);
            }
        };
        tracing::debug!(url = %self.shown_url, keys = fetched.len(), "JWKS refreshed");
        let found = fetched.get(kid).cloned();
        *self.keys.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(fetched);
        *self
            .fetched_at
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
        // A key the new set no longer has was withdrawn: it stops verifying.
        found.ok_or(AuthError::UnknownKey)
    }

    /// Whether the cached keys are younger than the maximum age.
    fn fresh(&self) -> bool {
        self.fetched_at
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some_and(|at| at.elapsed() < self.max_age)
    }

    /// The keys cached now.
    fn snapshot(&self) -> Arc<KeyMap> {
        Arc::clone(&self.keys.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Fetches and parses the key set.
    async fn fetch(&self) -> Result<KeyMap, FetchError> {
        let response = self
            .client
            .get(self.url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .timeout(self.timeout)
            .send()
            .await?;
        let status = response.status();
        if !status.is_success() {
            return Err(FetchError::Status(status.as_u16()));
        }
        let body = Limited::new(reqwest::Body::from(response), MAX_JWKS_BYTES)
            .collect()
            .await
            .map_err(|error| {
                if error.is::<LengthLimitError>() {
                    FetchError::TooLarge(self.shown_url.clone())
                } else {
                    FetchError::Body(self.shown_url.clone(), error)
                }
            })?
            .to_bytes();
        parse_jwks(&body)
    }
}

/// Why a JWKS fetch failed (for the logs only).
#[derive(Debug, thiserror::Error)]
enum FetchError {
    #[error("request failed: {0}")]
    Http(reqwest::Error),
    #[error("unexpected status {0}")]
    Status(u16),
    #[error("the JWKS {0} answered more than {MAX_JWKS_BYTES} bytes")]
    TooLarge(String),
    #[error("reading the answer of the JWKS {0} failed")]
    Body(String, #[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("malformed document: {0}")]
    Malformed(#[from] serde_json::Error),
    #[error("no usable signing key in the document")]
    NoUsableKey,
}

impl From<reqwest::Error> for FetchError {
    fn from(error: reqwest::Error) -> Self {
        // The URL is logged separately, without user info or query.
        Self::Http(error.without_url())
    }
}

/// The top level of a JWKS document; keys are parsed one by one so that one
/// key of an unknown shape does not hide the others.
#[derive(serde::Deserialize)]
struct RawJwks {
    keys: Vec<serde_json::Value>,
}

/// Parses a JWKS document into the usable keys by `kid`.
fn parse_jwks(body: &[u8]) -> Result<KeyMap, FetchError> {
    let raw: RawJwks = serde_json::from_slice(body)?;
    let keys: KeyMap = raw
        .keys
        .into_iter()
        .filter_map(|value| serde_json::from_value::<Jwk>(value).ok())
        .filter_map(|jwk| usable_key(&jwk))
        .collect();
    if keys.is_empty() {
        return Err(FetchError::NoUsableKey);
    }
    Ok(keys)
}

/// The key's `kid` and verification key, when it is an RS256 or ES256 (P-256)
/// signing key whose declared `alg`, if any, agrees with its type.
fn usable_key(jwk: &Jwk) -> Option<(String, Arc<CachedKey>)> {
    let kid = jwk.common.key_id.clone().filter(|kid| !kid.is_empty())?;
    if jwk
        .common
        .public_key_use
        .as_ref()
        .is_some_and(|usage| *usage != PublicKeyUse::Signature)
    {
        return None;
    }
    if jwk
        .common
        .key_operations
        .as_ref()
        .is_some_and(|ops| !ops.contains(&KeyOperations::Verify))
    {
        return None;
    }
    let declared = jwk.common.key_algorithm;
    let (algorithm, key) = match &jwk.algorithm {
        AlgorithmParameters::RSA(rsa) => {
            if declared.is_some_and(|alg| alg != KeyAlgorithm::RS256) {
                return None;
            }
            let modulus = decode_b64(&rsa.n)?;
            let exponent = decode_b64(&rsa.e)?;
            let leading_zeros = modulus.iter().take_while(|byte| **byte == 0).count();
            if (modulus.len() - leading_zeros) * 8 < MIN_RSA_BITS || exponent.is_empty() {
                return None;
            }
            let key = DecodingKey::from_rsa_raw_components(&modulus, &exponent);
            (Algorithm::RS256, key)
        }
        AlgorithmParameters::EllipticCurve(ec) => {
            if ec.curve != EllipticCurve::P256
                || declared.is_some_and(|alg| alg != KeyAlgorithm::ES256)
            {
                return None;
            }
            let (x, y) = (decode_b64(&ec.x)?, decode_b64(&ec.y)?);
            if x.len() != 32 || y.len() != 32 {
                return None;
            }
            let key = DecodingKey::from_ec_components(
                ec.x.trim_end_matches('='),
                ec.y.trim_end_matches('='),
            )
            .ok()?;
            (Algorithm::ES256, key)
        }
        _ => return None,
    };
    Some((kid, Arc::new(CachedKey { algorithm, key })))
}

/// Decodes a base64url JWK parameter (padding tolerated).
fn decode_b64(value: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(value.trim_end_matches('=')).ok()
}
