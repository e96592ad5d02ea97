//! The preview transport and the sample previews.

use std::path::{Path, PathBuf};

use tasker_mail::{Email, Mailer, PreviewMailer, TemplateKind, Templates, TransportKind, preview};

use crate::support::{parse_eml, sample_email};

#[tokio::test]
async fn a_previewed_message_is_written_as_html_text_and_a_parsable_eml() {
    let dir = tempfile::tempdir().unwrap();
    let mailer = PreviewMailer::new(dir.path().join("mail"), "tasker <no-reply@localhost>", None);

    let receipt = mailer.send(&sample_email(3)).await.unwrap();

    assert_eq!(receipt.transport, TransportKind::Preview);
    let eml = PathBuf::from(&receipt.id);
    assert_eq!(eml.extension().unwrap(), "eml");
    assert!(
        eml.file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .ends_with("-subject-3.eml")
    );
    let html = std::fs::read_to_string(eml.with_extension("html")).unwrap();
    let text = std::fs::read_to_string(eml.with_extension("txt")).unwrap();
    assert_eq!(html, "<p>Hello <b>3</b></p>");
    assert_eq!(text, "Hello 3");

    let raw = std::fs::read(&eml).unwrap();
    let message = parse_eml(&raw);
    assert_eq!(message.subject(), Some("Subject 3"));
    assert_eq!(
        message.from().unwrap().first().unwrap().address(),
        Some("no-reply@tasker.example.com")
    );
    assert_eq!(
        message.to().unwrap().first().unwrap().address(),
        Some("user3@example.com")
    );
    assert_eq!(message.body_text(0).unwrap().trim(), "Hello 3");
    assert_eq!(
        message.body_html(0).unwrap().trim(),
        "<p>Hello <b>3</b></p>"
    );
    assert_eq!(
        message.header_raw("X-Tasker-Tags").map(str::trim),
        Some("kind=test")
    );
}

#[tokio::test]
async fn every_previewed_message_gets_its_own_files() {
    let dir = tempfile::tempdir().unwrap();
    let mailer = PreviewMailer::new(dir.path(), "tasker <no-reply@localhost>", None);
    let emails = vec![
        sample_email(1),
        sample_email(1),
        Email::new("a@example.com", "Only text").with_text("t"),
    ];

    let receipts = mailer.send_batch(&emails).await.unwrap();

    assert_eq!(receipts.len(), 3);
    assert_ne!(receipts[0].id, receipts[1].id);
    let files = std::fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(files, 3 + 3 + 2, "a text-only message has no .html file");
}

fn samples_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("mail-preview-samples")
}

#[test]
fn the_samples_of_every_kind_are_written_as_parsable_files() {
    let templates = Templates::embedded().with_app_url("https://tasker.example.com");
    let dir = samples_dir();

    let written = preview::write_samples(&templates, &dir).unwrap();

    assert_eq!(
        written.iter().map(|f| f.kind).collect::<Vec<_>>(),
        TemplateKind::ALL
    );
    for (files, (kind, rendered)) in written
        .iter()
        .zip(preview::render_samples(&templates).unwrap())
    {
        assert_eq!(files.kind, kind);
        assert_eq!(std::fs::read_to_string(&files.html).unwrap(), rendered.html);
        assert_eq!(std::fs::read_to_string(&files.text).unwrap(), rendered.text);
        let raw = std::fs::read(&files.eml).unwrap();
        let message = parse_eml(&raw);
        assert_eq!(message.subject(), Some(rendered.subject.as_str()));
        // MIME bodies travel with CRLF line endings.
        let unix = |body: &str| body.replace("\r\n", "\n").trim_end().to_owned();
        assert_eq!(
            unix(&message.body_html(0).unwrap()),
            rendered.html.trim_end()
        );
        assert_eq!(
            unix(&message.body_text(0).unwrap()),
            rendered.text.trim_end()
        );
        println!("{kind}: {}", files.eml.display());
    }
}

#[tokio::test]
async fn the_configured_default_transport_writes_into_the_preview_dir() {
    let dir = tempfile::tempdir().unwrap();
    let config: tasker_mail::MailConfig = serde_json::from_value(serde_json::json!({
        "preview_dir": dir.path(),
        "from": "tasker <no-reply@tasker.example.com>",
    }))
    .unwrap();
    let templates = Templates::from_config(&config).unwrap();
    let mailer = tasker_mail::AnyMailer::from_config(&config).unwrap();
    let recipient = preview::sample_recipient();
    let rendered = templates
        .render_welcome(&preview::sample_welcome())
        .unwrap();

    let receipt = mailer
        .send(&Email::rendered(recipient.mailbox(), rendered))
        .await
        .unwrap();

    assert!(receipt.id.starts_with(dir.path().to_str().unwrap()));
    let raw = std::fs::read(&receipt.id).unwrap();
    let message = parse_eml(&raw);
    assert_eq!(message.subject(), Some("Welcome to tasker, Ada Lovelace!"));
    let to = message.to().unwrap().first().unwrap();
    assert_eq!(to.name(), Some("Ada Lovelace"));
    assert_eq!(to.address(), Some("ada@example.com"));
}

#[tokio::test]
async fn a_bad_message_late_in_a_batch_fails_it_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let mailer = PreviewMailer::new(dir.path(), "tasker <no-reply@localhost>", None);
    let mut emails: Vec<Email> = (0..3).map(sample_email).collect();
    emails[2] = sample_email(2).with_idempotency_key("");

    let error = mailer.send_batch(&emails).await.unwrap_err();

    assert!(
        matches!(error, tasker_mail::MailError::InvalidMessage { .. }),
        "{error:?}"
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[tokio::test]
async fn two_mailers_on_one_folder_keep_every_message() {
    let dir = tempfile::tempdir().unwrap();
    let first = PreviewMailer::new(dir.path(), "tasker <no-reply@localhost>", None);
    let second = PreviewMailer::new(dir.path(), "tasker <no-reply@localhost>", None);
    let email = Email::new("ada@example.com", "Same subject").with_text("Hello");

    let mut ids = Vec::new();
    for _ in 0..10 {
        let (a, b) = tokio::join!(first.send(&email), second.send(&email));
        ids.push(a.unwrap().id);
        ids.push(b.unwrap().id);
    }

    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 20);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 40);
}
