//! [`CategoryName`].

use super::bounded_text::bounded_text;

bounded_text!(
    /// A category's name: 1–100 characters, one line; unique per user regardless of case.
    ///
    /// ```
    /// use tasker_core::domain::CategoryName;
    ///
    /// let name = CategoryName::parse("Work").unwrap();
    /// assert_eq!(name.key(), CategoryName::parse("WORK").unwrap().key());
    /// ```
    CategoryName, field = "name", min = 1, max = 100, multiline = false
);

impl CategoryName {
    /// The case-folded form that the per-user uniqueness rule compares.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}
