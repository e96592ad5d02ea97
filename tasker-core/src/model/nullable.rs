//! [`Nullable`]: a PATCH field that can be absent, `null`, or a value.

use serde::{Deserialize, Deserializer};

/// One field of a partial update, telling "not sent" from "sent as `null`".
///
/// Use with `#[serde(default)]` so a missing key becomes [`Nullable::Absent`].
///
/// ```
/// use serde::Deserialize;
/// use tasker_core::model::Nullable;
///
/// #[derive(Deserialize)]
/// struct Patch {
///     #[serde(default)]
///     due: Nullable<String>,
/// }
///
/// let p: Patch = serde_json::from_str("{}").unwrap();
/// assert_eq!(p.due, Nullable::Absent);
/// let p: Patch = serde_json::from_str(r#"{"due": null}"#).unwrap();
/// assert_eq!(p.due, Nullable::Null);
/// let p: Patch = serde_json::from_str(r#"{"due": "x"}"#).unwrap();
/// assert_eq!(p.due, Nullable::Value("x".to_owned()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Nullable<T> {
    /// The key was not sent: leave the field unchanged.
    #[default]
    Absent,
    /// The key was sent as `null`: clear the field.
    Null,
    /// The key was sent with a value.
    Value(T),
}

impl<T> Nullable<T> {
    /// Whether the key was sent at all.
    pub fn is_present(&self) -> bool {
        !matches!(self, Self::Absent)
    }

    /// As a change: `None` = unchanged, `Some(None)` = clear, `Some(Some(v))` = set.
    pub fn into_change(self) -> Option<Option<T>> {
        match self {
            Self::Absent => None,
            Self::Null => Some(None),
            Self::Value(v) => Some(Some(v)),
        }
    }
}

impl<T> From<Option<T>> for Nullable<T> {
    fn from(value: Option<T>) -> Self {
        value.map_or(Self::Null, Self::Value)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Nullable<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Option::<T>::deserialize(d).map(Self::from)
    }
}
