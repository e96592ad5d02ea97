//! Paging and sort direction, shared by every list.

use crate::domain::{FieldError, ValidationErrors};

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    schema(as = SortDirection, rename_all = "lowercase")
)]
pub enum SortOrder {
    /// Smallest first.
    Asc,
    /// Largest first.
    Desc,
}

impl SortOrder {
    pub(super) fn parse(raw: &str) -> Result<Self, FieldError> {
        match raw {
            "asc" => Ok(Self::Asc),
            "desc" => Ok(Self::Desc),
            _ => Err(FieldError::new("order", "must be asc or desc")),
        }
    }

    /// `ASC` or `DESC`.
    pub fn sql(self) -> &'static str {
        match self {
            Self::Asc => "ASC",
            Self::Desc => "DESC",
        }
    }

    pub(super) fn name(self) -> &'static str {
        match self {
            Self::Asc => "asc",
            Self::Desc => "desc",
        }
    }
}

/// A 1-based page number and a page size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub(super) page: u32,
    pub(super) limit: u32,
}

impl PageRequest {
    /// Largest page size.
    pub const MAX_LIMIT: u32 = 100;
    /// Largest page number accepted (keeps `OFFSET` arithmetic far from overflow).
    pub const MAX_PAGE: u32 = 1_000_000;

    /// A checked page request.
    ///
    /// # Errors
    /// On `page` outside 1–1,000,000 or `limit` outside 1–100.
    pub fn new(page: u32, limit: u32) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        if !(1..=Self::MAX_PAGE).contains(&page) {
            errors.push(FieldError::new(
                "page",
                "must be a whole number from 1 to 1000000",
            ));
        }
        if !(1..=Self::MAX_LIMIT).contains(&limit) {
            errors.push(FieldError::new(
                "limit",
                "must be a whole number from 1 to 100",
            ));
        }
        errors.finish(|| Self { page, limit })
    }

    /// The page number.
    pub fn page(self) -> u32 {
        self.page
    }

    /// The page size.
    pub fn limit(self) -> u32 {
        self.limit
    }

    /// Rows to skip.
    pub fn offset(self) -> u64 {
        u64::from(self.page - 1) * u64::from(self.limit)
    }

    pub(super) fn parse(
        errors: &mut ValidationErrors,
        page: Option<&str>,
        limit: Option<&str>,
        default_limit: u32,
    ) -> Option<Self> {
        let number = |errors: &mut ValidationErrors, field: &str, raw: &str, max: u32| match raw
            .trim()
            .parse::<u32>()
        {
            Ok(n) if (1..=max).contains(&n) => Some(n),
            _ => {
                errors.push(FieldError::new(
                    field,
                    format!("must be a whole number from 1 to {max}"),
                ));
                None
            }
        };
        let page = page.map_or(Some(1), |p| number(errors, "page", p, Self::MAX_PAGE));
        let limit = limit.map_or(Some(default_limit), |l| {
            number(errors, "limit", l, Self::MAX_LIMIT)
        });
        Some(Self {
            page: page?,
            limit: limit?,
        })
    }
}
