//! [`Email`], the message every transport sends, and [`SendReceipt`].

use serde::{Deserialize, Serialize};

use crate::{config::TransportKind, templates::RenderedEmail};

/// One message to send.
///
/// Addresses are written as `user@example.com` or `Name <user@example.com>`.
/// `from` and `reply_to` may be left out; the transport then uses the
/// configured defaults. At least one of `html` and `text` is required.
///
/// ```
/// use tasker_mail::Email;
///
/// let email = Email::new("Ada <ada@example.com>", "Hello")
///     .with_text("Hi Ada")
///     .with_html("<p>Hi Ada</p>")
///     .with_tag("kind", "welcome")
///     .with_idempotency_key("welcome/user_2abc");
/// assert_eq!(email.to, ["Ada <ada@example.com>"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Email {
    /// The sender; the configured `from` when unset.
    pub from: Option<String>,
    /// The recipients (at least one).
    pub to: Vec<String>,
    /// Where replies go; the configured `reply_to` when unset.
    pub reply_to: Option<String>,
    /// The subject line.
    pub subject: String,
    /// The HTML body.
    pub html: Option<String>,
    /// The plain-text body.
    pub text: Option<String>,
    /// Labels for the provider's analytics (Resend tags; an `X-Tasker-Tags` header over SMTP).
    pub tags: Vec<Tag>,
    /// A key that makes a repeated send of the same message a no-op at
    /// Resend (its `Idempotency-Key`, kept for 24 hours): 1 to 256 visible
    /// ASCII characters. SMTP and the preview do not deduplicate; SMTP uses
    /// it for the `Message-ID`. A key must name one exact piece of content,
    /// rendered once (see [`Mailer`](crate::Mailer)).
    pub idempotency_key: Option<String>,
    /// Extra header fields, such as `List-Unsubscribe`: a name of 1–64
    /// letters, digits and `-`, and a value on one line.
    pub headers: Vec<(String, String)>,
}

impl Email {
    /// A message to one recipient with a subject and no body yet.
    pub fn new(to: impl Into<String>, subject: impl Into<String>) -> Self {
        Self {
            to: vec![to.into()],
            subject: subject.into(),
            ..Self::default()
        }
    }

    /// A message to one recipient carrying a rendered template.
    pub fn rendered(to: impl Into<String>, rendered: RenderedEmail) -> Self {
        let RenderedEmail {
            subject,
            html,
            text,
        } = rendered;
        Self {
            to: vec![to.into()],
            subject,
            html: Some(html),
            text: Some(text),
            ..Self::default()
        }
    }

    /// Adds a recipient.
    #[must_use]
    pub fn with_to(mut self, to: impl Into<String>) -> Self {
        self.to.push(to.into());
        self
    }

    /// Sets the sender.
    #[must_use]
    pub fn with_from(mut self, from: impl Into<String>) -> Self {
        self.from = Some(from.into());
        self
    }

    /// Sets the reply-to address.
    #[must_use]
    pub fn with_reply_to(mut self, reply_to: impl Into<String>) -> Self {
        self.reply_to = Some(reply_to.into());
        self
    }

    /// Sets the HTML body.
    #[must_use]
    pub fn with_html(mut self, html: impl Into<String>) -> Self {
        self.html = Some(html.into());
        self
    }

    /// Sets the plain-text body.
    #[must_use]
    pub fn with_text(mut self, text: impl Into<String>) -> Self {
        self.text = Some(text.into());
        self
    }

    /// Adds a header field.
    #[must_use]
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Adds a tag.
    #[must_use]
    pub fn with_tag(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags.push(Tag::new(name, value));
        self
    }

    /// Sets the idempotency key.
    #[must_use]
    pub fn with_idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }
}

/// A label attached to a message, e.g. `kind = due_reminder`.
///
/// Names and values are 1 to 256 ASCII letters, digits, `_` or `-` (Resend's
/// rule); every transport refuses a message with another tag as
/// [`MailError::InvalidMessage`](crate::MailError::InvalidMessage) before
/// sending anything.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Tag {
    /// The tag's name.
    pub name: String,
    /// The tag's value.
    pub value: String,
}

impl Tag {
    /// A tag.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
        }
    }
}

/// Proof that a transport accepted a message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SendReceipt {
    /// The transport that took the message.
    pub transport: TransportKind,
    /// Its id there: Resend's message id, the SMTP `Message-ID`, or the
    /// path of the preview's `.eml` file.
    pub id: String,
}

impl SendReceipt {
    /// A receipt.
    pub fn new(transport: TransportKind, id: impl Into<String>) -> Self {
        Self {
            transport,
            id: id.into(),
        }
    }
}
