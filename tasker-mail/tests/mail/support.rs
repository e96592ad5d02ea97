//! Helpers shared by the test modules.

use mail_parser::{Message, MessageParser};
use tasker_mail::Email;

/// A message with both parts, a reply-to, tags and an idempotency key.
pub(crate) fn sample_email(n: usize) -> Email {
    Email::new(
        format!("User {n} <user{n}@example.com>"),
        format!("Subject {n}"),
    )
    .with_from("tasker <no-reply@tasker.example.com>")
    .with_reply_to("support@tasker.example.com")
    .with_html(format!("<p>Hello <b>{n}</b></p>"))
    .with_text(format!("Hello {n}"))
    .with_tag("kind", "test")
    .with_idempotency_key(format!("test/{n}"))
}

/// Parses raw RFC 5322 bytes, failing the test when they do not parse.
pub(crate) fn parse_eml(raw: &[u8]) -> Message<'_> {
    MessageParser::default()
        .parse(raw)
        .expect("the message parses as e-mail")
}
