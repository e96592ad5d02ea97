//! [`LocalWeek`]: the week a user's weekly report covers, in the user's time
//! zone, and whether it is due yet.
//!
//! The report for a week goes out from Monday [`REPORT_HOUR`]:00 of the next
//! week, local time. The scan that sends it runs every hour (UTC), so every
//! zone, whole-hour or not, gets its report within the hour after that; a
//! tick that comes late (a worker was down) still sends it, any day of the
//! week, and the notification ledger keeps it to one per week. A DST change
//! neither skips the hour (the check is "at or after", not "at") nor repeats
//! it (the week, not the hour, is what is recorded).

use jiff::{Timestamp, ToSpan, civil::Weekday, tz::TimeZone};
use time::OffsetDateTime;

/// The local hour on Monday from which the previous week's report is sent.
pub const REPORT_HOUR: i8 = 9;

/// One local week, Monday 00:00 to the next Monday 00:00.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalWeek {
    /// Its first instant.
    pub start: OffsetDateTime,
    /// The first instant after it (7 days later, give or take a DST hour).
    pub end: OffsetDateTime,
    /// Its ISO week, as the ledger records it (`2026-W48`).
    pub period: String,
}

impl LocalWeek {
    /// The week whose report is due at `now` in the zone `zone` (an IANA
    /// name; UTC when unknown): the last week whose next Monday
    /// [`REPORT_HOUR`]:00 has come. `None` only for an instant outside the
    /// calendar's range.
    pub fn due_at(now: OffsetDateTime, zone: &str) -> Option<Self> {
        let tz = TimeZone::get(zone).unwrap_or(TimeZone::UTC);
        let now = Timestamp::from_second(now.unix_timestamp())
            .ok()?
            .to_zoned_datetime(tz.clone());
        let days_since_monday = i64::from(now.weekday().to_monday_zero_offset());
        let mut monday = now.date().checked_sub(days_since_monday.days()).ok()?;
        debug_assert_eq!(monday.weekday(), Weekday::Monday);
        let send_from = monday
            .at(REPORT_HOUR, 0, 0, 0)
            .to_zoned_datetime(tz.clone())
            .ok()?;
        if now < send_from {
            // Early on Monday: last Monday's report is still the one due.
            monday = monday.checked_sub(7.days()).ok()?;
        }
        let start = monday
            .checked_sub(7.days())
            .ok()?
            .to_zoned_datetime(tz.clone())
            .ok()?;
        let end = monday.to_zoned_datetime(tz).ok()?;
        let start = instant(start.timestamp())?;
        Some(Self {
            start,
            end: instant(end.timestamp())?,
            period: period_of(start),
        })
    }
}

/// The ISO week (`2026-W48`) of the week that starts at `start`, in any
/// zone: the week of the instant three days later, which is that week's
/// Thursday (the day ISO weeks are named by) everywhere from UTC−12 to
/// UTC+14.
pub(crate) fn period_of(start: OffsetDateTime) -> String {
    let (year, week, _) = (start + time::Duration::days(3)).to_iso_week_date();
    format!("{year}-W{week:02}")
}

/// The ledger kind of weekly reports, and the first part of their keys.
pub(crate) const WEEKLY_REPORT: &str = "weekly_report";

/// The key of a user's report for `period`, in the queue and at the provider.
pub(crate) fn report_key(user: &str, period: &str) -> String {
    format!("{WEEKLY_REPORT}/{user}/{period}")
}

fn instant(at: Timestamp) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(at.as_second()).ok()
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn the_report_is_due_from_monday_nine_local_time_in_every_zone() {
        let period = |at, zone| LocalWeek::due_at(at, zone).unwrap().period;
        // Tokyo (+09:00): Monday 09:00 local is Monday 00:00 UTC; before it,
        // the week before is still the one due.
        assert_eq!(
            period(datetime!(2026-11-29 23:59 UTC), "Asia/Tokyo"),
            "2026-W47"
        );
        let week = LocalWeek::due_at(datetime!(2026-11-30 00:00 UTC), "Asia/Tokyo").unwrap();
        assert_eq!(week.start, datetime!(2026-11-22 15:00 UTC));
        assert_eq!(week.end, datetime!(2026-11-29 15:00 UTC));
        assert_eq!(week.period, "2026-W48");
        // Kolkata (+05:30): 03:30 UTC; Chatham (+13:45 in summer): Sunday 19:15 UTC.
        assert_eq!(
            period(datetime!(2026-11-30 03:29 UTC), "Asia/Kolkata"),
            "2026-W47"
        );
        assert_eq!(
            period(datetime!(2026-11-30 03:30 UTC), "Asia/Kolkata"),
            "2026-W48"
        );
        assert_eq!(
            period(datetime!(2026-11-29 19:14 UTC), "Pacific/Chatham"),
            "2026-W47"
        );
        assert_eq!(
            period(datetime!(2026-11-29 19:15 UTC), "Pacific/Chatham"),
            "2026-W48"
        );
        // A late tick, on Thursday, still finds the same week.
        let late = LocalWeek::due_at(datetime!(2026-12-03 12:00 UTC), "Asia/Tokyo").unwrap();
        assert_eq!(late, week);
    }

    #[test]
    fn weeks_with_a_dst_change_are_an_hour_short_or_long_and_keep_their_iso_label() {
        // Berlin springs forward on Sunday 2027-03-28: that week has 167 hours.
        let week = LocalWeek::due_at(datetime!(2027-03-29 08:00 UTC), "Europe/Berlin").unwrap();
        assert_eq!(week.start, datetime!(2027-03-21 23:00 UTC));
        assert_eq!(week.end, datetime!(2027-03-28 22:00 UTC));
        assert_eq!(week.period, "2027-W12");
        // New York falls back on Sunday 2026-11-01: 169 hours.
        let week = LocalWeek::due_at(datetime!(2026-11-02 14:00 UTC), "America/New_York").unwrap();
        assert_eq!(week.start, datetime!(2026-10-26 04:00 UTC));
        assert_eq!(week.end, datetime!(2026-11-02 05:00 UTC));
        // The year's last and first weeks: 2026-12-28 starts ISO week 2026-W53.
        let week = LocalWeek::due_at(datetime!(2027-01-04 09:00 UTC), "UTC").unwrap();
        assert_eq!(week.period, "2026-W53");
        assert_eq!(week.start, datetime!(2026-12-28 00:00 UTC));
        let week = LocalWeek::due_at(datetime!(2027-01-11 09:00 UTC), "UTC").unwrap();
        assert_eq!(week.period, "2027-W01");
    }
}
