//! Transactional e-mail for **tasker**: templates, and transports to send them.
//!
//! - [`Templates`] renders the welcome e-mail, due-date reminders, overdue
//!   notices and the weekly report (HTML and plain text) from the files in
//!   `templates/emails`, with built-in copies as the fallback.
//! - [`Mailer`] sends an [`Email`]: [`ResendMailer`] (Resend's HTTP API),
//!   [`SmtpMailer`] (any SMTP server) or [`PreviewMailer`] (files in a folder,
//!   the development default); [`AnyMailer`] picks one from a [`MailConfig`].
//! - [`MailError::is_retryable`] tells failures worth retrying (rate limits,
//!   outages, timeouts) from permanent ones (bad address, refusal).
//! - [`preview`] renders every e-mail with sample data.
//!
//! ```no_run
//! use tasker_mail::{AnyMailer, Email, MailConfig, Mailer, Recipient, Templates, Welcome};
//!
//! # async fn run() -> Result<(), tasker_mail::MailError> {
//! let config = MailConfig::default(); // preview: files under ./data/mail-preview
//! let templates = Templates::from_config(&config)?;
//! let mailer = AnyMailer::from_config(&config)?;
//!
//! let recipient = Recipient::new("ada@example.com").with_name("Ada");
//! let rendered = templates.render_welcome(&Welcome { recipient: recipient.clone() })?;
//! let email = Email::rendered(recipient.mailbox(), rendered)
//!     .with_tag("kind", "welcome")
//!     .with_idempotency_key("welcome/user_2abc");
//! match mailer.send(&email).await {
//!     Ok(receipt) => println!("sent as {}", receipt.id),
//!     Err(error) if error.is_retryable() => { /* try again after error.retry_after() */ }
//!     Err(error) => return Err(error),
//! }
//! # Ok(())
//! # }
//! ```

mod config;
mod content;
mod email;
mod error;
mod local_time;
mod mailer;
mod message;
pub mod preview;
mod secret;
mod templates;
mod text;
pub mod transport;

pub use config::{MailConfig, ResendConfig, SmtpConfig, SmtpSecurity, TransportKind};
pub use content::{
    DueReminder, OverdueNotice, Priority, Recipient, TodoLine, WeeklyReport, Welcome,
};
pub use email::{Email, SendReceipt, Tag};
pub use error::{BoxError, MailError, Result};
pub use mailer::{BoxFuture, DynMailer, Mailer};
pub use secret::Secret;
pub use templates::{MAX_DIGEST_TODOS, RenderedEmail, TemplateKind, Templates};
pub use transport::{AnyMailer, PreviewMailer, RESEND_BATCH_LIMIT, ResendMailer, SmtpMailer};
