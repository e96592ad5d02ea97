//! [`HexColor`].

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

use super::FieldError;

/// A CSS hex colour, `#RGB`, `#RGBA`, `#RRGGBB` or `#RRGGBBAA`, kept as given
/// (what the Go service's `hexcolor` rule accepted).
///
/// ```
/// use tasker_core::domain::HexColor;
///
/// assert_eq!(HexColor::parse("#0af").unwrap().as_str(), "#0af");
/// assert_eq!(HexColor::default().as_str(), "#6b7280");
/// assert_eq!(HexColor::parse("#3b82f680").unwrap().as_str(), "#3b82f680");
/// assert!(HexColor::parse("red").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct HexColor(String);

impl HexColor {
    /// The colour a category gets when none is given.
    pub const DEFAULT: &'static str = "#6b7280";

    /// Parses `#RGB`, `#RGBA`, `#RRGGBB` or `#RRGGBBAA` (hex digits in either case).
    ///
    /// # Errors
    /// A [`FieldError`] on field `color` for anything else.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        Self::parse_field("color", raw)
    }

    /// Like [`parse`](Self::parse), reporting failures under `field`.
    ///
    /// # Errors
    /// A [`FieldError`] on `field` when `raw` is not a hex colour.
    pub fn parse_field(field: &str, raw: &str) -> Result<Self, FieldError> {
        let digits = raw.strip_prefix('#').unwrap_or("");
        let ok =
            matches!(digits.len(), 3 | 4 | 6 | 8) && digits.bytes().all(|b| b.is_ascii_hexdigit());
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(FieldError::new(
                field,
                "must be a hex colour: #RGB, #RGBA, #RRGGBB or #RRGGBBAA",
            ))
        }
    }

    /// The colour as written, including `#`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for HexColor {
    fn default() -> Self {
        Self(Self::DEFAULT.to_owned())
    }
}

impl AsRef<str> for HexColor {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for HexColor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for HexColor {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_the_four_css_forms_only() {
        for ok in ["#abc", "#ABC", "#abcd", "#a1b2c3", "#6b7280", "#6b7280ff"] {
            assert!(HexColor::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "#",
            "abc",
            "#ab",
            "#abcde",
            "#ggg",
            "#1234567",
            "#123456789",
            " #abc",
            "#abc ",
        ] {
            assert_eq!(HexColor::parse(bad).unwrap_err().field(), "color", "{bad}");
        }
    }

    proptest! {
        #[test]
        fn every_six_digit_colour_parses(n in 0u32..=0xff_ffff) {
            let raw = format!("#{n:06x}");
            let parsed = HexColor::parse(&raw).unwrap();
            prop_assert_eq!(parsed.as_str(), raw.as_str());
        }
    }
}
