//! [`TodoMetadata`].

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{FieldError, HexColor, ValidationErrors};

/// Free-form extras on a todo, as in the contract: `{tags, reminder, color, difficulty}`.
///
/// Every key is optional and absent keys are not serialised. Built from client
/// JSON with [`TodoMetadata::from_json`], which checks each key:
///
/// | key | rule |
/// | --- | --- |
/// | `tags` | at most 20 strings of 1–50 characters each |
/// | `reminder` | a string of at most 255 characters |
/// | `color` | a hex colour (`#RGB`, `#RGBA`, `#RRGGBB`, `#RRGGBBAA`) |
/// | `difficulty` | a number from 0 to 10 |
///
/// ```
/// use tasker_core::domain::TodoMetadata;
///
/// let json = serde_json::json!({"tags": ["home"], "difficulty": 3});
/// let meta = TodoMetadata::from_json("metadata", &json).unwrap();
/// assert_eq!(meta.tags.as_deref(), Some(&["home".to_owned()][..]));
///
/// // A key the contract does not name is dropped; a named key is checked.
/// let bad = serde_json::json!({"color": "red", "mood": 1});
/// let errors = TodoMetadata::from_json("metadata", &bad).unwrap_err();
/// assert!(errors.has("metadata.color") && !errors.has("metadata.mood"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    schema(
        description = "Extras of a todo. Other keys are dropped (not stored), as the Go service did."
    )
)]
#[serde(rename_all = "camelCase")]
pub struct TodoMetadata {
    /// Labels: up to 20 tags of 1–50 characters.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    #[cfg_attr(
        feature = "openapi",
        schema(nullable = false, max_items = 20, value_type = Option<Vec<crate::openapi::TagText>>)
    )]
    pub tags: Option<Vec<String>>,
    /// A reminder note or time, as the client wrote it; up to 255 characters.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    #[cfg_attr(feature = "openapi", schema(nullable = false, max_length = 255))]
    pub reminder: Option<String>,
    /// A display colour, `#RGB`, `#RGBA`, `#RRGGBB` or `#RRGGBBAA`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    #[cfg_attr(
        feature = "openapi",
        schema(
            nullable = false,
            pattern = r"^#([0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$"
        )
    )]
    pub color: Option<String>,
    /// An effort estimate, 0–10.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    #[cfg_attr(
        feature = "openapi",
        schema(nullable = false, minimum = 0, maximum = 10)
    )]
    pub difficulty: Option<f64>,
}

impl TodoMetadata {
    /// Most tags one todo may carry.
    pub const MAX_TAGS: usize = 20;
    /// Longest tag, in characters.
    pub const MAX_TAG_LEN: usize = 50;

    /// Validates client JSON; failures are named `{field}.{key}`.
    ///
    /// # Errors
    /// Every invalid key (keys it does not name are dropped), or one error on `field` when `json` is not an object.
    pub fn from_json(field: &str, json: &Value) -> Result<Self, ValidationErrors> {
        let Value::Object(map) = json else {
            return Err(FieldError::new(field, "must be an object or null").into());
        };
        let mut errors = ValidationErrors::new();
        let mut meta = Self::default();
        for (key, value) in map {
            let name = format!("{field}.{key}");
            match (key.as_str(), value) {
                (_, Value::Null)
                    if ["tags", "reminder", "color", "difficulty"].contains(&key.as_str()) => {}
                ("tags", Value::Array(items)) => meta.tags = errors.check(parse_tags(&name, items)),
                ("reminder", Value::String(s)) if s.chars().count() <= 255 => {
                    meta.reminder = Some(s.clone())
                }
                ("reminder", Value::String(_)) => {
                    errors.push(FieldError::new(name, "must be at most 255 characters"));
                }
                ("color", Value::String(s)) => {
                    meta.color = errors
                        .check(HexColor::parse_field(&name, s))
                        .map(|c| c.as_str().to_owned());
                }
                ("difficulty", Value::Number(n)) => match n.as_f64() {
                    Some(d) if (0.0..=10.0).contains(&d) => meta.difficulty = Some(d),
                    _ => errors.push(FieldError::new(name, "must be a number from 0 to 10")),
                },
                ("tags", _) => errors.push(FieldError::new(name, "must be an array of strings")),
                ("reminder" | "color", _) => errors.push(FieldError::new(name, "must be a string")),
                ("difficulty", _) => errors.push(FieldError::new(name, "must be a number")),
                // Keys the contract does not name are dropped, as the Go service did.
                _ => {}
            }
        }
        errors.finish(|| meta)
    }
}

fn parse_tags(field: &str, items: &[Value]) -> Result<Vec<String>, FieldError> {
    if items.len() > TodoMetadata::MAX_TAGS {
        return Err(FieldError::new(
            field,
            format!("must hold at most {} tags", TodoMetadata::MAX_TAGS),
        ));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| match item {
            Value::String(s)
                if (1..=TodoMetadata::MAX_TAG_LEN).contains(&s.trim().chars().count()) =>
            {
                Ok(s.trim().to_owned())
            }
            _ => Err(FieldError::new(
                format!("{field}[{i}]"),
                format!(
                    "must be a string of 1 to {} characters",
                    TodoMetadata::MAX_TAG_LEN
                ),
            )),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_each_bad_key() {
        let errors = TodoMetadata::from_json(
            "metadata",
            &json!({"tags": ["ok", ""], "difficulty": 11, "reminder": 5}),
        )
        .unwrap_err();
        assert!(errors.has("metadata.tags[1]"));
        assert!(errors.has("metadata.difficulty"));
        assert!(errors.has("metadata.reminder"));
        assert_eq!(errors.errors().len(), 3);
    }

    #[test]
    fn rejects_non_objects_and_too_many_tags() {
        assert!(
            TodoMetadata::from_json("metadata", &json!([1]))
                .unwrap_err()
                .has("metadata")
        );
        let tags: Vec<_> = (0..21).map(|i| format!("t{i}")).collect();
        assert!(
            TodoMetadata::from_json("metadata", &json!({ "tags": tags }))
                .unwrap_err()
                .has("metadata.tags")
        );
    }

    #[test]
    fn serialises_only_present_keys() {
        let meta = TodoMetadata::from_json("m", &json!({"color": "#fff", "tags": null})).unwrap();
        assert_eq!(
            serde_json::to_value(&meta).unwrap(),
            json!({"color": "#fff"})
        );
    }
}
