//! `RequireRoleLayer`: 401 without a user, 403 without the role, and behind the auth layer.

use serde_json::json;
use tasker_core::domain::UserId;
use tasker_http::{
    AuthUser,
    auth::{AuthLayer, RequireRoleLayer},
};
use tower::{Layer, ServiceExt, service_fn};

use super::{Answer, answer, claims, echo, hs_authenticator, hs256, request, with};

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
