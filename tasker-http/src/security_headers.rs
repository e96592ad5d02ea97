//! Security headers on every response, unless the handler set its own:
//! `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`,
//! `Referrer-Policy: no-referrer`, a `Content-Security-Policy` that lets the
//! bundled `/docs` page run and nothing else, and `Strict-Transport-Security`
//! when configured.

use http::{HeaderName, HeaderValue, header};
use tower::{
    ServiceBuilder,
    layer::util::{Identity, Stack},
    util::Either,
};
use tower_http::set_header::SetResponseHeaderLayer;

/// The CSP: same-origin scripts, styles and images only (Swagger UI needs
/// inline styles and `data:` images), no framing.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                   img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; \
                   base-uri 'none'; form-action 'self'";

/// One header, set when the response has none of that name.
type One = SetResponseHeaderLayer<HeaderValue>;

/// The layers of [`layer`]. One layer per header, each holding its value
/// (cheap to clone: the host clones the stack for every request).
pub(crate) type SecurityHeadersLayer = ServiceBuilder<
    Stack<Either<One, Identity>, Stack<One, Stack<One, Stack<One, Stack<One, Identity>>>>>,
>;

fn one(name: HeaderName, value: HeaderValue) -> One {
    SetResponseHeaderLayer::if_not_present(name, value)
}

/// The layer setting the headers (HSTS with `hsts_max_age_seconds`, if any).
pub(crate) fn layer(hsts_max_age_seconds: Option<u64>) -> SecurityHeadersLayer {
    let hsts = hsts_max_age_seconds
        .and_then(|age| HeaderValue::from_str(&format!("max-age={age}; includeSubDomains")).ok());
    ServiceBuilder::new()
        .layer(one(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(one(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(one(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(one(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        .option_layer(hsts.map(|value| one(header::STRICT_TRANSPORT_SECURITY, value)))
}
