//! [`PreviewMailer`]: writes each message to a folder instead of sending it.

use std::{
    path::{Path, PathBuf},
    sync::atomic::{AtomicU64, Ordering},
};

use time::{OffsetDateTime, macros::format_description};

use crate::{
    config::{MailConfig, TransportKind},
    email::{Email, SendReceipt},
    error::{MailError, Result},
    mailer::Mailer,
    message::{self, SenderDefaults},
};

const TRANSPORT: TransportKind = TransportKind::Preview;

/// The development transport: every message becomes three files in the
/// preview folder — `.html`, `.txt` and a complete `.eml` (openable in any
/// mail client) — named `<UTC time>-<sequence>-<subject>`, and the path of
/// the `.eml` is logged and returned as the receipt id.
#[derive(Debug)]
pub struct PreviewMailer {
    dir: PathBuf,
    defaults: SenderDefaults,
    sequence: AtomicU64,
}

impl PreviewMailer {
    /// A preview transport writing to `preview_dir`.
    pub fn from_config(config: &MailConfig) -> Self {
        Self::new(
            &config.preview_dir,
            &config.from,
            config.reply_to.as_deref(),
        )
    }

    /// A preview transport writing to `dir` (created when missing), with
    /// `from` as the default sender.
    pub fn new(dir: impl Into<PathBuf>, from: &str, reply_to: Option<&str>) -> Self {
        Self {
            dir: dir.into(),
            defaults: SenderDefaults {
                from: from.to_owned(),
                reply_to: reply_to.map(str::to_owned),
            },
            sequence: AtomicU64::new(1),
        }
    }

    /// The folder the files go to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn stem(&self, email: &Email) -> String {
        let now = OffsetDateTime::now_utc();
        let stamp = now
            .format(format_description!(
                "[year][month][day]T[hour][minute][second].[subsecond digits:3]Z"
            ))
            .unwrap_or_default();
        let sequence = self.sequence.fetch_add(1, Ordering::Relaxed);
        format!("{stamp}-{sequence:04}-{}", slug(&email.subject))
    }
}

impl Mailer for PreviewMailer {
    async fn send(&self, email: &Email) -> Result<SendReceipt> {
        let message = message::build(email, &self.defaults)?;
        self.write_built(email, &message).await
    }

    /// Builds (and so checks) every message first: an invalid one fails the
    /// batch before anything is written.
    async fn send_batch(&self, emails: &[Email]) -> Result<Vec<SendReceipt>> {
        let messages = emails
            .iter()
            .map(|email| message::build(email, &self.defaults))
            .collect::<Result<Vec<_>>>()?;
        let mut receipts = Vec::with_capacity(emails.len());
        for (email, message) in emails.iter().zip(&messages) {
            receipts.push(self.write_built(email, message).await?);
        }
        Ok(receipts)
    }
}

impl PreviewMailer {
    async fn write_built(&self, email: &Email, message: &lettre::Message) -> Result<SendReceipt> {
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(|source| MailError::io("create", &self.dir, source))?;
        let stem = self.stem(email);
        if let Some(html) = &email.html {
            write(self.dir.join(format!("{stem}.html")), html.as_bytes()).await?;
        }
        if let Some(text) = &email.text {
            write(self.dir.join(format!("{stem}.txt")), text.as_bytes()).await?;
        }
        let eml = self.dir.join(format!("{stem}.eml"));
        write(eml.clone(), &message.formatted()).await?;
        tracing::info!(
            transport = "preview",
            path = %eml.display(),
            to = ?email.to,
            subject = %email.subject,
            "e-mail written to the preview folder"
        );
        Ok(SendReceipt::new(TRANSPORT, eml.display().to_string()))
    }
}

async fn write(path: PathBuf, contents: &[u8]) -> Result<()> {
    tokio::fs::write(&path, contents)
        .await
        .map_err(|source| MailError::io("write", path, source))
}

/// A file-name-safe, lowercase, at most 40-character form of a subject.
pub(crate) fn slug(subject: &str) -> String {
    let mut slug = String::new();
    for c in subject.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
        if slug.len() >= 40 {
            break;
        }
    }
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() {
        "email".to_owned()
    } else {
        slug.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::slug;

    #[test]
    fn slugs_keep_letters_and_digits_only() {
        assert_eq!(
            slug("Reminder: 'Ship v2' is due soon"),
            "reminder-ship-v2-is-due-soon"
        );
        assert_eq!(slug("¡¿!"), "email");
    }
}
