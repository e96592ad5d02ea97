//! [`ResendMailer`]: Resend's HTTP API.

use std::{collections::BTreeMap, time::Duration};

use http_body_util::{BodyExt, LengthLimitError, Limited};
use reqwest::{StatusCode, header::HeaderMap};
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime, Time};

use crate::{
    config::{MailConfig, ResendConfig, TransportKind},
    email::{Email, SendReceipt, Tag},
    error::{BoxError, MailError, Result},
    mailer::Mailer,
    message::{self, SenderDefaults},
    secret::Secret,
};

/// The largest Resend answer read, in bytes. Its answers are small JSON
/// objects (an id per message, or an error); the limit keeps a broken or
/// hostile endpoint (a misconfigured `resend.base_url`) from making the
/// sender buffer an endless body.
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

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
            headers: email
                .headers
                .iter()
                .map(|(name, value)| (name.as_str(), value.as_str()))
                .collect(),
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
            // Resend has accepted the message: a failure from here on must
            // not lead to sending it again.
            let invalid = |source: BoxError| MailError::InvalidResponse {
                transport: TRANSPORT,
                source,
            };
            let body = read_body(response, url)
                .await
                .map_err(|source| invalid(source.into()))?;
            return serde_json::from_slice(body.as_ref()).map_err(|source| invalid(source.into()));
        }
        let retry_after = retry_after(response.headers(), OffsetDateTime::now_utc());
        // An unreadable error answer still has its status; the message then
        // says why the body is missing.
        let body = match read_body(response, url).await {
            Ok(body) => String::from_utf8_lossy(body.as_ref()).into_owned(),
            Err(error) => error.to_string(),
        };
        Err(classify(
            status,
            retry_after,
            &body,
            OffsetDateTime::now_utc(),
        ))
    }
}

impl Mailer for ResendMailer {
    async fn send(&self, email: &Email) -> Result<SendReceipt> {
        let payload = self.payload(email)?;
        let sent: Sent = self
            .post(&self.emails_url, &payload, email.idempotency_key.as_deref())
            .await?;
        tracing::info!(transport = "resend", id = %sent.id, subject = ?email.subject, "e-mail sent");
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
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    headers: BTreeMap<&'a str, &'a str>,
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

/// The longest wait taken from a `Retry-After` header.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60 * 60);

/// Reads `Retry-After` given in seconds (what Resend sends) or as an HTTP
/// date, at most [`MAX_RETRY_AFTER`].
fn retry_after(headers: &HeaderMap, now: OffsetDateTime) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    let wait = if let Ok(seconds) = value.parse::<u64>() {
        Duration::from_secs(seconds)
    } else {
        let at =
            OffsetDateTime::parse(value, &time::format_description::well_known::Rfc2822).ok()?;
        Duration::try_from(at - now).unwrap_or(Duration::ZERO)
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

/// Which sending quota a 429 says is used up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quota {
    Daily,
    Monthly,
}

/// How long until `quota` resets: the next midnight UTC, or the first of
/// next month UTC.
fn until_reset(quota: Quota, now: OffsetDateTime) -> Duration {
    let now = now.to_offset(time::UtcOffset::UTC);
    let today = now.date();
    let reset_day = match quota {
        Quota::Daily => today.next_day(),
        Quota::Monthly => {
            let (year, month) = match today.month() {
                time::Month::December => (today.year() + 1, time::Month::January),
                month => (today.year(), month.next()),
            };
            Date::from_calendar_date(year, month, 1).ok()
        }
    };
    reset_day
        .map(|day| day.with_time(Time::MIDNIGHT).assume_utc() - now)
        .and_then(|wait| Duration::try_from(wait).ok())
        .unwrap_or(MAX_RETRY_AFTER)
}

/// Sorts an error answer into permanent and retryable.
fn classify(
    status: StatusCode,
    retry_after: Option<Duration>,
    body: &str,
    now: OffsetDateTime,
) -> MailError {
    let parsed: ErrorBody = serde_json::from_str(body).unwrap_or_default();
    let message = parsed
        .message
        .clone()
        .unwrap_or_else(|| body.chars().take(500).collect());
    let code = parsed.name;
    let concurrent = code.as_deref() == Some("concurrent_idempotent_requests");
    if status == StatusCode::TOO_MANY_REQUESTS {
        let quota = match code.as_deref() {
            Some("daily_quota_exceeded") => Some(Quota::Daily),
            Some("monthly_quota_exceeded") => Some(Quota::Monthly),
            _ => None,
        };
        MailError::RateLimited {
            transport: TRANSPORT,
            retry_after: retry_after.or_else(|| quota.map(|quota| until_reset(quota, now))),
            message,
        }
    } else if status == StatusCode::CONFLICT
        && code.as_deref() == Some("invalid_idempotent_request")
    {
        MailError::IdempotencyConflict {
            transport: TRANSPORT,
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

/// Why an answer of Resend (from the URL held) could not be read to its end.
#[derive(Debug, thiserror::Error)]
enum ReadError {
    #[error("Resend ({0}) answered more than {MAX_RESPONSE_BYTES} bytes")]
    TooLarge(String),
    #[error("reading the answer of Resend ({0}) failed")]
    Body(String, #[source] BoxError),
}

/// The body of Resend's answer from `url`, at most [`MAX_RESPONSE_BYTES`].
async fn read_body(response: reqwest::Response, url: &str) -> Result<impl AsRef<[u8]>, ReadError> {
    let collected = Limited::new(reqwest::Body::from(response), MAX_RESPONSE_BYTES)
        .collect()
        .await
        .map_err(|error| {
            if error.is::<LengthLimitError>() {
                ReadError::TooLarge(url.to_owned())
            } else {
                ReadError::Body(url.to_owned(), error)
            }
        })?;
    Ok(collected.to_bytes())
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

    fn retry_after_header(value: &str) -> Option<Duration> {
        let mut headers = HeaderMap::new();
        headers.insert(reqwest::header::RETRY_AFTER, value.parse().unwrap());
        retry_after(&headers, OffsetDateTime::now_utc())
    }

    #[test]
    fn retry_after_reads_seconds_up_to_an_hour() {
        assert_eq!(retry_after_header("7"), Some(Duration::from_secs(7)));
        assert_eq!(retry_after_header("99999999999"), Some(MAX_RETRY_AFTER));
    }

    #[test]
    fn retry_after_reads_http_dates_up_to_an_hour() {
        assert_eq!(
            retry_after_header("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO),
            "a past date means now"
        );
        assert_eq!(retry_after_header("soon"), None);

        let format = time::macros::format_description!(
            "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
        );
        let in_two_minutes = (OffsetDateTime::now_utc() + Duration::from_secs(120))
            .format(&format)
            .unwrap();
        let wait = retry_after_header(&in_two_minutes).unwrap();
        assert!(
            wait > Duration::from_secs(100) && wait <= Duration::from_secs(120),
            "{wait:?}"
        );
        assert_eq!(
            retry_after_header("Fri, 31 Dec 9999 23:59:59 GMT"),
            Some(MAX_RETRY_AFTER)
        );
    }

    #[test]
    fn quotas_reset_at_midnight_and_on_the_first_of_the_month_utc() {
        use time::macros::datetime;
        let now = datetime!(2025-12-31 22:30 UTC);
        assert_eq!(until_reset(Quota::Daily, now), Duration::from_secs(90 * 60));
        assert_eq!(
            until_reset(Quota::Monthly, now),
            Duration::from_secs(90 * 60)
        );
        let now = datetime!(2025-11-25 23:00 +02:00);
        assert_eq!(
            until_reset(Quota::Daily, now),
            Duration::from_secs(3 * 60 * 60)
        );
        assert_eq!(
            until_reset(Quota::Monthly, now),
            Duration::from_secs((5 * 24 + 3) * 60 * 60)
        );
    }

    #[test]
    fn a_used_up_quota_waits_for_its_reset_unless_told_otherwise() {
        use time::macros::datetime;
        let now = datetime!(2025-11-25 12:00 UTC);
        let daily = r#"{"statusCode":429,"name":"daily_quota_exceeded","message":"quota"}"#;
        let monthly = r#"{"statusCode":429,"name":"monthly_quota_exceeded","message":"quota"}"#;
        let error = classify(StatusCode::TOO_MANY_REQUESTS, None, daily, now);
        assert!(error.is_retryable());
        assert_eq!(error.retry_after(), Some(Duration::from_secs(12 * 60 * 60)));
        let error = classify(StatusCode::TOO_MANY_REQUESTS, None, monthly, now);
        assert_eq!(
            error.retry_after(),
            Some(Duration::from_secs((5 * 24 + 12) * 60 * 60))
        );
        let told = Some(Duration::from_secs(30));
        let error = classify(StatusCode::TOO_MANY_REQUESTS, told, daily, now);
        assert_eq!(error.retry_after(), told);
        let plain = r#"{"statusCode":429,"name":"rate_limit_exceeded","message":"slow"}"#;
        let error = classify(StatusCode::TOO_MANY_REQUESTS, None, plain, now);
        assert_eq!(error.retry_after(), None);
    }
}
