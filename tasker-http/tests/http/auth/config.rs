//! Configuration and replacement: `JwtConfig`, a boxed host stack, a host's own authenticator.

use std::convert::Infallible;

use bytes::Bytes;
use http::{HeaderMap, Request, Response, header::AUTHORIZATION};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tasker_core::domain::UserId;
use tasker_http::{
    AuthUser, Body,
    auth::{
        AuthError, AuthLayer, JwksUrlError, JwtAuthenticator, JwtConfig, RequireRoleLayer,
        bearer_token, check_jwks_url,
    },
    body::full,
};
use tower::{Layer, ServiceExt, service_fn, util::BoxCloneSyncService};

use super::{SECRET, answer, claims, echo_user, hs_authenticator, hs256, send, with};

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

#[test]
fn a_jwks_url_over_plain_http_is_refused_unless_its_host_is_loopback() {
    for url in [
        "http://clerk.example.com/.well-known/jwks.json",
        "HTTP://clerk.example.com/.well-known/jwks.json",
        "http://10.0.0.5/jwks.json",
        "http://[2001:db8::1]/jwks.json",
        "http://localhost.example.com/jwks.json",
        "http://128.0.0.1/jwks.json",
    ] {
        assert_eq!(
            check_jwks_url(url),
            Err(JwksUrlError::InsecureHttp),
            "{url}"
        );
        match JwtAuthenticator::new(JwtConfig::with_jwks_url(url)) {
            Err(AuthError::Config(reason)) => {
                assert!(
                    reason.starts_with("jwks_url must be an https:// URL"),
                    "{url}: {reason}"
                );
                assert!(reason.contains("loopback"), "{url}: {reason}");
            }
            other => panic!("{url}: expected a configuration error, got {other:?}"),
        }
    }
    for url in [
        "https://clerk.example.com/.well-known/jwks.json",
        "http://localhost/.well-known/jwks.json",
        "http://LOCALHOST:8081/jwks.json",
        "http://127.0.0.1:9/jwks.json",
        "http://127.1.2.3/jwks.json",
        "http://[::1]:8081/jwks.json",
    ] {
        assert_eq!(check_jwks_url(url), Ok(()), "{url}");
        assert!(
            JwtAuthenticator::new(JwtConfig::with_jwks_url(url)).is_ok(),
            "{url} refused"
        );
    }
    assert_eq!(
        check_jwks_url("ftp://keys.example/jwks.json"),
        Err(JwksUrlError::NotHttps)
    );
    assert_eq!(check_jwks_url("not a url"), Err(JwksUrlError::Invalid));
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
