//! [`TodoDescription`].

use super::bounded_text::bounded_text;

bounded_text!(
    /// A todo's description: at most 1000 characters; line breaks allowed.
    ///
    /// An empty description is accepted and stored as no description
    /// (see [`TodoDescription::parse_optional`]).
    TodoDescription, field = "description", min = 0, max = 1000, multiline = true
);

impl TodoDescription {
    /// Parses a description, mapping blank text to `None`.
    ///
    /// # Errors
    /// As [`TodoDescription::parse`].
    pub fn parse_optional(raw: &str) -> Result<Option<Self>, super::FieldError> {
        Self::parse(raw).map(|d| (!d.0.is_empty()).then_some(d))
    }
}
