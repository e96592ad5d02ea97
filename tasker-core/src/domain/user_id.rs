//! [`UserId`].

use super::bounded_text::bounded_text;

bounded_text!(
    /// The authenticated user's id (a token's `sub`, e.g. a Clerk `user_…` id).
    ///
    /// Every store query is scoped by it. 1–255 characters, one line.
    ///
    /// ```
    /// use tasker_core::domain::UserId;
    ///
    /// let user = UserId::parse("user_2abc").unwrap();
    /// assert_eq!(user.as_str(), "user_2abc");
    /// ```
    UserId, field = "userId", min = 1, max = 255, multiline = false
);
