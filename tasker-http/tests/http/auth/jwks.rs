//! JWKS: RS256 and ES256 tokens against a local key server, its caching, refresh and failures.

use std::{
    convert::Infallible,
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use base64::{Engine, engine::general_purpose::STANDARD};
use bytes::Bytes;
use futures_util::future::join_all;
use http::{Response, StatusCode};
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::Frame;
use hyper_util::rt::TokioIo;
use jsonwebtoken::{
    Algorithm, EncodingKey,
    jwk::{Jwk, PublicKeyUse},
};
use serde_json::{Value, json};
use tasker_http::auth::{JwtAuthenticator, JwtConfig};

use super::{claims, hs_authenticator, hs_config, hs256, send_token, sign, with};

const RSA_KID: &str = "rsa-1";
const RSA2_KID: &str = "rsa-2";
const EC_KID: &str = "ec-1";

// ---------------------------------------------------------------------------
// Fixture keys

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

fn rs256(kid: &str, claims: &Value) -> String {
    sign(Algorithm::RS256, Some(kid), &rsa_key(), claims)
}

// ---------------------------------------------------------------------------
// A JWKS server

#[derive(Clone)]
enum Reply {
    Json(Value),
    Status(u16),
    Body(&'static str),
    Slow(Duration, Value),
    /// The usual key set padded past the JWKS size limit, sent with a
    /// `Content-Length` or, `chunked`, in pieces without one.
    Oversize {
        chunked: bool,
    },
}

/// The JWKS size limit of tasker-http (256 KiB).
const JWKS_LIMIT: usize = 256 * 1024;

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

    async fn respond(reply: Reply) -> Response<BoxBody<Bytes, Infallible>> {
        let (status, body) = match reply {
            Reply::Json(json) => (200, json.to_string()),
            Reply::Status(status) => (status, "oops".to_owned()),
            Reply::Body(body) => (200, body.to_owned()),
            Reply::Slow(delay, json) => {
                tokio::time::sleep(delay).await;
                (200, json.to_string())
            }
            Reply::Oversize { chunked } => {
                let padded = with(jwks(), json!({ "padding": "x".repeat(JWKS_LIMIT) }));
                let body = Bytes::from(padded.to_string());
                assert!(body.len() > JWKS_LIMIT);
                if chunked {
                    let pieces: Vec<_> = body
                        .chunks(16 * 1024)
                        .map(|piece| Ok(Frame::data(Bytes::copy_from_slice(piece))))
                        .collect();
                    let stream = StreamBody::new(futures_util::stream::iter(pieces));
                    return Response::new(stream.boxed());
                }
                return Response::new(Full::new(body).boxed());
            }
        };
        let mut response = Response::new(Full::new(Bytes::from(body)).boxed());
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
async fn a_jwks_over_the_size_limit_is_refused_with_or_without_a_content_length() {
    for chunked in [false, true] {
        let server = JwksServer::start(Reply::Oversize { chunked }).await;
        let authenticator = server.authenticator(1);
        let token = rs256(RSA_KID, &claims());
        send_token(authenticator.clone(), &token)
            .await
            .assert_unauthorized("signing keys unavailable");
        assert_eq!(server.fetches(), 1, "chunked: {chunked}");
        // The same keys within the limit verify: only the size was refused.
        server.set(Reply::Json(jwks()));
        pass_refresh_interval().await;
        send_token(authenticator.clone(), &token).await.assert_ok();
        assert_eq!(server.fetches(), 2, "chunked: {chunked}");
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
