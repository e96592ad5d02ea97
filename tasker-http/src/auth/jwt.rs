//! [`JwtAuthenticator`]: bearer JWTs, HS256 with a shared secret or
//! RS256/ES256 with a JWKS (e.g. Clerk).

use std::{fmt, sync::Arc};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use http::HeaderMap;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};
use tasker_core::domain::UserId;

use super::{
    AuthError, AuthUser, Authenticate, JwtConfig, authenticate::bearer_token,
    config::parse_jwks_url, jwks::JwksCache,
};

/// The longest token accepted, in bytes.
const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// HS256 secrets shorter than this are accepted with a warning.
const RECOMMENDED_SECRET_BYTES: usize = 32;

/// Verifies `Authorization: Bearer <jwt>` tokens.
///
/// - `HS256` tokens verify against [`JwtConfig::jwt_secret`] only;
/// - `RS256` and `ES256` tokens verify only against the JWKS key named by
///   their `kid`, and only when that key is of the token's algorithm (RSA for
///   RS256, EC P-256 for ES256, and its `alg`, if any, the same);
/// - every other `alg` (`none` included) is refused, and so is an algorithm
///   whose key is not configured: an HS256 token is refused outright when only
///   a JWKS is configured.
///
/// `exp` and `sub` are required, `nbf` is checked when present, both with
/// [`JwtConfig::leeway_seconds`]; `iss`, `aud` and `azp` are required and
/// checked when configured. The claims map to an [`AuthUser`]: `sub` is the
/// user id, the role is `role`, `org_role`, `o.rol` (Clerk's version 2
/// tokens, read as `org:{rol}`) or `metadata.role`, the permissions
/// `permissions`, `org_permissions` or those `o.fpm` grants, the e-mail
/// `email` (see `docs/auth.md`).
///
/// Cloning is cheap: clones share the configuration and the key cache.
///
/// ```
/// use tasker_http::auth::{JwtAuthenticator, JwtConfig};
///
/// let authenticator = JwtAuthenticator::new(JwtConfig::with_secret("a-32-byte-or-longer-shared-secret"))?;
/// # let _ = authenticator;
/// # Ok::<(), tasker_http::auth::AuthError>(())
/// ```
#[derive(Clone)]
pub struct JwtAuthenticator {
    inner: Arc<Inner>,
}

struct Inner {
    config: JwtConfig,
    secret: Option<DecodingKey>,
    jwks: Option<JwksCache>,
    hs256: Validation,
    rs256: Validation,
    es256: Validation,
}

impl fmt::Debug for JwtAuthenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtAuthenticator")
            .field("config", &self.inner.config)
            .field("jwks", &self.inner.jwks)
            .finish_non_exhaustive()
    }
}

impl JwtAuthenticator {
    /// An authenticator for `config`, fetching keys with a default HTTP client.
    ///
    /// Empty strings count as unset. No key is fetched until the first
    /// RS256/ES256 token arrives.
    ///
    /// # Errors
    /// [`AuthError::Config`] when neither a secret nor a JWKS URL is set, when
    /// the JWKS URL is refused by [`check_jwks_url`](super::check_jwks_url)
    /// (not `https://`, or `http://` to a host that is not loopback), or when
    /// the HTTP client cannot be built.
    pub fn new(config: JwtConfig) -> Result<Self, AuthError> {
        let timeout = config.jwks_timeout();
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(|_| AuthError::Config("the JWKS HTTP client could not be built".into()))?;
        Self::build(config, client)
    }

    /// This authenticator, fetching keys with `client` instead (to share a
    /// connection pool, or set a proxy or extra root certificates). The key
    /// cache starts empty; the JWKS timeout still applies to every fetch.
    pub fn with_http_client(self, client: reqwest::Client) -> Self {
        let inner = &self.inner;
        let jwks = inner.jwks.as_ref().map(|cache| cache.with_client(client));
        Self {
            inner: Arc::new(Inner {
                config: inner.config.clone(),
                secret: inner.secret.clone(),
                jwks,
                hs256: inner.hs256.clone(),
                rs256: inner.rs256.clone(),
                es256: inner.es256.clone(),
            }),
        }
    }

    /// The configuration in use (empty strings removed; the secret stays
    /// redacted in `Debug`).
    pub fn config(&self) -> &JwtConfig {
        &self.inner.config
    }

    fn build(mut config: JwtConfig, client: reqwest::Client) -> Result<Self, AuthError> {
        config.jwt_secret = config
            .jwt_secret
            .filter(|secret| !secret.expose().is_empty());
        config.jwks_url = config.jwks_url.filter(|url| !url.trim().is_empty());
        config.issuer = config.issuer.filter(|issuer| !issuer.is_empty());

        let secret = config.jwt_secret.as_ref().map(|secret| {
            if secret.expose().len() < RECOMMENDED_SECRET_BYTES {
                tracing::warn!(
                    "the HS256 secret is shorter than {RECOMMENDED_SECRET_BYTES} bytes; use a longer random secret"
                );
            }
            DecodingKey::from_secret(secret.expose().as_bytes())
        });
        let jwks = match &config.jwks_url {
            Some(raw) => {
                let url = parse_jwks_url(raw)
                    .map_err(|problem| AuthError::Config(format!("jwks_url {problem}")))?;
                Some(JwksCache::new(
                    url,
                    client,
                    config.jwks_timeout(),
                    config.jwks_refresh_interval(),
                    config.jwks_max_age(),
                ))
            }
            None => None,
        };
        if secret.is_none() && jwks.is_none() {
            return Err(AuthError::Config(
                "set jwt_secret (HS256) or jwks_url (RS256/ES256)".into(),
            ));
        }
        Ok(Self {
            inner: Arc::new(Inner {
                hs256: validation(Algorithm::HS256, &config),
                rs256: validation(Algorithm::RS256, &config),
                es256: validation(Algorithm::ES256, &config),
                config,
                secret,
                jwks,
            }),
        })
    }

    /// Verifies `token` and maps its claims to the caller.
    ///
    /// # Errors
    /// The [`AuthError`] saying why the token is refused.
    pub async fn verify(&self, token: &str) -> Result<AuthUser, AuthError> {
        let inner = &*self.inner;
        if token.len() > MAX_TOKEN_BYTES {
            return Err(AuthError::Malformed);
        }
        let header = peek_header(token)?;
        let claims = match header.alg.as_str() {
            "HS256" => {
                let key = inner
                    .secret
                    .as_ref()
                    .ok_or(AuthError::UnsupportedAlgorithm)?;
                decode(token, key, &inner.hs256)?
            }
            alg @ ("RS256" | "ES256") => {
                let (algorithm, validation) = if alg == "RS256" {
                    (Algorithm::RS256, &inner.rs256)
                } else {
                    (Algorithm::ES256, &inner.es256)
                };
                let jwks = inner.jwks.as_ref().ok_or(AuthError::UnsupportedAlgorithm)?;
                let kid = header
                    .kid
                    .filter(|kid| !kid.is_empty())
                    .ok_or(AuthError::MissingKeyId)?;
                let key = jwks.key(&kid).await?;
                if key.algorithm != algorithm {
                    return Err(AuthError::AlgorithmMismatch);
                }
                decode(token, &key.key, validation)?
            }
            _ => return Err(AuthError::UnsupportedAlgorithm),
        };
        user_from_claims(&claims, &inner.config)
    }
}

impl Authenticate for JwtAuthenticator {
    async fn authenticate(&self, headers: &HeaderMap) -> Result<Option<AuthUser>, AuthError> {
        match bearer_token(headers)? {
            Some(token) => self.verify(token).await.map(Some),
            None => Ok(None),
        }
    }
}

/// The checks for tokens of `algorithm`.
fn validation(algorithm: Algorithm, config: &JwtConfig) -> Validation {
    let mut validation = Validation::new(algorithm);
    validation.leeway = config.leeway_seconds;
    validation.validate_exp = true;
    validation.validate_nbf = true;
    let mut required = vec!["exp", "sub"];
    if let Some(issuer) = &config.issuer {
        validation.set_issuer(&[issuer]);
        required.push("iss");
    }
    if config.audience.is_empty() {
        validation.validate_aud = false;
    } else {
        validation.set_audience(&config.audience);
        required.push("aud");
    }
    validation.set_required_spec_claims(&required);
    validation
}

/// The JOSE header fields this module looks at before verifying.
#[derive(serde::Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    /// Critical extensions: none is understood, so any makes the token invalid.
    #[serde(default)]
    crit: Option<serde::de::IgnoredAny>,
}

/// The token's header, read (unverified) to choose the key.
fn peek_header(token: &str) -> Result<Header, AuthError> {
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AuthError::Malformed);
    };
    let json = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| AuthError::Malformed)?;
    let header: Header = serde_json::from_slice(&json).map_err(|_| AuthError::Malformed)?;
    if header.crit.is_some() {
        return Err(AuthError::Malformed);
    }
    Ok(header)
}

/// Verifies the signature and the registered claims; the claims as JSON.
fn decode(
    token: &str,
    key: &DecodingKey,
    validation: &Validation,
) -> Result<Map<String, Value>, AuthError> {
    Ok(jsonwebtoken::decode::<Map<String, Value>>(token, key, validation)?.claims)
}

/// Maps verified claims to the caller, checking `sub` and `azp`.
fn user_from_claims(
    claims: &Map<String, Value>,
    config: &JwtConfig,
) -> Result<AuthUser, AuthError> {
    let subject = claims
        .get("sub")
        .and_then(Value::as_str)
        .ok_or_else(|| AuthError::MissingClaim("sub".into()))?;
    // Taken verbatim: `UserId::parse` trims, and " alice" must not become
    // the account of "alice".
    let user_id = UserId::parse(subject)
        .ok()
        .filter(|user_id| user_id.as_str() == subject)
        .ok_or(AuthError::InvalidSubject)?;
    if !config.authorized_parties.is_empty() {
        let azp = claims.get("azp").and_then(Value::as_str);
        if !azp.is_some_and(|azp| config.authorized_parties.iter().any(|party| party == azp)) {
            return Err(AuthError::InvalidAuthorizedParty);
        }
    }
    let caller = super::claims::caller_claims(claims);
    Ok(AuthUser {
        user_id,
        role: caller.role,
        permissions: caller.permissions,
        email: caller.email,
    })
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{EncodingKey, Header, encode};
    use serde_json::json;

    use super::*;

    const SECRET: &str = "a-32-byte-or-longer-shared-secret";

    fn token(sub: &str) -> String {
        let claims = json!({"sub": sub, "exp": 4_102_444_800u64});
        encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .unwrap()
    }

    #[tokio::test]
    async fn a_subject_with_surrounding_whitespace_is_refused() {
        let authenticator = JwtAuthenticator::new(JwtConfig::with_secret(SECRET)).unwrap();
        let user = authenticator.verify(&token("user_1")).await.unwrap();
        assert_eq!(user.user_id.as_str(), "user_1");
        for sub in ["user_1 ", " user_1", "user_1\t"] {
            let refused = authenticator.verify(&token(sub)).await;
            assert!(
                matches!(refused, Err(AuthError::InvalidSubject)),
                "{sub:?}: {refused:?}"
            );
        }
    }
}
