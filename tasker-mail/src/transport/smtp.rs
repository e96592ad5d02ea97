//! [`SmtpMailer`]: any SMTP server, for self-hosters.

use lettre::{
    AsyncSmtpTransport, AsyncTransport, Tokio1Executor,
    transport::smtp::{authentication::Credentials, client::Tls},
};

use crate::{
    config::{MailConfig, SmtpConfig, SmtpSecurity, TransportKind},
    email::{Email, SendReceipt},
    error::{MailError, Result},
    mailer::Mailer,
    message::{self, SenderDefaults},
};

const TRANSPORT: TransportKind = TransportKind::Smtp;

/// Sends over SMTP with STARTTLS, implicit TLS or (for local relays) no
/// encryption, logging in when a user name is configured.
///
/// A batch is sent one message after the other.
#[derive(Debug, Clone)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    defaults: SenderDefaults,
}

impl SmtpMailer {
    /// An SMTP transport from the mail configuration.
    ///
    /// # Errors
    /// [`MailError::Config`] when the TLS settings cannot be built for the host.
    pub fn from_config(config: &MailConfig) -> Result<Self> {
        Self::new(&config.smtp, &config.from, config.reply_to.as_deref())
    }

    /// An SMTP transport sending as `from` unless a message says otherwise.
    ///
    /// # Errors
    /// [`MailError::Config`] when the TLS settings cannot be built for the
    /// host, or a password is given without a user name.
    pub fn new(config: &SmtpConfig, from: &str, reply_to: Option<&str>) -> Result<Self> {
        let tls_error = |source: lettre::transport::smtp::Error| MailError::Config {
            reason: format!("cannot set up TLS for smtp.host {:?}", config.host),
            source: Some(source.into()),
        };
        let mut builder = match config.security {
            SmtpSecurity::Starttls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&config.host)
                    .map_err(tls_error)?
            }
            SmtpSecurity::Tls => {
                AsyncSmtpTransport::<Tokio1Executor>::relay(&config.host).map_err(tls_error)?
            }
            SmtpSecurity::None => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host).tls(Tls::None)
            }
        }
        .port(config.effective_port())
        .timeout(Some(config.timeout));
        match (&config.username, &config.password) {
            (Some(username), password) => {
                let password = password
                    .as_ref()
                    .map(|p| p.expose().to_owned())
                    .unwrap_or_default();
                builder = builder.credentials(Credentials::new(username.clone(), password));
            }
            (None, Some(_)) => {
                return Err(MailError::config(
                    "smtp.password is set but smtp.username is not",
                ));
            }
            (None, None) => {}
        }
        Ok(Self {
            transport: builder.build(),
            defaults: SenderDefaults {
                from: from.to_owned(),
                reply_to: reply_to.map(str::to_owned),
            },
        })
    }
}

impl Mailer for SmtpMailer {
    async fn send(&self, email: &Email) -> Result<SendReceipt> {
        let message = message::build(email, &self.defaults)?;
        self.send_built(email, message).await
    }

    /// Builds (and so checks) every message first: an invalid one fails the
    /// batch before anything is sent.
    async fn send_batch(&self, emails: &[Email]) -> Result<Vec<SendReceipt>> {
        let messages = emails
            .iter()
            .map(|email| message::build(email, &self.defaults))
            .collect::<Result<Vec<_>>>()?;
        let mut receipts = Vec::with_capacity(emails.len());
        for (email, message) in emails.iter().zip(messages) {
            receipts.push(self.send_built(email, message).await?);
        }
        Ok(receipts)
    }
}

impl SmtpMailer {
    async fn send_built(&self, email: &Email, message: lettre::Message) -> Result<SendReceipt> {
        let id = message::message_id(&message);
        self.transport.send(message).await.map_err(classify)?;
        tracing::info!(transport = "smtp", message_id = %id, subject = ?email.subject, "e-mail sent");
        Ok(SendReceipt::new(TRANSPORT, id))
    }
}

/// Sorts an SMTP failure: 5xx replies and client errors are permanent; 4xx
/// replies, timeouts and connection failures are retryable.
fn classify(source: lettre::transport::smtp::Error) -> MailError {
    let status = source
        .status()
        .and_then(|code| code.to_string().parse::<u16>().ok());
    if source.is_permanent() {
        MailError::Rejected {
            transport: TRANSPORT,
            status,
            code: None,
            message: source.to_string(),
        }
    } else if source.is_transient() {
        MailError::Unavailable {
            transport: TRANSPORT,
            status,
            retry_after: None,
            message: source.to_string(),
        }
    } else if source.is_timeout() {
        MailError::Timeout {
            transport: TRANSPORT,
            source: source.into(),
        }
    } else if source.is_client() {
        MailError::Rejected {
            transport: TRANSPORT,
            status: None,
            code: None,
            message: source.to_string(),
        }
    } else if source.is_response() {
        MailError::InvalidResponse {
            transport: TRANSPORT,
            source: source.into(),
        }
    } else {
        MailError::Connection {
            transport: TRANSPORT,
            source: source.into(),
        }
    }
}
