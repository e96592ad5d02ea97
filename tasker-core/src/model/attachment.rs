//! File attachments: the [`Attachment`] record and the [`NewAttachment`] upload.

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::{AttachmentName, UserId, timestamp::rfc3339};

/// An attachment record. The file itself lives in the
/// [`BlobStore`](crate::blob::BlobStore) under `downloadKey`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    schema(description = "A file attached to a todo.")
)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    /// Its id.
    pub id: Uuid,
    /// The todo it belongs to.
    pub todo_id: Uuid,
    /// The file name shown to users.
    pub name: String,
    /// Who uploaded it.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub uploaded_by: UserId,
    /// The blob store key of the file.
    pub download_key: String,
    /// Size in bytes.
    #[cfg_attr(feature = "openapi", schema(required = true, value_type = Option<f64>))]
    pub file_size: Option<i64>,
    /// Media type, sniffed from the content.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub mime_type: Option<String>,
    /// Upload instant.
    #[serde(with = "rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last change instant.
    #[serde(with = "rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// A file to attach, already read from the request.
#[derive(Debug, Clone)]
pub struct NewAttachment {
    /// Display name (directories stripped).
    pub name: AttachmentName,
    /// Media type, if the client gave one.
    pub mime_type: Option<String>,
    /// The file's bytes.
    pub content: Bytes,
}
