//! Comments on todos: [`Comment`] and its input [`CommentInput`].

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::{CommentContent, FieldError, UserId, ValidationErrors, timestamp::rfc3339};

/// A comment as stored. Only its author may edit or delete it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Comment {
    /// Its id.
    pub id: Uuid,
    /// The todo it is on.
    pub todo_id: Uuid,
    /// Its author.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
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
/// let ok: CommentInput = serde_json::from_str(r#"{"content": "Done?"}"#).unwrap();
/// assert_eq!(CommentContent::try_from(ok).unwrap().as_str(), "Done?");
///
/// // Keys it does not name (the Go frontend sends `todoId`) are ignored.
/// let extra: CommentInput =
///     serde_json::from_str(r#"{"todoId": "x", "content": "Done?"}"#).unwrap();
/// assert!(CommentContent::try_from(extra).is_ok());
///
/// let bad: CommentInput = serde_json::from_str(r#"{"text": "Done?"}"#).unwrap();
/// let errors = CommentContent::try_from(bad).unwrap_err();
/// assert!(errors.has("content") && !errors.has("text"));
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    schema(
        as = CommentRequest,
        description = "Body of \"add a comment\" and \"edit a comment\". Other keys (the Go frontend\nsends `todoId`) are ignored."
    )
)]
pub struct CommentInput {
    /// 1–1000 characters, not all blank; line breaks allowed.
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = String, min_length = 1, max_length = 1000, pattern = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$")
    )]
    pub content: Option<String>,
}

impl TryFrom<CommentInput> for CommentContent {
    type Error = ValidationErrors;

    fn try_from(input: CommentInput) -> Result<Self, Self::Error> {
        let mut errors = ValidationErrors::new();
        let content = match input.content {
            Some(c) => errors.check(CommentContent::parse(&c)),
            None => errors.check(Err(FieldError::new("content", "is required"))),
        };
        errors.finish(|| content.expect("checked"))
    }
}
