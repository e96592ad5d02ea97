//! Field-level validation errors.

use std::fmt;

use serde::Serialize;

/// One invalid field: its name as the client spelled it, and what is wrong with it.
///
/// ```
/// use tasker_core::domain::{FieldError, TodoTitle};
///
/// let err: FieldError = TodoTitle::parse("   ").unwrap_err();
/// assert_eq!(err.field(), "title");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    field: String,
    error: String,
}

impl FieldError {
    /// A new error for `field` with the human-readable `error`.
    pub fn new(field: impl Into<String>, error: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            error: error.into(),
        }
    }

    /// The same error reported under another field name (for nested or renamed inputs).
    #[must_use]
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = field.into();
        self
    }

    /// The field name (camelCase, as in the JSON contract; nested fields use dots).
    pub fn field(&self) -> &str {
        &self.field
    }

    /// What is wrong with the value.
    pub fn error(&self) -> &str {
        &self.error
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.error)
    }
}

impl std::error::Error for FieldError {}

/// Every invalid field of one input, in the order they were checked.
///
/// Parsers collect all failures instead of stopping at the first, so a client
/// can fix a form in one round trip.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct ValidationErrors(Vec<FieldError>);

impl ValidationErrors {
    /// An empty collection.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one failure.
    pub fn push(&mut self, error: FieldError) {
        self.0.push(error);
    }

    /// Runs a parse result: keeps the value, or records the error and returns `None`.
    pub fn check<T>(&mut self, result: Result<T, FieldError>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.push(error);
                None
            }
        }
    }

    /// Adds every failure of `other` (the checks of a nested value).
    pub fn merge(&mut self, other: ValidationErrors) {
        self.0.extend(other.0);
    }

    /// Whether no failure was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The recorded failures.
    pub fn errors(&self) -> &[FieldError] {
        &self.0
    }

    /// Whether a failure names `field`.
    pub fn has(&self, field: &str) -> bool {
        self.0.iter().any(|e| e.field == field)
    }

    /// `Ok(value)` when no failure was recorded, else the failures.
    ///
    /// `value` is only evaluated when there were no errors, so it may unwrap the
    /// options returned by [`check`](Self::check).
    pub fn finish<T>(self, value: impl FnOnce() -> T) -> Result<T, Self> {
        if self.is_empty() {
            Ok(value())
        } else {
            Err(self)
        }
    }
}

impl From<FieldError> for ValidationErrors {
    fn from(error: FieldError) -> Self {
        Self(vec![error])
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for error in &self.0 {
            if !first {
                f.write_str("; ")?;
            }
            first = false;
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_every_failure_in_order() {
        let mut errors = ValidationErrors::new();
        assert_eq!(errors.check::<u8>(Err(FieldError::new("a", "bad"))), None);
        assert_eq!(errors.check(Ok(3)), Some(3));
        errors.push(FieldError::new("b", "worse"));
        assert!(errors.has("a") && errors.has("b") && !errors.has("c"));
        assert_eq!(errors.to_string(), "a: bad; b: worse");
        assert!(errors.finish(|| ()).is_err());
    }
}
