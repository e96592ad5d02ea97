//! Security headers on every response, unless the handler set its own:
//! `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`,
//! `Referrer-Policy: no-referrer`, a `Content-Security-Policy` that lets the
//! bundled `/docs` page run and nothing else, and `Strict-Transport-Security`
//! when configured.

use http::{HeaderValue, Response, header};

/// The CSP: same-origin scripts, styles and images only (Swagger UI needs
/// inline styles and `data:` images), no framing.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                   img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; \
                   base-uri 'none'; form-action 'self'";

/// Adds the headers to `response`.
#[derive(Debug, Clone)]
pub(crate) struct SecurityHeaders {
    hsts: Option<HeaderValue>,
}

impl SecurityHeaders {
    pub(crate) fn new(hsts_max_age_seconds: Option<u64>) -> Self {
        Self {
            hsts: hsts_max_age_seconds.and_then(|age| {
                HeaderValue::from_str(&format!("max-age={age}; includeSubDomains")).ok()
            }),
        }
    }

    pub(crate) fn apply<B>(&self, mut response: Response<B>) -> Response<B> {
        let headers = response.headers_mut();
        let mut set = |name: header::HeaderName, value: HeaderValue| {
            if !headers.contains_key(&name) {
                headers.insert(name, value);
            }
        };
        set(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        set(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        set(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        set(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
        if let Some(hsts) = &self.hsts {
            set(header::STRICT_TRANSPORT_SECURITY, hsts.clone());
        }
        response
    }
}
