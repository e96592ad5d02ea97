//! Validated values: what a service accepts instead of raw strings.
//!
//! Each type has a private field and a parsing constructor, so holding one
//! proves the value passed its checks. Failures are [`FieldError`]s naming
//! the field as the JSON contract spells it; inputs that combine several
//! values collect them all into [`ValidationErrors`].

pub(crate) mod bounded_text;

mod attachment_name;
mod category_description;
mod category_name;
mod comment_content;
mod hex_color;
pub mod timestamp;
mod todo_description;
mod todo_metadata;
mod todo_priority;
mod todo_status;
mod todo_title;
mod user_id;
mod validation;

pub use attachment_name::AttachmentName;
pub use category_description::CategoryDescription;
pub use category_name::CategoryName;
pub use comment_content::CommentContent;
pub use hex_color::HexColor;
pub use todo_description::TodoDescription;
pub use todo_metadata::TodoMetadata;
pub use todo_priority::TodoPriority;
pub use todo_status::TodoStatus;
pub use todo_title::TodoTitle;
pub use user_id::UserId;
pub use validation::{FieldError, ValidationErrors};

/// Parses a UUID, reporting failures under `field`.
///
/// # Errors
/// A [`FieldError`] naming `field` when `raw` is not a UUID.
pub fn parse_uuid(field: &str, raw: &str) -> Result<uuid::Uuid, FieldError> {
    uuid::Uuid::parse_str(raw.trim()).map_err(|_| FieldError::new(field, "must be a UUID"))
}
