//! [`CategoryDescription`].

use super::bounded_text::bounded_text;

bounded_text!(
    /// A category's description: at most 255 characters.
    CategoryDescription, field = "description", min = 0, max = 255, multiline = true
);

impl CategoryDescription {
    /// Parses a description, mapping blank text to `None`.
    ///
    /// # Errors
    /// As [`CategoryDescription::parse`].
    pub fn parse_optional(raw: &str) -> Result<Option<Self>, super::FieldError> {
        Self::parse(raw).map(|d| (!d.0.is_empty()).then_some(d))
    }
}
