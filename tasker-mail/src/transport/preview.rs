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

/// Collisions resolved by this process, to tell the retried names apart.
static COLLISIONS: AtomicU64 = AtomicU64::new(1);

/// How many names are tried for one message before giving up.
const MAX_NAME_ATTEMPTS: u32 = 100;

/// The development transport: every message becomes three files in the
/// preview folder — `.html`, `.txt` and a complete `.eml` (openable in any
/// mail client) — named `<UTC time>-<sequence>-<subject>`, and the path of
/// the `.eml` is logged and returned as the receipt id.
///
/// Files are created, never overwritten: when another mailer (in this
/// process or another) already took the name, the process id and a counter
/// are added (`<UTC time>-<sequence>-<pid>-<n>-<subject>`).
#[derive(Debug)]
pub struct PreviewMailer {
    dir: PathBuf,
    defaults: SenderDefaults,
    sequence: AtomicU64,
    clock: fn() -> OffsetDateTime,
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
            clock: OffsetDateTime::now_utc,
        }
    }

    /// The folder the files go to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The time and sequence part of a file name.
    fn prefix(&self) -> String {
        let stamp = (self.clock)()
            .format(format_description!(
                "[year][month][day]T[hour][minute][second].[subsecond digits:3]Z"
            ))
            .unwrap_or_default();
        let sequence = self.sequence.fetch_add(1, Ordering::Relaxed);
        format!("{stamp}-{sequence:04}")
    }

    /// Creates the `.eml` file under a name no one has taken, and returns
    /// the name without extension.
    async fn claim(&self, email: &Email) -> Result<String> {
        let prefix = self.prefix();
        let slug = slug(&email.subject);
        let mut stem = format!("{prefix}-{slug}");
        let mut attempts = 0;
        loop {
            let path = self.dir.join(format!("{stem}.eml"));
            match create_new(&path).await {
                Ok(()) => return Ok(stem),
                Err(error)
                    if error.kind() == std::io::ErrorKind::AlreadyExists
                        && attempts < MAX_NAME_ATTEMPTS =>
                {
                    attempts += 1;
                    let n = COLLISIONS.fetch_add(1, Ordering::Relaxed);
                    stem = format!("{prefix}-{}-{n}-{slug}", std::process::id());
                }
                Err(error) => return Err(MailError::io("create", path, error)),
            }
        }
    }
}

/// Creates an empty file, failing when it exists.
async fn create_new(path: &Path) -> std::io::Result<()> {
    tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .await
        .map(drop)
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
        let stem = self.claim(email).await?;
        if let Some(html) = &email.html {
            write_new(self.dir.join(format!("{stem}.html")), html.as_bytes()).await?;
        }
        if let Some(text) = &email.text {
            write_new(self.dir.join(format!("{stem}.txt")), text.as_bytes()).await?;
        }
        let eml = self.dir.join(format!("{stem}.eml"));
        write(eml.clone(), &message.formatted()).await?;
        tracing::info!(
            transport = "preview",
            path = %eml.display(),
            to = ?email.to,
            subject = ?email.subject,
            "e-mail written to the preview folder"
        );
        Ok(SendReceipt::new(TRANSPORT, eml.display().to_string()))
    }
}

/// Writes a file that must not exist yet.
async fn write_new(path: PathBuf, contents: &[u8]) -> Result<()> {
    create_new(&path)
        .await
        .map_err(|source| MailError::io("create", &path, source))?;
    write(path, contents).await
}

/// Writes a file (the `.eml` claimed by [`PreviewMailer::claim`]).
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
    use super::*;

    fn frozen() -> OffsetDateTime {
        time::macros::datetime!(2025-11-23 08:00 UTC)
    }

    #[tokio::test]
    async fn two_mailers_in_the_same_millisecond_do_not_overwrite_each_other() {
        let dir = tempfile::tempdir().unwrap();
        let mut first = PreviewMailer::new(dir.path(), "tasker <no-reply@localhost>", None);
        let mut second = PreviewMailer::new(dir.path(), "tasker <no-reply@localhost>", None);
        first.clock = frozen;
        second.clock = frozen;
        let email = |body: &str| {
            Email::new("ada@example.com", "Same subject")
                .with_text(body)
                .with_html(format!("<p>{body}</p>"))
        };

        let a = first.send(&email("first")).await.unwrap();
        let b = second.send(&email("second")).await.unwrap();

        assert_ne!(a.id, b.id);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 6);
        let text = |id: &str| std::fs::read_to_string(Path::new(id).with_extension("txt")).unwrap();
        assert_eq!(text(&a.id), "first");
        assert_eq!(text(&b.id), "second");
        assert!(
            b.id.contains(&format!("-{}-", std::process::id())),
            "{}",
            b.id
        );
        assert!(b.id.ends_with("-same-subject.eml"), "{}", b.id);
    }

    #[test]
    fn slugs_keep_letters_and_digits_only() {
        assert_eq!(
            slug("Reminder: 'Ship v2' is due soon"),
            "reminder-ship-v2-is-due-soon"
        );
        assert_eq!(slug("¡¿!"), "email");
    }
}
