//! [`LocalTime`]: instants shown in the recipient's time zone.

use std::{
    collections::HashSet,
    sync::{Mutex, OnceLock, PoisonError},
};

use jiff::{Timestamp, tz::TimeZone};
use time::OffsetDateTime;

/// The most unknown zone names remembered as already warned about.
const MAX_WARNED: usize = 1024;

/// Whether `name` is an unknown zone not warned about yet; remembers it.
/// Past [`MAX_WARNED`] names, no more warnings are given.
fn first_warning(name: &str) -> bool {
    static WARNED: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    let mut warned = WARNED
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if warned.len() >= MAX_WARNED || warned.contains(name) {
        return false;
    }
    warned.insert(name.to_owned())
}

/// Formats instants in one IANA time zone (UTC when none is known or the name is unknown).
#[derive(Debug, Clone)]
pub(crate) struct LocalTime {
    zone: TimeZone,
    name: String,
}

/// A due date: `Tue, Nov 25, 2025, 14:30 CET`.
pub(crate) const DUE_FORMAT: &str = "%a, %b %-d, %Y, %H:%M %Z";
/// A day in a range: `Nov 16`.
pub(crate) const DAY_FORMAT: &str = "%b %-d";
/// A day in a range that spans two years: `Dec 28, 2025`.
pub(crate) const DAY_YEAR_FORMAT: &str = "%b %-d, %Y";

impl LocalTime {
    /// The zone named `name` (e.g. `Europe/Berlin`, in any case), or UTC.
    /// An unknown name is logged once per name.
    pub(crate) fn new(name: Option<&str>) -> Self {
        match name.map(str::trim).filter(|n| !n.is_empty()) {
            Some(name) => match TimeZone::get(name) {
                Ok(zone) => Self {
                    name: zone.iana_name().unwrap_or(name).to_owned(),
                    zone,
                },
                Err(error) => {
                    let name: String = name.chars().take(100).collect();
                    if first_warning(&name) {
                        tracing::warn!(time_zone = ?name, %error, "unknown time zone; showing dates in UTC");
                    }
                    Self::utc()
                }
            },
            None => Self::utc(),
        }
    }

    fn utc() -> Self {
        Self {
            zone: TimeZone::UTC,
            name: "UTC".to_owned(),
        }
    }

    /// The zone's canonical name (`Europe/Berlin` for `europe/berlin`), or `UTC`.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// `at` in this zone, formatted with a `strftime` pattern.
    pub(crate) fn format(&self, at: OffsetDateTime, pattern: &str) -> String {
        let timestamp = Timestamp::from_nanosecond(at.unix_timestamp_nanos())
            .or_else(|_| Timestamp::from_second(at.unix_timestamp()))
            .unwrap_or(Timestamp::UNIX_EPOCH);
        let zoned = timestamp.to_zoned_datetime(self.zone.clone());
        jiff::fmt::strtime::format(pattern, &zoned).unwrap_or_else(|_| zoned.to_string())
    }

    /// The calendar year of `at` in this zone.
    pub(crate) fn year(&self, at: OffsetDateTime) -> String {
        self.format(at, "%Y")
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn dates_are_shown_in_the_named_zone() {
        let at = datetime!(2025-11-25 13:30 UTC);
        assert_eq!(
            LocalTime::new(Some("Europe/Berlin")).format(at, DUE_FORMAT),
            "Tue, Nov 25, 2025, 14:30 CET"
        );
        assert_eq!(
            LocalTime::new(Some("America/New_York")).format(at, DUE_FORMAT),
            "Tue, Nov 25, 2025, 08:30 EST"
        );
    }

    #[test]
    fn zone_names_are_shown_as_the_database_spells_them() {
        assert_eq!(
            LocalTime::new(Some("europe/berlin")).name(),
            "Europe/Berlin"
        );
        assert_eq!(
            LocalTime::new(Some(" AMERICA/NEW_YORK ")).name(),
            "America/New_York"
        );
    }

    #[test]
    fn an_unknown_zone_is_warned_about_once() {
        let name = "Test/Warned_Once";
        assert!(first_warning(name));
        assert!(!first_warning(name));
        assert!(first_warning("Test/Another_One"));
        let _ = LocalTime::new(Some("Test/Via_New"));
        assert!(!first_warning("Test/Via_New"), "new() remembers the name");
    }

    #[test]
    fn unknown_or_missing_zones_fall_back_to_utc() {
        let at = datetime!(2025-11-25 13:30 UTC);
        assert_eq!(
            LocalTime::new(None).format(at, DUE_FORMAT),
            "Tue, Nov 25, 2025, 13:30 UTC"
        );
        let unknown = LocalTime::new(Some("Mars/Olympus_Mons"));
        assert_eq!(unknown.name(), "UTC");
        assert_eq!(
            unknown.format(at, DUE_FORMAT),
            "Tue, Nov 25, 2025, 13:30 UTC"
        );
    }
}
