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

/// A connection to the Redis at `TASKER_TEST_REDIS_URL` (default
/// `redis://127.0.0.1:6379`).
async fn redis() -> redis::aio::ConnectionManager {
    let url = std::env::var("TASKER_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let client = redis::Client::open(url.as_str()).expect("Redis URL");
    redis::aio::ConnectionManager::new(client)
        .await
        .unwrap_or_else(|e| {
            panic!("cannot reach Redis at {url}: {e} (run .ci/run, which starts it)")
        })
}

/// An API over `app`'s services with buckets in Redis under `prefix`.
fn redis_limited(
    app: &App,
    connection: redis::aio::ConnectionManager,
    prefix: &str,
) -> tasker_http::TaskerApi {
    tasker_http::TaskerApi::builder(app.services.clone())
        .settings(limited(1, 3))
        .redis_rate_limits(connection, prefix)
        .build()
}

#[tokio::test]
async fn with_redis_two_instances_share_one_bucket() {
    let app = App::sqlite().await;
    let prefix = format!("tasker-test:{}:", uuid::Uuid::now_v7().simple());
    let connection = redis().await;
    let first = redis_limited(&app, connection.clone(), &prefix);
    let second = redis_limited(&app, connection.clone(), &prefix);
    // Burst 3 in all, whichever instance answers.
    for api in [&first, &second, &first] {
        let ok = crate::support::send_to(api, from("10.3.3.3", None)).await;
        assert_eq!(ok.status, StatusCode::OK);
    }
    let refused = crate::support::send_to(&second, from("10.3.3.3", None)).await;
    assert_error(&refused, StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED");
    let retry_after: u64 = refused.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    // Another client still has its own bucket.
    let other = crate::support::send_to(&first, from("10.3.3.4", None)).await;
    assert_eq!(other.status, StatusCode::OK);
    assert_eq!(other.headers["ratelimit-remaining"], "2");
    // The bucket refills at the sustained rate.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let refilled = crate::support::send_to(&first, from("10.3.3.3", None)).await;
    assert_eq!(refilled.status, StatusCode::OK);
}

#[tokio::test]
async fn a_failing_redis_check_lets_requests_through() {
    let app = App::sqlite().await;
    let prefix = format!("tasker-test:{}:", uuid::Uuid::now_v7().simple());
    let mut connection = redis().await;
    // A bucket key of the wrong type makes every check of it fail in Redis.
    let _: () = redis::cmd("HSET")
        .arg(format!("{prefix}ip:10.4.4.4"))
        .arg("not")
        .arg("a bucket")
        .query_async(&mut connection)
        .await
        .unwrap();
    let api = redis_limited(&app, connection.clone(), &prefix);
    for _ in 0..5 {
        let response = crate::support::send_to(&api, from("10.4.4.4", None)).await;
        assert_eq!(response.status, StatusCode::OK, "fails open");
    }
    // A healthy bucket next to it is still limited.
    for _ in 0..3 {
        assert_eq!(
            crate::support::send_to(&api, from("10.4.4.5", None))
                .await
                .status,
            StatusCode::OK
        );
    }
    let refused = crate::support::send_to(&api, from("10.4.4.5", None)).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    let _: () = redis::cmd("DEL")
        .arg(format!("{prefix}ip:10.4.4.4"))
        .query_async(&mut connection)
        .await
        .unwrap();
}

/// A request from `ip` to `path`, as `user` (a valid token), with `token`
/// (any string) or anonymous.
fn as_from(
    ip: &str,
    path: &str,
    user: Option<&str>,
    token: Option<&str>,
) -> http::Request<tasker_http::Body> {
    let mut req = request(Method::GET, path, user, None);
    req.extensions_mut()
        .insert(ClientAddr(format!("{ip}:5000").parse().unwrap()));
    if let Some(token) = token {
        req.headers_mut().insert(
            header::AUTHORIZATION,
            format!("Bearer {token}").parse().unwrap(),
        );
    }
    req
}

#[tokio::test]
async fn with_redis_and_auth_ip_and_user_buckets_are_both_counted() {
    let app = App::sqlite().await;
    let prefix = format!("tasker-test:{}:", uuid::Uuid::now_v7().simple());
    let mut settings = limited(1, 3);
    settings.rate_limit.per_user_per_second = Some(1);
    settings.rate_limit.per_user_burst = Some(4);
    let api = tasker_http::TaskerApi::builder(app.services.clone())
        .settings(settings)
        .auth_layer(crate::support::auth_layer())
        .redis_rate_limits(redis().await, &prefix)
        .build();
    let send = |req| crate::support::send_to(&api, req);
    // Authenticated: the IP bucket (burst 3) and alice's (burst 4) count together.
    for _ in 0..3 {
        let ok = send(as_from("10.6.6.1", "/api/v1/todos", Some("alice"), None)).await;
        assert_eq!(ok.status, StatusCode::OK, "{}", ok.json);
        assert_eq!(
            ok.headers["ratelimit-limit"], "4",
            "the user's bucket is shown"
        );
    }
    // The IP bucket is empty, whoever asks from it.
    let bob = send(as_from("10.6.6.1", "/api/v1/todos", Some("bob"), None)).await;
    assert_error(&bob, StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED");
    assert_eq!(bob.headers["ratelimit-limit"], "3");
    // alice has one request left from another address, then her bucket is empty.
    let ok = send(as_from("10.6.6.2", "/api/v1/todos", Some("alice"), None)).await;
    assert_eq!(ok.status, StatusCode::OK);
    let alice = send(as_from("10.6.6.3", "/api/v1/todos", Some("alice"), None)).await;
    assert_error(&alice, StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED");
    assert_eq!(alice.headers["ratelimit-limit"], "4");
    // Refused by authentication: the IP bucket still counts, then refuses.
    for _ in 0..3 {
        let bad = send(as_from(
            "10.6.6.4",
            "/api/v1/todos",
            None,
            Some("not-a-token"),
        ))
        .await;
        assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    }
    let flood = send(as_from(
        "10.6.6.4",
        "/api/v1/todos",
        None,
        Some("not-a-token"),
    ))
    .await;
    assert_error(&flood, StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED");
    // Public routes are counted before they run.
    for _ in 0..3 {
        assert_eq!(
            send(as_from("10.6.6.5", "/status", None, None))
                .await
                .status,
            StatusCode::OK
        );
    }
    let status = send(as_from("10.6.6.5", "/status", None, None)).await;
    assert_error(&status, StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED");
}
