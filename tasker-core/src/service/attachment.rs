//! [`AttachmentService`].

use bytes::Bytes;
use uuid::Uuid;

use crate::{
    Error, Resource, Result,
    blob::BlobStore,
    clock::SharedClock,
    domain::UserId,
    model::{Attachment, NewAttachment},
    store::{self, AttachmentStore, TodoStore},
};

/// Attachments: the file in the [`BlobStore`], the record in the database,
/// never one without the other for long.
#[derive(Debug, Clone)]
pub struct AttachmentService<S> {
    store: S,
    clock: SharedClock,
    blobs: BlobStore,
}

impl<S: AttachmentStore + TodoStore> AttachmentService<S> {
    /// A service over `store` and `blobs`.
    pub fn new(store: S, clock: SharedClock, blobs: BlobStore) -> Self {
        Self {
            store,
            clock,
            blobs,
        }
    }

    /// The blob store files go to.
    pub fn blobs(&self) -> &BlobStore {
        &self.blobs
    }

    /// Stores the file, then its record. If the record cannot be written, the
    /// file is removed again.
    ///
    /// # Errors
    /// [`Error::NotFound`] ([`Resource::Todo`]) when the todo is missing or another
    /// user's; [`Error::Blob`] when the file cannot be stored.
    #[tracing::instrument(skip(self, file), fields(user = %user, size = file.content.len()), err(level = "debug"))]
    pub async fn upload(
        &self,
        user: &UserId,
        todo_id: Uuid,
        file: NewAttachment,
    ) -> Result<Attachment> {
        if self.store.get_todo(user, todo_id).await?.is_none() {
            return Err(Error::NotFound(Resource::Todo));
        }
        let id = Uuid::now_v7();
        let key = format!("attachments/{todo_id}/{id}");
        let size = i64::try_from(file.content.len()).ok();
        self.blobs
            .put_with_content_type(&key, file.content, file.mime_type.as_deref())
            .await?;
        let now = self.clock.now();
        let record = Attachment {
            id,
            todo_id,
            name: file.name.into_inner(),
            uploaded_by: user.clone(),
            download_key: key.clone(),
            file_size: size,
            mime_type: file.mime_type,
            created_at: now,
            updated_at: now,
        };
        match self.store.insert_attachment(&record).await {
            Ok(stored) => Ok(stored),
            Err(error) => {
                if let Err(cleanup) = self.blobs.delete(&key).await {
                    tracing::warn!(%key, error = %cleanup, "file of a failed upload not removed");
                }
                Err(error)
            }
        }
    }

    /// An attachment record of the user's todo.
    ///
    /// # Errors
    /// [`Error::NotFound`] ([`Resource::Attachment`]).
    pub async fn get(&self, user: &UserId, todo_id: Uuid, id: Uuid) -> Result<Attachment> {
        self.store
            .get_attachment(user, todo_id, id)
            .await?
            .ok_or(Error::NotFound(Resource::Attachment))
    }

    /// An attachment record with the file's bytes.
    ///
    /// # Errors
    /// [`Error::NotFound`]; [`Error::Blob`] when the file cannot be read.
    pub async fn download(
        &self,
        user: &UserId,
        todo_id: Uuid,
        id: Uuid,
    ) -> Result<(Attachment, Bytes)> {
        let attachment = self.get(user, todo_id, id).await?;
        let content = self.blobs.get(&attachment.download_key).await?;
        Ok((attachment, content))
    }

    /// Deletes the record, then the file (a file that cannot be removed is
    /// logged and left for the orphan sweep).
    ///
    /// # Errors
    /// [`Error::NotFound`] ([`Resource::Attachment`]).
    pub async fn delete(&self, user: &UserId, todo_id: Uuid, id: Uuid) -> Result<()> {
        let removed = self
            .store
            .delete_attachment(user, todo_id, id)
            .await?
            .ok_or(Error::NotFound(Resource::Attachment))?;
        // The file goes once the delete is durable (inside an idempotent
        // write, after its commit).
        let blobs = self.blobs.clone();
        store::after_commit(async move {
            let key = removed.download_key;
            if let Err(error) = blobs.delete(&key).await {
                tracing::warn!(%key, error = %error, "attachment file not removed");
            }
        })
        .await;
        Ok(())
    }
}
