//! [`AttachmentName`].

use super::bounded_text::bounded_text;

bounded_text!(
    /// An uploaded file's display name: 1–255 characters, one line.
    ///
    /// ```
    /// use tasker_core::domain::AttachmentName;
    ///
    /// let name = AttachmentName::from_upload("C:\\Users\\me\\report.pdf").unwrap();
    /// assert_eq!(name.as_str(), "report.pdf");
    /// ```
    AttachmentName, field = "file", min = 1, max = 255, multiline = false
);

impl AttachmentName {
    /// Parses a client-supplied file name, keeping only its last path component
    /// (browsers on some systems send full paths).
    ///
    /// # Errors
    /// As [`AttachmentName::parse`], after stripping directories.
    pub fn from_upload(raw: &str) -> Result<Self, super::FieldError> {
        let last = raw.rsplit(['/', '\\']).next().unwrap_or(raw);
        Self::parse(last)
    }
}
