//! The OpenAPI document, generated from the code.

/// The OpenAPI document as JSON.
pub(crate) fn document_json() -> Vec<u8> {
    b"{}".to_vec()
}
