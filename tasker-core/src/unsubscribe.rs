//! [`UnsubscribeLinks`]: signed links that switch one kind of recurring
//! e-mail off without a login (RFC 8058 one-click unsubscribe).
//!
//! A token names a user and a [`NotificationKind`] and carries an
//! HMAC-SHA256 of both under the server's key: it cannot be guessed or
//! changed to another user or kind, and it does not expire (an unsubscribe
//! link in an old e-mail keeps working). The jobs put the link in the
//! `List-Unsubscribe` header of every recurring e-mail; the API answers it at
//! `/api/v1/unsubscribe/{token}`.

use std::{fmt, sync::Arc};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::{domain::UserId, model::NotificationKind};

/// Makes and checks unsubscribe links (see the module docs).
///
/// ```
/// use tasker_core::{domain::UserId, model::NotificationKind, unsubscribe::UnsubscribeLinks};
///
/// let links = UnsubscribeLinks::new(b"a key of at least 32 random bytes".to_vec(), "https://api.example.com");
/// let ann = UserId::parse("ann").unwrap();
/// let url = links.url(&ann, NotificationKind::WeeklyReport);
/// let token = url.rsplit('/').next().unwrap();
/// assert_eq!(links.verify(token), Some((ann, NotificationKind::WeeklyReport)));
/// assert_eq!(links.verify(&token.replace("weeklyReport", "dueReminders")), None);
/// ```
#[derive(Clone)]
pub struct UnsubscribeLinks {
    key: Arc<[u8]>,
    base_url: String,
}

impl fmt::Debug for UnsubscribeLinks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnsubscribeLinks")
            .field("key", &"<redacted>")
            .field("base_url", &self.base_url)
            .finish()
    }
}

impl UnsubscribeLinks {
    /// Links signed with `key` (share it between the API and the workers)
    /// to the API at `base_url` (such as `https://api.example.com`).
    pub fn new(key: impl Into<Vec<u8>>, base_url: impl Into<String>) -> Self {
        let base_url: String = base_url.into();
        Self {
            key: key.into().into(),
            base_url: base_url.trim_end_matches('/').to_owned(),
        }
    }

    /// The token for `user` and `kind`: `{kind}.{user, base64url}.{mac, base64url}`.
    pub fn token(&self, user: &UserId, kind: NotificationKind) -> String {
        let payload = format!(
            "{}.{}",
            kind.as_str(),
            URL_SAFE_NO_PAD.encode(user.as_str())
        );
        let mac = URL_SAFE_NO_PAD.encode(self.mac(&payload).finalize().into_bytes());
        format!("{payload}.{mac}")
    }

    /// The link: `{base_url}/api/v1/unsubscribe/{token}`.
    pub fn url(&self, user: &UserId, kind: NotificationKind) -> String {
        format!(
            "{}/api/v1/unsubscribe/{}",
            self.base_url,
            self.token(user, kind)
        )
    }

    /// The user and kind `token` names, when its signature is this key's.
    pub fn verify(&self, token: &str) -> Option<(UserId, NotificationKind)> {
        let (payload, mac) = token.rsplit_once('.')?;
        let mac = URL_SAFE_NO_PAD.decode(mac).ok()?;
        self.mac(payload).verify_slice(&mac).ok()?;
        let (kind, user) = payload.split_once('.')?;
        let user = String::from_utf8(URL_SAFE_NO_PAD.decode(user).ok()?).ok()?;
        Some((UserId::parse(&user).ok()?, NotificationKind::parse(kind)?))
    }

    fn mac(&self, payload: &str) -> Hmac<Sha256> {
        // HMAC takes a key of any length; `new_from_slice` cannot fail for it.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
        mac.update(b"tasker unsubscribe\0");
        mac.update(payload.as_bytes());
        mac
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links() -> UnsubscribeLinks {
        UnsubscribeLinks::new(
            b"0123456789abcdef0123456789abcdef".to_vec(),
            "https://a.example/",
        )
    }

    #[test]
    fn a_token_names_its_user_and_kind_and_nothing_else() {
        let user = UserId::parse("user_2abc.def").unwrap();
        for kind in NotificationKind::ALL {
            let token = links().token(&user, kind);
            assert_eq!(links().verify(&token), Some((user.clone(), kind)));
            assert!(
                links()
                    .url(&user, kind)
                    .starts_with("https://a.example/api/v1/unsubscribe/")
            );
        }
    }

    #[test]
    fn a_changed_or_foreign_token_is_refused() {
        let ann = UserId::parse("ann").unwrap();
        let token = links().token(&ann, NotificationKind::DueReminders);
        let other_key = UnsubscribeLinks::new(b"another key, also 32 bytes long!".to_vec(), "x");
        assert_eq!(other_key.verify(&token), None);
        let bob = URL_SAFE_NO_PAD.encode("bob");
        let (_, mac) = token.rsplit_once('.').unwrap();
        assert_eq!(links().verify(&format!("dueReminders.{bob}.{mac}")), None);
        for broken in ["", ".", "..", "dueReminders", &token[..token.len() - 1]] {
            assert_eq!(links().verify(broken), None, "{broken:?}");
        }
    }
}
