//! Every e-mail rendered with realistic sample data, so it can be looked at
//! without sending anything (the server's `mail preview` command and admin route).

use std::path::{Path, PathBuf};

use time::{Duration, OffsetDateTime, macros::datetime};

use crate::{
    content::{DueReminder, OverdueNotice, Priority, Recipient, TodoLine, WeeklyReport, Welcome},
    email::Email,
    error::{MailError, Result},
    message::{self, SenderDefaults},
    templates::{RenderedEmail, TemplateKind, Templates},
};

/// The instant the sample data is written around: Sunday, 23 November 2025, 08:00 UTC.
pub const SAMPLE_NOW: OffsetDateTime = datetime!(2025-11-23 08:00 UTC);

const SAMPLE_FROM: &str = "tasker <no-reply@tasker.example.com>";

/// The sample recipient: Ada Lovelace in Berlin.
pub fn sample_recipient() -> Recipient {
    Recipient::new("ada@example.com")
        .with_name("Ada Lovelace")
        .with_time_zone("Europe/Berlin")
}

fn todo(id: u32, title: &str, due: OffsetDateTime, priority: Priority) -> TodoLine {
    TodoLine::new(title, due)
        .with_priority(priority)
        .with_url(format!("https://tasker.example.com/todos/{id}"))
}

/// A sample welcome e-mail.
pub fn sample_welcome() -> Welcome {
    Welcome {
        recipient: sample_recipient(),
    }
}

/// A sample due reminder: 13 todos due, the first 10 listed.
pub fn sample_due_reminder() -> DueReminder {
    const TITLES: [&str; 11] = [
        "Send the Q4 budget to finance",
        "Review pull request #482",
        "Book flights for the Lisbon offsite",
        "Renew the TLS certificate",
        "Call the plumber",
        "Prepare the sprint demo",
        "Pay the electricity bill",
        "Write the release notes",
        "Order a birthday gift for Sam",
        "Update the onboarding checklist",
        "Back up the photo library",
    ];
    let priorities = [Priority::High, Priority::Medium, Priority::Low];
    let todos = TITLES
        .iter()
        .zip(1u32..)
        .map(|(title, i)| {
            let due = SAMPLE_NOW + Duration::minutes(90 * i64::from(i));
            todo(100 + i, title, due, priorities[(i as usize) % 3])
        })
        .collect();
    DueReminder {
        recipient: sample_recipient(),
        todos,
        total: 13,
    }
}

/// A sample overdue notice: two todos past their due date.
pub fn sample_overdue_notice() -> OverdueNotice {
    OverdueNotice {
        recipient: sample_recipient(),
        todos: vec![
            todo(
                201,
                "File the travel expenses",
                SAMPLE_NOW - Duration::days(3),
                Priority::High,
            ),
            todo(
                202,
                "Reply to the landlord",
                SAMPLE_NOW - Duration::hours(20),
                Priority::Medium,
            ),
        ],
        total: 2,
    }
}

/// A sample weekly report for the week of 16–23 November 2025.
pub fn sample_weekly_report() -> WeeklyReport {
    let completed = [
        ("Ship the search filters", Priority::High),
        ("Migrate the staging database", Priority::High),
        ("Clean up the backlog", Priority::Low),
        ("Plan the team lunch", Priority::Medium),
        ("Fix the flaky login test", Priority::Medium),
    ];
    WeeklyReport {
        recipient: sample_recipient(),
        week_start: SAMPLE_NOW - Duration::days(7),
        week_end: SAMPLE_NOW,
        created: 12,
        completed: 9,
        overdue: 2,
        completed_todos: completed
            .iter()
            .zip(1u32..)
            .map(|((title, priority), i)| {
                todo(
                    300 + i,
                    title,
                    SAMPLE_NOW - Duration::days(i64::from(i)),
                    *priority,
                )
            })
            .collect(),
        overdue_todos: sample_overdue_notice().todos,
    }
}

/// Renders one kind with the sample data.
///
/// # Errors
/// [`MailError::Template`] when a template fails.
pub fn render_sample(templates: &Templates, kind: TemplateKind) -> Result<RenderedEmail> {
    match kind {
        TemplateKind::Welcome => templates.render_welcome(&sample_welcome()),
        TemplateKind::DueReminder => templates.render_due_reminder(&sample_due_reminder()),
        TemplateKind::OverdueNotice => templates.render_overdue_notice(&sample_overdue_notice()),
        TemplateKind::WeeklyReport => templates.render_weekly_report(&sample_weekly_report()),
    }
}

/// Renders every kind with the sample data, in [`TemplateKind::ALL`] order.
///
/// # Errors
/// [`MailError::Template`] when a template fails.
pub fn render_samples(templates: &Templates) -> Result<Vec<(TemplateKind, RenderedEmail)>> {
    TemplateKind::ALL
        .into_iter()
        .map(|kind| Ok((kind, render_sample(templates, kind)?)))
        .collect()
}

/// The files written for one sample.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SampleFiles {
    /// Which e-mail.
    pub kind: TemplateKind,
    /// The HTML part (open in a browser).
    pub html: PathBuf,
    /// The plain-text part.
    pub text: PathBuf,
    /// The complete message (open in a mail client).
    pub eml: PathBuf,
}

/// Renders every sample and writes `<kind>.html`, `<kind>.txt` and
/// `<kind>.eml` into `dir` (created when missing), replacing older copies.
///
/// # Errors
/// [`MailError::Template`] when a template fails; [`MailError::Io`] when a
/// file cannot be written.
pub fn write_samples(templates: &Templates, dir: impl AsRef<Path>) -> Result<Vec<SampleFiles>> {
    TemplateKind::ALL
        .into_iter()
        .map(|kind| write_sample(templates, kind, dir.as_ref()))
        .collect()
}

/// Renders the sample of one e-mail and writes `<kind>.html`, `<kind>.txt`
/// and `<kind>.eml` into `dir` (created when missing).
///
/// # Errors
/// As [`write_samples`].
pub fn write_sample(
    templates: &Templates,
    kind: TemplateKind,
    dir: impl AsRef<Path>,
) -> Result<SampleFiles> {
    let dir = dir.as_ref();
    std::fs::create_dir_all(dir).map_err(|source| MailError::io("create", dir, source))?;
    let defaults = SenderDefaults {
        from: SAMPLE_FROM.to_owned(),
        reply_to: None,
    };
    let rendered = render_sample(templates, kind)?;
    let files = SampleFiles {
        kind,
        html: dir.join(format!("{kind}.html")),
        text: dir.join(format!("{kind}.txt")),
        eml: dir.join(format!("{kind}.eml")),
    };
    let write = |path: &Path, contents: &[u8]| {
        std::fs::write(path, contents).map_err(|source| MailError::io("write", path, source))
    };
    write(&files.html, rendered.html.as_bytes())?;
    write(&files.text, rendered.text.as_bytes())?;
    let email =
        Email::rendered(sample_recipient().mailbox(), rendered).with_tag("kind", kind.as_str());
    write(&files.eml, &message::build(&email, &defaults)?.formatted())?;
    tracing::info!(kind = %kind, path = %files.eml.display(), "sample e-mail written");
    Ok(files)
}
