//! API2, broken authentication: every bad token is refused on every user route.
//!
//! The token checks themselves are covered in `auth` (see the report list);
//! here: the API as a whole refuses every kind of bad token on every user
//! route, and path tricks do not reach a user route without a token.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use http::{Method, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::{concrete, id, raw, requires_token};
use crate::support::{App, SECRET, assert_error, request};

/// Claims for `alice`, valid for an hour.
fn good_claims() -> Value {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    json!({ "sub": "alice", "iat": now, "exp": now + 3600 })
}

fn hs256(claims: &Value, secret: &[u8]) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .expect("sign")
}

fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims[key] = value;
    claims
}

fn without(mut claims: Value, key: &str) -> Value {
    claims.as_object_mut().unwrap().remove(key);
    claims
}

/// Tokens for `alice` that must all be refused.
fn bad_tokens() -> Vec<(&'static str, String)> {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let secret = SECRET.as_bytes();
    let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(good_claims().to_string());
    vec![
        ("alg none", format!("{none_header}.{payload}.")),
        (
            "other secret",
            hs256(&good_claims(), b"not-the-secret-but-long-enough-123"),
        ),
        (
            "expired",
            hs256(&with(good_claims(), "exp", json!(now - 3600)), secret),
        ),
        (
            "not yet valid",
            hs256(&with(good_claims(), "nbf", json!(now + 3600)), secret),
        ),
        (
            "exp as string",
            hs256(
                &with(good_claims(), "exp", json!((now + 3600).to_string())),
                secret,
            ),
        ),
        ("no exp", hs256(&without(good_claims(), "exp"), secret)),
        ("no sub", hs256(&without(good_claims(), "sub"), secret)),
        ("garbage", "not.a.token".to_owned()),
    ]
}

#[tokio::test]
async fn api2_every_user_route_refuses_every_bad_token() {
    let app = App::sqlite().await;
    let todo = id(&app.todo("alice", json!({"title": "T"})).await);
    let before = app
        .get("alice", &format!("/api/v1/todos/{todo}"))
        .await
        .json;
    let document = crate::support::document();
    let mut probed = 0;
    for (template, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if !requires_token(document, operation) {
                continue;
            }
            let path = concrete(template, &todo);
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            for (what, bad) in bad_tokens() {
                let mut req = request(method.clone(), &path, None, Some(json!({"title": "x"})));
                req.headers_mut().insert(
                    header::AUTHORIZATION,
                    format!("Bearer {bad}").parse().unwrap(),
                );
                let response = app.send(req).await;
                assert_error(&response, StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
                assert_eq!(
                    response.headers[header::WWW_AUTHENTICATE],
                    "Bearer",
                    "{method} {path} with {what}"
                );
                probed += 1;
            }
        }
    }
    assert!(probed >= 15 * 8, "only {probed} probes");
    let after = app
        .get("alice", &format!("/api/v1/todos/{todo}"))
        .await
        .json;
    assert_eq!(after, before);
    assert_eq!(app.get("alice", "/api/v1/todos").await.json["total"], 1);
}

#[tokio::test]
async fn api2_path_tricks_do_not_reach_user_routes_without_a_token() {
    let app = App::sqlite().await;
    app.todo("alice", json!({"title": "T"})).await;
    for path in [
        "/api/v1/files/../todos",
        "/api/v1/files/x/../../todos",
        "/api/v1/files/%2e%2e/todos",
        "/docs/../api/v1/todos",
        "/docs/..%2fapi%2fv1%2ftodos",
        "/status/../api/v1/todos",
        "/api/v1/todos/",
        "/api/v1//todos",
        "//api/v1/todos",
        "/API/V1/TODOS",
        "/api/v1/todos%2fstats",
        "/api/v1/todos?next=/docs/",
    ] {
        let response = raw(&app, request(Method::GET, path, None, None)).await;
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        assert!(
            status == StatusCode::UNAUTHORIZED || status == StatusCode::NOT_FOUND,
            "{path}: {status}"
        );
        assert!(
            !String::from_utf8_lossy(&bytes).contains("\"title\""),
            "{path} leaked a todo"
        );
    }
}
