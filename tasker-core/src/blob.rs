//! [`BlobStore`]: where attachment files live, over the `object_store` crate.
//!
//! The local filesystem is built in; any other `object_store` backend (S3 and
//! S3-compatible services, GCS, Azure) plugs in with [`BlobStore::new`].

use std::{fmt, path::Path, sync::Arc};

use bytes::Bytes;
use object_store::{
    Attribute, Attributes, ObjectStore, ObjectStoreExt, PutOptions, PutPayload,
    local::LocalFileSystem, path::Path as ObjectPath,
};

use crate::{Error, Result};

/// A place to put, read and delete attachment files by key.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> tasker_core::Result<()> {
/// use tasker_core::blob::BlobStore;
///
/// let dir = tempfile::tempdir().unwrap();
/// let blobs = BlobStore::local(dir.path())?;
/// blobs.put("a/b.txt", "hello".into()).await?;
/// assert_eq!(blobs.get("a/b.txt").await?.as_ref(), b"hello");
/// blobs.delete("a/b.txt").await?;
/// assert!(blobs.get("a/b.txt").await.is_err());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct BlobStore {
    inner: Arc<dyn ObjectStore>,
}

impl BlobStore {
    /// Wraps any `object_store` backend.
    pub fn new(inner: Arc<dyn ObjectStore>) -> Self {
        Self { inner }
    }

    /// Files under `dir` on the local filesystem (created if missing).
    ///
    /// # Errors
    /// [`Error::Blob`] when the directory cannot be created.
    pub fn local(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir)
            .map_err(|e| blob_error("create the attachment directory", e))?;
        let fs = LocalFileSystem::new_with_prefix(dir)
            .map_err(|e| blob_error("open the attachment directory", e))?
            .with_automatic_cleanup(true);
        Ok(Self::new(Arc::new(fs)))
    }

    /// The wrapped `object_store` backend.
    pub fn object_store(&self) -> &Arc<dyn ObjectStore> {
        &self.inner
    }

    /// Stores `content` under `key`, replacing any previous object.
    ///
    /// # Errors
    /// [`Error::Blob`] when the key is invalid or the write fails.
    pub async fn put(&self, key: &str, content: Bytes) -> Result<()> {
        let path = parse_key(key)?;
        self.inner
            .put(&path, PutPayload::from(content))
            .await
            .map(|_| ())
            .map_err(|e| blob_error("store a file", e))
    }

    /// Stores `content` under `key` with its media type, so that a store
    /// that serves objects itself (S3 and compatibles) answers with that
    /// `Content-Type`. A store that keeps no object attributes (the local
    /// filesystem) stores the content alone.
    ///
    /// # Errors
    /// [`Error::Blob`] when the key is invalid or the write fails.
    pub async fn put_with_content_type(
        &self,
        key: &str,
        content: Bytes,
        content_type: Option<&str>,
    ) -> Result<()> {
        let Some(content_type) = content_type else {
            return self.put(key, content).await;
        };
        let path = parse_key(key)?;
        let mut attributes = Attributes::new();
        attributes.insert(Attribute::ContentType, content_type.to_owned().into());
        let options = PutOptions {
            attributes,
            ..PutOptions::default()
        };
        match self
            .inner
            .put_opts(&path, PutPayload::from(content.clone()), options)
            .await
        {
            Ok(_) => Ok(()),
            Err(object_store::Error::NotImplemented { .. }) => self.put(key, content).await,
            Err(error) => Err(blob_error("store a file", error)),
        }
    }

    /// Reads the object under `key`.
    ///
    /// # Errors
    /// [`Error::Blob`] when it does not exist or the read fails.
    pub async fn get(&self, key: &str) -> Result<Bytes> {
        let path = parse_key(key)?;
        let result = self
            .inner
            .get(&path)
            .await
            .map_err(|e| blob_error("read a file", e))?;
        result
            .bytes()
            .await
            .map_err(|e| blob_error("read a file", e))
    }

    /// Deletes the object under `key`; deleting a missing object succeeds.
    ///
    /// # Errors
    /// [`Error::Blob`] when the delete fails.
    pub async fn delete(&self, key: &str) -> Result<()> {
        let path = parse_key(key)?;
        match self.inner.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(blob_error("delete a file", e)),
        }
    }

    /// The keys of every stored object last modified before `before`
    /// (for the orphan sweep).
    ///
    /// # Errors
    /// [`Error::Blob`] when listing fails.
    pub async fn keys_modified_before(&self, before: time::OffsetDateTime) -> Result<Vec<String>> {
        use futures_util::TryStreamExt;
        let cutoff = before.unix_timestamp();
        self.inner
            .list(None)
            .try_filter_map(|meta| async move {
                Ok((meta.last_modified.timestamp() < cutoff).then(|| meta.location.to_string()))
            })
            .try_collect()
            .await
            .map_err(|e| blob_error("list stored files", e))
    }
}

impl fmt::Debug for BlobStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlobStore")
            .field("inner", &self.inner.to_string())
            .finish()
    }
}

fn parse_key(key: &str) -> Result<ObjectPath> {
    ObjectPath::parse(key).map_err(|e| blob_error("parse a file key", e))
}

fn blob_error(
    operation: &'static str,
    source: impl std::error::Error + Send + Sync + 'static,
) -> Error {
    Error::Blob {
        operation,
        source: Box::new(source),
    }
}
