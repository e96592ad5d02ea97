//! A user's settings: the time zone their e-mails show times in, and which
//! recurring e-mails they get (`GET`/`PATCH /api/v1/me`).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::domain::{FieldError, UserId, ValidationErrors};

/// A user's settings, with the server's defaults filled in where the user
/// chose nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct UserSettings {
    /// The user (`sub` of the token).
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub user_id: UserId,
    /// The IANA time zone dates and times in e-mails are shown in, such as
    /// `Europe/Berlin`.
    pub time_zone: String,
    /// Which recurring e-mails the user gets.
    pub notifications: Notifications,
}

/// One switch per kind of recurring e-mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Notifications {
    /// Reminders of todos due soon.
    pub due_reminders: bool,
    /// Notices of todos past their due date.
    pub overdue_notices: bool,
    /// The weekly report.
    pub weekly_report: bool,
    /// The weekly report also for a week with nothing to report (nothing
    /// completed, created or overdue).
    pub weekly_report_when_empty: bool,
}

/// The settings of a user who chose nothing (from the configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsDefaults {
    /// The time zone (default `UTC`).
    pub time_zone: TimeZoneName,
    /// The switches (default: every kind on, no empty weekly reports).
    pub notifications: Notifications,
}

impl Default for SettingsDefaults {
    fn default() -> Self {
        Self {
            time_zone: TimeZoneName::utc(),
            notifications: Notifications {
                due_reminders: true,
                overdue_notices: true,
                weekly_report: true,
                weekly_report_when_empty: false,
            },
        }
    }
}

/// What a user chose, as stored: `None` follows the default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoredSettings {
    /// The time zone.
    pub time_zone: Option<TimeZoneName>,
    /// Due-soon reminders on or off.
    pub due_reminders: Option<bool>,
    /// Overdue notices on or off.
    pub overdue_notices: Option<bool>,
    /// The weekly report on or off.
    pub weekly_report: Option<bool>,
    /// The weekly report for an empty week on or off.
    pub weekly_report_when_empty: Option<bool>,
    /// When the user last changed them.
    pub updated_at: Option<OffsetDateTime>,
}

impl StoredSettings {
    /// The settings in effect for `user`: these, over `defaults`.
    pub fn resolve(&self, user: UserId, defaults: &SettingsDefaults) -> UserSettings {
        let d = defaults.notifications;
        UserSettings {
            user_id: user,
            time_zone: self
                .time_zone
                .as_ref()
                .unwrap_or(&defaults.time_zone)
                .as_str()
                .to_owned(),
            notifications: Notifications {
                due_reminders: self.due_reminders.unwrap_or(d.due_reminders),
                overdue_notices: self.overdue_notices.unwrap_or(d.overdue_notices),
                weekly_report: self.weekly_report.unwrap_or(d.weekly_report),
                weekly_report_when_empty: self
                    .weekly_report_when_empty
                    .unwrap_or(d.weekly_report_when_empty),
            },
        }
    }
}

/// The body of `PATCH /api/v1/me`: the fields present change, the others
/// stay (`{}` changes nothing).
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = UpdateMeRequest))]
#[serde(rename_all = "camelCase")]
pub struct UpdateSettings {
    /// An IANA time zone name, such as `Asia/Tokyo` (any case).
    #[serde(default)]
    pub time_zone: Option<String>,
    /// The switches to change.
    #[serde(default, deserialize_with = "super::json_object::optional_object")]
    pub notifications: Option<UpdateNotifications>,
}

/// The switches of [`UpdateSettings`]; the ones present change.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct UpdateNotifications {
    /// Reminders of todos due soon.
    #[serde(default)]
    pub due_reminders: Option<bool>,
    /// Notices of todos past their due date.
    #[serde(default)]
    pub overdue_notices: Option<bool>,
    /// The weekly report.
    #[serde(default)]
    pub weekly_report: Option<bool>,
    /// The weekly report also for an empty week.
    #[serde(default)]
    pub weekly_report_when_empty: Option<bool>,
}

/// A validated [`UpdateSettings`]: what to store, `None` where unchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SettingsChange {
    /// The new time zone.
    pub time_zone: Option<TimeZoneName>,
    /// New due-soon reminder switch.
    pub due_reminders: Option<bool>,
    /// New overdue notice switch.
    pub overdue_notices: Option<bool>,
    /// New weekly report switch.
    pub weekly_report: Option<bool>,
    /// New empty-week weekly report switch.
    pub weekly_report_when_empty: Option<bool>,
}

impl SettingsChange {
    /// Only `kind` switched off (a one-click unsubscribe).
    pub fn switch_off(kind: NotificationKind) -> Self {
        let mut change = Self::default();
        match kind {
            NotificationKind::DueReminders => change.due_reminders = Some(false),
            NotificationKind::OverdueNotices => change.overdue_notices = Some(false),
            NotificationKind::WeeklyReport => change.weekly_report = Some(false),
        }
        change
    }
}

impl TryFrom<UpdateSettings> for SettingsChange {
    type Error = ValidationErrors;

    fn try_from(input: UpdateSettings) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let time_zone = input
            .time_zone
            .as_deref()
            .and_then(|name| errors.check(TimeZoneName::parse(name)));
        let n = input.notifications.unwrap_or_default();
        errors.finish(|| Self {
            time_zone,
            due_reminders: n.due_reminders,
            overdue_notices: n.overdue_notices,
            weekly_report: n.weekly_report,
            weekly_report_when_empty: n.weekly_report_when_empty,
        })
    }
}

/// A kind of recurring e-mail a user can switch off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NotificationKind {
    /// Reminders of todos due soon.
    DueReminders,
    /// Notices of todos past their due date.
    OverdueNotices,
    /// The weekly report.
    WeeklyReport,
}

impl NotificationKind {
    /// Every kind.
    pub const ALL: [Self; 3] = [Self::DueReminders, Self::OverdueNotices, Self::WeeklyReport];

    /// The name in links and in `notifications` (`dueReminders`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DueReminders => "dueReminders",
            Self::OverdueNotices => "overdueNotices",
            Self::WeeklyReport => "weeklyReport",
        }
    }

    /// The kind named `name` ([`as_str`](Self::as_str)).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }

    /// Whether `settings` let this kind through.
    pub fn is_on(self, settings: &UserSettings) -> bool {
        let n = &settings.notifications;
        match self {
            Self::DueReminders => n.due_reminders,
            Self::OverdueNotices => n.overdue_notices,
            Self::WeeklyReport => n.weekly_report,
        }
    }
}

/// An IANA time zone name the time zone database knows, in its canonical
/// spelling (`Asia/Tokyo` for `asia/tokyo`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TimeZoneName(String);

impl TimeZoneName {
    /// `UTC`.
    pub fn utc() -> Self {
        Self("UTC".to_owned())
    }

    /// Checks `name` against the bundled time zone database.
    ///
    /// # Errors
    /// A [`FieldError`] on `timeZone` for a name the database does not know.
    ///
    /// ```
    /// use tasker_core::model::TimeZoneName;
    ///
    /// assert_eq!(TimeZoneName::parse("asia/tokyo").unwrap().as_str(), "Asia/Tokyo");
    /// assert_eq!(TimeZoneName::parse("Mars/Olympus").unwrap_err().field(), "timeZone");
    /// ```
    pub fn parse(name: &str) -> Result<Self, FieldError> {
        let unknown = || {
            FieldError::new(
                "timeZone",
                "must be an IANA time zone name, such as Europe/Berlin or UTC",
            )
        };
        let name = name.trim();
        if name.is_empty() || name.len() > 64 {
            return Err(unknown());
        }
        let zone = jiff::tz::TimeZone::get(name).map_err(|_| unknown())?;
        Ok(Self(zone.iana_name().unwrap_or(name).to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Every name the bundled database knows, sorted (for the OpenAPI
    /// document's list of accepted values).
    pub fn known() -> Vec<String> {
        let mut names: Vec<String> = jiff::tz::db()
            .available()
            .map(|name| name.to_string())
            .collect();
        names.sort();
        names.dedup();
        names
    }
}
