//! Authentication: who is calling.
//!
//! [`AuthLayer`] runs an [`Authenticate`] policy on every request. A request
//! without credentials passes through unauthenticated (public routes such as
//! `/status` need none; API routes answer `401` when no [`AuthUser`] is
//! present). A request with credentials that do not verify is refused with
//! `401` at once. A host application may replace the layer with its own: all
//! tasker-http needs is an [`AuthUser`] in the request extensions.

use tasker_core::domain::UserId;

/// The authenticated caller, stored in the request extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthUser {
    /// The user id (the token's `sub`).
    pub user_id: UserId,
    /// The caller's role (`role`, `org_role` or `metadata.role` claim), if any.
    pub role: Option<String>,
    /// The caller's permissions (`permissions` or `org_permissions` claim).
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
