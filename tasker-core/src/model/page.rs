//! [`Page`]: one page of a list, with the arithmetic clients need.

use serde::{Deserialize, Serialize};

/// One page of results: `{data, page, limit, total, totalPages}`, and
/// `nextCursor` where the list pages by cursor.
///
/// ```
/// use tasker_core::model::Page;
///
/// let page = Page::new(vec!["a", "b"], 3, 2, 5);
/// assert_eq!(page.total_pages, 3);
/// assert_eq!(Page::<u8>::new(vec![], 1, 20, 0).total_pages, 0);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    /// The rows of this page (empty past the last page).
    pub data: Vec<T>,
    /// The 1-based page number requested.
    #[cfg_attr(feature = "openapi", schema(value_type = f64))]
    pub page: u32,
    /// The page size requested.
    #[cfg_attr(feature = "openapi", schema(value_type = f64))]
    pub limit: u32,
    /// How many rows match in all.
    #[cfg_attr(feature = "openapi", schema(value_type = f64))]
    pub total: u64,
    /// `ceil(total / limit)`; 0 when nothing matches.
    #[cfg_attr(feature = "openapi", schema(value_type = f64))]
    pub total_pages: u64,
    /// Where the next page starts: send it back as `cursor`. Absent on the
    /// last page and on lists that page by number only (categories). (Not in
    /// the Go service.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// A page, computing `totalPages`.
    pub fn new(data: Vec<T>, page: u32, limit: u32, total: u64) -> Self {
        let total_pages = total.div_ceil(u64::from(limit.max(1)));
        Self {
            data,
            page,
            limit,
            total,
            total_pages,
            next_cursor: None,
        }
    }

    /// The same page with `next_cursor` set.
    pub fn with_next_cursor(mut self, cursor: Option<String>) -> Self {
        self.next_cursor = cursor;
        self
    }

    /// The same page with each row converted.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            data: self.data.into_iter().map(f).collect(),
            page: self.page,
            limit: self.limit,
            total: self.total,
            total_pages: self.total_pages,
            next_cursor: self.next_cursor,
        }
    }
}
