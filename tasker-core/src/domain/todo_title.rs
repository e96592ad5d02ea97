//! [`TodoTitle`].

use super::bounded_text::bounded_text;

bounded_text!(
    /// A todo's title: 1–255 characters after trimming, one line.
    ///
    /// ```
    /// use tasker_core::domain::TodoTitle;
    ///
    /// assert_eq!(TodoTitle::parse("  Buy milk ").unwrap().as_str(), "Buy milk");
    /// assert!(TodoTitle::parse("").is_err());
    /// assert!(TodoTitle::parse(&"x".repeat(256)).is_err());
    /// ```
    TodoTitle, field = "title", min = 1, max = 255, multiline = false
);
