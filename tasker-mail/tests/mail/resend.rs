//! The Resend transport against a local fake of Resend's API.

use std::{sync::Arc, time::Duration};

use serde_json::{Value, json};
use tasker_mail::{Email, MailError, Mailer, ResendConfig, ResendMailer};
use tokio::{io::AsyncReadExt, net::TcpListener};
use wiremock::{
    Mock, MockServer, Request, ResponseTemplate,
    matchers::{header, method, path},
};

use crate::support::sample_email;

const API_KEY: &str = "re_test_key";

fn mailer(base_url: &str) -> ResendMailer {
    let config = ResendConfig::new(API_KEY)
        .with_base_url(base_url)
        .with_timeout(Duration::from_millis(1500));
    ResendMailer::new(&config, "tasker <no-reply@localhost>", None).unwrap()
}

async fn failing_with(response: ResponseTemplate) -> MailError {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/emails"))
        .respond_with(response)
        .mount(&server)
        .await;
    mailer(&server.uri())
        .send(&sample_email(1))
        .await
        .expect_err("the send fails")
}

#[tokio::test]
async fn a_send_posts_the_message_as_json_with_bearer_auth_and_idempotency_key() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/emails"))
        .and(header("Authorization", "Bearer re_test_key"))
        .and(header("Idempotency-Key", "test/1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "msg_1"})))
        .expect(1)
        .mount(&server)
        .await;

    let receipt = mailer(&server.uri()).send(&sample_email(1)).await.unwrap();
    assert_eq!(receipt.id, "msg_1");

    let requests = server.received_requests().await.unwrap();
    let body: Value = requests[0].body_json().unwrap();
    assert_eq!(
        body,
        json!({
            "from": "tasker <no-reply@tasker.example.com>",
            "to": ["User 1 <user1@example.com>"],
            "subject": "Subject 1",
            "html": "<p>Hello <b>1</b></p>",
            "text": "Hello 1",
            "reply_to": "support@tasker.example.com",
            "tags": [{"name": "kind", "value": "test"}],
        })
    );
    assert_eq!(
        requests[0].headers.get("content-type").unwrap(),
        "application/json"
    );
}

#[tokio::test]
async fn a_message_without_sender_uses_the_configured_one_and_sends_no_idempotency_key() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/emails"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "msg_2"})))
        .mount(&server)
        .await;

    let email = Email::new("ada@example.com", "Hi").with_text("Hello");
    mailer(&server.uri()).send(&email).await.unwrap();

    let request = &server.received_requests().await.unwrap()[0];
    assert!(request.headers.get("Idempotency-Key").is_none());
    let body: Value = request.body_json().unwrap();
    assert_eq!(body["from"], "tasker <no-reply@localhost>");
    assert!(
        body.get("html").is_none() && body.get("reply_to").is_none() && body.get("tags").is_none()
    );
}

/// Answers a batch call with one id per message in it.
fn batch_ids(request: &Request) -> ResponseTemplate {
    let messages: Vec<Value> = request.body_json().unwrap();
    let data: Vec<Value> = messages
        .iter()
        .map(|m| json!({"id": format!("id-{}", m["subject"].as_str().unwrap())}))
        .collect();
    ResponseTemplate::new(200).set_body_json(json!({ "data": data }))
}

#[tokio::test]
async fn a_batch_of_250_goes_out_as_three_calls_of_100_100_and_50() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/emails/batch"))
        .and(header("Authorization", "Bearer re_test_key"))
        .respond_with(batch_ids)
        .expect(3)
        .mount(&server)
        .await;

    let emails: Vec<Email> = (0..250).map(sample_email).collect();
    let receipts = mailer(&server.uri()).send_batch(&emails).await.unwrap();

    assert_eq!(receipts.len(), 250);
    assert_eq!(receipts[0].id, "id-Subject 0");
    assert_eq!(receipts[249].id, "id-Subject 249");
    let requests = server.received_requests().await.unwrap();
    let sizes: Vec<usize> = requests
        .iter()
        .map(|r| r.body_json::<Vec<Value>>().unwrap().len())
        .collect();
    assert_eq!(sizes, [100, 100, 50]);
    let first: Vec<Value> = requests[0].body_json().unwrap();
    assert_eq!(first[0]["to"], json!(["User 0 <user0@example.com>"]));
    assert_eq!(
        requests[2].body_json::<Vec<Value>>().unwrap()[49]["subject"],
        "Subject 249"
    );
}

#[tokio::test]
async fn a_batch_gets_a_stable_idempotency_key_per_call_when_every_message_has_one() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/emails/batch"))
        .respond_with(batch_ids)
        .mount(&server)
        .await;
    let mailer = mailer(&server.uri());
    let emails: Vec<Email> = (0..150).map(sample_email).collect();

    mailer.send_batch(&emails).await.unwrap();
    mailer.send_batch(&emails).await.unwrap();
    mailer
        .send_batch(&[Email::new("a@example.com", "x").with_text("t")])
        .await
        .unwrap();

    let keys: Vec<Option<String>> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| {
            r.headers
                .get("Idempotency-Key")
                .map(|v| v.to_str().unwrap().to_owned())
        })
        .collect();
    assert_eq!(keys.len(), 5);
    assert!(keys[0].is_some() && keys[1].is_some());
    assert_ne!(keys[0], keys[1], "each call of a batch has its own key");
    assert_eq!(
        keys[0..2],
        keys[2..4],
        "the same batch sent again reuses its keys"
    );
    assert_eq!(
        keys[4], None,
        "a message without key leaves its call without key"
    );
}

#[tokio::test]
async fn an_empty_batch_makes_no_call() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(batch_ids)
        .expect(0)
        .mount(&server)
        .await;
    assert!(
        mailer(&server.uri())
            .send_batch(&[])
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn validation_and_auth_errors_are_permanent() {
    for status in [400, 401, 403, 422] {
        let error = failing_with(ResponseTemplate::new(status).set_body_json(json!({
            "statusCode": status,
            "name": "validation_error",
            "message": "The `to` field is invalid.",
        })))
        .await;
        assert!(!error.is_retryable(), "{status} must be permanent: {error}");
        assert!(
            matches!(
                &error,
                MailError::Rejected { status: s, code: Some(code), message, .. }
                    if *s == Some(status) && code == "validation_error" && message == "The `to` field is invalid."
            ),
            "{error:?}"
        );
        assert_eq!(error.retry_after(), None);
    }
}

#[tokio::test]
async fn a_rate_limit_is_retryable_and_keeps_retry_after() {
    let error = failing_with(
        ResponseTemplate::new(429)
            .insert_header("Retry-After", "30")
            .set_body_json(json!({"statusCode": 429, "name": "rate_limit_exceeded", "message": "Too many requests"})),
    )
    .await;
    assert!(error.is_retryable());
    assert!(matches!(error, MailError::RateLimited { .. }), "{error:?}");
    assert_eq!(error.retry_after(), Some(Duration::from_secs(30)));
}

#[tokio::test]
async fn server_errors_are_retryable_and_keep_retry_after() {
    let error = failing_with(ResponseTemplate::new(500).set_body_string("internal error")).await;
    assert!(error.is_retryable());
    assert_eq!(error.status(), Some(500));
    assert_eq!(error.retry_after(), None);

    let error = failing_with(ResponseTemplate::new(503).insert_header("Retry-After", "5")).await;
    assert!(error.is_retryable());
    assert_eq!(error.retry_after(), Some(Duration::from_secs(5)));
}

#[tokio::test]
async fn a_concurrent_use_of_the_same_idempotency_key_is_retryable() {
    let error = failing_with(ResponseTemplate::new(409).set_body_json(json!({
        "statusCode": 409, "name": "concurrent_idempotent_requests", "message": "in progress"
    })))
    .await;
    assert!(error.is_retryable(), "{error:?}");
}

#[tokio::test]
async fn a_slow_answer_is_a_retryable_timeout() {
    let error = failing_with(
        ResponseTemplate::new(200)
            .set_body_json(json!({"id": "late"}))
            .set_delay(Duration::from_secs(3)),
    )
    .await;
    assert!(matches!(error, MailError::Timeout { .. }), "{error:?}");
    assert!(error.is_retryable());
}

#[tokio::test]
async fn a_refused_connection_is_retryable() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);

    let error = mailer(&format!("http://{address}"))
        .send(&sample_email(1))
        .await
        .unwrap_err();
    assert!(matches!(error, MailError::Connection { .. }), "{error:?}");
    assert!(error.is_retryable());
}

#[tokio::test]
async fn a_connection_closed_mid_request_is_retryable() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buffer = [0u8; 64];
        let _ = socket.read(&mut buffer).await;
        drop(socket);
    });

    let error = mailer(&format!("http://{address}"))
        .send(&sample_email(1))
        .await
        .unwrap_err();
    server.await.unwrap();
    assert!(matches!(error, MailError::Connection { .. }), "{error:?}");
    assert!(error.is_retryable());
}

#[tokio::test]
async fn an_invalid_address_fails_before_any_call() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let email = Email::new("not an address", "Hi").with_text("Hello");
    let error = mailer(&server.uri()).send(&email).await.unwrap_err();
    assert!(
        matches!(error, MailError::InvalidAddress { .. }),
        "{error:?}"
    );
    assert!(!error.is_retryable());
}

#[tokio::test]
async fn the_mailer_works_behind_a_dyn_pointer() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/emails"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "msg_dyn"})))
        .mount(&server)
        .await;
    let mailer: Arc<dyn tasker_mail::DynMailer> = Arc::new(mailer(&server.uri()));
    assert_eq!(mailer.send(&sample_email(1)).await.unwrap().id, "msg_dyn");
}

#[tokio::test]
async fn a_bad_message_late_in_a_batch_fails_it_before_any_call() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(batch_ids)
        .expect(0)
        .mount(&server)
        .await;
    let mut emails: Vec<Email> = (0..150).map(sample_email).collect();
    emails[120] = sample_email(120).with_tag("kind", "not valid");

    let error = mailer(&server.uri()).send_batch(&emails).await.unwrap_err();
    assert!(
        matches!(error, MailError::InvalidMessage { .. }),
        "{error:?}"
    );
    assert!(error.is_permanent());
}

#[tokio::test]
async fn an_invalid_idempotency_key_fails_before_any_call() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let email = sample_email(1).with_idempotency_key("has a space");
    let error = mailer(&server.uri()).send(&email).await.unwrap_err();
    assert!(
        matches!(error, MailError::InvalidMessage { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn the_same_key_with_other_content_is_a_permanent_idempotency_conflict() {
    let error = failing_with(ResponseTemplate::new(409).set_body_json(json!({
        "statusCode": 409,
        "name": "invalid_idempotent_request",
        "message": "Same idempotency key used with a different request payload.",
    })))
    .await;
    assert!(
        matches!(error, MailError::IdempotencyConflict { .. }),
        "{error:?}"
    );
    assert!(error.is_permanent());
    assert_eq!(error.status(), Some(409));
}

#[tokio::test]
async fn a_used_up_daily_quota_is_retryable_after_midnight_utc() {
    let error = failing_with(ResponseTemplate::new(429).set_body_json(json!({
        "statusCode": 429, "name": "daily_quota_exceeded", "message": "You have reached your daily email sending quota."
    })))
    .await;
    assert!(error.is_retryable());
    let wait = error.retry_after().unwrap();
    assert!(
        wait > Duration::ZERO && wait <= Duration::from_secs(24 * 60 * 60),
        "{wait:?}"
    );
}

#[tokio::test]
async fn a_huge_retry_after_is_capped_at_an_hour() {
    let error = failing_with(
        ResponseTemplate::new(429)
            .insert_header("Retry-After", "86400000")
            .set_body_json(
                json!({"statusCode": 429, "name": "rate_limit_exceeded", "message": "slow down"}),
            ),
    )
    .await;
    assert_eq!(error.retry_after(), Some(Duration::from_secs(3600)));
}

/// A server answering `200 OK` with `head_rest` after the status line, then
/// holding the connection open without finishing the body.
async fn accepting_then_stalling(head_rest: &'static str) -> std::net::SocketAddr {
    use tokio::io::AsyncWriteExt;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buffer = vec![0u8; 64 * 1024];
        let _ = socket.read(&mut buffer).await;
        let _ = socket
            .write_all(format!("HTTP/1.1 200 OK\r\n{head_rest}").as_bytes())
            .await;
        tokio::time::sleep(Duration::from_secs(5)).await;
        drop(socket);
    });
    address
}

#[tokio::test]
async fn a_success_whose_body_never_arrives_is_not_retried() {
    let address = accepting_then_stalling(
        "content-type: application/json\r\ncontent-length: 100\r\n\r\n{\"id\":",
    )
    .await;
    let error = mailer(&format!("http://{address}"))
        .send(&sample_email(1))
        .await
        .unwrap_err();
    assert!(
        matches!(error, MailError::InvalidResponse { .. }),
        "{error:?}"
    );
    assert!(error.is_permanent());
}

#[tokio::test]
async fn a_success_with_an_unreadable_body_is_not_retried() {
    let error = failing_with(ResponseTemplate::new(200).set_body_string("<html>ok</html>")).await;
    assert!(
        matches!(error, MailError::InvalidResponse { .. }),
        "{error:?}"
    );
    assert!(error.is_permanent());
}

/// The size limit of a Resend answer (1 MiB).
const RESPONSE_LIMIT: usize = 1024 * 1024;

/// A Resend answer of `status` padded past the size limit.
fn oversize(status: u16, body: Value) -> ResponseTemplate {
    let mut body = body;
    body["padding"] = Value::String("x".repeat(RESPONSE_LIMIT));
    ResponseTemplate::new(status).set_body_json(body)
}

#[tokio::test]
async fn an_accepted_send_answered_past_the_size_limit_is_an_invalid_response_not_sent_again() {
    let error = failing_with(oversize(200, json!({"id": "msg_big"}))).await;
    assert!(
        matches!(error, MailError::InvalidResponse { .. }),
        "{error:?}"
    );
    assert!(!error.is_retryable(), "the message may have been accepted");
    let cause = std::error::Error::source(&error)
        .expect("a cause")
        .to_string();
    assert!(cause.starts_with("Resend (http://"), "{cause}");
    assert!(
        cause.ends_with("/emails) answered more than 1048576 bytes"),
        "{cause}"
    );
}

#[tokio::test]
async fn an_error_answer_past_the_size_limit_keeps_its_status_and_says_why_it_is_unread() {
    let error = failing_with(oversize(
        422,
        json!({"statusCode": 422, "name": "validation_error", "message": "invalid"}),
    ))
    .await;
    assert!(!error.is_retryable(), "{error:?}");
    assert!(
        matches!(
            &error,
            MailError::Rejected { status: Some(422), code: None, message, .. }
                if message.ends_with("answered more than 1048576 bytes")
        ),
        "{error:?}"
    );
    let error = failing_with(oversize(503, json!({"name": "internal_server_error"}))).await;
    assert!(error.is_retryable(), "{error:?}");
    assert_eq!(error.status(), Some(503));
}
