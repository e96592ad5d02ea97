//! Download links for attachments.
//!
//! A blob store that can presign (S3 and compatibles) hands out its own URLs
//! through a [`Presign`] implementation. Otherwise the
//! service signs a link to itself: `/api/v1/files/{token}`, where the token
//! names the user, todo and attachment and an expiry instant, and carries an
//! HMAC-SHA256 over all of them. A link works without a bearer token (so a
//! browser can follow it), only until it expires, and only for that file.

use std::{fmt, sync::Arc, time::Duration};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha2::Sha256;
use tasker_core::{domain::UserId, model::Attachment};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{body::BoxError, error::ApiError, health::BoxFuture};

/// Makes a time-limited URL for a blob key (an S3 presigned `GET`, say).
///
/// A host wraps its store's signer, e.g. `object_store`'s `Signer` for S3,
/// and asks the store to answer with `headers` (on S3, the
/// `response-content-type` and `response-content-disposition` parameters),
/// so that the file arrives with its type and original name.
pub trait Presign: Send + Sync + fmt::Debug + 'static {
    /// A URL that fetches `key` for `ttl`, answered with `headers`.
    fn presign(
        &self,
        key: &str,
        ttl: Duration,
        headers: &DownloadHeaders,
    ) -> BoxFuture<Result<String, BoxError>>;
}

/// The `Content-Type` and `Content-Disposition` a download is answered with,
/// whoever serves it (this service's signed links or a presigned URL).
///
/// ```
/// use tasker_http::download::DownloadHeaders;
///
/// let headers = DownloadHeaders::new("Über uns.pdf", Some("application/pdf"));
/// assert_eq!(headers.content_type(), "application/pdf");
/// assert_eq!(
///     headers.content_disposition(),
///     "attachment; filename=\"_ber uns.pdf\"; filename*=UTF-8''%C3%9Cber%20uns.pdf"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadHeaders {
    content_type: String,
    content_disposition: String,
}

/// Characters RFC 8187 (`attr-char`) lets through unencoded in `filename*`.
const ATTR_CHAR: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

impl DownloadHeaders {
    /// Headers for a file named `name` of type `mime_type` (default
    /// `application/octet-stream`): `attachment` with the name twice, as
    /// RFC 6266 advises: a quoted ASCII fallback (other characters, quotes
    /// and backslashes become `_`) and the exact name in `filename*`
    /// (RFC 8187, UTF-8, percent-encoded).
    pub fn new(name: &str, mime_type: Option<&str>) -> Self {
        let fallback: String = name
            .chars()
            .map(|c| {
                if c.is_ascii() && !c.is_ascii_control() && c != '"' && c != '\\' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let encoded = utf8_percent_encode(name, ATTR_CHAR);
        Self {
            content_type: mime_type.unwrap_or("application/octet-stream").to_owned(),
            content_disposition: format!(
                "attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"
            ),
        }
    }

    /// The headers of `attachment`'s download.
    pub fn for_attachment(attachment: &Attachment) -> Self {
        Self::new(&attachment.name, attachment.mime_type.as_deref())
    }

    /// The `Content-Type` value.
    pub fn content_type(&self) -> &str {
        &self.content_type
    }

    /// The `Content-Disposition` value.
    pub fn content_disposition(&self) -> &str {
        &self.content_disposition
    }
}

type HmacSha256 = Hmac<Sha256>;

/// How download URLs are made.
#[derive(Clone)]
pub enum DownloadLinks {
    /// Links to this service, signed with a secret key.
    Signed {
        /// The HMAC key (at least 32 random bytes; share it between instances).
        key: Arc<[u8]>,
        /// How long a link is valid.
        ttl: Duration,
    },
    /// URLs presigned by the blob store.
    Presigned {
        /// The store's signer.
        signer: Arc<dyn Presign>,
        /// How long a URL is valid.
        ttl: Duration,
    },
}

impl fmt::Debug for DownloadLinks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Signed { ttl, .. } => f
                .debug_struct("Signed")
                .field("key", &"<redacted>")
                .field("ttl", ttl)
                .finish(),
            Self::Presigned { ttl, .. } => f.debug_struct("Presigned").field("ttl", ttl).finish(),
        }
    }
}

impl DownloadLinks {
    /// Signed links with a fresh random key: links stop working when the
    /// process restarts and are not valid on other instances. Give several
    /// instances one shared key with [`DownloadLinks::signed`].
    ///
    /// Without a working random source there is no safe key: every download
    /// link request then fails with `500` (and an error in the log).
    pub fn random(ttl: Duration) -> Self {
        let mut key = [0u8; 32];
        match getrandom::fill(&mut key) {
            Ok(()) => Self::signed(key.to_vec(), ttl),
            Err(error) => {
                tracing::error!(%error, "no random source: signed download links are disabled");
                Self::Signed {
                    key: Arc::from(Vec::new()),
                    ttl,
                }
            }
        }
    }

    /// Signed links with `key`.
    pub fn signed(key: impl Into<Vec<u8>>, ttl: Duration) -> Self {
        Self::Signed {
            key: key.into().into(),
            ttl,
        }
    }

    /// The download URL of `attachment` for `user`. `base_url` is where this
    /// service is reached (used by signed links only).
    pub(crate) async fn url(
        &self,
        user: &UserId,
        attachment: &Attachment,
        base_url: &str,
        now: OffsetDateTime,
    ) -> Result<String, ApiError> {
        match self {
            Self::Signed { key, .. } if key.is_empty() => Err(ApiError::Internal(
                "signed download links are disabled: no key".into(),
            )),
            Self::Signed { key, ttl } => {
                let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
                let expires = now.unix_timestamp().saturating_add(ttl);
                let token = sign(
                    key,
                    &LinkClaims {
                        user: user.as_str().to_owned(),
                        todo_id: attachment.todo_id,
                        attachment_id: attachment.id,
                        expires,
                    },
                );
                Ok(format!(
                    "{}/api/v1/files/{token}",
                    base_url.trim_end_matches('/')
                ))
            }
            Self::Presigned { signer, ttl } => signer
                .presign(
                    &attachment.download_key,
                    *ttl,
                    &DownloadHeaders::for_attachment(attachment),
                )
                .await
                .map_err(ApiError::Internal),
        }
    }

    /// Checks a signed link's token at `now` and returns what it names.
    pub(crate) fn verify(&self, token: &str, now: OffsetDateTime) -> Result<LinkClaims, ApiError> {
        let Self::Signed { key, .. } = self else {
            return Err(ApiError::InvalidDownloadLink);
        };
        if key.is_empty() {
            return Err(ApiError::InvalidDownloadLink);
        }
        let claims = verify(key, token).ok_or(ApiError::InvalidDownloadLink)?;
        if claims.expires < now.unix_timestamp() {
            return Err(ApiError::InvalidDownloadLink);
        }
        Ok(claims)
    }
}

/// What a signed link names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LinkClaims {
    pub(crate) user: String,
    pub(crate) todo_id: Uuid,
    pub(crate) attachment_id: Uuid,
    pub(crate) expires: i64,
}

fn mac(key: &[u8], payload: &[u8]) -> HmacSha256 {
    let mut mac = match HmacSha256::new_from_slice(key) {
        Ok(mac) => mac,
        // HMAC accepts keys of any length; this branch cannot be taken.
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    mac.update(payload);
    mac
}

fn sign(key: &[u8], claims: &LinkClaims) -> String {
    let payload = format!(
        "{}.{}.{}.{}",
        claims.todo_id.simple(),
        claims.attachment_id.simple(),
        claims.expires,
        claims.user
    );
    let tag = mac(key, payload.as_bytes()).finalize().into_bytes();
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(payload.as_bytes()),
        URL_SAFE_NO_PAD.encode(tag)
    )
}

fn verify(key: &[u8], token: &str) -> Option<LinkClaims> {
    let (payload, tag) = token.split_once('.')?;
    let payload = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
    mac(key, &payload).verify_slice(&tag).ok()?;
    let text = String::from_utf8(payload).ok()?;
    let mut fields = text.splitn(4, '.');
    let todo_id = Uuid::parse_str(fields.next()?).ok()?;
    let attachment_id = Uuid::parse_str(fields.next()?).ok()?;
    let expires = fields.next()?.parse().ok()?;
    let user = fields.next()?.to_owned();
    Some(LinkClaims {
        user,
        todo_id,
        attachment_id,
        expires,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> LinkClaims {
        LinkClaims {
            user: "user.with.dots".into(),
            todo_id: Uuid::now_v7(),
            attachment_id: Uuid::now_v7(),
            expires: 1_000,
        }
    }

    #[test]
    fn a_signed_token_verifies_with_its_key_only() {
        let token = sign(b"key-one", &claims());
        assert_eq!(verify(b"key-one", &token).unwrap().user, "user.with.dots");
        assert!(verify(b"key-two", &token).is_none());
    }

    #[test]
    fn a_tampered_token_is_refused() {
        let original = claims();
        let token = sign(b"k", &original);
        let (_, tag) = token.split_once('.').unwrap();
        let forged = LinkClaims {
            expires: i64::MAX,
            ..original
        };
        let forged_payload = sign(b"other", &forged);
        let (payload, _) = forged_payload.split_once('.').unwrap();
        assert!(verify(b"k", &format!("{payload}.{tag}")).is_none());
        assert!(verify(b"k", "garbage").is_none());
        assert!(verify(b"k", "a.b.c").is_none());
    }

    #[test]
    fn an_expired_link_is_refused() {
        let links = DownloadLinks::signed(b"k".to_vec(), Duration::from_secs(60));
        let token = sign(b"k", &claims());
        let before = OffsetDateTime::from_unix_timestamp(999).unwrap();
        let after = OffsetDateTime::from_unix_timestamp(1_001).unwrap();
        assert!(links.verify(&token, before).is_ok());
        assert!(links.verify(&token, after).is_err());
    }

    #[test]
    fn download_headers_name_the_file_for_every_client() {
        let plain = DownloadHeaders::new("report.pdf", Some("application/pdf"));
        assert_eq!(
            plain.content_disposition(),
            "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf"
        );
        let tricky = DownloadHeaders::new("a \"b\"\\c;d é.txt", None);
        assert_eq!(tricky.content_type(), "application/octet-stream");
        assert_eq!(
            tricky.content_disposition(),
            "attachment; filename=\"a _b__c;d _.txt\"; filename*=UTF-8''a%20%22b%22%5Cc%3Bd%20%C3%A9.txt"
        );
        assert!(http::HeaderValue::from_str(tricky.content_disposition()).is_ok());
    }
}
