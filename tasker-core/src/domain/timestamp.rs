//! Parsing and normalising instants.
//!
//! tasker stores every instant in UTC with microsecond precision (what
//! PostgreSQL keeps), so a value reads back exactly as it was written on
//! both backends. JSON uses RFC 3339 in UTC.

use time::{
    Date, OffsetDateTime, UtcOffset, format_description::well_known::Rfc3339,
    macros::format_description,
};

use super::FieldError;

/// Converts to UTC and drops precision below one microsecond.
///
/// ```
/// use time::macros::datetime;
/// use tasker_core::domain::timestamp::normalize;
///
/// let t = normalize(datetime!(2026-11-25 10:00:00.123456789 +02:00));
/// assert_eq!(t, datetime!(2026-11-25 08:00:00.123456 UTC));
/// ```
pub fn normalize(t: OffsetDateTime) -> OffsetDateTime {
    // Only instants in year ±9999 UTC overflow here; they are left as they are
    // (and `parse` refuses them).
    let t = t.checked_to_offset(UtcOffset::UTC).unwrap_or(t);
    let micros = t.nanosecond() / 1_000 * 1_000;
    t.replace_nanosecond(micros).unwrap_or(t)
}

/// The earliest instant tasker accepts from clients (1970-01-01T00:00:00Z).
pub const EARLIEST: OffsetDateTime = OffsetDateTime::UNIX_EPOCH;

/// Parses an RFC 3339 date-time (any offset) or a plain `YYYY-MM-DD` date
/// (midnight UTC), reporting failures under `field`. The instant must fall in
/// the years 1970–9999 (UTC).
///
/// # Errors
/// A [`FieldError`] naming `field` when `raw` is neither form or out of range.
pub fn parse(field: &str, raw: &str) -> Result<OffsetDateTime, FieldError> {
    parse_with(field, raw, false)
}

/// Like [`parse`], for the upper end of a range: a plain date means the end of
/// that day (`23:59:59.999999` UTC), so `dueTo=2026-11-30` includes the 30th.
///
/// # Errors
/// As [`parse`].
pub fn parse_until(field: &str, raw: &str) -> Result<OffsetDateTime, FieldError> {
    parse_with(field, raw, true)
}

fn parse_with(field: &str, raw: &str, end_of_day: bool) -> Result<OffsetDateTime, FieldError> {
    let raw = raw.trim();
    // The `time` crate takes any byte between the date and the time of an
    // RFC 3339 value; RFC 3339 has `T` (any case), or a space.
    let separator_ok = raw.as_bytes().get(10).is_none_or(|b| b"Tt ".contains(b));
    let parsed = OffsetDateTime::parse(raw, &Rfc3339)
        .map_err(|_| ())
        .and_then(|t| if separator_ok { Ok(t) } else { Err(()) })
        .map(normalize)
        .or_else(|_| {
            Date::parse(raw, format_description!("[year]-[month]-[day]")).map(|d| {
                let time = if end_of_day {
                    time::macros::time!(23:59:59.999999)
                } else {
                    time::Time::MIDNIGHT
                };
                d.with_time(time).assume_utc()
            })
        });
    match parsed {
        Ok(t) if t.offset().is_utc() && t >= EARLIEST && t.year() <= 9999 => Ok(t),
        Ok(_) => Err(FieldError::new(
            field,
            "must be between 1970-01-01 and 9999-12-31 (UTC)",
        )),
        Err(_) => Err(FieldError::new(
            field,
            "must be an RFC 3339 date-time such as 2026-01-31T17:00:00Z, or a date YYYY-MM-DD",
        )),
    }
}

/// Formats as RFC 3339 in UTC (`2026-11-25T08:00:00.123456Z`).
pub fn format(t: OffsetDateTime) -> String {
    normalize(t)
        .format(&Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// Serde adapter: RFC 3339 in UTC, used for every instant in the JSON contract.
pub mod rfc3339 {
    pub use time::serde::rfc3339::{deserialize, serialize};

    /// The same for `Option<OffsetDateTime>` (`null` when absent).
    pub mod option {
        pub use time::serde::rfc3339::option::{deserialize, serialize};
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn accepts_offsets_and_plain_dates() {
        assert_eq!(
            parse("dueDate", "2026-01-31T17:00:00+01:00").unwrap(),
            datetime!(2026-01-31 16:00 UTC)
        );
        assert_eq!(
            parse("dueDate", "2026-01-31").unwrap(),
            datetime!(2026-01-31 0:00 UTC)
        );
        let err = parse("dueFrom", "tomorrow").unwrap_err();
        assert_eq!(err.field(), "dueFrom");
        assert!(parse("x", "2026-02-30").is_err());
        assert!(parse("x", "1969-12-31T23:59:59Z").is_err());
        assert!(
            parse("x", "9999-12-31T23:59:59-01:00").is_err(),
            "year 10000 in UTC"
        );
        assert!(parse("x", "1970-01-01T00:00:00Z").is_ok());
    }

    #[test]
    fn a_plain_date_as_an_upper_bound_covers_the_whole_day() {
        assert_eq!(
            parse_until("dueTo", "2026-11-30").unwrap(),
            datetime!(2026-11-30 23:59:59.999999 UTC)
        );
        assert_eq!(
            parse_until("dueTo", "2026-11-30T12:00:00Z").unwrap(),
            datetime!(2026-11-30 12:00 UTC)
        );
        assert!(parse_until("dueTo", "9999-12-31").is_ok());
    }

    #[test]
    fn formats_in_utc() {
        assert_eq!(
            format(datetime!(2026-01-31 17:00 +01:00)),
            "2026-01-31T16:00:00Z"
        );
    }
}
