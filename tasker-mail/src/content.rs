//! What each e-mail is rendered from: [`Welcome`], [`DueReminder`],
//! [`OverdueNotice`], [`WeeklyReport`], and their parts.
//!
//! These types know nothing of tasker-core; the jobs crate fills them in.

use std::fmt::{self, Write as _};

use lettre::message::Mailbox;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Who an e-mail is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    /// The address (`ada@example.com`).
    pub email: String,
    /// The display name, used in the greeting and the `To` header.
    pub name: Option<String>,
    /// An IANA time zone (`Europe/Berlin`); dates are shown in UTC when unset or unknown.
    pub time_zone: Option<String>,
}

impl Recipient {
    /// A recipient with only an address.
    pub fn new(email: impl Into<String>) -> Self {
        Self {
            email: email.into(),
            name: None,
            time_zone: None,
        }
    }

    /// The same recipient with a display name.
    #[must_use]
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The same recipient with a time zone.
    #[must_use]
    pub fn with_time_zone(mut self, time_zone: impl Into<String>) -> Self {
        self.time_zone = Some(time_zone.into());
        self
    }

    /// The display name on one line (control characters and runs of
    /// whitespace become one space, the ends trimmed), if it is not blank.
    pub fn display_name(&self) -> Option<String> {
        self.name
            .as_deref()
            .map(crate::text::one_line)
            .filter(|n| !n.is_empty())
    }

    /// The `To` value: `"Name" <address>` (quoted as needed) or the bare address.
    ///
    /// The name is cleaned as by [`display_name`](Self::display_name); when
    /// the address does not parse, or the name cannot be written in a header,
    /// the bare address is returned.
    pub fn mailbox(&self) -> String {
        let (Some(name), Ok(address)) =
            (self.display_name(), self.email.parse::<lettre::Address>())
        else {
            return self.email.clone();
        };
        let mut out = String::new();
        match write!(out, "{}", Mailbox::new(Some(name), address)) {
            Ok(()) => out,
            Err(_) => self.email.clone(),
        }
    }
}

/// How urgent a todo is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    /// Can wait.
    Low,
    /// The default.
    #[default]
    Medium,
    /// Urgent.
    High,
}

impl Priority {
    /// The lowercase name (`low`, `medium`, `high`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
        }
    }

    /// The capitalised label shown in e-mails.
    pub fn label(self) -> &'static str {
        match self {
            Self::Low => "Low",
            Self::Medium => "Medium",
            Self::High => "High",
        }
    }

    /// The badge colour in the HTML part.
    pub(crate) fn color(self) -> &'static str {
        match self {
            Self::Low => "#6b7280",
            Self::Medium => "#d97706",
            Self::High => "#dc2626",
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One todo in a digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TodoLine {
    /// The title, as the user wrote it (escaped in the HTML part).
    pub title: String,
    /// When it is (or was) due.
    #[serde(with = "time::serde::rfc3339::option")]
    pub due_date: Option<OffsetDateTime>,
    /// Its priority.
    pub priority: Priority,
    /// A link to the todo in the web app.
    pub url: Option<String>,
}

impl TodoLine {
    /// A line with a title and a due date, medium priority and no link.
    pub fn new(title: impl Into<String>, due_date: OffsetDateTime) -> Self {
        Self {
            title: title.into(),
            due_date: Some(due_date),
            priority: Priority::default(),
            url: None,
        }
    }

    /// The same line with another priority.
    #[must_use]
    pub fn with_priority(mut self, priority: Priority) -> Self {
        self.priority = priority;
        self
    }

    /// The same line with a link.
    #[must_use]
    pub fn with_url(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }
}

/// The welcome e-mail, sent once after sign-up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Welcome {
    /// The new user.
    pub recipient: Recipient,
}

/// A digest of the todos due soon.
///
/// At most [`MAX_DIGEST_TODOS`](crate::MAX_DIGEST_TODOS) are listed; `total`
/// is how many are due in all, so the e-mail can say "and 3 more".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DueReminder {
    /// The owner of the todos.
    pub recipient: Recipient,
    /// The todos to list, soonest first.
    pub todos: Vec<TodoLine>,
    /// How many todos are due soon in all (at least `todos.len()`).
    pub total: usize,
}

/// A digest of the todos past their due date.
///
/// At most [`MAX_DIGEST_TODOS`](crate::MAX_DIGEST_TODOS) are listed; `total`
/// is how many are overdue in all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverdueNotice {
    /// The owner of the todos.
    pub recipient: Recipient,
    /// The todos to list, most overdue first.
    pub todos: Vec<TodoLine>,
    /// How many todos are overdue in all (at least `todos.len()`).
    pub total: usize,
}

/// The weekly productivity report.
///
/// At most [`MAX_DIGEST_TODOS`](crate::MAX_DIGEST_TODOS) todos of each list are
/// shown; the counts say how many there are in all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeeklyReport {
    /// The user.
    pub recipient: Recipient,
    /// The start of the week.
    #[serde(with = "time::serde::rfc3339")]
    pub week_start: OffsetDateTime,
    /// The end of the week.
    #[serde(with = "time::serde::rfc3339")]
    pub week_end: OffsetDateTime,
    /// Todos created during the week.
    pub created: u64,
    /// Todos completed during the week.
    pub completed: u64,
    /// Todos overdue at the end of the week.
    pub overdue: u64,
    /// Todos completed during the week, most recent first.
    pub completed_todos: Vec<TodoLine>,
    /// Todos overdue at the end of the week, most overdue first.
    pub overdue_todos: Vec<TodoLine>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_with_line_breaks_gives_a_one_line_mailbox() {
        let recipient = Recipient::new("ada@example.com").with_name("Ada\r\nBcc: x@evil\n");
        assert_eq!(recipient.display_name().as_deref(), Some("Ada Bcc: x@evil"));
        let mailbox = recipient.mailbox();
        assert!(!mailbox.contains(['\r', '\n']), "{mailbox:?}");
        let parsed: Mailbox = mailbox.parse().unwrap();
        assert_eq!(parsed.email.to_string(), "ada@example.com");
        assert_eq!(parsed.name.as_deref(), Some("Ada Bcc: x@evil"));
    }

    #[test]
    fn a_blank_or_control_only_name_gives_the_bare_address() {
        let recipient = Recipient::new("ada@example.com").with_name(" \r\n\t ");
        assert_eq!(recipient.display_name(), None);
        assert_eq!(recipient.mailbox(), "ada@example.com");
        let invalid = Recipient::new("not an address").with_name("Ada");
        assert_eq!(invalid.mailbox(), "not an address");
    }
}
