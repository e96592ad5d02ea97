//! [`CommentService`].

use uuid::Uuid;

use crate::{
    Error, Resource, Result,
    clock::SharedClock,
    domain::{CommentContent, UserId},
    model::Comment,
    store::{CommentStore, TodoStore},
};

/// Comments on the user's own todos; only the author edits or deletes one.
#[derive(Debug, Clone)]
pub struct CommentService<S> {
    store: S,
    clock: SharedClock,
}

impl<S: CommentStore + TodoStore> CommentService<S> {
    /// A service over `store`.
    pub fn new(store: S, clock: SharedClock) -> Self {
        Self { store, clock }
    }

    /// Adds a comment to the user's todo.
    ///
    /// # Errors
    /// [`Error::NotFound`] ([`Resource::Todo`]) when the todo is missing or another user's.
    pub async fn add(
        &self,
        user: &UserId,
        todo_id: Uuid,
        content: CommentContent,
    ) -> Result<Comment> {
        self.require_todo(user, todo_id).await?;
        let now = self.clock.now();
        let comment = Comment {
            id: Uuid::now_v7(),
            todo_id,
            user_id: user.clone(),
            content: content.into_inner(),
            created_at: now,
            updated_at: now,
        };
        self.store.insert_comment(&comment).await
    }

    /// The comments on the user's todo, oldest first.
    ///
    /// # Errors
    /// [`Error::NotFound`] when the todo is missing or another user's.
    pub async fn list(&self, user: &UserId, todo_id: Uuid) -> Result<Vec<Comment>> {
        self.require_todo(user, todo_id).await?;
        self.store.list_comments(user, todo_id).await
    }

    /// Edits a comment the user wrote.
    ///
    /// # Errors
    /// [`Error::NotFound`] ([`Resource::Comment`]) when it is missing, not the
    /// user's, or on another user's todo.
    pub async fn update(
        &self,
        user: &UserId,
        id: Uuid,
        content: CommentContent,
    ) -> Result<Comment> {
        self.store
            .update_comment(user, id, &content, self.clock.now())
            .await?
            .ok_or(Error::NotFound(Resource::Comment))
    }

    /// Deletes a comment the user wrote.
    ///
    /// # Errors
    /// [`Error::NotFound`] as for [`update`](Self::update).
    pub async fn delete(&self, user: &UserId, id: Uuid) -> Result<()> {
        if self.store.delete_comment(user, id).await? {
            Ok(())
        } else {
            Err(Error::NotFound(Resource::Comment))
        }
    }

    async fn require_todo(&self, user: &UserId, todo_id: Uuid) -> Result<()> {
        match self.store.get_todo(user, todo_id).await? {
            Some(_) => Ok(()),
            None => Err(Error::NotFound(Resource::Todo)),
        }
    }
}
