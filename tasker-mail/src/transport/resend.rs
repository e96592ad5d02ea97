//! [`ResendMailer`]: Resend's HTTP API.

use std::time::Duration;

use reqwest::{StatusCode, header::HeaderMap};
use serde::{Deserialize, Serialize};

use crate::{
    config::{MailConfig, ResendConfig, TransportKind},
    email::{Email, SendReceipt, Tag},
    error::{MailError, Result},
    mailer::Mailer,
    message::{self, SenderDefaults},
    secret::Secret,
};

/// The most messages Resend takes in one batch call.
pub const RESEND_BATCH_LIMIT: usize = 100;

const TRANSPORT: TransportKind = TransportKind::Resend;

/// Sends through Resend's HTTP API (`POST /emails`, `POST /emails/batch`).
///
/// A message's idempotency key goes out as the `Idempotency-Key` header. A
/// batch is split into calls of at most [`RESEND_BATCH_LIMIT`] messages; when
/// every message of a call has a key, the call gets a key derived from them,
/// so a retried batch does not send twice.
#[derive(Debug, Clone)]
pub struct ResendMailer {
    client: reqwest::Client,
    api_key: Secret,
    emails_url: String,
    batch_url: String,
    defaults: SenderDefaults,
}

impl ResendMailer {
    /// A Resend transport from the mail configuration.
    ///
    /// # Errors
    /// [`MailError::Config`] when `resend.api_key` is missing or the HTTP
    /// client cannot be built.
    pub fn from_config(config: &MailConfig) -> Result<Self> {
        Self::new(&config.resend, &config.from, config.reply_to.as_deref())
    }

    /// A Resend transport sending as `from` unless a message says otherwise.
    ///
    /// # Errors
    /// [`MailError::Config`] when the API key is missing or the HTTP client
    /// cannot be built.
    pub fn new(config: &ResendConfig, from: &str, reply_to: Option<&str>) -> Result<Self> {
        let api_key = config
            .api_key
            .clone()
            .filter(|key| !key.expose().is_empty())
            .ok_or_else(|| {
                MailError::config("resend.api_key is required for the resend transport")
            })?;
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .user_agent(concat!("tasker-mail/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|source| MailError::Config {
                reason: "cannot build the HTTP client".to_owned(),
                source: Some(source.into()),
            })?;
        let base = config.base_url.trim_end_matches('/');
        Ok(Self {
            client,
            api_key,
            emails_url: format!("{base}/emails"),
            batch_url: format!("{base}/emails/batch"),
            defaults: SenderDefaults {
                from: from.to_owned(),
                reply_to: reply_to.map(str::to_owned),
            },
        })
    }

    fn payload<'a>(&'a self, email: &'a Email) -> Result<Payload<'a>> {
        message::check(email, &self.defaults)?;
        Ok(Payload {
            from: self.defaults.sender_of(email),
            to: &email.to,
            subject: &email.subject,
            html: email.html.as_deref(),
            text: email.text.as_deref(),
            reply_to: self.defaults.reply_to_of(email),
            tags: &email.tags,
        })
    }

    async fn post<B: Serialize + ?Sized, R: for<'de> Deserialize<'de>>(
        &self,
        url: &str,
        body: &B,
        idempotency_key: Option<&str>,
    ) -> Result<R> {
        let mut request = self
            .client
            .post(url)
            .bearer_auth(self.api_key.expose())
            .json(body);
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        let response = request.send().await.map_err(transport_error)?;
        let status = response.status();
        if status.is_success() {
            return response.json::<R>().await.map_err(|source| {
                if source.is_timeout() {
                    MailError::Timeout {
                        transport: TRANSPORT,
                        source: source.into(),
                    }
                } else {
                    MailError::InvalidResponse {
                        transport: TRANSPORT,
                        source: source.into(),
                    }
                }
            });
        }
        let retry_after = retry_after(response.headers());
        let body = response.text().await.unwrap_or_default();
        Err(classify(status, retry_after, &body))
    }
}

impl Mailer for ResendMailer {
    async fn send(&self, email: &Email) -> Result<SendReceipt> {
        let payload = self.payload(email)?;
        let sent: Sent = self
            .post(&self.emails_url, &payload, email.idempotency_key.as_deref())
            .await?;
        tracing::info!(transport = "resend", id = %sent.id, subject = %email.subject, "e-mail sent");
        Ok(SendReceipt::new(TRANSPORT, sent.id))
    }

    async fn send_batch(&self, emails: &[Email]) -> Result<Vec<SendReceipt>> {
        message::check_all(emails, &self.defaults)?;
        let mut receipts = Vec::with_capacity(emails.len());
        for chunk in emails.chunks(RESEND_BATCH_LIMIT) {
            let payloads = chunk
                .iter()
                .map(|email| self.payload(email))
                .collect::<Result<Vec<_>>>()?;
            let key = batch_idempotency_key(chunk);
            let sent: BatchSent = self
                .post(&self.batch_url, &payloads, key.as_deref())
                .await?;
            if sent.data.len() != chunk.len() {
                return Err(MailError::InvalidResponse {
                    transport: TRANSPORT,
                    source: format!(
                        "batch of {} messages answered with {} ids",
                        chunk.len(),
                        sent.data.len()
                    )
                    .into(),
                });
            }
            tracing::info!(
                transport = "resend",
                count = chunk.len(),
                "e-mail batch sent"
            );
            receipts.extend(
                sent.data
                    .into_iter()
                    .map(|s| SendReceipt::new(TRANSPORT, s.id)),
            );
        }
        Ok(receipts)
    }
}

/// The JSON body of one message.
#[derive(Debug, Serialize)]
struct Payload<'a> {
    from: &'a str,
    to: &'a [String],
    subject: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    html: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reply_to: Option<&'a str>,
    #[serde(skip_serializing_if = "<[Tag]>::is_empty")]
    tags: &'a [Tag],
}

#[derive(Debug, Deserialize)]
struct Sent {
    id: String,
}

#[derive(Debug, Deserialize)]
struct BatchSent {
    data: Vec<Sent>,
}

/// Resend's error body: `{"statusCode": 422, "name": "validation_error", "message": "…"}`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ErrorBody {
    name: Option<String>,
    message: Option<String>,
}

/// The idempotency key of one batch call: derived from the keys of its
/// messages when all have one (FNV-1a, 64 bits, over the keys in order).
fn batch_idempotency_key(chunk: &[Email]) -> Option<String> {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for email in chunk {
        let key = email.idempotency_key.as_deref()?;
        for byte in key.bytes().chain([0xff]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    Some(format!("batch-{}-{hash:016x}", chunk.len()))
}

/// Reads `Retry-After` given in seconds (what Resend sends) or as an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at =
        time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc2822).ok()?;
    let wait = at - time::OffsetDateTime::now_utc();
    Some(Duration::try_from(wait).unwrap_or(Duration::ZERO))
}

/// Sorts an error answer into permanent and retryable.
fn classify(status: StatusCode, retry_after: Option<Duration>, body: &str) -> MailError {
    let parsed: ErrorBody = serde_json::from_str(body).unwrap_or_default();
    let message = parsed
        .message
        .clone()
        .unwrap_or_else(|| body.chars().take(500).collect());
    let code = parsed.name;
    let concurrent = code.as_deref() == Some("concurrent_idempotent_requests");
    if status == StatusCode::TOO_MANY_REQUESTS {
        MailError::RateLimited {
            transport: TRANSPORT,
            retry_after,
            message,
        }
    } else if status.is_server_error() || status == StatusCode::REQUEST_TIMEOUT || concurrent {
        MailError::Unavailable {
            transport: TRANSPORT,
            status: Some(status.as_u16()),
            retry_after,
            message,
        }
    } else {
        MailError::Rejected {
            transport: TRANSPORT,
            status: Some(status.as_u16()),
            code,
            message,
        }
    }
}

/// Sorts a failure to get an answer: all are retryable.
fn transport_error(source: reqwest::Error) -> MailError {
    if source.is_timeout() {
        MailError::Timeout {
            transport: TRANSPORT,
            source: source.into(),
        }
    } else if source.is_builder() {
        MailError::Config {
            reason: "invalid resend.base_url".to_owned(),
            source: Some(source.into()),
        }
    } else {
        MailError::Connection {
            transport: TRANSPORT,
            source: source.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_key_exists_only_when_every_message_has_one() {
        let keyed = |k: &str| Email::new("a@example.com", "s").with_idempotency_key(k);
        assert!(batch_idempotency_key(&[keyed("a"), Email::new("a@example.com", "s")]).is_none());
        let first = batch_idempotency_key(&[keyed("a"), keyed("b")]).unwrap();
        assert_eq!(
            first,
            batch_idempotency_key(&[keyed("a"), keyed("b")]).unwrap()
        );
        assert_ne!(first, batch_idempotency_key(&[keyed("ab")]).unwrap());
        assert_ne!(
            first,
            batch_idempotency_key(&[keyed("b"), keyed("a")]).unwrap()
        );
    }

    #[test]
    fn retry_after_reads_seconds() {
        let mut headers = HeaderMap::new();
        headers.insert(reqwest::header::RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
    }

    #[test]
    fn retry_after_reads_http_dates() {
        let mut headers = HeaderMap::new();
        headers.insert(
            reqwest::header::RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(
            retry_after(&headers),
            Some(Duration::ZERO),
            "a past date means now"
        );
        headers.insert(reqwest::header::RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&headers), None);
    }
}
