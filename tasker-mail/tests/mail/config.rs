//! Loading the mail configuration and building the configured transport.

use std::{path::Path, time::Duration};

use tasker_mail::{AnyMailer, MailConfig, MailError, SmtpSecurity, TransportKind};

#[test]
fn an_empty_configuration_previews_into_the_data_folder() {
    let config: MailConfig = serde_json::from_str("{}").unwrap();
    assert_eq!(config.transport, TransportKind::Preview);
    assert_eq!(config.from, "tasker <no-reply@localhost>");
    assert_eq!(config.preview_dir, Path::new("./data/mail-preview"));
    assert_eq!(config.templates_dir, Path::new("templates/emails"));
    assert_eq!(config.resend.base_url, "https://api.resend.com");
    assert_eq!(config.smtp.security, SmtpSecurity::Starttls);
    assert_eq!(config.smtp.effective_port(), 587);
    let mailer = AnyMailer::from_config(&config).unwrap();
    assert_eq!(mailer.kind(), TransportKind::Preview);
}

#[test]
fn every_key_is_read_and_secrets_stay_out_of_debug_output() {
    let config: MailConfig = serde_json::from_str(
        r#"{
            "transport": "smtp",
            "from": "tasker <no-reply@example.com>",
            "reply_to": "help@example.com",
            "preview_dir": "/tmp/preview",
            "templates_dir": "/srv/templates",
            "app_url": "https://tasker.example.com",
            "resend": { "api_key": "re_secret_value", "base_url": "http://127.0.0.1:9", "timeout": "1500ms" },
            "smtp": { "host": "smtp.example.com", "port": 2525, "username": "mailer",
                      "password": "hunter2-password", "security": "tls", "timeout": 45 }
        }"#,
    )
    .unwrap();
    assert_eq!(config.transport, TransportKind::Smtp);
    assert_eq!(config.reply_to.as_deref(), Some("help@example.com"));
    assert_eq!(config.resend.timeout, Duration::from_millis(1500));
    assert_eq!(
        config.resend.api_key.as_ref().unwrap().expose(),
        "re_secret_value"
    );
    assert_eq!(config.smtp.security, SmtpSecurity::Tls);
    assert_eq!(config.smtp.effective_port(), 2525);
    assert_eq!(config.smtp.timeout, Duration::from_secs(45));

    let debug = format!("{config:?}");
    assert!(!debug.contains("re_secret_value"), "{debug}");
    assert!(!debug.contains("hunter2-password"), "{debug}");
    assert!(debug.contains("[redacted]"));

    let mailer = AnyMailer::from_config(&config).unwrap();
    assert_eq!(mailer.kind(), TransportKind::Smtp);
    assert!(!format!("{mailer:?}").contains("hunter2-password"));
}

#[test]
fn unknown_keys_and_bad_durations_are_refused() {
    assert!(serde_json::from_str::<MailConfig>(r#"{"transprot": "smtp"}"#).is_err());
    assert!(serde_json::from_str::<MailConfig>(r#"{"smtp": {"timeout": "soon"}}"#).is_err());
    assert!(serde_json::from_str::<MailConfig>(r#"{"transport": "pigeon"}"#).is_err());
}

#[test]
fn the_resend_transport_needs_an_api_key() {
    let config: MailConfig = serde_json::from_str(r#"{"transport": "resend"}"#).unwrap();
    let error = AnyMailer::from_config(&config).unwrap_err();
    assert!(matches!(error, MailError::Config { .. }), "{error:?}");
    assert!(error.is_permanent());
}

#[test]
fn the_resend_transport_keeps_its_api_key_out_of_debug_output() {
    let config: MailConfig =
        serde_json::from_str(r#"{"transport": "resend", "resend": {"api_key": "re_live_abc"}}"#)
            .unwrap();
    let mailer = AnyMailer::from_config(&config).unwrap();
    assert_eq!(mailer.kind(), TransportKind::Resend);
    assert!(!format!("{mailer:?}").contains("re_live_abc"));
}
