//! Authentication: `JwtAuthenticator`, `AuthLayer` and `RequireRoleLayer`.
//!
//! The layer is called with `oneshot` around an inner service echoing the
//! `AuthUser` as JSON. JWKS tests start a local HTTP server whose document
//! can be swapped while the test runs and which counts its fetches.

use std::{
    convert::Infallible,
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use base64::{
    Engine,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use bytes::Bytes;
use futures_util::future::join_all;
use http::{HeaderMap, Request, Response, StatusCode, header::AUTHORIZATION};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use jsonwebtoken::{
    Algorithm, EncodingKey, Header,
    jwk::{Jwk, PublicKeyUse},
};
use serde_json::{Value, json};
use tasker_core::domain::UserId;
use tasker_http::{
    AuthUser, Body,
    auth::{
        AuthError, AuthLayer, Authenticate, JwtAuthenticator, JwtConfig, RequireRoleLayer,
        bearer_token,
    },
    body::full,
};
use tower::{Layer, ServiceExt, service_fn, util::BoxCloneSyncService};

const SECRET: &str = "a-test-secret-that-is-long-enough-for-hs256";
const RSA_KID: &str = "rsa-1";
const RSA2_KID: &str = "rsa-2";
const EC_KID: &str = "ec-1";

// ---------------------------------------------------------------------------
// Keys and tokens

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// The DER inside a PEM fixture.
fn pem_der(pem: &str) -> Vec<u8> {
    let base64: String = pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    STANDARD.decode(base64).expect("fixture PEM is base64")
}

fn rsa_key() -> EncodingKey {
    EncodingKey::from_rsa_der(&pem_der(include_str!("fixtures/rsa_private.pem")))
}

fn rsa2_key() -> EncodingKey {
    EncodingKey::from_rsa_der(&pem_der(include_str!("fixtures/rsa2_private.pem")))
}

fn ec_key() -> EncodingKey {
    EncodingKey::from_ec_der(&pem_der(include_str!("fixtures/ec_private.pem")))
}

/// The public JWK of a fixture key, as a JWKS entry.
fn jwk(key: &EncodingKey, alg: Algorithm, kid: &str) -> Value {
    let mut jwk = Jwk::from_encoding_key(key, alg).expect("public JWK of a fixture key");
    jwk.common.key_id = Some(kid.to_owned());
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    serde_json::to_value(jwk).expect("JWK serializes")
}

/// A JWKS with the first RSA key and the EC key.
fn jwks() -> Value {
    json!({ "keys": [
        jwk(&rsa_key(), Algorithm::RS256, RSA_KID),
        jwk(&ec_key(), Algorithm::ES256, EC_KID),
    ]})
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

fn rs256(kid: &str, claims: &Value) -> String {
    sign(Algorithm::RS256, Some(kid), &rsa_key(), claims)
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

fn without(mut base: Value, claim: &str) -> Value {
    if let Some(base) = base.as_object_mut() {
        base.remove(claim);
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

// ---------------------------------------------------------------------------
// A JWKS server

#[derive(Clone)]
enum Reply {
    Json(Value),
    Status(u16),
    Body(&'static str),
    Slow(Duration, Value),
}

struct JwksServer {
    url: String,
    reply: Arc<Mutex<Reply>>,
    fetches: Arc<AtomicUsize>,
}

impl JwksServer {
    async fn start(reply: Reply) -> Self {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("test server binds");
        let address = listener.local_addr().expect("bound address");
        let reply = Arc::new(Mutex::new(reply));
        let fetches = Arc::new(AtomicUsize::new(0));
        let (shared_reply, shared_fetches) = (Arc::clone(&reply), Arc::clone(&fetches));
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (reply, fetches) = (Arc::clone(&shared_reply), Arc::clone(&shared_fetches));
                let service = hyper::service::service_fn(move |_request| {
                    fetches.fetch_add(1, Ordering::SeqCst);
                    let reply = reply.lock().expect("reply lock").clone();
                    async move { Ok::<_, Infallible>(Self::respond(reply).await) }
                });
                tokio::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            url: format!("http://{address}/.well-known/jwks.json"),
            reply,
            fetches,
        }
    }

    async fn respond(reply: Reply) -> Response<Full<Bytes>> {
        let (status, body) = match reply {
            Reply::Json(json) => (200, json.to_string()),
            Reply::Status(status) => (status, "oops".to_owned()),
            Reply::Body(body) => (200, body.to_owned()),
            Reply::Slow(delay, json) => {
                tokio::time::sleep(delay).await;
                (200, json.to_string())
            }
        };
        let mut response = Response::new(Full::new(Bytes::from(body)));
        *response.status_mut() = StatusCode::from_u16(status).expect("valid status");
        response
    }

    fn set(&self, reply: Reply) {
        *self.reply.lock().expect("reply lock") = reply;
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    fn config(&self) -> JwtConfig {
        JwtConfig::with_jwks_url(&self.url)
    }

    fn authenticator(&self, refresh_interval_seconds: u64) -> JwtAuthenticator {
        JwtAuthenticator::new(JwtConfig {
            jwks_refresh_interval_seconds: refresh_interval_seconds,
            ..self.config()
        })
        .expect("valid config")
    }
}

/// Sleeps past a one-second refresh interval.
async fn pass_refresh_interval() {
    tokio::time::sleep(Duration::from_millis(1100)).await;
}

// ---------------------------------------------------------------------------
// Bearer parsing and HS256

#[tokio::test]
async fn hs256_token_puts_the_user_in_the_extensions() {
    let token = hs256(&with(
        claims(),
        json!({
            "role": "admin",
            "permissions": ["todos:read", "todos:write"],
            "email": "someone@example.com",
        }),
    ));
    let answer = send_token(hs_authenticator(), &token).await;
    assert_eq!(
        *answer.assert_ok(),
        json!({
            "userId": "user_123",
            "role": "admin",
            "permissions": ["todos:read", "todos:write"],
            "email": "someone@example.com",
        })
    );
}

#[tokio::test]
async fn role_and_permissions_fall_back_to_org_and_metadata_claims() {
    let token = hs256(&with(
        claims(),
        json!({ "org_role": "org:admin", "org_permissions": ["org:manage"] }),
    ));
    let body = send_token(hs_authenticator(), &token).await;
    assert_eq!(body.assert_ok()["role"], "org:admin");
    assert_eq!(body.assert_ok()["permissions"], json!(["org:manage"]));

    let token = hs256(&with(claims(), json!({ "metadata": { "role": "admin" } })));
    let body = send_token(hs_authenticator(), &token).await;
    assert_eq!(body.assert_ok()["role"], "admin");
    assert_eq!(body.assert_ok()["permissions"], json!([]));
    assert_eq!(body.assert_ok()["email"], Value::Null);
}

#[tokio::test]
async fn a_request_without_authorization_passes_through_unauthenticated() {
    let answer = send(hs_authenticator(), None).await;
    assert_eq!(*answer.assert_ok(), Value::Null);
}

#[tokio::test]
async fn a_user_inserted_by_the_host_is_kept_when_there_are_no_credentials() {
    let mut request = request(None);
    let mut user = AuthUser::new(UserId::parse("host_user").expect("valid id"));
    user.role = Some("admin".into());
    request.extensions_mut().insert(user);
    let answer = send_request(hs_authenticator(), request).await;
    assert_eq!(answer.assert_ok()["userId"], "host_user");
}

#[tokio::test]
async fn a_scheme_other_than_bearer_is_refused() {
    send(hs_authenticator(), Some("Basic dXNlcjpwYXNz"))
        .await
        .assert_unauthorized("expected a bearer token");
    let token = hs256(&claims());
    send(hs_authenticator(), Some(&format!("Token {token}")))
        .await
        .assert_unauthorized("expected a bearer token");
    // The scheme itself is case-insensitive.
    send(hs_authenticator(), Some(&format!("bearer {token}")))
        .await
        .assert_ok();
}

#[tokio::test]
async fn a_garbage_token_is_refused() {
    for garbage in ["garbage", "a.b.c", "a.b", "....", "Zm9v.YmFy.YmF6"] {
        send_token(hs_authenticator(), garbage)
            .await
            .assert_unauthorized("malformed token");
    }
    send(hs_authenticator(), Some("Bearer "))
        .await
        .assert_unauthorized("malformed token");
    let oversized = format!("{}.{}.{}", "a".repeat(5000), "b".repeat(5000), "c");
    send_token(hs_authenticator(), &oversized)
        .await
        .assert_unauthorized("malformed token");
}

#[tokio::test]
async fn a_bad_signature_is_refused() {
    let forged = sign(
        Algorithm::HS256,
        None,
        &EncodingKey::from_secret(b"another-secret-of-sufficient-length!!"),
        &claims(),
    );
    send_token(hs_authenticator(), &forged)
        .await
        .assert_unauthorized("invalid signature");

    // A valid token whose payload was swapped.
    let token = hs256(&claims());
    let other = hs256(&with(claims(), json!({ "sub": "user_456" })));
    let mut parts: Vec<&str> = token.split('.').collect();
    parts[1] = other.split('.').nth(1).expect("payload");
    send_token(hs_authenticator(), &parts.join("."))
        .await
        .assert_unauthorized("invalid signature");
}

#[tokio::test]
async fn a_token_expired_beyond_the_leeway_is_refused() {
    let token = hs256(&with(claims(), json!({ "exp": now() - 120 })));
    send_token(hs_authenticator(), &token)
        .await
        .assert_unauthorized("token expired");
}

#[tokio::test]
async fn a_token_expired_within_the_leeway_is_accepted() {
    let token = hs256(&with(claims(), json!({ "exp": now() - 10 })));
    send_token(hs_authenticator(), &token).await.assert_ok();
}

#[tokio::test]
async fn a_token_not_yet_valid_is_refused() {
    let token = hs256(&with(claims(), json!({ "nbf": now() + 600 })));
    send_token(hs_authenticator(), &token)
        .await
        .assert_unauthorized("token not yet valid");
    // Within the leeway it is accepted.
    let token = hs256(&with(claims(), json!({ "nbf": now() + 10 })));
    send_token(hs_authenticator(), &token).await.assert_ok();
}

#[tokio::test]
async fn exp_and_nbf_given_as_strings_are_refused() {
    let token = hs256(&with(claims(), json!({ "exp": (now() + 300).to_string() })));
    send_token(hs_authenticator(), &token)
        .await
        .assert_unauthorized("missing claim exp");
    let token = hs256(&with(claims(), json!({ "nbf": now().to_string() })));
    send_token(hs_authenticator(), &token)
        .await
        .assert_unauthorized("invalid claim nbf");
}

#[tokio::test]
async fn a_token_without_exp_is_refused() {
    let token = hs256(&without(claims(), "exp"));
    send_token(hs_authenticator(), &token)
        .await
        .assert_unauthorized("missing claim exp");
}

#[tokio::test]
async fn a_token_without_a_valid_sub_is_refused() {
    let token = hs256(&without(claims(), "sub"));
    send_token(hs_authenticator(), &token)
        .await
        .assert_unauthorized("missing claim sub");
    let token = hs256(&with(claims(), json!({ "sub": "" })));
    send_token(hs_authenticator(), &token)
        .await
        .assert_unauthorized("invalid subject");
    let token = hs256(&with(claims(), json!({ "sub": "two\nlines" })));
    send_token(hs_authenticator(), &token)
        .await
        .assert_unauthorized("invalid subject");
}

#[tokio::test]
async fn alg_none_and_other_algorithms_are_refused() {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims().to_string());
    for token in [
        format!("{header}.{payload}."),
        format!("{header}.{payload}.c2ln"),
    ] {
        send_token(hs_authenticator(), &token)
            .await
            .assert_unauthorized("unsupported token algorithm");
    }
    let hs512 = sign(
        Algorithm::HS512,
        None,
        &EncodingKey::from_secret(SECRET.as_bytes()),
        &claims(),
    );
    send_token(hs_authenticator(), &hs512)
        .await
        .assert_unauthorized("unsupported token algorithm");
    // A critical header extension this module does not understand.
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","crit":["exp"]}"#);
    send_token(hs_authenticator(), &format!("{header}.{payload}.c2ln"))
        .await
        .assert_unauthorized("malformed token");
}

#[tokio::test]
async fn wrong_or_missing_issuer_is_refused() {
    let authenticator = JwtAuthenticator::new(JwtConfig {
        issuer: Some("https://issuer.example".into()),
        ..hs_config()
    })
    .expect("valid config");
    let good = hs256(&with(claims(), json!({ "iss": "https://issuer.example" })));
    send_token(authenticator.clone(), &good).await.assert_ok();
    let wrong = hs256(&with(claims(), json!({ "iss": "https://evil.example" })));
    send_token(authenticator.clone(), &wrong)
        .await
        .assert_unauthorized("invalid issuer");
    send_token(authenticator, &hs256(&claims()))
        .await
        .assert_unauthorized("missing claim iss");
}

#[tokio::test]
async fn wrong_or_missing_audience_is_refused() {
    let authenticator = JwtAuthenticator::new(JwtConfig {
        audience: vec!["tasker".into(), "tasker-admin".into()],
        ..hs_config()
    })
    .expect("valid config");
    for aud in [json!("tasker"), json!(["other", "tasker-admin"])] {
        let good = hs256(&with(claims(), json!({ "aud": aud })));
        send_token(authenticator.clone(), &good).await.assert_ok();
    }
    let wrong = hs256(&with(claims(), json!({ "aud": "someone-else" })));
    send_token(authenticator.clone(), &wrong)
        .await
        .assert_unauthorized("invalid audience");
    send_token(authenticator, &hs256(&claims()))
        .await
        .assert_unauthorized("missing claim aud");
}

#[tokio::test]
async fn wrong_or_missing_authorized_party_is_refused() {
    let authenticator = JwtAuthenticator::new(JwtConfig {
        authorized_parties: vec!["https://app.example".into()],
        ..hs_config()
    })
    .expect("valid config");
    let good = hs256(&with(claims(), json!({ "azp": "https://app.example" })));
    send_token(authenticator.clone(), &good).await.assert_ok();
    let wrong = hs256(&with(claims(), json!({ "azp": "https://evil.example" })));
    send_token(authenticator.clone(), &wrong)
        .await
        .assert_unauthorized("invalid authorized party");
    send_token(authenticator, &hs256(&claims()))
        .await
        .assert_unauthorized("invalid authorized party");
}

// ---------------------------------------------------------------------------
// JWKS: RS256 and ES256

#[tokio::test]
async fn rs256_and_es256_tokens_verify_against_the_jwks() {
    let server = JwksServer::start(Reply::Json(jwks())).await;
    let authenticator = JwtAuthenticator::new(JwtConfig {
        issuer: Some("https://clerk.example".into()),
        authorized_parties: vec!["https://app.example".into()],
        ..server.config()
    })
    .expect("valid config");
    let clerk = with(
        claims(),
        json!({ "iss": "https://clerk.example", "azp": "https://app.example", "role": "admin" }),
    );
    let answer = send_token(authenticator.clone(), &rs256(RSA_KID, &clerk)).await;
    assert_eq!(answer.assert_ok()["userId"], "user_123");
    assert_eq!(answer.assert_ok()["role"], "admin");
    let es256 = sign(Algorithm::ES256, Some(EC_KID), &ec_key(), &clerk);
    send_token(authenticator, &es256).await.assert_ok();
    assert_eq!(server.fetches(), 1, "keys are fetched once and cached");
}

#[tokio::test]
async fn keys_can_be_fetched_with_a_host_http_client() {
    let server = JwksServer::start(Reply::Json(jwks())).await;
    let authenticator = server
        .authenticator(30)
        .with_http_client(reqwest::Client::new());
    send_token(authenticator, &rs256(RSA_KID, &claims()))
        .await
        .assert_ok();
    assert_eq!(server.fetches(), 1);
}

#[tokio::test]
async fn the_token_algorithm_must_match_its_key() {
    let server = JwksServer::start(Reply::Json(jwks())).await;
    // An RS256 token naming the EC key.
    let token = rs256(EC_KID, &claims());
    send_token(server.authenticator(30), &token)
        .await
        .assert_unauthorized("token algorithm does not match its signing key");
    // An ES256 token naming the RSA key.
    let token = sign(Algorithm::ES256, Some(RSA_KID), &ec_key(), &claims());
    send_token(server.authenticator(30), &token)
        .await
        .assert_unauthorized("token algorithm does not match its signing key");
    // An RS256 token without a kid.
    let token = sign(Algorithm::RS256, None, &rsa_key(), &claims());
    send_token(server.authenticator(30), &token)
        .await
        .assert_unauthorized("missing key id");
}

#[tokio::test]
async fn hs256_signed_with_the_rsa_public_key_is_refused() {
    let server = JwksServer::start(Reply::Json(jwks())).await;
    let public_pem = include_bytes!("fixtures/rsa_public.pem");
    let confused = sign(
        Algorithm::HS256,
        Some(RSA_KID),
        &EncodingKey::from_secret(public_pem),
        &claims(),
    );
    // Only a JWKS configured: HS256 is not accepted at all.
    send_token(server.authenticator(30), &confused)
        .await
        .assert_unauthorized("unsupported token algorithm");
    // Secret and JWKS configured: HS256 verifies against the secret only.
    let both = JwtAuthenticator::new(JwtConfig {
        jwt_secret: hs_config().jwt_secret,
        ..server.config()
    })
    .expect("valid config");
    send_token(both.clone(), &confused)
        .await
        .assert_unauthorized("invalid signature");
    send_token(both, &hs256(&claims())).await.assert_ok();
    // And RS256 is refused when only a secret is configured.
    send_token(hs_authenticator(), &rs256(RSA_KID, &claims()))
        .await
        .assert_unauthorized("unsupported token algorithm");
    assert_eq!(
        server.fetches(),
        0,
        "no HS256 token made the JWKS be fetched"
    );
}

#[tokio::test]
async fn an_unknown_kid_refetches_the_jwks_after_key_rotation() {
    let server = JwksServer::start(Reply::Json(jwks())).await;
    let authenticator = server.authenticator(1);
    send_token(authenticator.clone(), &rs256(RSA_KID, &claims()))
        .await
        .assert_ok();
    assert_eq!(server.fetches(), 1);

    server.set(Reply::Json(
        json!({ "keys": [jwk(&rsa2_key(), Algorithm::RS256, RSA2_KID)] }),
    ));
    let rotated = sign(Algorithm::RS256, Some(RSA2_KID), &rsa2_key(), &claims());
    // Within the refresh interval the new kid is not fetched yet.
    send_token(authenticator.clone(), &rotated)
        .await
        .assert_unauthorized("unknown signing key");
    assert_eq!(server.fetches(), 1);

    pass_refresh_interval().await;
    send_token(authenticator.clone(), &rotated)
        .await
        .assert_ok();
    assert_eq!(server.fetches(), 2);
    // The retired key is gone from the cache.
    send_token(authenticator, &rs256(RSA_KID, &claims()))
        .await
        .assert_unauthorized("unknown signing key");
    assert_eq!(server.fetches(), 2);
}

#[tokio::test]
async fn a_flood_of_random_kids_costs_at_most_one_fetch_per_interval() {
    let server = JwksServer::start(Reply::Json(jwks())).await;
    let authenticator = server.authenticator(30);
    let flood = |round: usize| {
        let authenticator = authenticator.clone();
        join_all((0..50).map(move |i| {
            let token = rs256(&format!("random-{round}-{i}"), &claims());
            let authenticator = authenticator.clone();
            async move { send_token(authenticator, &token).await }
        }))
    };
    for answer in flood(0).await {
        answer.assert_unauthorized("unknown signing key");
    }
    assert_eq!(server.fetches(), 1);
    // The one fetch cached the real keys.
    send_token(authenticator.clone(), &rs256(RSA_KID, &claims()))
        .await
        .assert_ok();
    for answer in flood(1).await {
        answer.assert_unauthorized("unknown signing key");
    }
    assert_eq!(server.fetches(), 1);
}

#[tokio::test]
async fn concurrent_requests_for_the_same_unknown_kid_share_one_fetch() {
    let server = JwksServer::start(Reply::Slow(Duration::from_millis(200), jwks())).await;
    // No rate limit: only the single flight keeps this to one fetch.
    let authenticator = server.authenticator(0);
    let token = rs256(RSA_KID, &claims());
    let answers = join_all((0..20).map(|_| send_token(authenticator.clone(), &token))).await;
    for answer in answers {
        answer.assert_ok();
    }
    assert_eq!(server.fetches(), 1);
}

#[tokio::test]
async fn a_failing_or_malformed_jwks_keeps_the_cached_keys() {
    let server = JwksServer::start(Reply::Json(jwks())).await;
    let authenticator = server.authenticator(1);
    let known = rs256(RSA_KID, &claims());
    send_token(authenticator.clone(), &known).await.assert_ok();

    let broken = [
        (Reply::Status(500), "signing keys unavailable"),
        (Reply::Body("{not json"), "signing keys unavailable"),
        (
            Reply::Json(json!({ "keys": [] })),
            "signing keys unavailable",
        ),
        (
            Reply::Json(json!({ "keys": [{ "kty": "oct", "kid": "k", "k": "c2VjcmV0" }] })),
            "signing keys unavailable",
        ),
    ];
    for (round, (reply, reason)) in broken.into_iter().enumerate() {
        server.set(reply);
        pass_refresh_interval().await;
        send_token(authenticator.clone(), &rs256("unknown", &claims()))
            .await
            .assert_unauthorized(reason);
        assert_eq!(server.fetches(), round + 2);
        send_token(authenticator.clone(), &known).await.assert_ok();
    }
}

#[tokio::test]
async fn a_slow_jwks_holds_no_request_past_the_timeout() {
    let server = JwksServer::start(Reply::Json(jwks())).await;
    let authenticator = JwtAuthenticator::new(JwtConfig {
        jwks_refresh_interval_seconds: 1,
        jwks_timeout_seconds: 2,
        ..server.config()
    })
    .expect("valid config");
    let known = rs256(RSA_KID, &claims());
    send_token(authenticator.clone(), &known).await.assert_ok();

    server.set(Reply::Slow(Duration::from_secs(5), jwks()));
    pass_refresh_interval().await;
    let started = Instant::now();
    let unknown = async {
        let answer = send_token(authenticator.clone(), &rs256("unknown", &claims())).await;
        (answer, started.elapsed())
    };
    let cached = async {
        // Start once the refresh is under way.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let answer = send_token(authenticator.clone(), &known).await;
        (answer, started.elapsed())
    };
    let ((unknown, unknown_took), (cached, cached_took)) = tokio::join!(unknown, cached);
    unknown.assert_unauthorized("signing keys unavailable");
    // The key server answers after 5 s; the 2 s timeout cut the wait short
    // (with room for a busy machine).
    assert!(
        unknown_took < Duration::from_millis(4000),
        "took {unknown_took:?}"
    );
    cached.assert_ok();
    // A cached key never waits for the refresh (which takes the full 2 s).
    assert!(
        cached_took < Duration::from_millis(1900),
        "took {cached_took:?}"
    );
    assert_eq!(server.fetches(), 2);
}

// ---------------------------------------------------------------------------
// RequireRole

async fn send_to_admin_route(user: Option<AuthUser>) -> Answer {
    let service = RequireRoleLayer::new("admin").layer(service_fn(echo));
    let mut request = request(None);
    if let Some(user) = user {
        request.extensions_mut().insert(user);
    }
    let response = service
        .oneshot(request)
        .await
        .unwrap_or_else(|n| match n {});
    answer(response).await
}

fn user_with_role(role: Option<&str>) -> AuthUser {
    let mut user = AuthUser::new(UserId::parse("user_123").expect("valid id"));
    user.role = role.map(str::to_owned);
    user
}

#[tokio::test]
async fn require_role_answers_401_without_a_user() {
    send_to_admin_route(None)
        .await
        .assert_unauthorized("missing bearer token");
}

#[tokio::test]
async fn require_role_answers_403_without_the_role() {
    send_to_admin_route(Some(user_with_role(Some("member"))))
        .await
        .assert_forbidden();
    send_to_admin_route(Some(user_with_role(None)))
        .await
        .assert_forbidden();
}

#[tokio::test]
async fn require_role_admits_a_user_with_the_role() {
    let answer = send_to_admin_route(Some(user_with_role(Some("admin")))).await;
    assert_eq!(answer.assert_ok()["role"], "admin");
}

#[tokio::test]
async fn require_role_behind_the_auth_layer_guards_a_route() {
    let service = AuthLayer::new(hs_authenticator())
        .layer(RequireRoleLayer::new("admin").layer(service_fn(echo)));
    let call = |token: Option<String>| {
        let service = service.clone();
        async move {
            let header = token.map(|token| format!("Bearer {token}"));
            let response = service
                .oneshot(request(header.as_deref()))
                .await
                .unwrap_or_else(|n| match n {});
            answer(response).await
        }
    };
    call(None).await.assert_unauthorized("missing bearer token");
    call(Some(hs256(&claims()))).await.assert_forbidden();
    let admin = hs256(&with(claims(), json!({ "role": "admin" })));
    call(Some(admin)).await.assert_ok();
}

// ---------------------------------------------------------------------------
// Configuration and replacement

#[test]
fn config_lists_accept_lists_and_comma_separated_strings() {
    let config: JwtConfig = serde_json::from_value(json!({
        "audience": ["a", "b"],
        "authorized_parties": " https://x.example , https://y.example,",
    }))
    .expect("config parses");
    assert_eq!(config.audience, ["a", "b"]);
    assert_eq!(
        config.authorized_parties,
        ["https://x.example", "https://y.example"]
    );
    assert_eq!(config.leeway_seconds, 30);
    assert_eq!(config.jwks_refresh_interval_seconds, 30);
    assert_eq!(config.jwks_timeout_seconds, 5);
    let config: JwtConfig = serde_json::from_value(json!({ "audience": null })).expect("parses");
    assert!(config.audience.is_empty());
}

#[test]
fn the_secret_never_shows_in_debug_output() {
    let config: JwtConfig =
        serde_json::from_value(json!({ "jwt_secret": SECRET })).expect("config parses");
    assert!(!format!("{config:?}").contains(SECRET));
    let authenticator = JwtAuthenticator::new(config).expect("valid config");
    assert!(!format!("{authenticator:?}").contains(SECRET));
}

#[test]
fn an_unusable_config_is_refused() {
    for config in [
        JwtConfig::default(),
        JwtConfig::with_secret(""),
        JwtConfig::with_jwks_url(""),
        JwtConfig::with_jwks_url("not a url"),
        JwtConfig::with_jwks_url("ftp://keys.example/jwks.json"),
    ] {
        assert!(
            matches!(JwtAuthenticator::new(config), Err(AuthError::Config(_))),
            "config accepted"
        );
    }
    assert!(JwtAuthenticator::new(JwtConfig::with_jwks_url("https://keys.example/jwks")).is_ok());
}

/// The request body inside the crate's layer stack: boxed, not `Sync`.
type UnsyncBody = http_body_util::combinators::UnsyncBoxBody<Bytes, tasker_http::body::BoxError>;
type Boxed = BoxCloneSyncService<Request<UnsyncBody>, Response<Body>, Infallible>;

/// Accepts a layer the way the crate's service builder does.
fn boxed_stack<L>(layer: L, inner: Boxed) -> Boxed
where
    L: Layer<Boxed> + Send + 'static,
    L::Service: tower::Service<Request<UnsyncBody>, Response = Response<Body>, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    <L::Service as tower::Service<Request<UnsyncBody>>>::Future: Send + 'static,
{
    BoxCloneSyncService::new(layer.layer(inner))
}

#[tokio::test]
async fn the_layers_fit_a_boxed_stack_with_unsync_bodies() {
    let routes: Boxed =
        BoxCloneSyncService::new(service_fn(|request: Request<UnsyncBody>| async move {
            let json =
                serde_json::to_vec(&echo_user(&request.map(|_| full("")))).expect("JSON encodes");
            Ok::<_, Infallible>(Response::new(full(json)))
        }));
    let guarded = boxed_stack(RequireRoleLayer::new("admin"), routes);
    let service = boxed_stack(AuthLayer::new(hs_authenticator()), guarded);
    let admin = hs256(&with(claims(), json!({ "role": "admin" })));
    let request = Request::builder()
        .header(AUTHORIZATION, format!("Bearer {admin}"))
        .body(full("").boxed_unsync())
        .expect("request builds");
    let response = service
        .oneshot(request)
        .await
        .unwrap_or_else(|n| match n {});
    assert_eq!(answer(response).await.assert_ok()["role"], "admin");
}

#[tokio::test]
async fn a_host_can_replace_the_authenticator() {
    let authenticator = |headers: &HeaderMap| {
        let result = match bearer_token(headers) {
            Ok(None) => Ok(None),
            Ok(Some("service-key")) => UserId::parse("service")
                .map(|id| Some(AuthUser::new(id)))
                .map_err(|_| AuthError::InvalidSubject),
            Ok(Some(_)) => Err(AuthError::Rejected {
                reason: "unknown API key".into(),
            }),
            Err(error) => Err(error),
        };
        std::future::ready(result)
    };
    let answer = send(authenticator, Some("Bearer service-key")).await;
    assert_eq!(answer.assert_ok()["userId"], "service");
    send(authenticator, Some("Bearer nope"))
        .await
        .assert_unauthorized("unknown API key");
    assert_eq!(*send(authenticator, None).await.assert_ok(), Value::Null);
}

#[tokio::test]
async fn a_withdrawn_key_stops_verifying_once_the_cache_is_older_than_its_max_age() {
    let server = JwksServer::start(Reply::Json(jwks())).await;
    let authenticator = JwtAuthenticator::new(JwtConfig {
        jwks_refresh_interval_seconds: 1,
        jwks_max_age_seconds: 1,
        ..server.config()
    })
    .expect("valid config");
    let token = rs256(RSA_KID, &claims());
    send_token(authenticator.clone(), &token).await.assert_ok();
    // The provider withdraws the key.
    server.set(Reply::Json(
        json!({ "keys": [jwk(&rsa2_key(), Algorithm::RS256, RSA2_KID)] }),
    ));
    // Still within the maximum age: the cached key verifies, nothing is fetched.
    send_token(authenticator.clone(), &token).await.assert_ok();
    assert_eq!(server.fetches(), 1);
    pass_refresh_interval().await;
    send_token(authenticator, &token)
        .await
        .assert_unauthorized("unknown signing key");
    assert_eq!(server.fetches(), 2);
}

#[tokio::test]
async fn a_stale_key_keeps_verifying_while_the_jwks_is_down() {
    let server = JwksServer::start(Reply::Json(jwks())).await;
    let authenticator = JwtAuthenticator::new(JwtConfig {
        jwks_refresh_interval_seconds: 1,
        jwks_max_age_seconds: 1,
        ..server.config()
    })
    .expect("valid config");
    let token = rs256(RSA_KID, &claims());
    send_token(authenticator.clone(), &token).await.assert_ok();
    server.set(Reply::Status(503));
    pass_refresh_interval().await;
    send_token(authenticator.clone(), &token).await.assert_ok();
    assert_eq!(server.fetches(), 2, "the stale set was asked for again");
    // Within the refresh interval the failed fetch is not repeated.
    send_token(authenticator, &token).await.assert_ok();
    assert_eq!(server.fetches(), 2);
}
