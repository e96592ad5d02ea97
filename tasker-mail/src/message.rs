//! Checking an [`Email`] and turning it into a MIME message (for SMTP and the preview).

use lettre::{
    Message,
    message::{
        Mailbox, MultiPart, SinglePart,
        header::{HeaderName, HeaderValue},
    },
};

use crate::{
    email::Email,
    error::{MailError, Result},
};

/// The sender and reply-to used when a message names none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SenderDefaults {
    pub(crate) from: String,
    pub(crate) reply_to: Option<String>,
}

impl SenderDefaults {
    /// The message's sender, or the default one.
    pub(crate) fn sender_of<'a>(&'a self, email: &'a Email) -> &'a str {
        email.from.as_deref().unwrap_or(&self.from)
    }

    /// The message's reply-to, or the default one.
    pub(crate) fn reply_to_of<'a>(&'a self, email: &'a Email) -> Option<&'a str> {
        email.reply_to.as_deref().or(self.reply_to.as_deref())
    }
}

/// Parses one address (`a@b.c` or `Name <a@b.c>`).
pub(crate) fn mailbox(address: &str) -> Result<Mailbox> {
    address
        .parse::<Mailbox>()
        .map_err(|source| MailError::InvalidAddress {
            address: address.to_owned(),
            source: source.into(),
        })
}

/// The longest tag name or value, and the longest idempotency key.
pub(crate) const MAX_TAG_LEN: usize = 256;
/// The longest idempotency key.
pub(crate) const MAX_IDEMPOTENCY_KEY_LEN: usize = 256;

/// Checks a tag name or value: 1 to 256 ASCII letters, digits, `_` or `-`
/// (what Resend accepts; the same rule keeps the SMTP header clean).
fn check_tag_part(what: &str, text: &str) -> Result<()> {
    let valid = !text.is_empty()
        && text.len() <= MAX_TAG_LEN
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if valid {
        Ok(())
    } else {
        Err(MailError::invalid_message(format!(
            "tag {what} {:?} must be 1 to {MAX_TAG_LEN} ASCII letters, digits, '_' or '-'",
            text.chars().take(64).collect::<String>()
        )))
    }
}

/// Checks an idempotency key: 1 to 256 visible ASCII characters.
fn check_idempotency_key(key: &str) -> Result<()> {
    let valid = !key.is_empty()
        && key.len() <= MAX_IDEMPOTENCY_KEY_LEN
        && key.bytes().all(|b| b.is_ascii_graphic());
    if valid {
        Ok(())
    } else {
        Err(MailError::invalid_message(format!(
            "the idempotency key must be 1 to {MAX_IDEMPOTENCY_KEY_LEN} visible ASCII characters (no spaces)"
        )))
    }
}

/// Checks every message of a batch before any of them is sent.
pub(crate) fn check_all(emails: &[Email], defaults: &SenderDefaults) -> Result<()> {
    emails.iter().try_for_each(|email| check(email, defaults))
}

/// Checks what every transport needs: a recipient, a body, valid addresses,
/// tags and idempotency key.
pub(crate) fn check(email: &Email, defaults: &SenderDefaults) -> Result<()> {
    if email.to.is_empty() {
        return Err(MailError::invalid_message("no recipient"));
    }
    if email.html.is_none() && email.text.is_none() {
        return Err(MailError::invalid_message(
            "neither an HTML nor a text body",
        ));
    }
    mailbox(defaults.sender_of(email))?;
    if let Some(reply_to) = defaults.reply_to_of(email) {
        mailbox(reply_to)?;
    }
    for to in &email.to {
        mailbox(to)?;
    }
    for tag in &email.tags {
        check_tag_part("name", &tag.name)?;
        check_tag_part("value", &tag.value)?;
    }
    if let Some(key) = &email.idempotency_key {
        check_idempotency_key(key)?;
    }
    for (name, value) in &email.headers {
        check_header(name, value)?;
    }
    Ok(())
}

/// A header field name of 1–64 letters, digits and `-`, and a value of at
/// most 998 bytes without line breaks or other control characters.
fn check_header(name: &str, value: &str) -> Result<()> {
    let name_ok = (1..=64).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !name_ok {
        return Err(MailError::invalid_message(format!(
            "header name {name:?} is not 1-64 letters, digits and '-'"
        )));
    }
    if value.len() > 998 || value.chars().any(char::is_control) {
        return Err(MailError::invalid_message(format!(
            "header {name}: the value must be one line of at most 998 bytes"
        )));
    }
    Ok(())
}

/// Builds the MIME message: `multipart/alternative` (text, then HTML) when both
/// bodies are there, a single part otherwise.
pub(crate) fn build(email: &Email, defaults: &SenderDefaults) -> Result<Message> {
    check(email, defaults)?;
    let from = mailbox(defaults.sender_of(email))?;
    let message_id = email
        .idempotency_key
        .as_deref()
        .map(|key| idempotent_message_id(key, from.email.domain()));
    let mut builder = Message::builder()
        .from(from)
        .subject(email.subject.clone())
        .message_id(message_id);
    if let Some(reply_to) = defaults.reply_to_of(email) {
        builder = builder.reply_to(mailbox(reply_to)?);
    }
    for to in &email.to {
        builder = builder.to(mailbox(to)?);
    }
    if !email.tags.is_empty() {
        let tags = email
            .tags
            .iter()
            .map(|tag| format!("{}={}", tag.name, tag.value))
            .collect::<Vec<_>>()
            .join("; ");
        let name = HeaderName::new_from_ascii_str("X-Tasker-Tags");
        builder = builder.raw_header(HeaderValue::new(name, tags));
    }
    for (name, value) in &email.headers {
        let name = HeaderName::new_from_ascii(name.clone())
            .map_err(|_| MailError::invalid_message(format!("header name {name:?}")))?;
        builder = builder.raw_header(HeaderValue::new(name, value.clone()));
    }
    let built = match (&email.text, &email.html) {
        (Some(text), Some(html)) => builder.multipart(MultiPart::alternative_plain_html(
            text.clone(),
            html.clone(),
        )),
        (Some(text), None) => builder.singlepart(SinglePart::plain(text.clone())),
        (None, Some(html)) => builder.singlepart(SinglePart::html(html.clone())),
        (None, None) => {
            return Err(MailError::invalid_message(
                "neither an HTML nor a text body",
            ));
        }
    };
    built.map_err(|source| MailError::InvalidMessage {
        reason: format!("cannot build the message: {source}"),
    })
}

/// The `Message-ID` derived from an idempotency key: `<key@sender-domain>`,
/// every character of the key outside `[A-Za-z0-9_/+-]` written as `=XX`
/// (hexadecimal), so the same key always gives the same, valid id and
/// duplicates can be recognised downstream.
pub(crate) fn idempotent_message_id(key: &str, domain: &str) -> String {
    let mut id = String::with_capacity(key.len() + domain.len() + 3);
    id.push('<');
    for byte in key.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'/' | b'+' | b'-') {
            id.push(char::from(byte));
        } else {
            id.push_str(&format!("={byte:02X}"));
        }
    }
    id.push('@');
    id.push_str(domain);
    id.push('>');
    id
}

/// The `Message-ID` header of a built message, without angle brackets.
pub(crate) fn message_id(message: &Message) -> String {
    message
        .headers()
        .get_raw("Message-ID")
        .unwrap_or_default()
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> SenderDefaults {
        SenderDefaults {
            from: "tasker <no-reply@example.com>".to_owned(),
            reply_to: None,
        }
    }

    #[test]
    fn a_message_without_recipient_is_invalid() {
        let mut email = Email::new("a@example.com", "s").with_text("t");
        email.to.clear();
        assert!(matches!(
            build(&email, &defaults()),
            Err(MailError::InvalidMessage { .. })
        ));
    }

    #[test]
    fn addresses_with_line_breaks_are_invalid_and_never_panic() {
        for address in [
            "\"Ada\r\nBcc: x@evil\" <ada@example.com>",
            "Ada\r\n <ada@example.com>",
            "ada@example.com\r\nBcc: x@evil",
            "\"Ada\u{0}\" <ada@example.com>",
        ] {
            let to = Email::new(address, "s").with_text("t");
            assert!(
                matches!(
                    build(&to, &defaults()),
                    Err(MailError::InvalidAddress { .. })
                ),
                "{address:?}"
            );
            let from = Email::new("a@example.com", "s")
                .with_text("t")
                .with_from(address);
            assert!(
                matches!(
                    build(&from, &defaults()),
                    Err(MailError::InvalidAddress { .. })
                ),
                "{address:?}"
            );
        }
    }

    #[test]
    fn a_subject_with_line_breaks_stays_in_its_header() {
        let email = Email::new("a@example.com", "Hi\r\nBcc: x@evil").with_text("t");
        let formatted = build(&email, &defaults()).unwrap().formatted();
        let formatted = String::from_utf8_lossy(&formatted);
        assert!(!formatted.contains("\r\nBcc:"), "{formatted}");
    }

    #[test]
    fn a_malformed_address_is_a_permanent_invalid_address_error() {
        let email = Email::new("not an address", "s").with_text("t");
        let error = build(&email, &defaults()).unwrap_err();
        assert!(
            matches!(error, MailError::InvalidAddress { ref address, .. } if address == "not an address")
        );
        assert!(!error.is_retryable());
    }

    #[test]
    fn extra_headers_go_into_the_message_and_unsafe_ones_are_refused() {
        let base = || Email::new("a@example.com", "s").with_text("t");
        let email = base()
            .with_header("List-Unsubscribe", "<https://api.example.com/u/t>")
            .with_header("List-Unsubscribe-Post", "List-Unsubscribe=One-Click");
        let raw = String::from_utf8(build(&email, &defaults()).unwrap().formatted()).unwrap();
        assert!(
            raw.contains("List-Unsubscribe: <https://api.example.com/u/t>\r\n"),
            "{raw}"
        );
        assert!(
            raw.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"),
            "{raw}"
        );
        for (name, value) in [
            ("List-Unsubscribe", "<a>\r\nBcc: x@evil"),
            ("Bad Name", "x"),
            ("", "x"),
            ("X-Long", &"v".repeat(999)),
        ] {
            let email = base().with_header(name, value);
            assert!(
                matches!(
                    check(&email, &defaults()),
                    Err(MailError::InvalidMessage { .. })
                ),
                "{name:?}"
            );
        }
    }

    #[test]
    fn tags_outside_resend_rules_are_invalid() {
        let base = || Email::new("a@example.com", "s").with_text("t");
        for (name, value) in [
            ("kind", "due reminder"),
            ("kind", "a\r\nBcc: x@evil"),
            ("", "x"),
            ("kind", ""),
            ("k=ind", "x"),
            ("kind", "é"),
        ] {
            let email = base().with_tag(name, value);
            assert!(
                matches!(
                    check(&email, &defaults()),
                    Err(MailError::InvalidMessage { .. })
                ),
                "{name:?}={value:?}"
            );
        }
        let long = "a".repeat(257);
        assert!(check(&base().with_tag(&long, "x"), &defaults()).is_err());
        assert!(check(&base().with_tag("x", &long), &defaults()).is_err());
        let longest = "a".repeat(256);
        assert!(check(&base().with_tag(&longest, &longest), &defaults()).is_ok());
        assert!(check(&base().with_tag("due_reminder-2", "A_b-9"), &defaults()).is_ok());
    }

    #[test]
    fn idempotency_keys_must_be_visible_ascii_up_to_256() {
        let base = || Email::new("a@example.com", "s").with_text("t");
        for key in ["", "has space", "line\nbreak", "clé", &"k".repeat(257)] {
            let error = check(&base().with_idempotency_key(key), &defaults()).unwrap_err();
            assert!(matches!(error, MailError::InvalidMessage { .. }), "{key:?}");
            assert!(error.is_permanent());
        }
        for key in ["due_reminder/user_1/2025-11-25", &"k".repeat(256)] {
            assert!(check(&base().with_idempotency_key(key), &defaults()).is_ok());
        }
    }

    #[test]
    fn the_message_id_comes_from_the_idempotency_key_when_there_is_one() {
        assert_eq!(
            idempotent_message_id("due_reminder/user_1/2025-11-25", "example.com"),
            "<due_reminder/user_1/2025-11-25@example.com>"
        );
        assert_eq!(
            idempotent_message_id("a.b@c=<d>", "example.com"),
            "<a=2Eb=40c=3D=3Cd=3E@example.com>"
        );
        let email = Email::new("a@example.com", "s")
            .with_text("t")
            .with_idempotency_key("welcome/user_2abc");
        let message = build(&email, &defaults()).unwrap();
        assert_eq!(message_id(&message), "welcome/user_2abc@example.com");
        let again = build(&email, &defaults()).unwrap();
        assert_eq!(message_id(&again), message_id(&message));
    }

    #[test]
    fn the_message_id_is_generated_and_read_back() {
        let email = Email::new("a@example.com", "s").with_text("t");
        let message = build(&email, &defaults()).unwrap();
        assert!(message_id(&message).contains('@'));
    }
}
