//! Arbitrary strings as bearer tokens for `tasker_http::auth::JwtAuthenticator`
//! (HS256 secret configured, no JWKS), and for `jsonwebtoken::decode_header`.
//!
//! The first byte picks the mode:
//!
//! - even: the rest, as text, is the token itself, passed to `verify` and,
//!   as `Authorization: Bearer <rest>`, to `Authenticate::authenticate`.
//!   Nobody but the secret's holder can sign, so neither may accept it.
//! - odd: the rest is `header JSON \0 claims JSON`; the harness
//!   base64url-encodes both and signs them with HMAC-SHA256, with a wrong
//!   secret (byte & 2 == 0: must be refused) or the right one (byte & 2 != 0:
//!   accepted only if the header says HS256 with no `crit`, `sub` is the
//!   user id and `exp`, `nbf` hold with the 30 s leeway).
//!
//! Every token also goes to `jsonwebtoken::decode_header`: no panic.

#![no_main]

use std::sync::OnceLock;

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use http::{HeaderMap, HeaderValue, header::AUTHORIZATION};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use sha2::Sha256;
use tasker_http::auth::{Authenticate, JwtAuthenticator, JwtConfig};

const SECRET: &str = "fuzzing-secret-of-at-least-32-bytes!";
const WRONG_SECRET: &str = "another-secret-of-at-least-32-bytes!";
const LEEWAY: i64 = 30;

struct Harness {
    runtime: tokio::runtime::Runtime,
    authenticator: JwtAuthenticator,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| Harness {
        runtime: tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime"),
        authenticator: JwtAuthenticator::new(JwtConfig::with_secret(SECRET))
            .expect("authenticator"),
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let h = harness();
    if mode & 1 == 0 {
        let token = String::from_utf8_lossy(rest);
        let _ = jsonwebtoken::decode_header(token.as_bytes());
        let verified = h.runtime.block_on(h.authenticator.verify(&token));
        assert!(verified.is_err(), "accepted {token:?}: {verified:?}");
        let mut value = b"Bearer ".to_vec();
        value.extend_from_slice(rest);
        if let Ok(value) = HeaderValue::from_bytes(&value) {
            let mut headers = HeaderMap::new();
            headers.insert(AUTHORIZATION, value);
            let user = h.runtime.block_on(h.authenticator.authenticate(&headers));
            assert!(
                !matches!(user, Ok(Some(_))),
                "accepted the header {rest:?}: {user:?}"
            );
        }
        return;
    }
    let (header, claims) = match rest.iter().position(|&b| b == 0) {
        Some(at) => (&rest[..at], &rest[at + 1..]),
        None => (rest, &b"{}"[..]),
    };
    let right_key = mode & 2 != 0;
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let mut mac =
        Hmac::<Sha256>::new_from_slice(if right_key { SECRET } else { WRONG_SECRET }.as_bytes())
            .expect("any key length");
    mac.update(signing_input.as_bytes());
    let token = format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    );
    let _ = jsonwebtoken::decode_header(token.as_bytes());
    let verified = h.runtime.block_on(h.authenticator.verify(&token));
    let Ok(user) = verified else {
        return;
    };
    assert!(
        right_key,
        "accepted a token signed with another key: {token}"
    );
    // Accepted: everything the authenticator promises must hold.
    let header: Value = serde_json::from_slice(header).expect("accepted header is JSON");
    assert_eq!(header["alg"], "HS256", "{token}");
    assert!(header.get("crit").is_none(), "{token}");
    let claims: Value = serde_json::from_slice(claims).expect("accepted claims are JSON");
    assert_eq!(
        claims["sub"].as_str(),
        Some(user.user_id.as_str()),
        "{token}"
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let exp = claims["exp"]
        .as_f64()
        .expect("accepted without a numeric exp");
    assert!(
        exp >= (now - LEEWAY) as f64,
        "expired but accepted: {token}"
    );
    if let Some(nbf) = claims.get("nbf") {
        let nbf = nbf.as_f64().expect("accepted with a non-numeric nbf");
        assert!(
            nbf <= (now + LEEWAY) as f64,
            "not yet valid but accepted: {token}"
        );
    }
});
