//! Authentication: `JwtAuthenticator`, `AuthLayer` and `RequireRoleLayer`.
//!
//! The layer is called with `oneshot` around an inner service echoing the
//! `AuthUser` as JSON. JWKS tests start a local HTTP server whose document
//! can be swapped while the test runs and which counts its fetches.

mod config;
mod jwks;
mod roles;
mod tokens;

use std::{
    convert::Infallible,
    time::{SystemTime, UNIX_EPOCH},
};

use http::{HeaderMap, Request, Response, StatusCode, header::AUTHORIZATION};
use http_body_util::BodyExt;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use tasker_http::{
    AuthUser, Body,
    auth::{AuthLayer, Authenticate, JwtAuthenticator, JwtConfig},
    body::full,
};
use tower::{Layer, ServiceExt, service_fn};

const SECRET: &str = "a-test-secret-that-is-long-enough-for-hs256";

// ---------------------------------------------------------------------------
// Tokens

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

fn sign(alg: Algorithm, kid: Option<&str>, key: &EncodingKey, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).expect("token signs")
}

fn hs256(claims: &Value) -> String {
    sign(
        Algorithm::HS256,
        None,
        &EncodingKey::from_secret(SECRET.as_bytes()),
        claims,
    )
}

/// Valid claims for `user_123`, expiring in five minutes.
fn claims() -> Value {
    json!({ "sub": "user_123", "iat": now(), "exp": now() + 300 })
}

fn with(mut base: Value, extra: Value) -> Value {
    if let (Some(base), Value::Object(extra)) = (base.as_object_mut(), extra) {
        base.extend(extra);
    }
    base
}

fn hs_config() -> JwtConfig {
    JwtConfig::with_secret(SECRET)
}

fn hs_authenticator() -> JwtAuthenticator {
    JwtAuthenticator::new(hs_config()).expect("valid config")
}

// ---------------------------------------------------------------------------
// Calling the layer

/// The inner service: echoes the `AuthUser` (or `null`) as JSON.
fn echo_user(request: &Request<Body>) -> Value {
    match request.extensions().get::<AuthUser>() {
        Some(user) => json!({
            "userId": user.user_id.as_str(),
            "role": user.role,
            "permissions": user.permissions,
            "email": user.email,
        }),
        None => Value::Null,
    }
}

/// The inner service (wrapped in `service_fn`): answers with the user.
async fn echo(request: Request<Body>) -> Result<Response<Body>, Infallible> {
    let json = serde_json::to_vec(&echo_user(&request)).expect("JSON encodes");
    Ok(Response::new(full(json)))
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

impl Answer {
    #[track_caller]
    fn assert_ok(&self) -> &Value {
        assert_eq!(self.status, StatusCode::OK, "body: {}", self.body);
        &self.body
    }

    #[track_caller]
    fn assert_unauthorized(&self, reason: &str) {
        assert_eq!(self.status, StatusCode::UNAUTHORIZED, "body: {}", self.body);
        assert_eq!(self.body["code"], "UNAUTHORIZED");
        assert_eq!(self.body["status"], 401);
        assert_eq!(self.body["message"], format!("Unauthorized: {reason}"));
        assert_eq!(self.headers["www-authenticate"], "Bearer");
    }

    #[track_caller]
    fn assert_forbidden(&self) {
        assert_eq!(self.status, StatusCode::FORBIDDEN, "body: {}", self.body);
        assert_eq!(self.body["code"], "FORBIDDEN");
        assert_eq!(self.body["status"], 403);
    }
}

async fn answer(response: Response<Body>) -> Answer {
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.expect("body reads").to_bytes();
    Answer {
        status: parts.status,
        headers: parts.headers,
        body: serde_json::from_slice(&bytes).expect("JSON body"),
    }
}

fn request(authorization: Option<&str>) -> Request<Body> {
    let mut builder = Request::builder().uri("/api/v1/todos");
    if let Some(value) = authorization {
        builder = builder.header(AUTHORIZATION, value);
    }
    builder.body(full("")).expect("request builds")
}

async fn send_request(authenticator: impl Authenticate, request: Request<Body>) -> Answer {
    let service = AuthLayer::new(authenticator).layer(service_fn(echo));
    let response = service
        .oneshot(request)
        .await
        .unwrap_or_else(|n| match n {});
    answer(response).await
}

async fn send(authenticator: impl Authenticate, authorization: Option<&str>) -> Answer {
    send_request(authenticator, request(authorization)).await
}

async fn send_token(authenticator: impl Authenticate, token: &str) -> Answer {
    send(authenticator, Some(&format!("Bearer {token}"))).await
}
