//! [`CategoryService`].

use time::OffsetDateTime;
use uuid::Uuid;

use crate::{
    Error, Resource, Result,
    clock::SharedClock,
    domain::UserId,
    model::{Category, CategoryPatch, NewCategory, Page},
    query::CategoryQuery,
    store::CategoryStore,
};

/// Categories: per-user names unique regardless of case; deleting one keeps its todos.
#[derive(Debug, Clone)]
pub struct CategoryService<S> {
    store: S,
    clock: SharedClock,
}

impl<S: CategoryStore> CategoryService<S> {
    /// A service over `store`.
    pub fn new(store: S, clock: SharedClock) -> Self {
        Self { store, clock }
    }

    /// Creates a category.
    ///
    /// # Errors
    /// [`Error::CategoryNameTaken`] when the user already has that name in any case.
    #[tracing::instrument(skip(self, new), fields(user = %user), err(level = "debug"))]
    pub async fn create(&self, user: &UserId, new: NewCategory) -> Result<Category> {
        let now = self.clock.now();
        let category = Category {
            id: Uuid::now_v7(),
            user_id: user.clone(),
            name: new.name.into_inner(),
            color: new.color.as_str().to_owned(),
            description: new.description.map(|d| d.into_inner()),
            created_at: now,
            updated_at: now,
        };
        self.store.insert_category(&category).await
    }

    /// One category.
    ///
    /// # Errors
    /// [`Error::NotFound`] when it is missing or another user's.
    pub async fn get(&self, user: &UserId, id: Uuid) -> Result<Category> {
        self.store
            .get_category(user, id)
            .await?
            .ok_or(Error::NotFound(Resource::Category))
    }

    /// One page of the user's categories.
    ///
    /// # Errors
    /// [`Error::Storage`] only.
    pub async fn list(&self, user: &UserId, query: &CategoryQuery) -> Result<Page<Category>> {
        self.store.list_categories(user, query).await
    }

    /// Applies a partial update.
    ///
    /// # Errors
    /// [`Error::NotFound`]; [`Error::CategoryNameTaken`] on a rename to a taken name;
    /// [`Error::Validation`] on `body` when the patch changes nothing.
    pub async fn update(&self, user: &UserId, id: Uuid, patch: CategoryPatch) -> Result<Category> {
        self.apply(user, id, patch, None).await
    }

    /// [`update`](Self::update), but only while the category's `updatedAt`
    /// is still `last_updated_at` (optimistic concurrency: the check and the
    /// write are one statement).
    ///
    /// # Errors
    /// As [`update`](Self::update), and [`Error::Stale`] when the category
    /// changed in between.
    pub async fn update_if_unchanged(
        &self,
        user: &UserId,
        id: Uuid,
        patch: CategoryPatch,
        last_updated_at: OffsetDateTime,
    ) -> Result<Category> {
        self.apply(user, id, patch, Some(last_updated_at)).await
    }

    async fn apply(
        &self,
        user: &UserId,
        id: Uuid,
        patch: CategoryPatch,
        expected: Option<OffsetDateTime>,
    ) -> Result<Category> {
        if patch == CategoryPatch::default() {
            return Err(Error::invalid("body", "must change at least one field"));
        }
        let updated = self
            .store
            .update_category(
                user,
                id,
                &patch,
                super::todo::next_version(self.clock.now(), expected),
                expected,
            )
            .await?;
        match updated {
            Some(category) => Ok(category),
            None if expected.is_some() && self.store.get_category(user, id).await?.is_some() => {
                Err(Error::Stale(Resource::Category))
            }
            None => Err(Error::NotFound(Resource::Category)),
        }
    }

    /// Deletes a category; its todos stay, without a category.
    ///
    /// # Errors
    /// [`Error::NotFound`] when it is missing or another user's.
    #[tracing::instrument(skip(self), fields(user = %user), err(level = "debug"))]
    pub async fn delete(&self, user: &UserId, id: Uuid) -> Result<()> {
        self.remove(user, id, None).await
    }

    /// [`delete`](Self::delete), but only while the category's `updatedAt`
    /// is still `last_updated_at` (one conditional statement).
    ///
    /// # Errors
    /// As [`delete`](Self::delete), and [`Error::Stale`] when the category
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
        if self.store.delete_category(user, id, expected).await? {
            Ok(())
        } else if expected.is_some() && self.store.get_category(user, id).await?.is_some() {
            Err(Error::Stale(Resource::Category))
        } else {
            Err(Error::NotFound(Resource::Category))
        }
    }
}
