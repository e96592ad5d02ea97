//! The read models serialise exactly as the Go service's contract says:
//! every required field, the right JSON types and nullability, no extra field.
//! The schemas come from `docs/reference/go-tasker-openapi.json`.

use bytes::Bytes;
use serde::Serialize;
use serde_json::{Value, json};
use tasker_core::{
    domain::{AttachmentName, TodoDescription, TodoMetadata},
    model::NewAttachment,
    query::{CategoryQuery, TodoQuery},
};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

use crate::support::{Ctx, T0, contract, user};

contract!(read_models_match_the_reference_schemas);

fn reference() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/reference/go-tasker-openapi.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("reference contract"))
        .expect("valid JSON")
}

fn response_schema(doc: &Value, path: &str, method: &str, status: &str) -> Value {
    doc["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"].clone()
}

/// Checks `value` against an OpenAPI 3.0 schema subset: type, nullable,
/// enum, required, properties (no others allowed), items, uuid and date-time formats.
fn check(value: &Value, schema: &Value, at: &str, problems: &mut Vec<String>) {
    if value.is_null() {
        if schema["nullable"] != json!(true) {
            problems.push(format!("{at}: null but not nullable"));
        }
        return;
    }
    if let Some(options) = schema["enum"].as_array()
        && !options.contains(value)
    {
        problems.push(format!("{at}: {value} not in {options:?}"));
    }
    match schema["type"].as_str() {
        Some("string") => match value.as_str() {
            None => problems.push(format!("{at}: expected a string, got {value}")),
            Some(s) => match schema["format"].as_str() {
                Some("uuid") if uuid::Uuid::parse_str(s).is_err() => {
                    problems.push(format!("{at}: {s:?} is not a UUID"));
                }
                Some("date-time") if OffsetDateTime::parse(s, &Rfc3339).is_err() => {
                    problems.push(format!("{at}: {s:?} is not a date-time"));
                }
                _ => {}
            },
        },
        Some("number") if !value.is_number() => {
            problems.push(format!("{at}: expected a number, got {value}"))
        }
        Some("boolean") if !value.is_boolean() => {
            problems.push(format!("{at}: expected a boolean"))
        }
        Some("array") => match value.as_array() {
            None => problems.push(format!("{at}: expected an array")),
            Some(items) => {
                for (i, item) in items.iter().enumerate() {
                    check(item, &schema["items"], &format!("{at}[{i}]"), problems);
                }
            }
        },
        Some("object") => match value.as_object() {
            None => problems.push(format!("{at}: expected an object")),
            Some(object) => {
                for required in schema["required"].as_array().into_iter().flatten() {
                    let key = required.as_str().unwrap_or_default();
                    if !object.contains_key(key) {
                        problems.push(format!("{at}.{key}: required but missing"));
                    }
                }
                for (key, field) in object {
                    match schema["properties"].get(key) {
                        Some(sub) => check(field, sub, &format!("{at}.{key}"), problems),
                        None => problems.push(format!("{at}.{key}: not in the contract")),
                    }
                }
            }
        },
        _ => {}
    }
}

#[track_caller]
fn assert_matches(value: &impl Serialize, schema: &Value, what: &str) {
    let json = serde_json::to_value(value).expect("serialise");
    let mut problems = Vec::new();
    check(&json, schema, what, &mut problems);
    assert!(
        problems.is_empty(),
        "{what} does not match the contract:\n{}",
        problems.join("\n")
    );
}

async fn read_models_match_the_reference_schemas(ctx: Ctx) {
    let doc = reference();
    let alice = user("alice");
    let category = ctx.category(&alice, "Work").await;
    let todo = ctx
        .todo_with(&alice, "Everything", |n| {
            n.description = Some(TodoDescription::parse("all fields set").unwrap());
            n.due_date = Some(T0);
            n.category_id = Some(category.id);
            n.metadata = Some(
                TodoMetadata::from_json(
                    "metadata",
                    &json!({"tags": ["a"], "reminder": "r", "color": "#fff", "difficulty": 3}),
                )
                .unwrap(),
            );
        })
        .await;
    let bare = ctx.todo(&alice, "Nothing optional").await;
    ctx.subtask(&alice, &todo, "child").await;
    let comment = ctx.comment(&alice, &todo, "note").await;
    let file = NewAttachment {
        name: AttachmentName::parse("a.txt").unwrap(),
        mime_type: Some("text/plain".into()),
        content: Bytes::from_static(b"a"),
    };
    let attachment = ctx
        .services
        .attachments
        .upload(&alice, todo.id, file)
        .await
        .unwrap();

    let s = &ctx.services;
    let populated = s.todos.get(&alice, todo.id).await.unwrap();
    let get_todo = response_schema(&doc, "/v1/todos/{id}", "get", "200");
    assert_matches(&populated, &get_todo, "GET /todos/{id} (all fields)");
    assert_matches(
        &s.todos.get(&alice, bare.id).await.unwrap(),
        &get_todo,
        "GET /todos/{id} (bare)",
    );
    let page = s.todos.list(&alice, &TodoQuery::default()).await.unwrap();
    assert_matches(
        &page,
        &response_schema(&doc, "/v1/todos", "get", "200"),
        "GET /todos",
    );
    assert_matches(
        &todo,
        &response_schema(&doc, "/v1/todos", "post", "201"),
        "POST /todos",
    );
    assert_matches(
        &bare,
        &response_schema(&doc, "/v1/todos/{id}", "patch", "200"),
        "PATCH /todos/{id}",
    );
    let stats = s.todos.stats(&alice).await.unwrap();
    assert_matches(
        &stats,
        &response_schema(&doc, "/v1/todos/stats", "get", "200"),
        "GET /todos/stats",
    );

    assert_matches(
        &category,
        &response_schema(&doc, "/v1/categories", "post", "201"),
        "POST /categories",
    );
    let categories = s
        .categories
        .list(&alice, &CategoryQuery::default())
        .await
        .unwrap();
    assert_matches(
        &categories,
        &response_schema(&doc, "/v1/categories", "get", "200"),
        "GET /categories",
    );

    assert_matches(
        &comment,
        &response_schema(&doc, "/v1/todos/{id}/comments", "post", "201"),
        "POST comment",
    );
    let comments = s.comments.list(&alice, todo.id).await.unwrap();
    assert_matches(
        &comments,
        &response_schema(&doc, "/v1/todos/{id}/comments", "get", "200"),
        "GET comments",
    );
    assert_matches(
        &attachment,
        &response_schema(&doc, "/v1/todos/{id}/attachments", "post", "201"),
        "POST attachment",
    );

    // The checker itself catches a renamed or missing field.
    let mut renamed = serde_json::to_value(&comment).unwrap();
    let content = renamed.as_object_mut().unwrap().remove("content").unwrap();
    renamed
        .as_object_mut()
        .unwrap()
        .insert("text".into(), content);
    let mut problems = Vec::new();
    check(
        &renamed,
        &response_schema(&doc, "/v1/comments/{id}", "patch", "200"),
        "comment",
        &mut problems,
    );
    assert_eq!(problems.len(), 2, "{problems:?}");
}
