//! [`AuthError`]: why credentials were refused.

use crate::error::ApiError;

/// Why a request's credentials were refused (or why an authenticator could
/// not be built).
///
/// Every variant's message is safe to show to the client: it never carries
/// the token, key material or the secret. Converting into [`ApiError`] gives
/// `401 Unauthorized` with that message as the reason.
///
/// ```
/// use tasker_http::{ApiError, auth::AuthError};
///
/// let error = ApiError::from(AuthError::Expired);
/// assert_eq!(error.status(), 401);
/// assert_eq!(error.to_string(), "unauthorized: token expired");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No bearer token (used by guards when a route needs a caller).
    #[error("missing bearer token")]
    MissingToken,
    /// The `Authorization` header does not use the `Bearer` scheme.
    #[error("expected a bearer token")]
    InvalidScheme,
    /// The header or token is not well formed (not three base64url parts,
    /// bad JSON, too long, several `Authorization` headers...).
    #[error("malformed token")]
    Malformed,
    /// The token's `alg` is not accepted (e.g. `none`, or an algorithm with no
    /// configured key).
    #[error("unsupported token algorithm")]
    UnsupportedAlgorithm,
    /// The token's `alg` differs from the algorithm of the key its `kid` names.
    #[error("token algorithm does not match its signing key")]
    AlgorithmMismatch,
    /// An RS256/ES256 token without a `kid` header.
    #[error("missing key id")]
    MissingKeyId,
    /// No known key has the token's `kid` (even after refreshing the JWKS).
    #[error("unknown signing key")]
    UnknownKey,
    /// The key set could not be fetched and the token's `kid` is not cached.
    #[error("signing keys unavailable")]
    KeysUnavailable,
    /// The signature does not verify.
    #[error("invalid signature")]
    InvalidSignature,
    /// The token's `exp` is past (beyond the leeway).
    #[error("token expired")]
    Expired,
    /// The token's `nbf` is in the future (beyond the leeway).
    #[error("token not yet valid")]
    NotYetValid,
    /// A required claim is absent.
    #[error("missing claim {0}")]
    MissingClaim(String),
    /// A claim has the wrong type (e.g. `exp` given as a string).
    #[error("invalid claim {0}")]
    InvalidClaim(String),
    /// The `iss` claim is not the configured issuer.
    #[error("invalid issuer")]
    InvalidIssuer,
    /// The `aud` claim names none of the configured audiences.
    #[error("invalid audience")]
    InvalidAudience,
    /// The `azp` claim is absent or not one of the configured parties.
    #[error("invalid authorized party")]
    InvalidAuthorizedParty,
    /// The `sub` claim is not a valid user id.
    #[error("invalid subject")]
    InvalidSubject,
    /// Refused by a host-provided authenticator, with a reason safe to show.
    #[error("{reason}")]
    Rejected {
        /// Why, in words safe to show to the client.
        reason: String,
    },
    /// The authenticator configuration is unusable (returned by constructors,
    /// never while authenticating).
    #[error("invalid auth configuration: {0}")]
    Config(String),
}

impl From<jsonwebtoken::errors::Error> for AuthError {
    fn from(error: jsonwebtoken::errors::Error) -> Self {
        use jsonwebtoken::errors::ErrorKind;
        match error.into_kind() {
            ErrorKind::InvalidSignature
            | ErrorKind::InvalidEcdsaKey
            | ErrorKind::InvalidRsaKey(_)
            | ErrorKind::InvalidKeyFormat => Self::InvalidSignature,
            ErrorKind::InvalidAlgorithm
            | ErrorKind::InvalidAlgorithmName
            | ErrorKind::UnsupportedAlgorithm
            | ErrorKind::MissingAlgorithm => Self::UnsupportedAlgorithm,
            ErrorKind::ExpiredSignature => Self::Expired,
            ErrorKind::ImmatureSignature => Self::NotYetValid,
            ErrorKind::MissingRequiredClaim(claim) => Self::MissingClaim(claim),
            ErrorKind::InvalidClaimFormat(claim) => Self::InvalidClaim(claim),
            ErrorKind::InvalidIssuer => Self::InvalidIssuer,
            ErrorKind::InvalidAudience => Self::InvalidAudience,
            ErrorKind::InvalidSubject => Self::InvalidSubject,
            _ => Self::Malformed,
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        let reason = match error {
            // Configuration detail is for the operator's logs, not the client.
            AuthError::Config(_) => "authentication unavailable".to_owned(),
            other => other.to_string(),
        };
        ApiError::Unauthorized { reason }
    }
}
