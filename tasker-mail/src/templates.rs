//! [`Templates`]: the e-mail templates and their rendering.

use std::{fmt, path::Path};

use minijinja::{Environment, UndefinedBehavior, syntax::SyntaxConfig, value::Serde};
use serde::Serialize;

use crate::{
    config::MailConfig,
    content::{DueReminder, OverdueNotice, Recipient, TodoLine, WeeklyReport, Welcome},
    error::{MailError, Result},
    local_time::{DAY_FORMAT, DAY_YEAR_FORMAT, DUE_FORMAT, LocalTime},
    text,
};

/// The most todos a digest lists; the rest are counted ("and 3 more").
pub const MAX_DIGEST_TODOS: usize = 10;

/// The most characters of a todo title or a name put into a subject.
const MAX_SUBJECT_PART: usize = 80;

/// User data (a title, a name) as it goes into a subject: on one line and at
/// most [`MAX_SUBJECT_PART`] characters.
fn subject_part(text: &str) -> String {
    text::truncate(&text::one_line(text), MAX_SUBJECT_PART)
}

/// The app URL the templates are tried with at load time.
const SAMPLE_APP_URL: &str = "https://tasker.example.com";

/// The product name shown in e-mails.
const APP_NAME: &str = "tasker";

/// Every template file, with the copy built into the binary.
const FILES: &[(&str, &str)] = &[
    (
        "layout.html",
        include_str!("../templates/emails/layout.html"),
    ),
    (
        "button.html",
        include_str!("../templates/emails/button.html"),
    ),
    (
        "todo_list.html",
        include_str!("../templates/emails/todo_list.html"),
    ),
    (
        "todo_list.txt",
        include_str!("../templates/emails/todo_list.txt"),
    ),
    ("footer.txt", include_str!("../templates/emails/footer.txt")),
    (
        "welcome.html",
        include_str!("../templates/emails/welcome.html"),
    ),
    (
        "welcome.txt",
        include_str!("../templates/emails/welcome.txt"),
    ),
    (
        "due_reminder.html",
        include_str!("../templates/emails/due_reminder.html"),
    ),
    (
        "due_reminder.txt",
        include_str!("../templates/emails/due_reminder.txt"),
    ),
    (
        "overdue_notice.html",
        include_str!("../templates/emails/overdue_notice.html"),
    ),
    (
        "overdue_notice.txt",
        include_str!("../templates/emails/overdue_notice.txt"),
    ),
    (
        "weekly_report.html",
        include_str!("../templates/emails/weekly_report.html"),
    ),
    (
        "weekly_report.txt",
        include_str!("../templates/emails/weekly_report.txt"),
    ),
];

/// The kinds of e-mail tasker sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum TemplateKind {
    /// After sign-up.
    Welcome,
    /// Todos due soon.
    DueReminder,
    /// Todos past their due date.
    OverdueNotice,
    /// The weekly productivity report.
    WeeklyReport,
}

impl TemplateKind {
    /// Every kind.
    pub const ALL: [Self; 4] = [
        Self::Welcome,
        Self::DueReminder,
        Self::OverdueNotice,
        Self::WeeklyReport,
    ];

    /// The name, also the stem of the template files (`due_reminder`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Welcome => "welcome",
            Self::DueReminder => "due_reminder",
            Self::OverdueNotice => "overdue_notice",
            Self::WeeklyReport => "weekly_report",
        }
    }

    /// The HTML template's file name.
    pub fn html_file(self) -> String {
        format!("{}.html", self.as_str())
    }

    /// The plain-text template's file name.
    pub fn text_file(self) -> String {
        format!("{}.txt", self.as_str())
    }
}

impl fmt::Display for TemplateKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rendered e-mail: subject, HTML part and plain-text part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedEmail {
    /// The subject line.
    pub subject: String,
    /// The HTML part.
    pub html: String,
    /// The plain-text part.
    pub text: String,
}

/// The e-mail templates, ready to render.
///
/// Templates are read from a folder (`templates/emails` by default) when it
/// holds them; every file missing there is taken from the copy built into
/// the binary. HTML parts are auto-escaped; text parts are not.
///
/// ```
/// use tasker_mail::{Recipient, Templates, Welcome};
///
/// let templates = Templates::embedded();
/// let email = templates
///     .render_welcome(&Welcome { recipient: Recipient::new("ada@example.com").with_name("Ada") })
///     .unwrap();
/// assert_eq!(email.subject, "Welcome to tasker, Ada!");
/// assert!(email.text.contains("Hi Ada,"));
/// ```
#[derive(Clone)]
pub struct Templates {
    env: Environment<'static>,
    app_url: Option<String>,
}

impl fmt::Debug for Templates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Templates")
            .field("app_url", &self.app_url)
            .finish_non_exhaustive()
    }
}

impl Templates {
    /// The templates built into the binary.
    pub fn embedded() -> Self {
        let mut env = environment();
        for (name, source) in FILES {
            env.add_template(name, source)
                .unwrap_or_else(|error| panic!("built-in template {name} is invalid: {error}"));
        }
        Self { env, app_url: None }
    }

    /// The templates of `dir`, each missing file taken from the built-in copy.
    /// A missing folder means the built-in templates.
    ///
    /// Every e-mail is then rendered once with the sample data of
    /// [`preview`](crate::preview), with and without an app URL, so a
    /// template that uses an unknown variable fails here, at start-up, and
    /// not when the first e-mail is sent.
    ///
    /// # Errors
    /// [`MailError::Io`] when a file exists but cannot be read;
    /// [`MailError::Template`] when a file is not a valid template or fails
    /// to render the sample data.
    pub fn load(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        let mut env = environment();
        let mut from_dir = 0;
        for (name, embedded) in FILES {
            let path = dir.join(name);
            let source = match std::fs::read_to_string(&path) {
                Ok(source) => {
                    from_dir += 1;
                    source
                }
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                    (*embedded).to_owned()
                }
                Err(error) => return Err(MailError::io("read", path, error)),
            };
            env.add_template_owned(*name, source)
                .map_err(|source| MailError::Template {
                    name: (*name).to_owned(),
                    source,
                })?;
        }
        tracing::debug!(
            dir = %dir.display(),
            from_dir,
            built_in = FILES.len() - from_dir,
            "e-mail templates loaded"
        );
        let templates = Self { env, app_url: None };
        crate::preview::render_samples(&templates)?;
        crate::preview::render_samples(&templates.clone().with_app_url(SAMPLE_APP_URL))?;
        Ok(templates)
    }

    /// The templates of `templates_dir`, linking to `app_url`.
    ///
    /// # Errors
    /// As [`load`](Self::load).
    pub fn from_config(config: &MailConfig) -> Result<Self> {
        let templates = Self::load(&config.templates_dir)?;
        Ok(match &config.app_url {
            Some(url) => templates.with_app_url(url),
            None => templates,
        })
    }

    /// The same templates, with links to the web app at `url` (e.g. `https://tasker.example.com`).
    #[must_use]
    pub fn with_app_url(mut self, url: impl Into<String>) -> Self {
        let url: String = url.into();
        self.app_url = Some(url.trim_end_matches('/').to_owned());
        self
    }

    /// The link to one todo in the web app, `{app_url}/todos?id={id}` (the
    /// Go service's e-mails linked there); `None` without an app URL.
    ///
    /// ```
    /// use tasker_mail::Templates;
    ///
    /// let templates = Templates::embedded().with_app_url("https://tasker.example.com/");
    /// assert_eq!(
    ///     templates.todo_url("0193").as_deref(),
    ///     Some("https://tasker.example.com/todos?id=0193")
    /// );
    /// assert_eq!(Templates::embedded().todo_url("0193"), None);
    /// ```
    pub fn todo_url(&self, id: impl std::fmt::Display) -> Option<String> {
        self.app_url
            .as_ref()
            .map(|url| format!("{url}/todos?id={id}"))
    }

    /// Renders the welcome e-mail.
    ///
    /// # Errors
    /// [`MailError::Template`] when a template fails.
    pub fn render_welcome(&self, data: &Welcome) -> Result<RenderedEmail> {
        let subject = match data.recipient.display_name() {
            Some(name) => format!("Welcome to {APP_NAME}, {}!", subject_part(&name)),
            None => format!("Welcome to {APP_NAME}!"),
        };
        let preheader = "Your account is ready. Here is how to get started.".to_owned();
        self.render(
            TemplateKind::Welcome,
            &data.recipient,
            subject,
            preheader,
            Empty {},
        )
    }

    /// Renders the due-date reminder.
    ///
    /// # Errors
    /// [`MailError::InvalidMessage`] when there is no todo to list;
    /// [`MailError::Template`] when a template fails.
    pub fn render_due_reminder(&self, data: &DueReminder) -> Result<RenderedEmail> {
        let zone = LocalTime::new(data.recipient.time_zone.as_deref());
        let digest = Digest::new(&data.todos, data.total, &zone, "a due reminder")?;
        let subject = match (digest.total, data.todos.first()) {
            (1, Some(todo)) => format!("Reminder: '{}' is due soon", subject_part(&todo.title)),
            (total, _) => format!("Reminder: {total} todos are due soon"),
        };
        let preheader = match digest.todos.first().and_then(|t| t.due.as_deref()) {
            Some(due) if digest.total == 1 => format!("Due {due}."),
            Some(due) => format!("The first is due {due}."),
            None => "Some of your todos are due soon.".to_owned(),
        };
        self.render(
            TemplateKind::DueReminder,
            &data.recipient,
            subject,
            preheader,
            digest,
        )
    }

    /// Renders the overdue notice.
    ///
    /// # Errors
    /// [`MailError::InvalidMessage`] when there is no todo to list;
    /// [`MailError::Template`] when a template fails.
    pub fn render_overdue_notice(&self, data: &OverdueNotice) -> Result<RenderedEmail> {
        let zone = LocalTime::new(data.recipient.time_zone.as_deref());
        let digest = Digest::new(&data.todos, data.total, &zone, "an overdue notice")?;
        let subject = match (digest.total, data.todos.first()) {
            (1, Some(todo)) => format!(
                "Overdue: '{}' is past its due date",
                subject_part(&todo.title)
            ),
            (total, _) => format!("You have {total} overdue todos"),
        };
        let preheader = match digest.todos.first().and_then(|t| t.due.as_deref()) {
            Some(due) if digest.total == 1 => format!("It was due {due}."),
            _ => "Catch up, reschedule, or let them go.".to_owned(),
        };
        self.render(
            TemplateKind::OverdueNotice,
            &data.recipient,
            subject,
            preheader,
            digest,
        )
    }

    /// Renders the weekly report.
    ///
    /// # Errors
    /// [`MailError::Template`] when a template fails.
    pub fn render_weekly_report(&self, data: &WeeklyReport) -> Result<RenderedEmail> {
        let zone = LocalTime::new(data.recipient.time_zone.as_deref());
        let day_format = if zone.year(data.week_start) == zone.year(data.week_end) {
            DAY_FORMAT
        } else {
            DAY_YEAR_FORMAT
        };
        let week = format!(
            "{} \u{2013} {}",
            zone.format(data.week_start, day_format),
            zone.format(data.week_end, day_format)
        );
        let subject = format!("Your weekly productivity report ({week})");
        let preheader = format!(
            "You completed {} and created {} this week.",
            plural(data.completed, "todo", "todos"),
            data.created
        );
        let (completed_todos, completed_more) = lines(&data.completed_todos, data.completed, &zone);
        let (overdue_todos, overdue_more) = lines(&data.overdue_todos, data.overdue, &zone);
        let report = Report {
            week,
            created: data.created,
            completed: data.completed,
            overdue: data.overdue,
            completed_todos,
            completed_more,
            overdue_todos,
            overdue_more,
        };
        self.render(
            TemplateKind::WeeklyReport,
            &data.recipient,
            subject,
            preheader,
            report,
        )
    }

    /// Renders one kind with the shared context plus `body`.
    fn render<B: Serialize>(
        &self,
        kind: TemplateKind,
        recipient: &Recipient,
        subject: String,
        preheader: String,
        body: B,
    ) -> Result<RenderedEmail> {
        let zone = LocalTime::new(recipient.time_zone.as_deref());
        let name = recipient.display_name();
        let context = Context {
            app_name: APP_NAME,
            app_url: self.app_url.as_deref(),
            subject: &subject,
            preheader: &preheader,
            name: name.as_deref(),
            time_zone: zone.name(),
            body,
        };
        let html = self.render_file(&kind.html_file(), &context)?;
        let text = self.render_file(&kind.text_file(), &context)?;
        Ok(RenderedEmail {
            subject,
            html,
            text: format!("{}\n", text.trim_end()),
        })
    }

    fn render_file<C: Serialize>(&self, name: &str, context: &C) -> Result<String> {
        let template_error = |source| MailError::Template {
            name: name.to_owned(),
            source,
        };
        self.env
            .get_template(name)
            .map_err(template_error)?
            .render(Serde(context))
            .map_err(template_error)
    }
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    let syntax = SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .build()
        .expect("the default delimiters are valid");
    env.set_syntax(syntax);
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env
}

/// What every template sees.
#[derive(Serialize)]
struct Context<'a, B> {
    app_name: &'static str,
    app_url: Option<&'a str>,
    subject: &'a str,
    preheader: &'a str,
    /// The recipient's display name (greetings fall back to "there").
    name: Option<&'a str>,
    /// The time zone dates are shown in.
    time_zone: &'a str,
    #[serde(flatten)]
    body: B,
}

#[derive(Serialize)]
struct Empty {}

/// A todo as the templates see it.
#[derive(Serialize)]
struct Line<'a> {
    title: &'a str,
    due: Option<String>,
    priority: &'static str,
    priority_label: &'static str,
    priority_color: &'static str,
    url: Option<&'a str>,
}

/// The listed todos of a digest, and how many more there are.
#[derive(Serialize)]
struct Digest<'a> {
    todos: Vec<Line<'a>>,
    total: usize,
    more: usize,
}

impl<'a> Digest<'a> {
    fn new(todos: &'a [TodoLine], total: usize, zone: &LocalTime, what: &str) -> Result<Self> {
        if todos.is_empty() {
            return Err(MailError::invalid_message(format!(
                "{what} needs at least one todo"
            )));
        }
        let total = total.max(todos.len());
        let (todos, more) = lines(todos, total as u64, zone);
        Ok(Self {
            todos,
            total,
            more: usize::try_from(more).unwrap_or(usize::MAX),
        })
    }
}

/// The weekly report's figures and lists.
#[derive(Serialize)]
struct Report<'a> {
    week: String,
    created: u64,
    completed: u64,
    overdue: u64,
    completed_todos: Vec<Line<'a>>,
    completed_more: u64,
    overdue_todos: Vec<Line<'a>>,
    overdue_more: u64,
}

/// The first [`MAX_DIGEST_TODOS`] todos, and how many of `total` are left out.
fn lines<'a>(todos: &'a [TodoLine], total: u64, zone: &LocalTime) -> (Vec<Line<'a>>, u64) {
    let shown: Vec<Line<'a>> = todos
        .iter()
        .take(MAX_DIGEST_TODOS)
        .map(|todo| Line {
            title: &todo.title,
            due: todo.due_date.map(|due| zone.format(due, DUE_FORMAT)),
            priority: todo.priority.as_str(),
            priority_label: todo.priority.label(),
            priority_color: todo.priority.color(),
            url: todo.url.as_deref(),
        })
        .collect();
    let more = total
        .max(todos.len() as u64)
        .saturating_sub(shown.len() as u64);
    (shown, more)
}

fn plural(count: u64, one: &str, many: &str) -> String {
    if count == 1 {
        format!("{count} {one}")
    } else {
        format!("{count} {many}")
    }
}
