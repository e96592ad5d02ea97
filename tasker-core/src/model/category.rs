//! Categories: [`Category`], [`CreateCategory`] → [`NewCategory`], [`UpdateCategory`] → [`CategoryPatch`].

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::Nullable;
use crate::domain::{
    CategoryDescription, CategoryName, FieldError, HexColor, UserId, ValidationErrors,
    timestamp::rfc3339,
};

/// A category as stored. Names are unique per user, case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Category {
    /// Its id.
    pub id: Uuid,
    /// Its owner.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub user_id: UserId,
    /// 1–100 characters, unique per user (ignoring case).
    pub name: String,
    /// A colour, `#RGB`, `#RGBA`, `#RRGGBB` or `#RRGGBBAA`.
    pub color: String,
    /// Up to 255 characters.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub description: Option<String>,
    /// Creation instant.
    #[serde(with = "rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last change instant.
    #[serde(with = "rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// The JSON body of "create a category", as sent. Other keys are ignored.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = CreateCategoryRequest))]
#[serde(rename_all = "camelCase")]
pub struct CreateCategory {
    /// 1–100 characters, not all blank, unique per user.
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = String, min_length = 1, max_length = 100, pattern = r"^[^\x00-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x1F\x7F-\x9F]*$")
    )]
    pub name: Option<String>,
    /// A colour, `#RGB`, `#RGBA`, `#RRGGBB` or `#RRGGBBAA` (default `#6b7280`).
    #[cfg_attr(
        feature = "openapi",
        schema(
            nullable,
            pattern = r"^#([0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$"
        )
    )]
    pub color: Option<String>,
    /// Up to 255 characters.
    #[cfg_attr(
        feature = "openapi",
        schema(
            nullable,
            max_length = 255,
            pattern = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$"
        )
    )]
    pub description: Option<String>,
}

/// A validated new category.
///
/// ```
/// use tasker_core::model::{CreateCategory, NewCategory};
///
/// let new = NewCategory::try_from(CreateCategory { name: Some("Home".into()), ..Default::default() }).unwrap();
/// assert_eq!(new.color.as_str(), "#6b7280");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCategory {
    /// Name.
    pub name: CategoryName,
    /// Colour.
    pub color: HexColor,
    /// Description.
    pub description: Option<CategoryDescription>,
}

impl TryFrom<CreateCategory> for NewCategory {
    type Error = ValidationErrors;

    fn try_from(input: CreateCategory) -> Result<Self, Self::Error> {
        let mut errors = ValidationErrors::new();
        let name = match input.name {
            Some(n) => errors.check(CategoryName::parse(&n)),
            None => errors.check(Err(FieldError::new("name", "is required"))),
        };
        let color = input.color.map(|c| errors.check(HexColor::parse(&c)));
        let description = input
            .description
            .map(|d| errors.check(CategoryDescription::parse_optional(&d)));
        errors.finish(|| Self {
            name: name.expect("checked"),
            color: color.flatten().unwrap_or_default(),
            description: description.flatten().flatten(),
        })
    }
}

/// The JSON body of "update a category" (PATCH), as sent. At least one of
/// these fields must be present; other keys are ignored.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    schema(as = UpdateCategoryRequest, min_properties = 1)
)]
#[serde(rename_all = "camelCase")]
pub struct UpdateCategory {
    /// New name: 1–100 characters, not all blank, unique per user.
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = Option<String>, nullable = false, min_length = 1, max_length = 100, pattern = r"^[^\x00-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x1F\x7F-\x9F]*$")
    )]
    pub name: Nullable<String>,
    /// New colour, `#RGB`, `#RGBA`, `#RRGGBB` or `#RRGGBBAA`.
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = Option<String>, nullable = false, pattern = r"^#([0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")
    )]
    pub color: Nullable<String>,
    /// New description, up to 255 characters, or `null` to clear.
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = Option<String>, max_length = 255, pattern = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$")
    )]
    pub description: Nullable<String>,
}

/// A validated partial update of a category.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CategoryPatch {
    /// New name.
    pub name: Option<CategoryName>,
    /// New colour.
    pub color: Option<HexColor>,
    /// New description; `Some(None)` clears it.
    pub description: Option<Option<CategoryDescription>>,
}

impl TryFrom<UpdateCategory> for CategoryPatch {
    type Error = ValidationErrors;

    fn try_from(input: UpdateCategory) -> Result<Self, Self::Error> {
        let mut errors = ValidationErrors::new();
        let mut required = |field: &str, value: Nullable<String>| match value {
            Nullable::Absent => None,
            Nullable::Null => {
                errors.push(FieldError::new(field, "must not be null"));
                None
            }
            Nullable::Value(v) => Some(v),
        };
        let name = required("name", input.name);
        let color = required("color", input.color);
        let name = name.and_then(|n| errors.check(CategoryName::parse(&n)));
        let color = color.and_then(|c| errors.check(HexColor::parse(&c)));
        let description = match input.description {
            Nullable::Absent => None,
            Nullable::Null => Some(None),
            Nullable::Value(d) => errors.check(CategoryDescription::parse_optional(&d)),
        };
        let patch = Self {
            name,
            color,
            description,
        };
        if errors.is_empty() && patch == Self::default() {
            errors.push(FieldError::new("body", "must change at least one field"));
        }
        errors.finish(|| patch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_reports_name_and_color_together() {
        let errors = NewCategory::try_from(CreateCategory {
            name: None,
            color: Some("blue".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(errors.has("name") && errors.has("color"));
    }

    #[test]
    fn patch_needs_a_change_and_refuses_null_name() {
        assert!(
            CategoryPatch::try_from(UpdateCategory::default())
                .unwrap_err()
                .has("body")
        );
        let errors = CategoryPatch::try_from(UpdateCategory {
            name: Nullable::Null,
            ..Default::default()
        })
        .unwrap_err();
        assert!(errors.has("name"));
    }
}
