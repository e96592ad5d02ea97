//! The OpenAPI schemas that belong to no single wire type (feature `openapi`).
//!
//! The wire types derive `utoipa::ToSchema` (and the list queries
//! `utoipa::IntoParams`) where they are declared; this module adds the names
//! a document needs beyond them: the two page types, and the rules of values
//! that arrive as plain strings (a tag, a query boolean). A host application
//! can merge them into its own document.
//!
//! The `#[schema(pattern = …)]` attributes on the raw inputs state the
//! parsers' rules for clients: one line = no control characters (Unicode `Cc`)
//! and at least one non-blank character; text = tabs and line breaks allowed,
//! no other control characters; colours `#RGB`, `#RGBA`, `#RRGGBB`,
//! `#RRGGBBAA`; dates RFC 3339 or `YYYY-MM-DD` in the years 1970–9999 UTC.
//! The date pattern knows the length of each month and the leap years; on
//! 1970-01-01 and 9999-12-31 it only admits offsets that keep the instant
//! inside the years 1970–9999 in UTC (the parser also takes the few other
//! instants in range, such as 1969-12-31T23:30:00-01:00).

use utoipa::{
    PartialSchema, ToSchema,
    openapi::{RefOr, Schema},
};

use crate::model::{Category, Page, PopulatedTodo};

/// A tag of a todo: 1–50 characters, not all blank.
#[derive(Debug, Clone, ToSchema)]
#[schema(min_length = 1, max_length = 50, pattern = r"\S")]
pub struct TagText(pub String);

/// A boolean in a query string: the spellings Go's `strconv.ParseBool`
/// accepted (`1`, `t`, `T`, `true`, `TRUE`, `True`, `0`, `f`, `F`, `false`,
/// `FALSE`, `False`); empty means `false`, as the Go service's binder read it.
#[derive(Debug, Clone, ToSchema)]
#[schema(pattern = r"^(1|t|T|true|TRUE|True|0|f|F|false|FALSE|False)?$")]
pub struct QueryBool(pub String);

/// The schema of a page of todos, [`Page<PopulatedTodo>`], named `TodoPage`.
#[derive(Debug, Clone, Copy)]
pub struct TodoPage;

/// The schema of a page of categories, [`Page<Category>`], named
/// `CategoryPage`. Category lists page by number only, so it has no
/// `nextCursor`.
#[derive(Debug, Clone, Copy)]
pub struct CategoryPage;

/// [`Page`]'s derived schema with its own description, and without
/// `nextCursor` when `cursor` is false.
fn page_schema<T>(description: &str, cursor: bool) -> RefOr<Schema>
where
    Page<T>: PartialSchema,
{
    let mut schema = <Page<T> as PartialSchema>::schema();
    if let RefOr::T(Schema::Object(object)) = &mut schema {
        object.description = Some(description.to_owned());
        if !cursor {
            object.properties.remove("nextCursor");
        }
    }
    schema
}

impl PartialSchema for TodoPage {
    fn schema() -> RefOr<Schema> {
        page_schema::<PopulatedTodo>("One page of todos.", true)
    }
}

impl ToSchema for TodoPage {
    fn name() -> std::borrow::Cow<'static, str> {
        "TodoPage".into()
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        <Page<PopulatedTodo> as ToSchema>::schemas(schemas);
    }
}

impl PartialSchema for CategoryPage {
    fn schema() -> RefOr<Schema> {
        page_schema::<Category>("One page of categories.", false)
    }
}

impl ToSchema for CategoryPage {
    fn name() -> std::borrow::Cow<'static, str> {
        "CategoryPage".into()
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        <Page<Category> as ToSchema>::schemas(schemas);
    }
}
