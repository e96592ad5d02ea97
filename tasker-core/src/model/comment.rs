//! Comments on todos: [`Comment`] and its input [`CommentInput`].

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::{CommentContent, FieldError, UserId, ValidationErrors, timestamp::rfc3339};

/// A comment as stored. Only its author may edit or delete it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Comment {
    /// Its id.
    pub id: Uuid,
    /// The todo it is on.
    pub todo_id: Uuid,
    /// Its author.
    pub user_id: UserId,
    /// 1–1000 characters.
    pub content: String,
    /// Creation instant.
    #[serde(with = "rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last edit instant.
    #[serde(with = "rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// The JSON body of "add a comment" and "edit a comment", as sent.
///
/// ```
/// use tasker_core::{domain::CommentContent, model::CommentInput};
///
/// let ok = CommentContent::try_from(CommentInput { content: Some("Done?".into()) }).unwrap();
/// assert_eq!(ok.as_str(), "Done?");
/// assert!(CommentContent::try_from(CommentInput { content: None }).unwrap_err().has("content"));
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommentInput {
    /// Required.
    pub content: Option<String>,
}

impl TryFrom<CommentInput> for CommentContent {
    type Error = ValidationErrors;

    fn try_from(input: CommentInput) -> Result<Self, Self::Error> {
        match input.content {
            Some(c) => CommentContent::parse(&c).map_err(Into::into),
            None => Err(FieldError::new("content", "is required").into()),
        }
    }
}
