//! What tasker stores and returns, and the raw inputs that become validated values.
//!
//! Read models ([`Todo`], [`Category`], …) serialise with the camelCase field
//! names of the JSON contract. Inputs come in two steps: a raw, deserialisable
//! body ([`CreateTodo`]) and the validated value ([`NewTodo`]) obtained with
//! `TryFrom`, which lists every failing field.

mod attachment;
mod category;
mod comment;
mod job_run;
mod nullable;
mod page;
mod stats;
mod todo;

pub use attachment::{Attachment, NewAttachment};
pub use category::{Category, CategoryPatch, CreateCategory, NewCategory, UpdateCategory};
pub use comment::{Comment, CommentInput};
pub use job_run::{JobRun, JobRunCounts, JobRunStatus, KnownUser};
pub use nullable::Nullable;
pub use page::Page;
pub use stats::{TodoStats, WeeklyStats};
pub use todo::{CreateTodo, NewTodo, PopulatedTodo, Todo, TodoPatch, UpdateTodo};

/// Fields the server sets; a client that sends one is told so by name.
const READ_ONLY: &[&str] = &[
    "id",
    "userId",
    "todoId",
    "createdAt",
    "updatedAt",
    "completedAt",
    "sortOrder",
    "uploadedBy",
    "downloadKey",
];

/// Records one error per key of `extra` (the body keys no field took).
fn reject_unknown(
    errors: &mut crate::domain::ValidationErrors,
    extra: &serde_json::Map<String, serde_json::Value>,
    allowed: &[&str],
) {
    use crate::domain::FieldError;
    for key in extra.keys() {
        let error = if key.is_empty() {
            // An empty key cannot name its own error.
            FieldError::new(
                "body",
                format!("has an empty key; allowed: {}", allowed.join(", ")),
            )
        } else if READ_ONLY.contains(&key.as_str()) {
            FieldError::new(key.as_str(), "is set by the server and cannot be written")
        } else {
            FieldError::new(
                key.as_str(),
                format!("unknown field; allowed: {}", allowed.join(", ")),
            )
        };
        errors.push(error);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::CommentContent;

    #[test]
    fn an_empty_key_is_reported_on_a_named_field() {
        let input: UpdateTodo = serde_json::from_str(r#"{"": "completed", "title": "x"}"#).unwrap();
        let errors = TodoPatch::try_from(input).unwrap_err();
        assert!(errors.has("body"), "{errors:?}");
        assert!(errors.errors().iter().all(|e| !e.field().is_empty()));

        let input: CommentInput = serde_json::from_str(r#"{"content": "ok", "": 1}"#).unwrap();
        let errors = CommentContent::try_from(input).unwrap_err();
        assert!(errors.has("body"), "{errors:?}");
    }
}
