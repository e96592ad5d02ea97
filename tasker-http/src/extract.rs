//! Turning the parts of a request into checked values: the caller, path ids,
//! query strings and JSON bodies. Every failure names its field.

use std::borrow::Cow;

use bytes::Bytes;
use http::{HeaderMap, header, request::Parts};
use serde::de::DeserializeOwned;
use tasker_core::domain::{FieldError, ValidationErrors};
use uuid::Uuid;

use crate::{
    auth::AuthUser,
    body::{RequestBody, read_limited},
    error::ApiError,
    routes::{BodyLimit, RouteMatch},
    settings::HttpSettings,
};

/// The authenticated caller, or `401`.
pub(crate) fn caller(extensions: &http::Extensions) -> Result<&AuthUser, ApiError> {
    extensions
        .get::<AuthUser>()
        .ok_or_else(|| ApiError::Unauthorized {
            reason: "missing bearer token".into(),
        })
}

/// The caller and the `{id}` path segment as a UUID (field `id`).
pub(crate) fn caller_and_id<'a>(
    parts: &'a http::request::Parts,
    params: &crate::routes::PathParams,
) -> Result<(&'a AuthUser, Uuid), ApiError> {
    Ok((caller(&parts.extensions)?, path_id(params.get("id"), "id")?))
}

/// A path segment that must be a UUID; `field` names it in the error.
pub(crate) fn path_id(value: &str, field: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(value)
        .map_err(|_| ApiError::Validation(FieldError::new(field, "must be a valid UUID").into()))
}

/// The query string decoded into `T` (whose fields are raw strings). When a
/// key repeats, the first value wins, as in the Go service (Echo's binder).
pub(crate) fn query<T: DeserializeOwned>(uri: &http::Uri) -> Result<T, ApiError> {
    let raw = uri.query().unwrap_or("");
    let pairs = first_values(form_urlencoded::parse(raw.as_bytes()));
    let kept = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded::parse(kept.as_bytes()));
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let field = error.path().to_string();
        let field = if field == "." {
            "query".to_owned()
        } else {
            field
        };
        ApiError::Validation(FieldError::new(field, error.inner().to_string()).into())
    })
}

/// The pairs in order, each key kept only with its first value.
fn first_values<'a>(
    pairs: impl Iterator<Item = (Cow<'a, str>, Cow<'a, str>)>,
) -> Vec<(Cow<'a, str>, Cow<'a, str>)> {
    let mut kept: Vec<(Cow<'a, str>, Cow<'a, str>)> = Vec::new();
    for (key, value) in pairs {
        if !kept.iter().any(|(k, _)| *k == key) {
            kept.push((key, value));
        }
    }
    kept
}

/// Whether the content type is JSON (`application/json` or `…+json`).
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/json")
        || essence.rsplit_once('+').is_some_and(|(kind, suffix)| {
            kind.to_ascii_lowercase().starts_with("application/")
                && suffix.eq_ignore_ascii_case("json")
        })
}

/// The most bytes the matched route's body may have (its [`BodyLimit`]);
/// the JSON limit when no route matched.
pub(crate) fn body_limit(parts: &Parts, settings: &HttpSettings) -> usize {
    parts
        .extensions
        .get::<RouteMatch>()
        .map_or(BodyLimit::Json, |matched| matched.body)
        .bytes(settings)
}

/// Reads a JSON body into `T`, of at most the bytes the matched route's
/// entry allows ([`BodyLimit`] in the route table).
///
/// A wrong content type is `415`, a larger body `413`, broken JSON `400`
/// `INVALID_JSON`, and a value of the wrong type `400 VALIDATION_FAILED`
/// naming the field (`metadata.tags[2]`).
pub(crate) async fn json<T: DeserializeOwned>(
    parts: &Parts,
    body: RequestBody,
    settings: &HttpSettings,
) -> Result<T, ApiError> {
    let headers = &parts.headers;
    let limit = body_limit(parts, settings);
    if !is_json(headers) {
        return Err(ApiError::UnsupportedMediaType {
            expected: "application/json",
        });
    }
    let bytes = read_limited(headers, body, limit).await?;
    parse_json(&bytes)
}

/// How deeply arrays and objects may nest in a request body. No request type
/// nests more than three levels; the limit refuses pathological bodies
/// before they are parsed.
const MAX_JSON_DEPTH: usize = 64;

/// Whether arrays and objects in `bytes` nest deeper than `max` (brackets
/// inside strings do not count).
fn nests_deeper_than(bytes: &[u8], max: usize) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in bytes {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// Parses JSON bytes into `T`, naming the field of a type error.
pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, ApiError> {
    if nests_deeper_than(bytes, MAX_JSON_DEPTH) {
        return Err(ApiError::MalformedJson {
            detail: format!("arrays and objects nest deeper than {MAX_JSON_DEPTH} levels"),
        });
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if inner.is_data() && path != "." {
            let mut errors = ValidationErrors::new();
            errors.push(FieldError::new(path, describe(&inner)));
            ApiError::Validation(errors)
        } else {
            ApiError::MalformedJson {
                detail: describe(&inner),
            }
        }
    })?;
    deserializer
        .end()
        .map_err(|error| ApiError::MalformedJson {
            detail: describe(&error),
        })?;
    Ok(value)
}

/// serde_json's message without the position suffix for data errors.
fn describe(error: &serde_json::Error) -> String {
    let text = error.to_string();
    if error.is_data() {
        match text.rfind(" at line ") {
            Some(at) => text[..at].to_owned(),
            None => text,
        }
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::{first_values, nests_deeper_than};

    #[test]
    fn a_repeated_query_key_keeps_its_first_value() {
        let pairs = first_values(form_urlencoded::parse(b"page=2&limit=5&page=9&limit=&x"));
        let pairs: Vec<_> = pairs
            .iter()
            .map(|(k, v)| (k.as_ref(), v.as_ref()))
            .collect();
        assert_eq!(pairs, [("page", "2"), ("limit", "5"), ("x", "")]);
    }

    #[test]
    fn nesting_is_counted_outside_strings_only() {
        let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(!nests_deeper_than(deep(64).as_bytes(), 64));
        assert!(nests_deeper_than(deep(65).as_bytes(), 64));
        // Brackets in strings, and escaped quotes that do not end them.
        let text = format!(
            r#"{{"title": "{} \" {}"}}"#,
            "[".repeat(100),
            "{".repeat(100)
        );
        assert!(!nests_deeper_than(text.as_bytes(), 64));
        assert!(nests_deeper_than(br#"{"a": {"b": [1]}}"#, 2));
    }
}
