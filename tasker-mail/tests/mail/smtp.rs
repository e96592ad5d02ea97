//! The SMTP transport against a small SMTP sink started by each test.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use tasker_mail::{Email, MailError, Mailer, SmtpConfig, SmtpMailer, SmtpSecurity};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpStream},
};

use crate::support::{parse_eml, sample_email};

/// What the sink saw in one session.
#[derive(Debug, Default, Clone)]
struct Session {
    auth: Option<String>,
    mail_from: Option<String>,
    rcpt_to: Vec<String>,
    data: Vec<u8>,
    quit: bool,
}

/// A local SMTP server speaking just enough SMTP: EHLO, AUTH PLAIN, MAIL,
/// RCPT, DATA, RSET, NOOP and QUIT. `rcpt_reply` is its answer to RCPT TO.
struct Sink {
    address: SocketAddr,
    sessions: Arc<Mutex<Vec<Session>>>,
}

impl Sink {
    async fn start(rcpt_reply: &'static str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let sessions = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&sessions);
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let recorded = Arc::clone(&recorded);
                tokio::spawn(async move {
                    let session = serve(socket, rcpt_reply).await;
                    recorded.lock().unwrap().push(session);
                });
            }
        });
        Self { address, sessions }
    }

    fn config(&self) -> SmtpConfig {
        SmtpConfig::new("127.0.0.1", SmtpSecurity::None)
            .with_port(self.address.port())
            .with_timeout(Duration::from_secs(5))
    }

    /// The finished sessions (waits briefly for the last one to be recorded).
    async fn sessions(&self) -> Vec<Session> {
        for _ in 0..50 {
            let sessions = self.sessions.lock().unwrap().clone();
            if sessions.iter().all(|s| s.quit) && !sessions.is_empty() {
                return sessions;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.sessions.lock().unwrap().clone()
    }
}

async fn serve(socket: TcpStream, rcpt_reply: &str) -> Session {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read);
    let mut session = Session::default();
    write
        .write_all(b"220 sink.test ESMTP ready\r\n")
        .await
        .unwrap();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
            return session;
        }
        let command = line.trim_end().to_owned();
        let verb = command.split(' ').next().unwrap_or("").to_ascii_uppercase();
        let reply: &str = match verb.as_str() {
            "EHLO" | "HELO" => "250-sink.test\r\n250-AUTH PLAIN\r\n250 8BITMIME\r\n",
            "AUTH" => {
                session.auth = Some(command.clone());
                "235 2.7.0 Authentication successful\r\n"
            }
            "MAIL" => {
                session.mail_from = Some(command.clone());
                "250 2.1.0 OK\r\n"
            }
            "RCPT" => {
                session.rcpt_to.push(command.clone());
                rcpt_reply
            }
            "DATA" => {
                write
                    .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await
                    .unwrap();
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return session;
                    }
                    if line == ".\r\n" {
                        break;
                    }
                    let unstuffed = line.strip_prefix('.').unwrap_or(&line);
                    session.data.extend_from_slice(unstuffed.as_bytes());
                }
                "250 2.0.0 OK queued\r\n"
            }
            "RSET" | "NOOP" => "250 2.0.0 OK\r\n",
            "QUIT" => {
                session.quit = true;
                let _ = write.write_all(b"221 2.0.0 Bye\r\n").await;
                return session;
            }
            _ => "502 5.5.2 Command not recognized\r\n",
        };
        if write.write_all(reply.as_bytes()).await.is_err() {
            return session;
        }
    }
}

#[tokio::test]
async fn a_message_reaches_the_server_with_both_parts_and_the_subject() {
    let sink = Sink::start("250 2.1.5 OK\r\n").await;
    let mailer = SmtpMailer::new(&sink.config(), "tasker <no-reply@localhost>", None).unwrap();

    let receipt = mailer.send(&sample_email(7)).await.unwrap();

    let sessions = sink.sessions().await;
    assert_eq!(sessions.len(), 1);
    let session = &sessions[0];
    assert_eq!(session.auth, None, "no login without a user name");
    assert_eq!(
        session.mail_from.as_deref(),
        Some("MAIL FROM:<no-reply@tasker.example.com>")
    );
    assert_eq!(session.rcpt_to, ["RCPT TO:<user7@example.com>"]);
    let message = parse_eml(&session.data);
    assert_eq!(message.subject(), Some("Subject 7"));
    assert_eq!(message.body_text(0).unwrap().trim(), "Hello 7");
    assert_eq!(
        message.body_html(0).unwrap().trim(),
        "<p>Hello <b>7</b></p>"
    );
    assert_eq!(
        message.reply_to().unwrap().first().unwrap().address(),
        Some("support@tasker.example.com")
    );
    let message_id = message.message_id().unwrap();
    assert_eq!(receipt.id, message_id);
}

#[tokio::test]
async fn credentials_are_sent_with_auth_plain() {
    let sink = Sink::start("250 2.1.5 OK\r\n").await;
    let config = sink.config().with_credentials("mailer", "s3cret");
    let mailer = SmtpMailer::new(&config, "tasker <no-reply@localhost>", None).unwrap();

    mailer.send(&sample_email(1)).await.unwrap();

    let auth = sink.sessions().await[0].auth.clone().unwrap();
    // base64("\0mailer\0s3cret")
    assert_eq!(auth, "AUTH PLAIN AG1haWxlcgBzM2NyZXQ=");
}

#[tokio::test]
async fn a_batch_sends_every_message() {
    let sink = Sink::start("250 2.1.5 OK\r\n").await;
    let mailer = SmtpMailer::new(&sink.config(), "tasker <no-reply@localhost>", None).unwrap();
    let emails: Vec<Email> = (0..3).map(sample_email).collect();

    let receipts = mailer.send_batch(&emails).await.unwrap();

    assert_eq!(receipts.len(), 3);
    let mut subjects: Vec<String> = sink
        .sessions()
        .await
        .iter()
        .map(|s| parse_eml(&s.data).subject().unwrap().to_owned())
        .collect();
    subjects.sort();
    assert_eq!(subjects, ["Subject 0", "Subject 1", "Subject 2"]);
}

#[tokio::test]
async fn a_refused_recipient_is_permanent() {
    let sink = Sink::start("550 5.1.1 No such user\r\n").await;
    let mailer = SmtpMailer::new(&sink.config(), "tasker <no-reply@localhost>", None).unwrap();
    let error = mailer.send(&sample_email(1)).await.unwrap_err();
    assert!(
        matches!(
            error,
            MailError::Rejected {
                status: Some(550),
                ..
            }
        ),
        "{error:?}"
    );
    assert!(!error.is_retryable());
}

#[tokio::test]
async fn a_temporary_failure_is_retryable() {
    let sink = Sink::start("451 4.3.0 Try again later\r\n").await;
    let mailer = SmtpMailer::new(&sink.config(), "tasker <no-reply@localhost>", None).unwrap();
    let error = mailer.send(&sample_email(1)).await.unwrap_err();
    assert!(
        matches!(
            error,
            MailError::Unavailable {
                status: Some(451),
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.is_retryable());
}

#[tokio::test]
async fn a_refused_connection_is_retryable() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let config = SmtpConfig::new("127.0.0.1", SmtpSecurity::None)
        .with_port(port)
        .with_timeout(Duration::from_secs(2));
    let mailer = SmtpMailer::new(&config, "tasker <no-reply@localhost>", None).unwrap();
    let error = mailer.send(&sample_email(1)).await.unwrap_err();
    assert!(error.is_retryable(), "{error:?}");
}

#[tokio::test]
async fn a_bad_message_late_in_a_batch_fails_it_before_anything_is_sent() {
    let sink = Sink::start("250 2.1.5 OK\r\n").await;
    let mailer = SmtpMailer::new(&sink.config(), "tasker <no-reply@localhost>", None).unwrap();
    let mut emails: Vec<Email> = (0..3).map(sample_email).collect();
    emails[2] = sample_email(2).with_tag("kind", "a\r\nBcc: x@evil");

    let error = mailer.send_batch(&emails).await.unwrap_err();

    assert!(
        matches!(error, MailError::InvalidMessage { .. }),
        "{error:?}"
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(sink.sessions.lock().unwrap().is_empty());
}

#[tokio::test]
async fn the_message_id_is_derived_from_the_idempotency_key() {
    let sink = Sink::start("250 2.1.5 OK\r\n").await;
    let mailer = SmtpMailer::new(&sink.config(), "tasker <no-reply@localhost>", None).unwrap();

    let first = mailer.send(&sample_email(7)).await.unwrap();
    let second = mailer.send(&sample_email(7)).await.unwrap();
    let unkeyed = Email::new("ada@example.com", "Hi").with_text("Hello");
    let third = mailer.send(&unkeyed).await.unwrap();

    assert_eq!(first.id, "test/7@tasker.example.com");
    assert_eq!(
        second.id, first.id,
        "the same key gives the same Message-ID"
    );
    assert_ne!(third.id, first.id);
    let sessions = sink.sessions().await;
    let mut ids: Vec<String> = sessions
        .iter()
        .map(|s| parse_eml(&s.data).message_id().unwrap().to_owned())
        .collect();
    ids.sort();
    assert_eq!(ids.len(), 3);
    assert!(ids.contains(&"test/7@tasker.example.com".to_owned()));
    assert!(ids.contains(&third.id));
}
