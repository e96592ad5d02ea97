//! Role, permissions and e-mail from a verified token's claims, in both
//! versions of Clerk's session token and in plain tokens.
//!
//! - Plain tokens: `role` (or `metadata.role`) and `permissions`.
//! - Clerk version 1: `org_role` (`org:admin`) and `org_permissions`
//!   (`org:dashboard:read`).
//! - Clerk version 2 (`"v": 2`, issued since April 2025): the organisation
//!   claims are nested under `o`: `o.rol` is the role without the `org:`
//!   prefix (`admin`), `o.per` the permission names (`manage,read`), and
//!   `o.fpm` one bitmask per entry of `fea` (`o:dashboard,o:teams`) saying
//!   which of `o.per` that feature grants (lowest bit = first name). They
//!   become the values version 1 carried: role `org:admin`, permissions
//!   `org:dashboard:manage`, …, so one rule serves both versions.

use serde_json::{Map, Value};

/// What a token says about the caller beyond its subject.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct CallerClaims {
    pub(crate) role: Option<String>,
    pub(crate) permissions: Vec<String>,
    pub(crate) email: Option<String>,
}

/// Reads the caller's role, permissions and e-mail from `claims`.
pub(crate) fn caller_claims(claims: &Map<String, Value>) -> CallerClaims {
    let organisation = claims.get("o").and_then(Value::as_object);
    let role = text(claims.get("role"))
        .or_else(|| text(claims.get("org_role")))
        .or_else(|| {
            organisation
                .and_then(|o| text(o.get("rol")))
                .map(|role| prefixed(&role))
        })
        .or_else(|| text(claims.get("metadata").and_then(|m| m.get("role"))));
    let listed = ["permissions", "org_permissions"]
        .iter()
        .find_map(|name| claims.get(*name).and_then(Value::as_array))
        .map(|list| {
            list.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        });
    let permissions = listed
        .or_else(|| organisation.map(|o| v2_permissions(o, claims.get("fea"))))
        .unwrap_or_default();
    CallerClaims {
        role,
        permissions,
        email: text(claims.get("email")),
    }
}

/// A non-empty string claim.
fn text(value: Option<&Value>) -> Option<String> {
    value
        .and_then(Value::as_str)
        .filter(|text| !text.is_empty())
        .map(str::to_owned)
}

/// `admin` → `org:admin`; a role that already has the prefix stays as it is.
fn prefixed(role: &str) -> String {
    if role.starts_with("org:") {
        role.to_owned()
    } else {
        format!("org:{role}")
    }
}

/// Decodes `o.fpm` against `fea` and `o.per` into `org:{feature}:{permission}`.
fn v2_permissions(organisation: &Map<String, Value>, features: Option<&Value>) -> Vec<String> {
    let list = |value: Option<&Value>| -> Vec<String> {
        value
            .and_then(Value::as_str)
            .map(|text| {
                text.split(',')
                    .map(str::trim)
                    .filter(|item| !item.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    let names = list(organisation.get("per"));
    let masks = list(organisation.get("fpm"));
    let mut permissions = Vec::new();
    for (feature, mask) in list(features).iter().zip(&masks) {
        // `o:dashboard` (or `uo:dashboard`) is an organisation feature.
        let Some((scope, feature)) = feature.split_once(':') else {
            continue;
        };
        if !scope.contains('o') {
            continue;
        }
        let Ok(mask) = mask.parse::<u64>() else {
            continue;
        };
        for (bit, name) in names.iter().enumerate().take(64) {
            if mask & (1 << bit) != 0 {
                permissions.push(format!("org:{feature}:{name}"));
            }
        }
    }
    permissions
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn read(claims: Value) -> CallerClaims {
        caller_claims(claims.as_object().unwrap())
    }

    #[test]
    fn clerk_v2_organisation_claims_read_as_version_1_values() {
        // The example of Clerk's session token documentation.
        let claims = read(json!({
            "v": 2,
            "fea": "o:dashboard,o:teams",
            "o": {"id": "org_1", "rol": "admin", "slg": "acme", "per": "manage,read", "fpm": "3,2"}
        }));
        assert_eq!(claims.role.as_deref(), Some("org:admin"));
        assert_eq!(
            claims.permissions,
            [
                "org:dashboard:manage",
                "org:dashboard:read",
                "org:teams:read"
            ]
        );
    }

    #[test]
    fn clerk_v1_and_plain_claims_are_read_as_before() {
        let v1 = read(json!({"org_role": "org:member", "org_permissions": ["org:teams:read"]}));
        assert_eq!(v1.role.as_deref(), Some("org:member"));
        assert_eq!(v1.permissions, ["org:teams:read"]);
        let plain =
            read(json!({"role": "admin", "email": "a@example.com", "o": {"rol": "member"}}));
        assert_eq!(plain.role.as_deref(), Some("admin"), "a plain role wins");
        assert_eq!(plain.email.as_deref(), Some("a@example.com"));
        let metadata = read(json!({"metadata": {"role": "admin"}}));
        assert_eq!(metadata.role.as_deref(), Some("admin"));
    }

    #[test]
    fn malformed_v2_claims_give_nothing_rather_than_fail() {
        let claims = read(json!({
            "v": 2,
            "fea": "u:billing,nonsense,o:teams",
            "o": {"rol": "", "per": "read", "fpm": "1,x,1"}
        }));
        assert_eq!(claims.role, None);
        assert_eq!(claims.permissions, ["org:teams:read"]);
        assert_eq!(read(json!({"o": "admin"})), CallerClaims::default());
    }
}
