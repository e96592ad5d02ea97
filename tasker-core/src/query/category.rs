//! The category list query: [`CategoryListParams`] → [`CategoryQuery`].

use serde::Deserialize;

use super::{PageRequest, SortOrder, parse_search};
use crate::domain::{FieldError, ValidationErrors};

/// What a category list is sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    schema(as = CategorySortKey, rename_all = "snake_case")
)]
pub enum CategorySort {
    /// Name, case-insensitively (default).
    #[default]
    Name,
    /// Creation time.
    CreatedAt,
    /// Last change.
    UpdatedAt,
}

/// The query string of "list categories", as sent.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(rename_all = "camelCase")]
pub struct CategoryListParams {
    /// Page number (default 1).
    #[cfg_attr(
        feature = "openapi",
        param(value_type = Option<u32>, minimum = 1, maximum = 1000000)
    )]
    pub page: Option<String>,
    /// Page size (default 50).
    #[cfg_attr(
        feature = "openapi",
        param(value_type = Option<u32>, minimum = 1, maximum = 100)
    )]
    pub limit: Option<String>,
    /// Sort key (default `name`).
    #[cfg_attr(feature = "openapi", param(value_type = Option<CategorySort>))]
    pub sort: Option<String>,
    /// Direction (default `asc`).
    #[cfg_attr(feature = "openapi", param(value_type = Option<SortOrder>))]
    pub order: Option<String>,
    /// Case-insensitive substring of name or description, trimmed; blank
    /// means no filter.
    #[cfg_attr(feature = "openapi", param(pattern = r"^[^\x00]*$"))]
    pub search: Option<String>,
}

/// A checked category list query (default: name ascending, 50 per page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryQuery {
    /// Page and size.
    pub page: PageRequest,
    /// Sort key.
    pub sort: CategorySort,
    /// Direction (default `asc`).
    pub order: SortOrder,
    /// Case-insensitive substring of name or description.
    pub search: Option<String>,
}

impl Default for CategoryQuery {
    fn default() -> Self {
        Self {
            page: PageRequest { page: 1, limit: 50 },
            sort: CategorySort::Name,
            order: SortOrder::Asc,
            search: None,
        }
    }
}

impl TryFrom<CategoryListParams> for CategoryQuery {
    type Error = ValidationErrors;

    fn try_from(p: CategoryListParams) -> Result<Self, Self::Error> {
        let mut e = ValidationErrors::new();
        let page = PageRequest::parse(&mut e, p.page.as_deref(), p.limit.as_deref(), 50);
        let sort = p.sort.map(|s| {
            e.check(match s.as_str() {
                "name" => Ok(CategorySort::Name),
                "created_at" => Ok(CategorySort::CreatedAt),
                "updated_at" => Ok(CategorySort::UpdatedAt),
                _ => Err(FieldError::new(
                    "sort",
                    "must be one of: created_at, updated_at, name",
                )),
            })
        });
        let order = p.order.map(|o| e.check(SortOrder::parse(&o)));
        let search = p.search.map(|s| e.check(parse_search(&s)));
        e.finish(|| Self {
            page: page.expect("checked"),
            sort: sort.flatten().unwrap_or_default(),
            order: order.flatten().unwrap_or(SortOrder::Asc),
            search: search.flatten().flatten(),
        })
    }
}
