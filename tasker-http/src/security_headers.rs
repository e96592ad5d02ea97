//! Security headers on every response, unless the handler set its own:
//! `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`,
//! `Referrer-Policy: no-referrer`, a `Content-Security-Policy` that lets the
//! bundled `/docs` page run and nothing else, and `Strict-Transport-Security`
//! when configured.

use http::{HeaderValue, Response, header};
use tower_http::set_header::response::SetMultipleResponseHeadersLayer;

use crate::body::Body;

/// The CSP: same-origin scripts, styles and images only (Swagger UI needs
/// inline styles and `data:` images), no framing.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                   img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; \
                   base-uri 'none'; form-action 'self'";

/// The layer setting the headers (HSTS with `hsts_max_age_seconds`, if any).
pub(crate) fn layer(
    hsts_max_age_seconds: Option<u64>,
) -> SetMultipleResponseHeadersLayer<Response<Body>> {
    let mut headers = vec![
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        )
            .into(),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")).into(),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        )
            .into(),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        )
            .into(),
    ];
    let hsts = hsts_max_age_seconds
        .and_then(|age| HeaderValue::from_str(&format!("max-age={age}; includeSubDomains")).ok());
    if let Some(hsts) = hsts {
        headers.push((header::STRICT_TRANSPORT_SECURITY, hsts).into());
    }
    SetMultipleResponseHeadersLayer::if_not_present(headers)
}
