//! [`AnyMailer`]: the transport picked by configuration at run time.

use crate::{
    config::{MailConfig, TransportKind},
    email::{Email, SendReceipt},
    error::Result,
    mailer::Mailer,
    transport::{PreviewMailer, ResendMailer, SmtpMailer},
};

/// One of the transports, chosen by [`MailConfig::transport`].
#[derive(Debug)]
#[non_exhaustive]
pub enum AnyMailer {
    /// Resend's HTTP API.
    Resend(ResendMailer),
    /// An SMTP server.
    Smtp(SmtpMailer),
    /// Files in the preview folder.
    Preview(PreviewMailer),
}

impl AnyMailer {
    /// Builds the configured transport.
    ///
    /// # Errors
    /// [`MailError::Config`](crate::MailError::Config) when the chosen
    /// transport's settings are incomplete (e.g. no Resend API key).
    pub fn from_config(config: &MailConfig) -> Result<Self> {
        let mailer = match config.transport {
            TransportKind::Resend => Self::Resend(ResendMailer::from_config(config)?),
            TransportKind::Smtp => Self::Smtp(SmtpMailer::from_config(config)?),
            TransportKind::Preview => Self::Preview(PreviewMailer::from_config(config)),
        };
        tracing::info!(transport = %mailer.kind(), "mail transport ready");
        Ok(mailer)
    }

    /// Which transport this is.
    pub fn kind(&self) -> TransportKind {
        match self {
            Self::Resend(_) => TransportKind::Resend,
            Self::Smtp(_) => TransportKind::Smtp,
            Self::Preview(_) => TransportKind::Preview,
        }
    }
}

impl Mailer for AnyMailer {
    async fn send(&self, email: &Email) -> Result<SendReceipt> {
        match self {
            Self::Resend(mailer) => mailer.send(email).await,
            Self::Smtp(mailer) => mailer.send(email).await,
            Self::Preview(mailer) => mailer.send(email).await,
        }
    }

    async fn send_batch(&self, emails: &[Email]) -> Result<Vec<SendReceipt>> {
        match self {
            Self::Resend(mailer) => mailer.send_batch(emails).await,
            Self::Smtp(mailer) => mailer.send_batch(emails).await,
            Self::Preview(mailer) => mailer.send_batch(emails).await,
        }
    }
}
