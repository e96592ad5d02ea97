//! `/api/v1/me`: a user's settings, with the defaults where they chose nothing.

use http::StatusCode;
use serde_json::json;

use crate::support::{App, assert_error, cases, error_fields};

cases!(
    the_settings_are_the_defaults_until_the_user_chooses,
    a_patch_changes_only_what_it_names_and_canonicalises_the_zone,
    an_unknown_time_zone_is_400_naming_time_zone_and_changes_nothing,
    settings_are_per_user,
);

async fn the_settings_are_the_defaults_until_the_user_chooses(app: App) {
    let me = app.get("alice", "/api/v1/me").await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.json);
    assert_eq!(
        me.json,
        json!({
            "userId": "alice",
            "timeZone": "UTC",
            "notifications": {
                "dueReminders": true,
                "overdueNotices": true,
                "weeklyReport": true,
                "weeklyReportWhenEmpty": false
            }
        })
    );
    assert!(me.headers.contains_key("etag"));
}

async fn a_patch_changes_only_what_it_names_and_canonicalises_the_zone(app: App) {
    let zone = app
        .patch("alice", "/api/v1/me", json!({"timeZone": "asia/tokyo"}))
        .await;
    assert_eq!(zone.status, StatusCode::OK, "{}", zone.json);
    assert_eq!(zone.json["timeZone"], "Asia/Tokyo");
    let switch = app
        .patch(
            "alice",
            "/api/v1/me",
            json!({"notifications": {"weeklyReport": false}}),
        )
        .await;
    assert_eq!(switch.status, StatusCode::OK);
    assert_eq!(switch.json["timeZone"], "Asia/Tokyo", "kept");
    assert_eq!(switch.json["notifications"]["weeklyReport"], false);
    assert_eq!(switch.json["notifications"]["dueReminders"], true, "kept");
    let half_hour = app
        .patch("alice", "/api/v1/me", json!({"timeZone": "Asia/Kolkata"}))
        .await;
    assert_eq!(half_hour.json["timeZone"], "Asia/Kolkata");
    let read = app.get("alice", "/api/v1/me").await;
    assert_eq!(read.json, half_hour.json);
    assert_eq!(read.json["notifications"]["weeklyReport"], false);
}

async fn an_unknown_time_zone_is_400_naming_time_zone_and_changes_nothing(app: App) {
    for zone in [json!("Mars/Olympus"), json!(""), json!("x".repeat(65))] {
        let refused = app
            .patch(
                "alice",
                "/api/v1/me",
                json!({"timeZone": zone, "notifications": {"dueReminders": false}}),
            )
            .await;
        assert_error(&refused, StatusCode::BAD_REQUEST, "VALIDATION_FAILED");
        assert_eq!(error_fields(&refused), ["timeZone"], "{zone}");
    }
    for not_settings in [
        json!({"timeZone": 9}),
        json!([]),
        json!({"notifications": []}),
        json!({"notifications": {"weeklyReport": "no"}}),
    ] {
        let refused = app.patch("alice", "/api/v1/me", not_settings.clone()).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{not_settings}");
    }
    let typo = app
        .patch(
            "alice",
            "/api/v1/me",
            json!({"notifications": {"weeklyReport": 1}}),
        )
        .await;
    assert_eq!(error_fields(&typo), ["notifications.weeklyReport"]);
    // `{}` changes nothing, and says so.
    let nothing = app.patch("alice", "/api/v1/me", json!({})).await;
    assert_eq!(nothing.status, StatusCode::OK);
    let read = app.get("alice", "/api/v1/me").await;
    assert_eq!(read.json["timeZone"], "UTC");
    assert_eq!(read.json["notifications"]["dueReminders"], true);
}

async fn settings_are_per_user(app: App) {
    let alice = app
        .patch(
            "alice",
            "/api/v1/me",
            json!({"timeZone": "Pacific/Chatham", "notifications": {"overdueNotices": false}}),
        )
        .await;
    assert_eq!(alice.status, StatusCode::OK);
    let bob = app.get("bob", "/api/v1/me").await;
    assert_eq!(bob.json["userId"], "bob");
    assert_eq!(bob.json["timeZone"], "UTC");
    assert_eq!(bob.json["notifications"]["overdueNotices"], true);
}
