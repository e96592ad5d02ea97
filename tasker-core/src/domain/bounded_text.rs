//! The shared shape of length-bounded text newtypes.

/// Checks a trimmed text against length and character rules.
///
/// Lengths count Unicode scalar values, as the contract's `maxLength` does.
pub(crate) fn check_text(
    field: &'static str,
    raw: &str,
    min: usize,
    max: usize,
    multiline: bool,
) -> Result<String, super::FieldError> {
    use super::FieldError;
    let value = raw.trim();
    let len = value.chars().count();
    if len < min {
        return Err(FieldError::new(
            field,
            if min == 1 {
                "must not be empty".to_owned()
            } else {
                format!("must be at least {min} characters")
            },
        ));
    }
    if len > max {
        return Err(FieldError::new(
            field,
            format!("must be at most {max} characters (got {len})"),
        ));
    }
    let bad = |c: char| c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t'));
    if value.chars().any(bad) {
        return Err(FieldError::new(
            field,
            if multiline {
                "must not contain control characters other than line breaks and tabs"
            } else {
                "must not contain control characters or line breaks"
            },
        ));
    }
    Ok(value.to_owned())
}

/// Declares a validated text newtype with a private field and a `parse` constructor.
macro_rules! bounded_text {
    (
        $(#[$meta:meta])*
        $name:ident, field = $field:literal, min = $min:literal, max = $max:literal, multiline = $multiline:literal
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The field name used in validation errors.
            pub const FIELD: &'static str = $field;
            /// Minimum length in characters, after trimming.
            pub const MIN_LEN: usize = $min;
            /// Maximum length in characters, after trimming.
            pub const MAX_LEN: usize = $max;

            /// Trims `raw` and checks its length and characters.
            ///
            /// # Errors
            /// A [`FieldError`](crate::domain::FieldError) naming the field when the text
            /// is too short, too long, or holds forbidden control characters.
            pub fn parse(raw: &str) -> Result<Self, $crate::domain::FieldError> {
                $crate::domain::bounded_text::check_text($field, raw, $min, $max, $multiline).map(Self)
            }

            /// Wraps text read back from the database, which was checked when written.
            #[allow(dead_code)]
            pub(crate) fn from_db(value: String) -> Self {
                Self(value)
            }

            /// The text as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The owned text.
            pub fn into_inner(self) -> String {
                self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = $crate::domain::FieldError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(d)?;
                Self::parse(&raw).map_err(serde::de::Error::custom)
            }
        }
    };
}

pub(crate) use bounded_text;

#[cfg(test)]
mod tests {
    use super::check_text;
    use proptest::prelude::*;

    #[test]
    fn trims_and_counts_characters_not_bytes() {
        assert_eq!(check_text("t", "  hé  ", 1, 2, false).unwrap(), "hé");
        assert!(check_text("t", "héé", 1, 2, false).is_err());
        assert_eq!(check_text("t", " ", 1, 2, false).unwrap_err().field(), "t");
    }

    #[test]
    fn line_breaks_only_where_multiline() {
        assert!(check_text("t", "a\nb", 1, 9, false).is_err());
        assert!(check_text("t", "a\nb\tc", 1, 9, true).is_ok());
        assert!(check_text("t", "a\u{0}b", 1, 9, true).is_err());
    }

    proptest! {
        #[test]
        fn accepted_text_respects_bounds(s in "\\PC{0,40}") {
            if let Ok(v) = check_text("t", &s, 1, 20, false) {
                let n = v.chars().count();
                prop_assert!((1..=20).contains(&n));
                prop_assert_eq!(v.trim(), v.as_str());
            }
        }
    }
}
