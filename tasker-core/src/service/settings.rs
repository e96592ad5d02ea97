//! [`SettingsService`]: a user's settings (`GET`/`PATCH /api/v1/me`).

use std::sync::Arc;

use crate::{
    Result,
    clock::SharedClock,
    domain::UserId,
    model::{SettingsChange, SettingsDefaults, UserSettings},
    store::UserStore,
};

/// Reads and changes users' settings; what a user did not choose comes from
/// the [`SettingsDefaults`] of the configuration.
#[derive(Debug, Clone)]
pub struct SettingsService<S> {
    store: S,
    clock: SharedClock,
    defaults: Arc<SettingsDefaults>,
}

impl<S: UserStore> SettingsService<S> {
    /// A service over `store` with `defaults`.
    pub fn new(store: S, clock: SharedClock, defaults: Arc<SettingsDefaults>) -> Self {
        Self {
            store,
            clock,
            defaults,
        }
    }

    /// The defaults.
    pub fn defaults(&self) -> &SettingsDefaults {
        &self.defaults
    }

    /// The user's settings in effect.
    ///
    /// # Errors
    /// [`crate::Error::Storage`].
    pub async fn get(&self, user: &UserId) -> Result<UserSettings> {
        let stored = self.store.user_settings(user).await?;
        Ok(stored.resolve(user.clone(), &self.defaults))
    }

    /// Applies `change`; the settings in effect after it.
    ///
    /// # Errors
    /// [`crate::Error::Storage`].
    #[tracing::instrument(skip(self, change), fields(user = %user), err(level = "debug"))]
    pub async fn update(&self, user: &UserId, change: &SettingsChange) -> Result<UserSettings> {
        let stored = self
            .store
            .update_user_settings(user, change, self.clock.now())
            .await?;
        Ok(stored.resolve(user.clone(), &self.defaults))
    }
}
