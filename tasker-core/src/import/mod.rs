//! Bringing data over from the Go service.
//!
//! [`GoDatabase`] reads a Go tasker PostgreSQL database (its tables
//! `todo_categories`, `todos`, `todo_comments`, `todo_attachments`) one user
//! at a time and turns the rows into tasker's records, keeping every id,
//! timestamp and attachment download key, so the same bucket keeps serving
//! the files. [`AnyStore::import_batch`](crate::store::AnyStore::import_batch)
//! writes one user's [`ImportBatch`] in one transaction and skips rows whose
//! id is already stored: a second import changes nothing.
//!
//! ```no_run
//! # async fn run(store: tasker_core::store::AnyStore) -> tasker_core::Result<()> {
//! use tasker_core::import::GoDatabase;
//!
//! let go = GoDatabase::connect("postgres://go@old-db/tasker").await?;
//! let mut batches = Vec::new();
//! for user in go.users().await? {
//!     // Every user is read and checked before anything is written.
//!     batches.push(go.read_user(&user).await?);
//! }
//! for batch in &batches {
//!     let written = store.import_batch(batch).await?;
//!     println!("{}: {written}", batch.user);
//! }
//! # Ok(())
//! # }
//! ```

#[cfg(feature = "postgres")]
mod go;

use std::fmt;

#[cfg(feature = "postgres")]
pub use go::GoDatabase;

use crate::{
    domain::UserId,
    model::{Attachment, Category, Comment, Todo},
};

/// One user's records, ready to be written: categories, todos (every parent
/// before its subtasks), comments and attachments.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportBatch {
    /// Whose records these are.
    pub user: UserId,
    /// The user's categories.
    pub categories: Vec<Category>,
    /// The user's todos, root todos first.
    pub todos: Vec<Todo>,
    /// The comments on those todos.
    pub comments: Vec<Comment>,
    /// The attachment records of those todos.
    pub attachments: Vec<Attachment>,
}

/// How many rows an import wrote (rows already stored are not counted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportCounts {
    /// New categories.
    pub categories: u64,
    /// New todos.
    pub todos: u64,
    /// New comments.
    pub comments: u64,
    /// New attachment records.
    pub attachments: u64,
}

impl ImportCounts {
    /// Adds `other` to these counts.
    pub fn add(&mut self, other: Self) {
        self.categories += other.categories;
        self.todos += other.todos;
        self.comments += other.comments;
        self.attachments += other.attachments;
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

impl fmt::Display for ImportCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} categories, {} todos, {} comments, {} attachments",
            self.categories, self.todos, self.comments, self.attachments
        )
    }
}
