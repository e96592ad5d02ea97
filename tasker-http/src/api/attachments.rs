//! `/api/v1/todos/{id}/attachments` and signed file links.

use bytes::{Bytes, BytesMut};
use http::{HeaderValue, Response, StatusCode, header, request::Parts};
use http_body_util::BodyDataStream;
use tasker_core::{
    domain::{AttachmentName, FieldError, UserId},
    model::NewAttachment,
    store::Store,
};

use super::AppState;
use crate::{
    body::{Body, RequestBody, content_length, full},
    download::DownloadHeaders,
    error::ApiError,
    extract::{caller_and_id, path_id},
    response::{self, no_content},
    routes::PathParams,
};

/// Room for multipart boundaries and part headers on top of the file itself.
pub(crate) const MULTIPART_OVERHEAD: usize = 64 * 1024;

pub(crate) async fn upload<S: Store>(
    state: &AppState<S>,
    parts: &Parts,
    params: &PathParams,
    body: RequestBody,
) -> Result<Response<Body>, ApiError> {
    let (user, todo_id) = caller_and_id(parts, params)?;
    let limit = state.settings.upload_limit;
    let boundary = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| multer::parse_boundary(value).ok())
        .ok_or(ApiError::UnsupportedMediaType {
            expected: "multipart/form-data",
        })?;
    // The whole body: the route's limit (the file's, plus the multipart framing).
    let whole = crate::extract::body_limit(parts, &state.settings) as u64;
    let declared = content_length(&parts.headers);
    if declared.is_some_and(|length| length > whole) {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    // Nothing is read for a todo that is missing or another user's.
    if state
        .services
        .store()
        .get_todo(&user.user_id, todo_id)
        .await?
        .is_none()
    {
        return Err(tasker_core::Error::NotFound(tasker_core::Resource::Todo).into());
    }
    // Bounded memory: at most `max_concurrent_uploads` files are in flight.
    let _permit = state
        .uploads
        .acquire()
        .await
        .map_err(|error| ApiError::Internal(error.into()))?;
    let constraints = multer::Constraints::new().size_limit(
        multer::SizeLimit::new()
            .whole_stream(whole)
            .per_field(limit as u64),
    );
    let mut multipart =
        multer::Multipart::with_constraints(BodyDataStream::new(body), boundary, constraints);
    let mut file: Option<(String, Bytes)> = None;
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|e| multipart_error(e, limit))?
    {
        if field.name() != Some("file") {
            // As with JSON bodies (and as the Go service did), a part the
            // API does not name is skipped; the size limits still count it.
            continue;
        }
        if file.is_some() {
            return Err(invalid("file", "send exactly one file per request"));
        }
        let name = field.file_name().unwrap_or("").to_owned();
        // One buffer of the right size when the length is declared, so the
        // file is held once and never copied while growing.
        let expected = declared.map_or(0, |length| length.min(limit as u64) as usize);
        let mut content = BytesMut::with_capacity(expected);
        while let Some(chunk) = field.chunk().await.map_err(|e| multipart_error(e, limit))? {
            content.extend_from_slice(&chunk);
        }
        file = Some((name, content.freeze()));
    }
    let Some((raw_name, content)) = file else {
        return Err(invalid("file", "is required"));
    };
    if content.is_empty() {
        return Err(invalid("file", "must not be empty"));
    }
    let name = AttachmentName::from_upload(&sanitize_file_name(&raw_name))
        .map_err(|error| ApiError::Validation(error.into()))?;
    let mime_type = Some(sniff_mime(&content).to_owned());
    let attachment = state
        .services
        .attachments
        .upload(
            &user.user_id,
            todo_id,
            NewAttachment {
                name,
                mime_type,
                content,
            },
        )
        .await?;
    response::json(StatusCode::CREATED, &attachment)
}

fn invalid(field: &str, message: &str) -> ApiError {
    ApiError::Validation(FieldError::new(field, message).into())
}

fn multipart_error(error: multer::Error, limit: usize) -> ApiError {
    match error {
        multer::Error::FieldSizeExceeded { .. } | multer::Error::StreamSizeExceeded { .. } => {
            ApiError::PayloadTooLarge { limit }
        }
        multer::Error::StreamReadFailed(source) => ApiError::BodyRead(source),
        other => invalid("file", &format!("malformed multipart body: {other}")),
    }
}

/// Keeps a client's file name printable and harmless: control characters and
/// characters that are special in paths or headers become `_`, leading dots go.
pub(crate) fn sanitize_file_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or(raw);
    let cleaned: String = last
        .chars()
        .map(|c| {
            if c.is_control()
                || is_invisible_format(c)
                || matches!(c, '"' | '<' | '>' | ':' | '|' | '?' | '*' | ';')
            {
                '_'
            } else {
                c
            }
        })
        .collect();
    cleaned.trim().trim_start_matches('.').trim().to_owned()
}

/// Zero-width and bidirectional formatting characters, which can disguise a
/// name (`invoice\u{202e}fdp.exe` displays as `invoiceexe.pdf`).
fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}' | '\u{00ad}')
}

/// The MIME type read from the content's magic bytes; UTF-8 text without a
/// signature is `text/plain`, anything else `application/octet-stream`.
pub(crate) fn sniff_mime(content: &[u8]) -> &'static str {
    if let Some(kind) = infer::get(content) {
        return kind.mime_type();
    }
    let head = &content[..content.len().min(8192)];
    let text = match std::str::from_utf8(head) {
        Ok(_) => true,
        // A multi-byte character cut at the sample's end is still text.
        Err(error) => error.error_len().is_none(),
    };
    if text && !head.contains(&0) {
        "text/plain"
    } else {
        "application/octet-stream"
    }
}

pub(crate) async fn delete<S: Store>(
    state: &AppState<S>,
    parts: &Parts,
    params: &PathParams,
) -> Result<Response<Body>, ApiError> {
    let (user, todo_id) = caller_and_id(parts, params)?;
    let id = path_id(params.get("attachmentId"), "attachmentId")?;
    state
        .services
        .attachments
        .delete(&user.user_id, todo_id, id)
        .await?;
    Ok(no_content())
}

/// The `{"url": …}` of a download link.
#[derive(Debug, serde::Serialize)]
struct DownloadUrl {
    url: String,
}

pub(crate) async fn link<S: Store>(
    state: &AppState<S>,
    parts: &Parts,
    params: &PathParams,
) -> Result<Response<Body>, ApiError> {
    let (user, todo_id) = caller_and_id(parts, params)?;
    let id = path_id(params.get("attachmentId"), "attachmentId")?;
    let attachment = state
        .services
        .attachments
        .get(&user.user_id, todo_id, id)
        .await?;
    let base = base_url(state, parts);
    let now = state.services.clock().now();
    let url = state
        .downloads
        .url(&user.user_id, &attachment, &base, now)
        .await?;
    response::json(StatusCode::OK, &DownloadUrl { url })
}

/// Where clients reach this service: the configured public URL; else, from a
/// trusted proxy, its `X-Forwarded-Proto` and `X-Forwarded-Host`; else the
/// request's `Host` over plain HTTP.
fn base_url<S>(state: &AppState<S>, parts: &Parts) -> String {
    if let Some(base) = &state.settings.downloads.public_base_url {
        return base.clone();
    }
    let from_proxy = parts
        .extensions
        .get::<crate::ClientAddr>()
        .is_some_and(|peer| {
            state
                .settings
                .rate_limit
                .trusted_proxies
                .contains(&peer.0.ip().to_canonical())
        });
    let forwarded = |name: &str| {
        from_proxy
            .then(|| parts.headers.get(name)?.to_str().ok())
            .flatten()
            .map(|value| value.split(',').next().unwrap_or(value).trim())
    };
    let scheme = match forwarded("x-forwarded-proto") {
        Some("https") => "https",
        _ => "http",
    };
    let host = forwarded("x-forwarded-host")
        .or_else(|| parts.headers.get(header::HOST)?.to_str().ok())
        .or_else(|| parts.uri.authority().map(|a| a.as_str()))
        .unwrap_or("localhost");
    format!("{scheme}://{host}")
}

pub(crate) async fn serve_file<S: Store>(
    state: &AppState<S>,
    params: &PathParams,
) -> Result<Response<Body>, ApiError> {
    let now = state.services.clock().now();
    let claims = state.downloads.verify(params.get("token"), now)?;
    let user = UserId::parse(&claims.user).map_err(|_| ApiError::InvalidDownloadLink)?;
    let (attachment, content) = state
        .services
        .attachments
        .download(&user, claims.todo_id, claims.attachment_id)
        .await?;
    let mut response = Response::new(full(content));
    let headers = response.headers_mut();
    let download = DownloadHeaders::for_attachment(&attachment);
    let mime = HeaderValue::from_str(download.content_type())
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    headers.insert(header::CONTENT_TYPE, mime);
    if let Ok(value) = HeaderValue::from_str(download.content_disposition()) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    // Uploaded content never runs as a page of this origin.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox; default-src 'none'"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=60"),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_lose_paths_controls_and_leading_dots() {
        assert_eq!(sanitize_file_name("../../etc/passwd"), "passwd");
        assert_eq!(sanitize_file_name("C:\\x\\..hidden"), "hidden");
        assert_eq!(sanitize_file_name("a\u{0}b\"c.txt"), "a_b_c.txt");
        assert_eq!(sanitize_file_name("report.pdf"), "report.pdf");
        assert_eq!(
            sanitize_file_name("invoice\u{202e}fdp.exe"),
            "invoice_fdp.exe"
        );
    }

    #[test]
    fn the_mime_type_comes_from_the_content() {
        assert_eq!(sniff_mime(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), "image/png");
        assert_eq!(sniff_mime(b"%PDF-1.7\n"), "application/pdf");
        assert_eq!(sniff_mime("plain text, café".as_bytes()), "text/plain");
        assert_eq!(sniff_mime(&[0, 1, 2, 3, 0xff]), "application/octet-stream");
    }
}
