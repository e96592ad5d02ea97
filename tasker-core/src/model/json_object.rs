//! [`JsonObject`]: a body that must be a JSON object.
//!
//! serde's derived `Deserialize` for a struct also accepts a JSON array (the
//! fields in order), so `[]` would read as a struct with every optional
//! field absent. Where the contract says "object", that is a wrong request.

use std::{fmt, marker::PhantomData};

use serde::{
    Deserialize, Deserializer,
    de::{MapAccess, Visitor, value::MapAccessDeserializer},
};

/// `T`, read from a JSON object only.
///
/// ```
/// use tasker_core::model::{JsonObject, UpdateSettings};
///
/// let ok: JsonObject<UpdateSettings> = serde_json::from_str(r#"{"timeZone": "UTC"}"#).unwrap();
/// assert_eq!(ok.0.time_zone.as_deref(), Some("UTC"));
/// assert!(serde_json::from_str::<JsonObject<UpdateSettings>>("[]").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonObject<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for JsonObject<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_map(ObjectVisitor(PhantomData))
            .map(JsonObject)
    }
}

struct ObjectVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map))
    }
}

/// For `#[serde(deserialize_with)]` on an `Option` field: `null` or an
/// object, never an array.
pub(crate) fn optional_object<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<JsonObject<T>>::deserialize(deserializer)?.map(|object| object.0))
}
