//! Attacks on the server's own routes (OWASP API5: broken function level
//! authorization). `lifecycle::admin_routes_need_the_admin_role` covers one
//! anonymous and one non-admin call; here every admin route refuses every
//! caller without the admin role, and nothing runs.

use std::time::Duration;

use reqwest::{Client, Method, StatusCode};

use crate::support::{Env, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_admin_route_refuses_callers_without_the_admin_role() {
    let env = Env::defaults();
    let server = Server::start(&env, &["--no-scheduler"]).await;
    let client = Client::new();
    let admin = env.token(&["--user", "root", "--role", "admin"]);
    let valid = env.token(&["--user", "bob"]);
    // The same token with a changed signature (a middle character: the last
    // one may carry only padding bits).
    let mut forged = valid.clone().into_bytes();
    let at = forged.len() - 10;
    forged[at] = if forged[at] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).expect("ascii");

    let mut unauthenticated = vec![
        ("no token", None),
        ("garbage", Some("not-a-token".to_owned())),
        ("forged signature", Some(forged)),
    ];
    unauthenticated.push(("empty bearer", Some(String::new())));
    let mut unprivileged = vec![("no role", valid)];
    for role in [
        "member",
        "Admin",
        "ADMIN",
        "administrator",
        "admin ",
        "org:member",
        "org:Admin",
    ] {
        unprivileged.push((role, env.token(&["--user", "bob", "--role", role])));
    }
    let routes = [
        (Method::GET, "/admin/jobs"),
        (Method::GET, "/admin/jobs/stats"),
        (Method::GET, "/admin/emails/due-reminder"),
        (Method::GET, "/admin/emails/due-reminder?format=text"),
        (Method::POST, "/admin/cron/auto-archive"),
        (Method::POST, "/admin/cron/weekly-reports"),
    ];
    let call = |method: Method, path: &str, token: Option<&str>| {
        let request = client.request(method, format!("{}{path}", server.url));
        let request = match token {
            Some(token) => request.header("authorization", format!("Bearer {token}")),
            None => request,
        };
        async move { request.send().await.expect("request") }
    };
    for (method, path) in &routes {
        for (what, token) in &unauthenticated {
            let response = call(method.clone(), path, token.as_deref()).await;
            assert_eq!(
                response.status(),
                StatusCode::UNAUTHORIZED,
                "{method} {path} with {what}"
            );
            let body: serde_json::Value = response.json().await.expect("json");
            assert_eq!(body["code"], "UNAUTHORIZED");
        }
        for (what, token) in &unprivileged {
            let response = call(method.clone(), path, Some(token)).await;
            assert_eq!(
                response.status(),
                StatusCode::FORBIDDEN,
                "{method} {path} as {what:?}"
            );
            let body: serde_json::Value = response.json().await.expect("json");
            assert_eq!(body["code"], "FORBIDDEN");
        }
    }
    // Nothing was enqueued by the refused cron calls: every queue is empty,
    // until the admin runs one.
    let jobs = || async {
        let stats: serde_json::Value = call(Method::GET, "/admin/jobs/stats", Some(&admin))
            .await
            .json()
            .await
            .expect("json");
        stats["queues"]
            .as_array()
            .expect("queues")
            .iter()
            .map(|queue| {
                ["pending", "running", "retrying", "done", "failed"]
                    .iter()
                    .map(|state| queue[*state].as_u64().expect("a count"))
                    .sum::<u64>()
            })
            .sum::<u64>()
    };
    assert_eq!(jobs().await, 0);
    // The admin's run shows up once the worker did it; the refused runs,
    // enqueued before it, would have shown up by then too.
    let ran = call(Method::POST, "/admin/cron/auto-archive", Some(&admin)).await;
    assert_eq!(ran.status(), StatusCode::ACCEPTED);
    let counted = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let counted = jobs().await;
            if counted > 0 {
                return counted;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("the admin's run is counted");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!((counted, jobs().await), (1, 1));
}
