//! Rendering: snapshots of every e-mail, escaping, time zones, digests, overrides.

use tasker_mail::{
    DueReminder, MAX_DIGEST_TODOS, MailError, OverdueNotice, Priority, Recipient, TemplateKind,
    Templates, TodoLine, WeeklyReport, Welcome, preview,
};
use time::macros::datetime;

fn templates() -> Templates {
    Templates::embedded().with_app_url("https://tasker.example.com")
}

#[test]
fn every_sample_renders_as_its_snapshot() {
    for (kind, rendered) in preview::render_samples(&templates()).unwrap() {
        insta::assert_snapshot!(format!("{kind}_subject"), rendered.subject);
        insta::assert_snapshot!(format!("{kind}_html"), rendered.html);
        insta::assert_snapshot!(format!("{kind}_text"), rendered.text);
    }
}

#[test]
fn the_templates_folder_renders_like_the_built_in_copies() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/templates/emails");
    let from_disk = Templates::load(dir)
        .unwrap()
        .with_app_url("https://tasker.example.com");
    assert_eq!(
        preview::render_samples(&from_disk).unwrap(),
        preview::render_samples(&templates()).unwrap()
    );
}

#[test]
fn a_file_in_the_templates_folder_replaces_its_built_in_copy() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("welcome.txt"),
        "Custom welcome for {{ name }}",
    )
    .unwrap();

    let templates = Templates::load(dir.path()).unwrap();
    let rendered = templates
        .render_welcome(&preview::sample_welcome())
        .unwrap();

    assert_eq!(rendered.text, "Custom welcome for Ada Lovelace\n");
    assert!(
        rendered.html.contains("Welcome to tasker!"),
        "the HTML part is still built in"
    );
}

#[test]
fn a_broken_template_in_the_folder_fails_at_load_time() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("welcome.html"), "{% if %}").unwrap();
    let error = Templates::load(dir.path()).unwrap_err();
    assert!(
        matches!(&error, MailError::Template { name, .. } if name == "welcome.html"),
        "{error:?}"
    );
}

#[test]
fn a_template_using_an_unknown_variable_fails_at_load_time() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("welcome.txt"), "Hi {{ nickname }}").unwrap();
    let error = Templates::load(dir.path()).unwrap_err();
    assert!(
        matches!(&error, MailError::Template { name, .. } if name == "welcome.txt"),
        "{error:?}"
    );
}

#[test]
fn a_template_failing_only_with_an_app_url_fails_at_load_time() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("weekly_report.html"),
        "{% if app_url %}{{ dashboard_url }}{% endif %}",
    )
    .unwrap();
    let error = Templates::load(dir.path()).unwrap_err();
    assert!(
        matches!(&error, MailError::Template { name, .. } if name == "weekly_report.html"),
        "{error:?}"
    );
}

#[test]
fn a_missing_templates_folder_means_the_built_in_templates() {
    let templates = Templates::load("/nonexistent/templates").unwrap();
    assert!(templates.render_welcome(&preview::sample_welcome()).is_ok());
}

fn reminder(titles: &[&str], total: usize, recipient: Recipient) -> DueReminder {
    DueReminder {
        recipient,
        todos: titles
            .iter()
            .map(|t| {
                TodoLine::new(*t, datetime!(2025-11-25 13:30 UTC)).with_priority(Priority::High)
            })
            .collect(),
        total,
    }
}

#[test]
fn a_todo_title_is_escaped_in_html_and_intact_in_text() {
    let title = r#"<script>alert("hi")</script> Tom & Jerry"#;
    let rendered = templates()
        .render_due_reminder(&reminder(&[title], 1, Recipient::new("a@example.com")))
        .unwrap();

    assert!(!rendered.html.contains("<script>"), "{}", rendered.html);
    assert!(
        rendered
            .html
            .contains("&lt;script&gt;alert(&quot;hi&quot;)&lt;&#x2f;script&gt; Tom &amp; Jerry"),
        "{}",
        rendered.html
    );
    assert!(rendered.text.contains(title), "{}", rendered.text);
    assert_eq!(rendered.subject, format!("Reminder: '{title}' is due soon"));
}

#[test]
fn a_recipient_name_is_escaped_in_html() {
    let recipient = Recipient::new("a@example.com").with_name("<b>Eve</b> & co");
    let rendered = templates().render_welcome(&Welcome { recipient }).unwrap();
    assert!(
        rendered
            .html
            .contains("Hi &lt;b&gt;Eve&lt;&#x2f;b&gt; &amp; co,")
    );
    assert!(rendered.text.contains("Hi <b>Eve</b> & co,"));
}

#[test]
fn dates_are_shown_in_the_recipient_time_zone_or_utc() {
    let berlin = Recipient::new("a@example.com").with_time_zone("Europe/Berlin");
    let rendered = templates()
        .render_due_reminder(&reminder(&["Pay rent"], 1, berlin))
        .unwrap();
    assert!(
        rendered.text.contains("Due Tue, Nov 25, 2025, 14:30 CET"),
        "{}",
        rendered.text
    );
    assert!(rendered.text.contains("Dates are shown in Europe/Berlin."));

    let unknown = Recipient::new("a@example.com");
    let rendered = templates()
        .render_due_reminder(&reminder(&["Pay rent"], 1, unknown))
        .unwrap();
    assert!(
        rendered.text.contains("Due Tue, Nov 25, 2025, 13:30 UTC"),
        "{}",
        rendered.text
    );
    assert!(rendered.html.contains("Dates are shown in UTC."));
}

#[test]
fn a_digest_lists_at_most_ten_todos_and_counts_the_rest() {
    let titles: Vec<String> = (1..=12).map(|i| format!("Todo number {i}")).collect();
    let titles: Vec<&str> = titles.iter().map(String::as_str).collect();
    let rendered = templates()
        .render_due_reminder(&reminder(&titles, 15, Recipient::new("a@example.com")))
        .unwrap();

    assert_eq!(MAX_DIGEST_TODOS, 10);
    assert!(
        rendered.text.contains("Todo number 10\n") || rendered.text.contains("Todo number 10 ")
    );
    assert!(!rendered.text.contains("Todo number 11"));
    assert!(
        rendered.text.contains("... and 5 more."),
        "{}",
        rendered.text
    );
    assert!(rendered.html.contains("and 5 more."));
    assert_eq!(rendered.subject, "Reminder: 15 todos are due soon");
}

#[test]
fn a_total_below_the_listed_todos_counts_the_listed_ones() {
    let rendered = templates()
        .render_due_reminder(&reminder(&["A", "B"], 0, Recipient::new("a@example.com")))
        .unwrap();
    assert_eq!(rendered.subject, "Reminder: 2 todos are due soon");
    assert!(!rendered.text.contains("more."));
}

#[test]
fn an_empty_digest_is_refused() {
    let empty = OverdueNotice {
        recipient: Recipient::new("a@example.com"),
        todos: Vec::new(),
        total: 0,
    };
    let error = templates().render_overdue_notice(&empty).unwrap_err();
    assert!(
        matches!(error, MailError::InvalidMessage { .. }),
        "{error:?}"
    );
}

#[test]
fn overdue_subjects_name_a_single_todo_and_count_several() {
    let one = OverdueNotice {
        recipient: Recipient::new("a@example.com"),
        todos: vec![TodoLine::new("File taxes", datetime!(2025-11-20 09:00 UTC))],
        total: 1,
    };
    let rendered = templates().render_overdue_notice(&one).unwrap();
    assert_eq!(
        rendered.subject,
        "Overdue: 'File taxes' is past its due date"
    );
    let several = OverdueNotice { total: 4, ..one };
    assert_eq!(
        templates().render_overdue_notice(&several).unwrap().subject,
        "You have 4 overdue todos"
    );
}

#[test]
fn the_weekly_subject_names_the_week_in_the_recipient_time_zone() {
    let report = WeeklyReport {
        recipient: Recipient::new("a@example.com").with_time_zone("Pacific/Auckland"),
        week_start: datetime!(2025-11-15 12:00 UTC),
        week_end: datetime!(2025-11-22 12:00 UTC),
        created: 0,
        completed: 0,
        overdue: 0,
        completed_todos: Vec::new(),
        overdue_todos: Vec::new(),
    };
    let rendered = templates().render_weekly_report(&report).unwrap();
    assert_eq!(
        rendered.subject,
        "Your weekly productivity report (Nov 16 \u{2013} Nov 23)"
    );
    assert!(rendered.text.contains("A quiet week."));

    let across_years = WeeklyReport {
        recipient: Recipient::new("a@example.com"),
        week_start: datetime!(2025-12-28 00:00 UTC),
        week_end: datetime!(2026-01-04 00:00 UTC),
        ..report
    };
    assert_eq!(
        templates()
            .render_weekly_report(&across_years)
            .unwrap()
            .subject,
        "Your weekly productivity report (Dec 28, 2025 \u{2013} Jan 4, 2026)"
    );
}

#[test]
fn without_an_app_url_no_links_are_rendered() {
    let rendered = Templates::embedded()
        .render_welcome(&Welcome {
            recipient: Recipient::new("a@example.com"),
        })
        .unwrap();
    assert_eq!(rendered.subject, "Welcome to tasker!");
    assert!(rendered.text.starts_with("Hi there,"));
    assert!(!rendered.html.contains("href"), "{}", rendered.html);
}

#[test]
fn every_kind_has_an_html_and_a_text_template() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/templates/emails");
    for kind in TemplateKind::ALL {
        assert!(std::path::Path::new(dir).join(kind.html_file()).is_file());
        assert!(std::path::Path::new(dir).join(kind.text_file()).is_file());
    }
}

#[test]
fn titles_and_names_go_into_subjects_on_one_line() {
    let evil = "a\r\nBcc: x@evil";
    let rendered = templates()
        .render_due_reminder(&reminder(&[evil], 1, Recipient::new("a@example.com")))
        .unwrap();
    assert_eq!(rendered.subject, "Reminder: 'a Bcc: x@evil' is due soon");

    let overdue = OverdueNotice {
        recipient: Recipient::new("a@example.com"),
        todos: vec![TodoLine::new(evil, datetime!(2025-11-20 09:00 UTC))],
        total: 1,
    };
    assert_eq!(
        templates().render_overdue_notice(&overdue).unwrap().subject,
        "Overdue: 'a Bcc: x@evil' is past its due date"
    );

    let recipient = Recipient::new("a@example.com").with_name(evil);
    let rendered = templates().render_welcome(&Welcome { recipient }).unwrap();
    assert_eq!(rendered.subject, "Welcome to tasker, a Bcc: x@evil!");
}

#[test]
fn a_long_title_is_cut_in_the_subject_and_whole_in_the_body() {
    let title = "é".repeat(2_000);
    let rendered = templates()
        .render_due_reminder(&reminder(&[&title], 1, Recipient::new("a@example.com")))
        .unwrap();
    let shown = format!("{}\u{2026}", "é".repeat(79));
    assert_eq!(rendered.subject, format!("Reminder: '{shown}' is due soon"));
    assert!(rendered.text.contains(&title));
}

#[test]
fn the_footer_names_the_zone_as_the_database_spells_it() {
    let lowercase = Recipient::new("a@example.com").with_time_zone("europe/berlin");
    let rendered = templates()
        .render_due_reminder(&reminder(&["Pay rent"], 1, lowercase))
        .unwrap();
    assert!(
        rendered.text.contains("Dates are shown in Europe/Berlin."),
        "{}",
        rendered.text
    );
    assert!(rendered.text.contains("14:30 CET"), "{}", rendered.text);
}
