#![doc = include_str!("../README.md")]

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
