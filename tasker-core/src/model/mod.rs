//! What tasker stores and returns, and the raw inputs that become validated values.
//!
//! Read models ([`Todo`], [`Category`], …) serialise with the camelCase field
//! names of the JSON contract. Inputs come in two steps: a raw, deserialisable
//! body ([`CreateTodo`]) and the validated value ([`NewTodo`]) obtained with
//! `TryFrom`, which lists every failing field.

mod attachment;
mod category;
mod comment;
mod nullable;
mod page;
mod stats;
mod todo;

pub use attachment::{Attachment, NewAttachment};
pub use category::{Category, CategoryPatch, CreateCategory, NewCategory, UpdateCategory};
pub use comment::{Comment, CommentInput};
pub use nullable::Nullable;
pub use page::Page;
pub use stats::{TodoStats, WeeklyStats};
pub use todo::{CreateTodo, NewTodo, PopulatedTodo, Todo, TodoPatch, UpdateTodo};
