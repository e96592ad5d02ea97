//! Authentication: who is calling.
//!
//! [`AuthLayer`] runs an [`Authenticate`] policy on every request. A request
//! without credentials passes through unauthenticated (public routes such as
//! `/status` need none; API routes answer `401` when no [`AuthUser`] is
//! present). A request with credentials that do not verify is refused with
//! `401` at once. A host application may replace the layer with its own: all
//! tasker-http needs is an [`AuthUser`] in the request extensions.
//!
//! The built-in policy, [`JwtAuthenticator`], verifies `Authorization:
//! Bearer <jwt>` tokens: HS256 with a shared secret, or RS256/ES256 with the
//! keys of a JWKS URL (e.g. Clerk's). [`RequireRoleLayer`] guards routes that
//! need a role such as `admin`.
//!
//! ```
//! use std::convert::Infallible;
//!
//! use http::{Request, Response};
//! use tasker_http::{
//!     Body,
//!     auth::{AuthLayer, JwtAuthenticator, JwtConfig, RequireRoleLayer},
//!     body::full,
//! };
//! use tower::{ServiceBuilder, service_fn};
//!
//! # fn main() -> Result<(), tasker_http::auth::AuthError> {
//! let config = JwtConfig {
//!     issuer: Some("https://clerk.example.com".into()),
//!     authorized_parties: vec!["https://app.example.com".into()],
//!     ..JwtConfig::with_jwks_url("https://clerk.example.com/.well-known/jwks.json")
//! };
//! let admin_routes = ServiceBuilder::new()
//!     .layer(AuthLayer::new(JwtAuthenticator::new(config)?))
//!     .layer(RequireRoleLayer::new("admin"))
//!     .service(service_fn(|_: Request<Body>| async {
//!         Ok::<_, Infallible>(Response::new(full("admin area")))
//!     }));
//! # let _ = admin_routes;
//! # Ok(())
//! # }
//! ```
//!
//! See `docs/auth.md` in the repository for the configuration keys and the claims
//! mapping.

mod authenticate;
mod claims;
mod config;
mod error;
mod jwks;
mod jwt;
mod layer;
mod require_role;

pub use authenticate::{Authenticate, bearer_token};
pub use config::{JwksUrlError, JwtConfig, JwtSecret, check_jwks_url};
pub use error::AuthError;
pub use jwt::JwtAuthenticator;
pub use layer::{Auth, AuthFuture, AuthLayer};
pub use require_role::{RequireRole, RequireRoleFuture, RequireRoleLayer};

use tasker_core::domain::UserId;

/// The authenticated caller, stored in the request extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthUser {
    /// The user id (the token's `sub`).
    pub user_id: UserId,
    /// The caller's role (`role`, `org_role`, Clerk v2's `o.rol` as `org:{rol}`,
    /// or `metadata.role` claim), if any.
    pub role: Option<String>,
    /// The caller's permissions (`permissions`, `org_permissions`, or Clerk
    /// v2's `o.per`/`o.fpm` as `org:{feature}:{permission}`).
    pub permissions: Vec<String>,
    /// The caller's e-mail address (`email` claim), if the token carries one.
    pub email: Option<String>,
}

impl AuthUser {
    /// A user with just an id.
    pub fn new(user_id: UserId) -> Self {
        Self {
            user_id,
            role: None,
            permissions: Vec::new(),
            email: None,
        }
    }

    /// Whether the caller has `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.role.as_deref() == Some(role)
    }
}
