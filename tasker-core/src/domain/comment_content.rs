//! [`CommentContent`].

use super::bounded_text::bounded_text;

bounded_text!(
    /// A comment's text: 1–1000 characters; line breaks allowed.
    CommentContent, field = "content", min = 1, max = 1000, multiline = true
);
