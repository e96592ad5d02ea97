//! [`TodoService`]: creating, reading, listing, updating and deleting todos.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::{
    Error, Resource, Result,
    blob::BlobStore,
    clock::SharedClock,
    domain::{FieldError, TodoStatus, UserId, ValidationErrors},
    model::{NewTodo, Page, PopulatedTodo, Todo, TodoPatch, TodoStats},
    query::TodoQuery,
    store::{self, CategoryStore, TodoChanges, TodoStore},
};

/// The todo rules: one level of subtasks, owner-scoped parents and categories,
/// `completedAt` kept in step with `status`, cascading deletes.
#[derive(Debug, Clone)]
pub struct TodoService<S> {
    store: S,
    clock: SharedClock,
    blobs: BlobStore,
}

impl<S: TodoStore + CategoryStore> TodoService<S> {
    /// A service over `store`, asking `clock` for the time and removing
    /// attachment files from `blobs` when todos are deleted.
    pub fn new(store: S, clock: SharedClock, blobs: BlobStore) -> Self {
        Self {
            store,
            clock,
            blobs,
        }
    }

    /// Creates a todo (status `draft`).
    ///
    /// # Errors
    /// [`Error::NotFound`] for a parent ([`Resource::ParentTodo`]) or category
    /// that is missing or another user's; [`Error::Validation`] on
    /// `parentTodoId` when the parent is itself a subtask.
    #[tracing::instrument(skip(self, new), fields(user = %user), err(level = "debug"))]
    pub async fn create(&self, user: &UserId, new: NewTodo) -> Result<Todo> {
        if let Some(parent) = new.parent_todo_id {
            self.check_parent(user, None, parent).await?;
        }
        if let Some(category) = new.category_id {
            self.check_category(user, category).await?;
        }
        let now = self.clock.now();
        let todo = Todo {
            id: Uuid::now_v7(),
            user_id: user.clone(),
            title: new.title.into_inner(),
            description: new.description.map(|d| d.into_inner()),
            status: TodoStatus::Draft,
            priority: new.priority,
            due_date: new.due_date,
            completed_at: None,
            parent_todo_id: new.parent_todo_id,
            category_id: new.category_id,
            metadata: new.metadata,
            sort_order: 0,
            created_at: now,
            updated_at: now,
        };
        self.store.insert_todo(&todo).await
    }

    /// One todo with its category, subtasks, comments and attachments.
    ///
    /// # Errors
    /// [`Error::NotFound`] when it is missing or another user's.
    pub async fn get(&self, user: &UserId, id: Uuid) -> Result<PopulatedTodo> {
        self.store
            .get_populated_todo(user, id)
            .await?
            .ok_or(Error::NotFound(Resource::Todo))
    }

    /// One page of the user's todos, populated.
    ///
    /// # Errors
    /// [`Error::Storage`] only; the query was validated when parsed.
    pub async fn list(&self, user: &UserId, query: &TodoQuery) -> Result<Page<PopulatedTodo>> {
        self.store.list_todos(user, query, self.clock.now()).await
    }

    /// Counts by status, and overdue now.
    ///
    /// # Errors
    /// [`Error::Storage`] only.
    pub async fn stats(&self, user: &UserId) -> Result<TodoStats> {
        self.store.todo_stats(user, self.clock.now()).await
    }

    /// Applies a partial update.
    ///
    /// Moving to `completed` sets `completedAt` to now (kept if it was already
    /// completed); any other status clears it.
    ///
    /// # Errors
    /// [`Error::NotFound`] for the todo, a new parent or a new category that
    /// is missing or another user's; [`Error::Validation`] on `parentTodoId`
    /// when the change would nest subtasks or make a todo its own parent.
    #[tracing::instrument(skip(self, patch), fields(user = %user), err(level = "debug"))]
    pub async fn update(&self, user: &UserId, id: Uuid, patch: TodoPatch) -> Result<Todo> {
        self.apply(user, id, patch, None).await
    }

    /// [`update`](Self::update), but only while the todo's `updatedAt` is
    /// still `last_updated_at` (optimistic concurrency: the check and the
    /// write are one statement, so of two writers that read the same version
    /// only one succeeds).
    ///
    /// # Errors
    /// As [`update`](Self::update), and [`Error::Stale`] when the todo
    /// changed in between.
    pub async fn update_if_unchanged(
        &self,
        user: &UserId,
        id: Uuid,
        patch: TodoPatch,
        last_updated_at: OffsetDateTime,
    ) -> Result<Todo> {
        self.apply(user, id, patch, Some(last_updated_at)).await
    }

    async fn apply(
        &self,
        user: &UserId,
        id: Uuid,
        patch: TodoPatch,
        expected: Option<OffsetDateTime>,
    ) -> Result<Todo> {
        if patch.is_empty() {
            return Err(Error::invalid("body", "must change at least one field"));
        }
        let current = self
            .store
            .get_todo(user, id)
            .await?
            .ok_or(Error::NotFound(Resource::Todo))?;
        if expected.is_some_and(|expected| expected != current.updated_at) {
            return Err(Error::Stale(Resource::Todo));
        }
        if let Some(Some(parent)) = patch.parent_todo_id {
            self.check_parent(user, Some(id), parent).await?;
        }
        if let Some(Some(category)) = patch.category_id {
            self.check_category(user, category).await?;
        }
        let now = next_version(self.clock.now(), expected);
        let completed_at = patch.status.map(|status| match status {
            TodoStatus::Completed => current.completed_at.or(Some(now)),
            _ => None,
        });
        let changes = TodoChanges {
            patch,
            completed_at,
            updated_at: now,
            expected_updated_at: expected,
        };
        match self.store.update_todo(user, id, &changes).await? {
            Some(todo) => Ok(todo),
            None if expected.is_some() && self.store.get_todo(user, id).await?.is_some() => {
                Err(Error::Stale(Resource::Todo))
            }
            None => Err(Error::NotFound(Resource::Todo)),
        }
    }

    /// Deletes a todo with its subtasks, comments and attachments (records in
    /// one transaction, then the files).
    ///
    /// A file that cannot be removed is logged and left for the orphan sweep;
    /// the delete still succeeds.
    ///
    /// # Errors
    /// [`Error::NotFound`] when it is missing or another user's.
    #[tracing::instrument(skip(self), fields(user = %user), err(level = "debug"))]
    pub async fn delete(&self, user: &UserId, id: Uuid) -> Result<()> {
        self.remove(user, id, None).await
    }

    /// [`delete`](Self::delete), but only while the todo's `updatedAt` is
    /// still `last_updated_at` (checked under the row lock of the delete).
    ///
    /// # Errors
    /// As [`delete`](Self::delete), and [`Error::Stale`] when the todo
    /// changed in between.
    pub async fn delete_if_unchanged(
        &self,
        user: &UserId,
        id: Uuid,
        last_updated_at: OffsetDateTime,
    ) -> Result<()> {
        self.remove(user, id, Some(last_updated_at)).await
    }

    async fn remove(
        &self,
        user: &UserId,
        id: Uuid,
        expected: Option<OffsetDateTime>,
    ) -> Result<()> {
        let keys = self
            .store
            .delete_todo(user, id, expected)
            .await?
            .ok_or(Error::NotFound(Resource::Todo))?;
        // The files go once the delete is durable (inside an idempotent
        // write, after its commit).
        let blobs = self.blobs.clone();
        store::after_commit(async move {
            for key in keys {
                if let Err(error) = blobs.delete(&key).await {
                    tracing::warn!(%key, error = %error, "attachment file not removed; left for the orphan sweep");
                }
            }
        })
        .await;
        Ok(())
    }

    /// Checks that `parent` can take `child` (or a new todo) as a subtask.
    async fn check_parent(&self, user: &UserId, child: Option<Uuid>, parent: Uuid) -> Result<()> {
        if child == Some(parent) {
            return Err(Error::invalid(
                "parentTodoId",
                "a todo cannot be its own parent",
            ));
        }
        let parent_todo = self
            .store
            .get_todo(user, parent)
            .await?
            .ok_or(Error::NotFound(Resource::ParentTodo))?;
        let mut errors = ValidationErrors::new();
        if parent_todo.parent_todo_id.is_some() {
            errors.push(FieldError::new(
                "parentTodoId",
                "must be a root todo: subtasks cannot have subtasks",
            ));
        }
        if let Some(child) = child
            && self.store.count_children(user, child).await? > 0
        {
            errors.push(FieldError::new(
                "parentTodoId",
                "a todo that has subtasks cannot become a subtask",
            ));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.into())
        }
    }

    async fn check_category(&self, user: &UserId, category: Uuid) -> Result<()> {
        match self.store.get_category(user, category).await? {
            Some(_) => Ok(()),
            None => Err(Error::NotFound(Resource::Category)),
        }
    }
}

/// The `updatedAt` of a conditional write: strictly after the version it
/// replaces, so that every write makes a new version even when the clock has
/// not moved (a manual clock, or two writes in one microsecond).
pub(super) fn next_version(
    now: OffsetDateTime,
    expected: Option<OffsetDateTime>,
) -> OffsetDateTime {
    match expected {
        Some(previous) if now <= previous => previous + time::Duration::microseconds(1),
        _ => now,
    }
}
