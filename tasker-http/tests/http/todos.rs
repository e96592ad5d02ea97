//! `/api/v1/todos`: success and error paths.

use http::StatusCode;
use serde_json::json;

use crate::support::{App, assert_error, cases, error_fields};

cases!(
    creating_a_todo_returns_201_with_the_contract_shape,
    a_todo_with_many_invalid_fields_lists_each_field,
    a_field_of_the_wrong_type_is_named,
    server_owned_and_unknown_fields_are_ignored_and_never_applied,
    queries_are_read_as_the_go_service_read_them,
    getting_a_todo_populates_category_children_comments_and_attachments,
    listing_filters_sorts_and_pages,
    bad_query_parameters_are_named,
    updating_changes_only_present_fields_and_null_clears,
    completing_sets_completed_at_and_stats_count_it,
    deleting_a_todo_returns_204_then_404,
    malformed_ids_are_a_validation_error,
    a_body_nested_deeper_than_64_levels_is_refused,
    due_dates_are_accepted_exactly_when_the_document_allows_them,
);

/// The document's `dueDate` pattern and the server agree: impossible
/// calendar days (found by contract fuzzing: `8412-06-31` matched the old
/// pattern) and instants outside 1970–9999 UTC are refused by both, and the
/// server no longer takes any byte as the date-time separator.
async fn due_dates_are_accepted_exactly_when_the_document_allows_them(app: App) {
    let schema = json!({
        "components": crate::support::document()["components"].clone(),
        "$ref": "#/components/schemas/CreateTodoRequest/properties/dueDate"
    });
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let cases = [
        ("2024-02-29", true),
        ("2000-02-29T10:00:00Z", true),
        ("1970-01-01", true),
        ("1970-01-01T00:00:00Z", true),
        ("1970-01-01T05:00:00-04:00", true),
        ("9999-12-31T23:59:59.999Z", true),
        ("9999-12-31T02:00:00+01:00", true),
        ("2026-01-31t17:00:00z", true),
        ("2026-01-31 17:00:00+02:00", true),
        ("8412-06-31", false),
        ("2023-02-29", false),
        ("2100-02-29", false),
        ("2026-04-31T10:00:00Z", false),
        ("1969-12-31", false),
        ("1970-01-01T00:30:00+01:00", false),
        ("9999-12-31T23:00:00-05:00", false),
        ("2026-01-31X17:00:00Z", false),
        ("2026-01-31517:00:00Z", false),
    ];
    for (value, valid) in cases {
        assert_eq!(
            validator.is_valid(&json!(value)),
            valid,
            "{value}: the document's pattern"
        );
        let response = app
            .post(
                "alice",
                "/api/v1/todos",
                json!({"title": "due", "dueDate": value}),
            )
            .await;
        if valid {
            assert_eq!(
                response.status,
                StatusCode::CREATED,
                "{value}: {}",
                response.json
            );
        } else {
            assert_error(&response, StatusCode::BAD_REQUEST, "VALIDATION_FAILED");
            assert_eq!(error_fields(&response), ["dueDate"], "{value}");
        }
        let listed = app
            .get(
                "alice",
                &format!(
                    "/api/v1/todos?dueFrom={}",
                    value.replace('+', "%2B").replace(' ', "%20")
                ),
            )
            .await;
        let expected = if valid {
            StatusCode::OK
        } else {
            StatusCode::BAD_REQUEST
        };
        assert_eq!(listed.status, expected, "dueFrom={value}: {}", listed.json);
    }
}

async fn a_body_nested_deeper_than_64_levels_is_refused(app: App) {
    let deep = format!("{}1{}", "[".repeat(70), "]".repeat(70));
    let body: serde_json::Value = serde_json::from_str(&format!(
        r#"{{"title": "deep", "metadata": {{"tags": {deep}}}}}"#
    ))
    .unwrap();
    let response = app.post("alice", "/api/v1/todos", body).await;
    assert_error(&response, StatusCode::BAD_REQUEST, "INVALID_JSON");
    assert_eq!(error_fields(&response), ["body"]);
    let listed = app.get("alice", "/api/v1/todos").await;
    assert_eq!(listed.json["total"], 0, "nothing was written");
}

async fn creating_a_todo_returns_201_with_the_contract_shape(app: App) {
    let todo = app
        .todo(
            "alice",
            json!({"title": "Write report", "priority": "high", "dueDate": "2026-11-30",
                   "metadata": {"tags": ["work"], "difficulty": 3}}),
        )
        .await;
    assert_eq!(todo["title"], "Write report");
    assert_eq!(todo["priority"], "high");
    assert_eq!(todo["status"], "draft");
    assert_eq!(todo["userId"], "alice");
    assert_eq!(todo["dueDate"], "2026-11-30T00:00:00Z");
    assert_eq!(todo["completedAt"], json!(null));
    assert_eq!(todo["createdAt"], "2026-11-23T09:00:00Z");
    assert_eq!(todo["metadata"]["tags"], json!(["work"]));
}

async fn a_todo_with_many_invalid_fields_lists_each_field(app: App) {
    let response = app
        .post(
            "alice",
            "/api/v1/todos",
            json!({"title": "", "priority": "urgent", "dueDate": "soon",
                   "metadata": {"color": "red"}}),
        )
        .await;
    assert_error(&response, StatusCode::BAD_REQUEST, "VALIDATION_FAILED");
    let fields = error_fields(&response);
    for field in ["title", "priority", "dueDate", "metadata.color"] {
        assert!(
            fields.contains(&field.to_owned()),
            "{field} missing in {fields:?}"
        );
    }
}

async fn a_field_of_the_wrong_type_is_named(app: App) {
    let response = app
        .post("alice", "/api/v1/todos", json!({"title": 5}))
        .await;
    assert_error(&response, StatusCode::BAD_REQUEST, "VALIDATION_FAILED");
    assert_eq!(error_fields(&response), vec!["title"]);
}

async fn server_owned_and_unknown_fields_are_ignored_and_never_applied(app: App) {
    let response = app
        .post(
            "alice",
            "/api/v1/todos",
            json!({"title": "ok", "userId": "mallory", "completedAt": "2026-01-01", "colour": 1}),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.json);
    assert_eq!(response.json["userId"], "alice");
    assert_eq!(response.json["completedAt"], json!(null));
    assert!(response.json.get("colour").is_none());
    // A known key with a wrong value is still refused by name.
    let response = app
        .post(
            "alice",
            "/api/v1/todos",
            json!({"title": "x", "priority": "urgent", "colour": 1}),
        )
        .await;
    assert_error(&response, StatusCode::BAD_REQUEST, "VALIDATION_FAILED");
    assert_eq!(error_fields(&response), vec!["priority"]);
    assert_eq!(app.get("alice", "/api/v1/todos").await.json["total"], 1);
    assert_eq!(app.get("mallory", "/api/v1/todos").await.json["total"], 0);
}

/// Query strings as the Go service read them: a blank search is no filter and
/// any length is taken, booleans in `strconv.ParseBool`'s spellings, and the
/// first of a repeated key wins (Echo).
async fn queries_are_read_as_the_go_service_read_them(app: App) {
    let done = app.todo("alice", json!({"title": "done milk"})).await;
    let done = done["id"].as_str().unwrap();
    app.patch(
        "alice",
        &format!("/api/v1/todos/{done}"),
        json!({"status": "completed"}),
    )
    .await;
    app.todo("alice", json!({"title": "open bread"})).await;
    let total = |path: String| {
        let app = &app;
        async move {
            let response = app.get("alice", &path).await;
            assert_eq!(response.status, StatusCode::OK, "{path}: {}", response.json);
            response.json["total"].as_u64().unwrap()
        }
    };
    assert_eq!(total("/api/v1/todos?search=%20".into()).await, 2);
    assert_eq!(total("/api/v1/todos?search=".into()).await, 2);
    assert_eq!(total("/api/v1/todos?search=%20milk%20".into()).await, 1);
    assert_eq!(
        total(format!("/api/v1/todos?search={}", "m".repeat(300))).await,
        0
    );
    for yes in ["true", "1", "t", "T", "TRUE", "True"] {
        assert_eq!(
            total(format!("/api/v1/todos?completed={yes}")).await,
            1,
            "{yes}"
        );
    }
    for no in ["false", "0", "f", "F", "FALSE", "False", ""] {
        assert_eq!(
            total(format!("/api/v1/todos?completed={no}")).await,
            1,
            "{no}"
        );
    }
    assert_eq!(total("/api/v1/todos?limit=1&limit=500".into()).await, 2);
    let first_wins = app
        .get("alice", "/api/v1/todos?search=milk&search=bread")
        .await;
    assert_eq!(first_wins.json["data"][0]["title"], "done milk");
    assert_eq!(first_wins.json["total"], 1);
    let nul = app.get("alice", "/api/v1/todos?search=a%00b").await;
    assert_eq!(error_fields(&nul), vec!["search"]);
}

async fn getting_a_todo_populates_category_children_comments_and_attachments(app: App) {
    let category = app.category("alice", "Work").await;
    let parent = app
        .todo(
            "alice",
            json!({"title": "Parent", "categoryId": category["id"]}),
        )
        .await;
    let id = parent["id"].as_str().unwrap();
    app.todo("alice", json!({"title": "Child", "parentTodoId": id}))
        .await;
    let comment = app
        .post(
            "alice",
            &format!("/api/v1/todos/{id}/comments"),
            json!({"content": "hi"}),
        )
        .await;
    assert_eq!(comment.status, StatusCode::CREATED);
    let response = app.get("alice", &format!("/api/v1/todos/{id}")).await;
    assert_eq!(response.status, StatusCode::OK);
    let body = &response.json;
    assert_eq!(body["category"]["name"], "Work");
    assert_eq!(body["children"][0]["title"], "Child");
    assert_eq!(body["comments"][0]["content"], "hi");
    assert_eq!(body["attachments"], json!([]));
    assert!(response.headers.contains_key("etag"));
    assert_eq!(response.route, Some("/api/v1/todos/{id}"));
}

async fn listing_filters_sorts_and_pages(app: App) {
    for (title, priority) in [("b low", "low"), ("a high", "high"), ("c medium", "medium")] {
        app.todo("alice", json!({"title": title, "priority": priority}))
            .await;
    }
    let response = app
        .get("alice", "/api/v1/todos?sort=title&order=asc&limit=2&page=1")
        .await;
    assert_eq!(response.status, StatusCode::OK);
    let titles: Vec<_> = response.json["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(titles, ["a high", "b low"]);
    assert_eq!(response.json["total"], 3);
    assert_eq!(response.json["totalPages"], 2);
    // The same list by cursor: the second page follows the first.
    let cursor = response.json["nextCursor"].as_str().expect("nextCursor");
    let next = app
        .get("alice", &format!("/api/v1/todos?cursor={cursor}&limit=2"))
        .await;
    assert_eq!(next.status, StatusCode::OK);
    assert_eq!(next.json["data"][0]["title"], "c medium");
    assert_eq!(next.json["page"], 2);
    assert!(next.json.get("nextCursor").is_none(), "{}", next.json);
    let both = app
        .get("alice", &format!("/api/v1/todos?cursor={cursor}&page=2"))
        .await;
    assert_error(&both, StatusCode::BAD_REQUEST, "VALIDATION_FAILED");
    assert_eq!(error_fields(&both), ["page"]);
    let high = app.get("alice", "/api/v1/todos?priority=high").await;
    assert_eq!(high.json["total"], 1);
    let search = app.get("alice", "/api/v1/todos?search=MEDIUM").await;
    assert_eq!(search.json["data"][0]["title"], "c medium");
}

async fn bad_query_parameters_are_named(app: App) {
    let response = app
        .get(
            "alice",
            "/api/v1/todos?limit=500&sort=colour&overdue=maybe&status=done&cursor=nope",
        )
        .await;
    assert_error(&response, StatusCode::BAD_REQUEST, "VALIDATION_FAILED");
    let fields = error_fields(&response);
    for field in ["limit", "sort", "overdue", "status", "cursor"] {
        assert!(
            fields.contains(&field.to_owned()),
            "{field} missing in {fields:?}"
        );
    }
}

async fn updating_changes_only_present_fields_and_null_clears(app: App) {
    let todo = app
        .todo(
            "alice",
            json!({"title": "T", "description": "D", "priority": "low"}),
        )
        .await;
    let id = todo["id"].as_str().unwrap();
    app.clock.advance(time::Duration::minutes(5));
    let response = app
        .patch(
            "alice",
            &format!("/api/v1/todos/{id}"),
            json!({"description": null, "priority": "high"}),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.json);
    assert_eq!(response.json["title"], "T");
    assert_eq!(response.json["description"], json!(null));
    assert_eq!(response.json["priority"], "high");
    assert_eq!(response.json["updatedAt"], "2026-11-23T09:05:00Z");
    let empty = app
        .patch("alice", &format!("/api/v1/todos/{id}"), json!({}))
        .await;
    assert_error(&empty, StatusCode::BAD_REQUEST, "VALIDATION_FAILED");
}

async fn completing_sets_completed_at_and_stats_count_it(app: App) {
    let todo = app.todo("alice", json!({"title": "T"})).await;
    let id = todo["id"].as_str().unwrap();
    let done = app
        .patch(
            "alice",
            &format!("/api/v1/todos/{id}"),
            json!({"status": "completed"}),
        )
        .await;
    assert_eq!(done.json["completedAt"], "2026-11-23T09:00:00Z");
    let stats = app.get("alice", "/api/v1/todos/stats").await;
    assert_eq!(stats.status, StatusCode::OK);
    assert_eq!(stats.json["completed"], 1);
    assert_eq!(stats.json["total"], 1);
}

async fn deleting_a_todo_returns_204_then_404(app: App) {
    let todo = app.todo("alice", json!({"title": "T"})).await;
    let path = format!("/api/v1/todos/{}", todo["id"].as_str().unwrap());
    let deleted = app.delete("alice", &path).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert!(deleted.bytes.is_empty());
    assert_error(
        &app.get("alice", &path).await,
        StatusCode::NOT_FOUND,
        "TODO_NOT_FOUND",
    );
    assert_error(
        &app.delete("alice", &path).await,
        StatusCode::NOT_FOUND,
        "TODO_NOT_FOUND",
    );
}

async fn malformed_ids_are_a_validation_error(app: App) {
    let response = app.get("alice", "/api/v1/todos/not-a-uuid").await;
    assert_error(&response, StatusCode::BAD_REQUEST, "VALIDATION_FAILED");
    assert_eq!(error_fields(&response), vec!["id"]);
}
