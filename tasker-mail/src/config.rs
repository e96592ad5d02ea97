//! [`MailConfig`]: which transport sends e-mail, and how.

use std::{fmt, path::PathBuf, time::Duration};

use serde::Deserialize;

use crate::secret::Secret;

/// The mail settings, loadable with serde (the server reads them from
/// `TASKER_MAIL__*` environment variables). Every field has a default, so an
/// empty configuration writes previews to `./data/mail-preview`.
///
/// ```
/// let config: tasker_mail::MailConfig = serde_json::from_str(r#"{
///     "transport": "resend",
///     "from": "tasker <no-reply@example.com>",
///     "resend": { "api_key": "re_123", "timeout": "10s" }
/// }"#).unwrap();
/// assert_eq!(config.transport, tasker_mail::TransportKind::Resend);
/// assert!(!format!("{config:?}").contains("re_123"));
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct MailConfig {
    /// Which transport sends: `preview` (default), `resend` or `smtp`.
    pub transport: TransportKind,
    /// The sender used when a message names none.
    pub from: String,
    /// The reply-to address used when a message names none.
    pub reply_to: Option<String>,
    /// Where the preview transport writes its files.
    pub preview_dir: PathBuf,
    /// Where templates are read from at run time; missing files fall back to
    /// the copies built into the binary.
    pub templates_dir: PathBuf,
    /// The web app's address, used for links in e-mails (none when unset).
    pub app_url: Option<String>,
    /// Settings of the Resend transport.
    pub resend: ResendConfig,
    /// Settings of the SMTP transport.
    pub smtp: SmtpConfig,
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            transport: TransportKind::default(),
            from: "tasker <no-reply@localhost>".to_owned(),
            reply_to: None,
            preview_dir: PathBuf::from("./data/mail-preview"),
            templates_dir: PathBuf::from("templates/emails"),
            app_url: None,
            resend: ResendConfig::default(),
            smtp: SmtpConfig::default(),
        }
    }
}

/// The transports tasker can send through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum TransportKind {
    /// Files in a folder, for development.
    #[default]
    Preview,
    /// Resend's HTTP API.
    Resend,
    /// An SMTP server.
    Smtp,
}

impl TransportKind {
    /// The configuration name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Preview => "preview",
            Self::Resend => "resend",
            Self::Smtp => "smtp",
        }
    }
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Settings of the Resend transport.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct ResendConfig {
    /// The API key (`re_…`); required when the transport is `resend`.
    pub api_key: Option<Secret>,
    /// The API's base address; tests point it at a local fake server.
    pub base_url: String,
    /// How long one request may take, e.g. `"10s"`, `"500ms"` or a number of seconds.
    #[serde(deserialize_with = "duration::deserialize")]
    pub timeout: Duration,
}

impl Default for ResendConfig {
    fn default() -> Self {
        Self {
            api_key: None,
            base_url: "https://api.resend.com".to_owned(),
            timeout: Duration::from_secs(10),
        }
    }
}

impl ResendConfig {
    /// Settings with this API key and the defaults otherwise.
    pub fn new(api_key: impl Into<Secret>) -> Self {
        Self {
            api_key: Some(api_key.into()),
            ..Self::default()
        }
    }

    /// The same settings with another base address.
    #[must_use]
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }

    /// The same settings with another request timeout.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

/// Settings of the SMTP transport.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct SmtpConfig {
    /// The server's host name (also the name its TLS certificate is checked against).
    pub host: String,
    /// The port; when unset, 587 for `starttls`, 465 for `tls`, 25 for `none`.
    pub port: Option<u16>,
    /// The user name to log in with; no login when unset.
    pub username: Option<String>,
    /// The password to log in with.
    pub password: Option<Secret>,
    /// How the connection is encrypted.
    pub security: SmtpSecurity,
    /// How long one SMTP command may take, e.g. `"30s"` or a number of seconds.
    #[serde(deserialize_with = "duration::deserialize")]
    pub timeout: Duration,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        Self {
            host: "localhost".to_owned(),
            port: None,
            username: None,
            password: None,
            security: SmtpSecurity::default(),
            timeout: Duration::from_secs(30),
        }
    }
}

impl SmtpConfig {
    /// Settings for this host and security, with the defaults otherwise.
    pub fn new(host: impl Into<String>, security: SmtpSecurity) -> Self {
        Self {
            host: host.into(),
            security,
            ..Self::default()
        }
    }

    /// The same settings with another port.
    #[must_use]
    pub fn with_port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// The same settings with a login.
    #[must_use]
    pub fn with_credentials(
        mut self,
        username: impl Into<String>,
        password: impl Into<Secret>,
    ) -> Self {
        self.username = Some(username.into());
        self.password = Some(password.into());
        self
    }

    /// The same settings with another command timeout.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The port in use: the configured one or the default of the security mode.
    pub fn effective_port(&self) -> u16 {
        self.port.unwrap_or(match self.security {
            SmtpSecurity::Starttls => 587,
            SmtpSecurity::Tls => 465,
            SmtpSecurity::None => 25,
        })
    }
}

/// How an SMTP connection is encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Connect in plain text, then upgrade with `STARTTLS`; fail if the server cannot (port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only for a relay on the same machine or a test sink.
    None,
}

/// Durations written as `"10s"`, `"500ms"`, `"2m"` or a plain number of seconds.
mod duration {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, de::Error as _};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Seconds(u64),
        Fraction(f64),
        Text(String),
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Duration, D::Error> {
        match Raw::deserialize(deserializer)? {
            Raw::Seconds(secs) => Ok(Duration::from_secs(secs)),
            Raw::Fraction(secs) => Duration::try_from_secs_f64(secs).map_err(D::Error::custom),
            Raw::Text(text) => parse(&text).ok_or_else(|| {
                D::Error::custom(format!(
                    "invalid duration {text:?}: expected e.g. \"10s\", \"500ms\", \"2m\" or a number of seconds"
                ))
            }),
        }
    }

    fn parse(text: &str) -> Option<Duration> {
        let text = text.trim();
        let split = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        let number: u64 = number.parse().ok()?;
        match unit.trim() {
            "" | "s" => Some(Duration::from_secs(number)),
            "ms" => Some(Duration::from_millis(number)),
            "m" | "min" => Some(Duration::from_secs(number.checked_mul(60)?)),
            _ => None,
        }
    }
}
