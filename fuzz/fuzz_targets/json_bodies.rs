//! Arbitrary bytes as the JSON body of each request type.
//!
//! The first byte picks the type and the path:
//!
//! | byte % 5 | public types                        | request through `TaskerApi`          |
//! |----------|-------------------------------------|---------------------------------------|
//! | 0        | `CreateTodo` → `NewTodo`            | none (a valid body would add a row)   |
//! | 1        | `UpdateTodo` → `TodoPatch`          | `PATCH /api/v1/todos/{unknown id}`      |
//! | 2        | `CreateCategory` → `NewCategory`    | none (a valid body would add a row)   |
//! | 3        | `UpdateCategory` → `CategoryPatch`  | `PATCH /api/v1/categories/{unknown id}` |
//! | 4        | `CommentInput` → `CommentContent`   | `POST /api/v1/todos/{unknown id}/comments` |
//!
//! Oracle, through the public types (`serde_json` then `TryFrom`, as
//! tasker-http does): no panic, and a body that deserializes either
//! validates or is refused with at least one error, each naming its field.
//! Through the whole `TaskerApi`: no panic, never a `5xx`; a body the types
//! refuse is `400` with the reference error body naming each field; a body
//! they accept gets past validation (here `404`, the id being unknown).

#![no_main]

#[path = "common.rs"]
mod common;

use http::Method;
use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;
use tasker_core::{
    domain::{CommentContent, ValidationErrors},
    model::{
        CategoryPatch, CommentInput, CreateCategory, CreateTodo, NewCategory, NewTodo, TodoPatch,
        UpdateCategory, UpdateTodo,
    },
};

/// An id no seeded row has.
const UNKNOWN: &str = "00000000-0000-7000-8000-000000000000";

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let (accepted, request) = match selector % 5 {
        0 => (check::<CreateTodo, NewTodo>(body), None),
        1 => (
            check::<UpdateTodo, TodoPatch>(body),
            Some((Method::PATCH, format!("/api/v1/todos/{UNKNOWN}"))),
        ),
        2 => (check::<CreateCategory, NewCategory>(body), None),
        3 => (
            check::<UpdateCategory, CategoryPatch>(body),
            Some((Method::PATCH, format!("/api/v1/categories/{UNKNOWN}"))),
        ),
        _ => (
            check::<CommentInput, CommentContent>(body),
            Some((Method::POST, format!("/api/v1/todos/{UNKNOWN}/comments"))),
        ),
    };
    let Some((method, path)) = request else {
        return;
    };
    let answer = common::Harness::get().send_json(method, &path, body);
    let context = format!("{path} {:?}", String::from_utf8_lossy(body));
    let status = answer.status.as_u16();
    assert!(
        (400..500).contains(&status),
        "{context}: status {status}: {}",
        String::from_utf8_lossy(&answer.body)
    );
    common::assert_error_body(&answer, &context);
    let code = serde_json::from_slice::<serde_json::Value>(&answer.body).unwrap()["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    if accepted {
        // The API refuses bodies nesting deeper than 64 levels before parsing.
        assert!(
            code != "VALIDATION_FAILED" && (code != "INVALID_JSON" || nests_deeply(body)),
            "{context}: the types accept the body but the API answers {status} {code}"
        );
    } else {
        assert_eq!(status, 400, "{context}: the types refuse the body");
    }
});

/// Deserializes `body` into `T` and validates it into `V`. Whether it
/// validated; panics on an error that names no field.
fn check<T, V>(body: &[u8]) -> bool
where
    T: DeserializeOwned,
    V: TryFrom<T, Error = ValidationErrors>,
{
    let Ok(input) = serde_json::from_slice::<T>(body) else {
        return false;
    };
    match V::try_from(input) {
        Ok(_) => true,
        Err(errors) => {
            assert!(!errors.is_empty(), "refused without an error");
            for error in errors.errors() {
                assert!(!error.field().is_empty(), "unnamed field: {error:?}");
                assert!(!error.error().is_empty(), "no message: {error:?}");
            }
            false
        }
    }
}

/// More than 64 `[`/`{` open at once (a rough count: brackets in strings
/// count too, which only makes the exemption wider).
fn nests_deeply(body: &[u8]) -> bool {
    let (mut depth, mut max) = (0usize, 0usize);
    for &b in body {
        match b {
            b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max > 64
}
