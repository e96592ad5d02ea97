//! `/api/v1/unsubscribe/{token}`: one-click unsubscribe (RFC 8058).

use http::{Method, StatusCode, header};
use tasker_core::{domain::UserId, model::NotificationKind, unsubscribe::UnsubscribeLinks};

use crate::support::{App, assert_error, cases, request, unsubscribe_links};

cases!(
    the_one_click_post_switches_that_kind_off_and_the_page_changes_nothing,
    a_forged_or_altered_link_is_404_and_changes_nothing,
);

fn path(links: &UnsubscribeLinks, user: &str, kind: NotificationKind) -> String {
    let url = links.url(&UserId::parse(user).unwrap(), kind);
    url.trim_start_matches("http://tasker.test").to_owned()
}

/// The POST a mail client sends (RFC 8058 §3.2): no credentials, a form body.
fn one_click(path: &str) -> http::Request<tasker_http::Body> {
    let mut post = request(Method::POST, path, None, None);
    post.headers_mut().insert(
        header::CONTENT_TYPE,
        "application/x-www-form-urlencoded".parse().unwrap(),
    );
    *post.body_mut() = tasker_http::body::full("List-Unsubscribe=One-Click");
    post
}

async fn the_one_click_post_switches_that_kind_off_and_the_page_changes_nothing(app: App) {
    let path = path(
        &unsubscribe_links(),
        "alice",
        NotificationKind::WeeklyReport,
    );
    let page = app.send(request(Method::GET, &path, None, None)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = String::from_utf8_lossy(&page.bytes);
    assert!(
        html.contains("weekly report") && html.contains("method=\"post\""),
        "{html}"
    );
    let before = app.get("alice", "/api/v1/me").await;
    assert_eq!(
        before.json["notifications"]["weeklyReport"], true,
        "a GET changes nothing"
    );

    let done = app.send(one_click(&path)).await;
    assert_eq!(done.status, StatusCode::OK);
    let after = app.get("alice", "/api/v1/me").await;
    assert_eq!(after.json["notifications"]["weeklyReport"], false);
    assert_eq!(
        after.json["notifications"]["dueReminders"], true,
        "only that kind"
    );
    assert_eq!(after.json["notifications"]["overdueNotices"], true);
    let bob = app.get("bob", "/api/v1/me").await;
    assert_eq!(
        bob.json["notifications"]["weeklyReport"], true,
        "only that user"
    );
    // A second click (clients retry) is answered the same way.
    assert_eq!(app.send(one_click(&path)).await.status, StatusCode::OK);
}

async fn a_forged_or_altered_link_is_404_and_changes_nothing(app: App) {
    let good = path(
        &unsubscribe_links(),
        "alice",
        NotificationKind::DueReminders,
    );
    let foreign = path(
        &UnsubscribeLinks::new(
            b"some other server's key, 32 bytes".to_vec(),
            "http://tasker.test",
        ),
        "alice",
        NotificationKind::DueReminders,
    );
    for bad in [
        good.replace("dueReminders", "weeklyReport"),
        format!("{}x", &good[..good.len() - 1]),
        foreign,
        "/api/v1/unsubscribe/nothing".to_owned(),
    ] {
        let refused = app.send(one_click(&bad)).await;
        assert_error(&refused, StatusCode::NOT_FOUND, "UNSUBSCRIBE_LINK_INVALID");
        let page = app.send(request(Method::GET, &bad, None, None)).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{bad}");
    }
    let me = app.get("alice", "/api/v1/me").await;
    assert_eq!(me.json["notifications"]["dueReminders"], true);
    assert_eq!(me.json["notifications"]["weeklyReport"], true);
}
