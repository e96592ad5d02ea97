//! Conditional requests: `ETag`, `If-None-Match` (→ `304`) and `If-Match`
//! (→ `412`).
//!
//! An entity tag is a hash of the exact JSON the resource's `GET` returns, so
//! two instances of the service agree on it and any visible change alters it.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use http::{HeaderMap, HeaderValue, header};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::ApiError;

/// The strong entity tag of a representation.
pub(crate) fn etag(representation: &[u8]) -> HeaderValue {
    let digest = Sha256::digest(representation);
    let tag = format!("\"{}\"", URL_SAFE_NO_PAD.encode(&digest[..16]));
    HeaderValue::from_str(&tag).unwrap_or_else(|_| HeaderValue::from_static("\"\""))
}

/// The tags listed in a conditional header; `None` for `*`.
fn listed(value: &str) -> Option<Vec<&str>> {
    if value.trim() == "*" {
        return None;
    }
    Some(
        value
            .split(',')
            .map(|tag| tag.trim())
            .map(|tag| tag.strip_prefix("W/").unwrap_or(tag))
            .filter(|tag| !tag.is_empty())
            .collect(),
    )
}

fn matches(header_value: &HeaderValue, current: &HeaderValue) -> bool {
    let Ok(text) = header_value.to_str() else {
        return false;
    };
    let current = current.to_str().unwrap_or_default();
    match listed(text) {
        None => true,
        Some(tags) => tags.contains(&current),
    }
}

/// Whether `If-None-Match` names the current representation (answer `304`).
pub(crate) fn not_modified(headers: &HeaderMap, current: &HeaderValue) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .any(|value| matches(value, current))
}

/// `412` when the request carries `If-Match` and it does not name the
/// representation `current` resolves to (the resource's `GET` body).
/// `current` is only awaited when there is an `If-Match` to check; the
/// representation it found is returned, so the write can be made
/// conditional on that very version.
pub(crate) async fn require_current<T: Serialize>(
    headers: &HeaderMap,
    current: impl Future<Output = tasker_core::Result<T>>,
) -> Result<Option<T>, ApiError> {
    if !headers.contains_key(header::IF_MATCH) {
        return Ok(None);
    }
    let representation = current.await?;
    check_if_match(headers, &etag(&crate::response::to_json(&representation)?))?;
    Ok(Some(representation))
}

/// `412` unless `If-Match` names the current representation.
pub(crate) fn check_if_match(headers: &HeaderMap, current: &HeaderValue) -> Result<(), ApiError> {
    let mut values = headers.get_all(header::IF_MATCH).iter().peekable();
    if values.peek().is_none() {
        return Ok(());
    }
    // Weak tags never match for If-Match (strong comparison).
    let fresh = values.any(|value| {
        value.to_str().is_ok_and(|text| {
            text.trim() == "*"
                || text
                    .split(',')
                    .map(str::trim)
                    .any(|tag| !tag.starts_with("W/") && tag == current.to_str().unwrap_or(""))
        })
    });
    if fresh {
        Ok(())
    } else {
        Err(ApiError::PreconditionFailed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(name: header::HeaderName, value: &str) -> HeaderMap {
        let mut map = HeaderMap::new();
        map.insert(name, HeaderValue::from_str(value).unwrap());
        map
    }

    #[test]
    fn the_same_bytes_give_the_same_tag_and_other_bytes_another() {
        assert_eq!(etag(b"{\"a\":1}"), etag(b"{\"a\":1}"));
        assert_ne!(etag(b"{\"a\":1}"), etag(b"{\"a\":2}"));
    }

    #[test]
    fn if_none_match_compares_weakly_and_accepts_lists_and_star() {
        let tag = etag(b"x");
        let text = tag.to_str().unwrap();
        assert!(not_modified(&headers(header::IF_NONE_MATCH, text), &tag));
        assert!(not_modified(
            &headers(header::IF_NONE_MATCH, &format!("\"zz\", W/{text}")),
            &tag
        ));
        assert!(not_modified(&headers(header::IF_NONE_MATCH, "*"), &tag));
        assert!(!not_modified(
            &headers(header::IF_NONE_MATCH, "\"zz\""),
            &tag
        ));
        assert!(!not_modified(&HeaderMap::new(), &tag));
    }

    #[test]
    fn if_match_compares_strongly() {
        let tag = etag(b"x");
        let text = tag.to_str().unwrap();
        assert!(check_if_match(&HeaderMap::new(), &tag).is_ok());
        assert!(check_if_match(&headers(header::IF_MATCH, text), &tag).is_ok());
        assert!(check_if_match(&headers(header::IF_MATCH, "*"), &tag).is_ok());
        assert!(check_if_match(&headers(header::IF_MATCH, &format!("W/{text}")), &tag).is_err());
        assert!(check_if_match(&headers(header::IF_MATCH, "\"old\""), &tag).is_err());
    }
}
