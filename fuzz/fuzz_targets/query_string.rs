//! Arbitrary bytes as the query string of `GET /api/v1/todos` and
//! `GET /api/v1/categories`, sent through the whole `TaskerApi` (query
//! parsing, validation, SQL over a seeded SQLite database, JSON response).
//!
//! The first byte picks the list; the rest is the query string. Bytes a
//! request target cannot hold (controls, spaces, `#`, non-ASCII) are
//! percent-encoded, as a client would send them, so every input reaches the
//! parser (which then sees the decoded bytes, invalid UTF-8 included).
//!
//! Oracle: no panic, and the answer is `200` or `400` with the reference
//! error body naming each invalid parameter.

#![no_main]

#[path = "common.rs"]
mod common;

use bytes::Bytes;
use http::Request;
use http_body_util::Full;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, query)) = data.split_first() else {
        return;
    };
    let path = if selector & 1 == 0 {
        "/api/v1/todos"
    } else {
        "/api/v1/categories"
    };
    // As sent, when the URI grammar allows it; otherwise with every byte
    // outside the plainest query characters percent-encoded.
    let raw = encode(path, query, |b| (0x21..=0x7e).contains(&b) && b != b'#');
    let uri = if raw.parse::<http::Uri>().is_ok() {
        raw
    } else {
        encode(path, query, |b| {
            b.is_ascii_alphanumeric() || b"-._~%&=+;,/?:@!$'()*".contains(&b)
        })
    };
    let request = Request::get(uri.as_str())
        .body(Full::new(Bytes::new()))
        .unwrap_or_else(|e| panic!("the harness made a bad URI {uri:?}: {e}"));
    let answer = common::Harness::get().send(request);
    match answer.status.as_u16() {
        200 => {
            let body: serde_json::Value =
                serde_json::from_slice(&answer.body).expect("200 body is JSON");
            assert!(body["data"].is_array(), "{uri}: {body}");
        }
        400 => common::assert_error_body(&answer, &uri),
        status => panic!(
            "{uri}: status {status}: {}",
            String::from_utf8_lossy(&answer.body)
        ),
    }
});

/// `path?query`, with the bytes `keep` refuses percent-encoded.
fn encode(path: &str, query: &[u8], keep: impl Fn(u8) -> bool) -> String {
    let mut uri = format!("{path}?");
    for &b in query {
        if keep(b) {
            uri.push(char::from(b));
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri
}
