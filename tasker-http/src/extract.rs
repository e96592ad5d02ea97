//! Turning the parts of a request into checked values: the caller, path ids,
//! query strings and JSON bodies. Every failure names its field.

use bytes::Bytes;
use http::{HeaderMap, header};
use serde::de::DeserializeOwned;
use tasker_core::domain::{FieldError, ValidationErrors};
use uuid::Uuid;

use crate::{
    auth::AuthUser,
    body::{RequestBody, read_limited},
    error::ApiError,
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
    params: &crate::router::PathParams,
) -> Result<(&'a AuthUser, Uuid), ApiError> {
    Ok((caller(&parts.extensions)?, path_id(params.get("id"), "id")?))
}

/// A path segment that must be a UUID; `field` names it in the error.
pub(crate) fn path_id(value: &str, field: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(value)
        .map_err(|_| ApiError::Validation(FieldError::new(field, "must be a valid UUID").into()))
}

/// The query string decoded into `T` (whose fields are raw strings).
pub(crate) fn query<T: DeserializeOwned>(uri: &http::Uri) -> Result<T, ApiError> {
    let raw = uri.query().unwrap_or("");
    let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded_parse(raw));
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

fn form_urlencoded_parse(raw: &str) -> form_urlencoded::Parse<'_> {
    form_urlencoded::parse(raw.as_bytes())
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

/// Reads a JSON body of at most `limit` bytes into `T`.
///
/// A wrong content type is `415`, a larger body `413`, broken JSON `400`
/// `INVALID_JSON`, and a value of the wrong type `400 VALIDATION_FAILED`
/// naming the field (`metadata.tags[2]`).
pub(crate) async fn json<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: RequestBody,
    limit: usize,
) -> Result<T, ApiError> {
    if !is_json(headers) {
        return Err(ApiError::UnsupportedMediaType {
            expected: "application/json",
        });
    }
    let bytes = read_limited(headers, body, limit).await?;
    parse_json(&bytes)
}

/// Parses JSON bytes into `T`, naming the field of a type error.
pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, ApiError> {
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
