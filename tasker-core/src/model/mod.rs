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
mod json_object;
mod nullable;
mod page;
mod settings;
mod stats;
mod todo;

pub use attachment::{Attachment, NewAttachment};
pub use category::{Category, CategoryPatch, CreateCategory, NewCategory, UpdateCategory};
pub use comment::{Comment, CommentInput};
pub use job_run::{JobRun, JobRunCounts, JobRunStatus, KnownUser};
pub use json_object::JsonObject;
pub use nullable::Nullable;
pub use page::Page;
pub use settings::{
    NotificationKind, Notifications, SettingsChange, SettingsDefaults, StoredSettings,
    TimeZoneName, UpdateNotifications, UpdateSettings, UserSettings,
};
pub use stats::{TodoStats, WeeklyStats};
pub use todo::{CreateTodo, NewTodo, PopulatedTodo, Todo, TodoPatch, UpdateTodo};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::CommentContent;

    #[test]
    fn an_empty_key_is_ignored_like_any_key_no_field_names() {
        let input: UpdateTodo = serde_json::from_str(r#"{"": "completed", "title": "x"}"#).unwrap();
        let patch = TodoPatch::try_from(input).unwrap();
        assert!(patch.status.is_none() && patch.title.is_some());

        let input: CommentInput = serde_json::from_str(r#"{"content": "ok", "": 1}"#).unwrap();
        assert_eq!(CommentContent::try_from(input).unwrap().as_str(), "ok");
    }
}
