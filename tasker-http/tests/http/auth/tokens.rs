//! Bearer parsing and HS256: the scheme, the signature, the algorithm and each claim checked.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Value, json};
use tasker_core::domain::UserId;
use tasker_http::{
    AuthUser,
    auth::{JwtAuthenticator, JwtConfig},
};

use super::{
    SECRET, claims, hs_authenticator, hs_config, hs256, now, request, send, send_request,
    send_token, sign, with,
};

fn without(mut base: Value, claim: &str) -> Value {
    if let Some(base) = base.as_object_mut() {
        base.remove(claim);
    }
    base
}

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
