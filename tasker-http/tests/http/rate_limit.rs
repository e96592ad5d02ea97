//! Rate limits per IP and per user.

use http::{Method, StatusCode, header};
use tasker_http::ClientAddr;

use crate::support::{App, assert_error, quiet_settings, request};

fn limited(per_second: u32, burst: u32) -> tasker_http::HttpSettings {
    let mut settings = quiet_settings();
    settings.rate_limit.enabled = true;
    settings.rate_limit.per_second = per_second;
    settings.rate_limit.burst = Some(burst);
    settings.rate_limit.per_user_per_second = Some(1000);
    settings.rate_limit.per_user_burst = Some(1000);
    settings
}

fn from(ip: &str, forwarded_for: Option<&str>) -> http::Request<tasker_http::Body> {
    let mut req = request(Method::GET, "/status", None, None);
    req.extensions_mut()
        .insert(ClientAddr(format!("{ip}:5000").parse().unwrap()));
    if let Some(value) = forwarded_for {
        req.headers_mut()
            .insert("x-forwarded-for", value.parse().unwrap());
    }
    req
}

#[tokio::test]
async fn a_client_past_its_burst_gets_429_with_retry_after() {
    let app = App::sqlite().await.reconfigure(limited(1, 3));
    for _ in 0..3 {
        let ok = app.send(from("10.1.1.1", None)).await;
        assert_eq!(ok.status, StatusCode::OK);
        assert!(ok.headers.contains_key("ratelimit-remaining"));
    }
    let refused = app.send(from("10.1.1.1", None)).await;
    assert_error(&refused, StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED");
    assert!(refused.headers.contains_key(header::RETRY_AFTER));
    assert_eq!(refused.headers["ratelimit-limit"], "3");
    assert_eq!(refused.headers["ratelimit-remaining"], "0");
    // Another client is not affected.
    assert_eq!(
        app.send(from("10.1.1.2", None)).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_spoofed_forwarded_for_does_not_bypass_the_limit() {
    let app = App::sqlite().await.reconfigure(limited(1, 2));
    for n in 0..2 {
        let forged = format!("192.0.2.{n}");
        assert_eq!(
            app.send(from("10.2.2.2", Some(&forged))).await.status,
            StatusCode::OK
        );
    }
    let refused = app.send(from("10.2.2.2", Some("192.0.2.99"))).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_bucket() {
    let mut settings = limited(1, 1);
    settings.rate_limit.trusted_proxies = vec!["10.0.0.1".parse().unwrap()];
    let app = App::sqlite().await.reconfigure(settings);
    assert_eq!(
        app.send(from("10.0.0.1", Some("198.51.100.1")))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.send(from("10.0.0.1", Some("198.51.100.2")))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.send(from("10.0.0.1", Some("198.51.100.1")))
            .await
            .status,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn each_user_has_a_limit_across_addresses() {
    let mut settings = quiet_settings();
    settings.rate_limit.enabled = true;
    settings.rate_limit.per_second = 1000;
    settings.rate_limit.burst = Some(1000);
    settings.rate_limit.per_user_per_second = Some(1);
    settings.rate_limit.per_user_burst = Some(2);
    let app = App::sqlite().await.reconfigure(settings);
    for n in 0..2 {
        let mut req = request(Method::GET, "/api/v1/todos", Some("alice"), None);
        req.extensions_mut()
            .insert(ClientAddr(format!("10.9.0.{n}:1").parse().unwrap()));
        assert_eq!(app.send(req).await.status, StatusCode::OK);
    }
    let mut req = request(Method::GET, "/api/v1/todos", Some("alice"), None);
    req.extensions_mut()
        .insert(ClientAddr("10.9.0.9:1".parse().unwrap()));
    assert_eq!(app.send(req).await.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(app.get("bob", "/api/v1/todos").await.status, StatusCode::OK);
}

#[tokio::test]
async fn without_a_peer_address_all_clients_share_one_bucket() {
    let app = App::sqlite().await.reconfigure(limited(1, 2));
    let anonymous = || {
        let mut req = request(Method::GET, "/status", None, None);
        req.extensions_mut().remove::<ClientAddr>();
        req
    };
    assert_eq!(app.send(anonymous()).await.status, StatusCode::OK);
    assert_eq!(app.send(anonymous()).await.status, StatusCode::OK);
    assert_eq!(
        app.send(anonymous()).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn an_ipv6_client_cannot_escape_its_limit_by_rotating_addresses() {
    let app = App::sqlite().await.reconfigure(limited(1, 2));
    for n in 1..=2 {
        let ok = app.send(from_v6(&format!("2001:db8:aa:bb::{n}"))).await;
        assert_eq!(ok.status, StatusCode::OK);
    }
    let refused = app.send(from_v6("2001:db8:aa:bb::99")).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
}

fn from_v6(ip: &str) -> http::Request<tasker_http::Body> {
    let mut req = request(Method::GET, "/status", None, None);
    req.extensions_mut()
        .insert(ClientAddr(format!("[{ip}]:5000").parse().unwrap()));
    req
}
