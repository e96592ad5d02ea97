//! The OpenAPI document, generated from the code with utoipa: the operation
//! each route-table entry names (described in `paths`), the shapes in
//! [`schemas`], the bearer scheme, and the reference error body on every
//! operation.

pub(crate) mod paths;
pub mod schemas;

use utoipa::{
    Modify, OpenApi,
    openapi::{
        self, AllOf, ContentBuilder, ObjectBuilder, RefOr, ResponseBuilder, Schema,
        schema::AnyOf,
        security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    },
};

use crate::{
    error::{ErrorAction, ErrorBody, FieldErrorBody},
    routes::{Access, BodyLimit},
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "tasker API",
        description = "Todos with subtasks, categories, comments and attachments. \
                       Wire-compatible with the Go tasker contract.",
        license(name = "MIT OR Apache-2.0")
    ),
    components(schemas(
        ErrorBody, FieldErrorBody, ErrorAction, schemas::TodoSortKey, schemas::CategorySortKey,
        schemas::SortDirection, schemas::QueryBool,
    )),
    security(("bearerAuth" = [])),
    tags(
        (name = "Todo", description = "Todos, subtasks and attachments"),
        (name = "Comment", description = "Comments on todos"),
        (name = "Category", description = "Categories"),
        (name = "Health", description = "Status and documentation"),
        (name = "User", description = "The caller's settings, and one-click unsubscribe links"),
    )
)]
struct ApiDoc;

/// Declares the `bearerAuth` scheme (JWT).
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, doc: &mut openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearerAuth",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The partial-update bodies need at least one of their own fields. Keys
/// they do not name are allowed and ignored, so `minProperties: 1` would
/// call `{"colour": 1}` valid, which the server refuses (nothing to change):
/// each becomes its object `allOf` an `anyOf` of "has this field".
struct AtLeastOneKnownField;

impl Modify for AtLeastOneKnownField {
    fn modify(&self, doc: &mut openapi::OpenApi) {
        let Some(components) = doc.components.as_mut() else {
            return;
        };
        for name in ["UpdateTodoRequest", "UpdateCategoryRequest"] {
            let Some(RefOr::T(Schema::Object(object))) = components.schemas.get(name) else {
                continue;
            };
            let mut object = object.clone();
            object.min_properties = None;
            let mut any = AnyOf::new();
            any.items = object
                .properties
                .keys()
                .map(|field| RefOr::T(Schema::Object(ObjectBuilder::new().required(field).build())))
                .collect();
            let mut all = AllOf::new();
            all.description = object.description.take();
            all.items = vec![
                RefOr::T(Schema::Object(object)),
                RefOr::T(Schema::AnyOf(any)),
            ];
            components
                .schemas
                .insert(name.to_owned(), RefOr::T(Schema::AllOf(all)));
        }
    }
}

/// `timeZone` of `PATCH /api/v1/me` lists the names the server accepts
/// (the bundled IANA database), so that clients can offer them and a
/// schema-valid name is never refused.
struct TimeZoneNames;

impl Modify for TimeZoneNames {
    fn modify(&self, doc: &mut openapi::OpenApi) {
        let Some(components) = doc.components.as_mut() else {
            return;
        };
        let Some(RefOr::T(Schema::Object(body))) = components.schemas.get_mut("UpdateMeRequest")
        else {
            return;
        };
        if let Some(RefOr::T(Schema::Object(zone))) = body.properties.get_mut("timeZone") {
            let mut names: Vec<serde_json::Value> = tasker_core::model::TimeZoneName::known()
                .into_iter()
                .map(serde_json::Value::String)
                .collect();
            names.push(serde_json::Value::Null);
            zone.enum_values = Some(names);
        }
    }
}

/// Adds the error responses every operation can give, all with the
/// reference error body.
struct StandardErrors;

impl Modify for StandardErrors {
    fn modify(&self, doc: &mut openapi::OpenApi) {
        let error = || {
            ContentBuilder::new()
                .schema(Some(RefOr::Ref(openapi::Ref::from_schema_name(
                    "ErrorBody",
                ))))
                .build()
        };
        for facts in crate::routes::operation_facts() {
            let path = facts.template;
            let Some(item) = doc.paths.paths.get_mut(path) else {
                continue;
            };
            let operation = match facts.method {
                http::Method::GET => item.get.as_mut(),
                http::Method::POST => item.post.as_mut(),
                http::Method::PATCH => item.patch.as_mut(),
                http::Method::DELETE => item.delete.as_mut(),
                _ => None,
            };
            let Some(operation) = operation else {
                continue;
            };
            // Routes that take no credential answer neither 401 nor the
            // errors of a user's data.
            let public = facts.access == Access::Public;
            let has_body = facts.body != BodyLimit::Empty;
            let mut codes: Vec<(&str, &str)> = vec![
                ("429", "Too many requests (`RATE_LIMITED`)"),
                ("500", "Server error (`INTERNAL_SERVER_ERROR`)"),
            ];
            if path.starts_with("/docs/") {
                codes.push(("404", "No such asset (`ROUTE_NOT_FOUND`)"));
            }
            if path.starts_with("/api/v1/files/") {
                codes.push(("503", "The file store failed (`FILE_STORAGE_UNAVAILABLE`)"));
            }
            if path.ends_with("/attachments") && has_body {
                codes.push((
                    "507",
                    "The file store is full; nothing was saved (`INSUFFICIENT_STORAGE`)",
                ));
            }
            if !public {
                codes.extend([
                    ("400", "Invalid input (`VALIDATION_FAILED`, `INVALID_JSON`)"),
                    ("401", "Missing or invalid token (`UNAUTHORIZED`)"),
                    ("404", "Not found, or another user's (`…_NOT_FOUND`)"),
                    (
                        "503",
                        "The database is unreachable or has no free connection \
                             (`SERVICE_UNAVAILABLE`, with `Retry-After`), the file store \
                             failed (`FILE_STORAGE_UNAVAILABLE`), or the request timed out \
                             (`TIMEOUT`)",
                    ),
                ]);
            }
            if has_body {
                codes.extend([
                    ("413", "Body too large (`PAYLOAD_TOO_LARGE`)"),
                    ("415", "Wrong content type (`UNSUPPORTED_MEDIA_TYPE`)"),
                ]);
            }
            let is_write = facts.idempotent;
            if path.starts_with("/api/v1/categories") && has_body {
                codes.push((
                    "409",
                    "Category name taken (`CATEGORY_NAME_TAKEN`), or a request with this \
                         `Idempotency-Key` is still running (`IDEMPOTENCY_KEY_IN_USE`, with \
                         `Retry-After`)",
                ));
            }
            if is_write {
                codes.extend([
                    (
                        "409",
                        "A request with this `Idempotency-Key` is still running \
                             (`IDEMPOTENCY_KEY_IN_USE`, with `Retry-After`)",
                    ),
                    (
                        "422",
                        "This `Idempotency-Key` was used with a different request \
                             (`IDEMPOTENCY_KEY_REUSED`)",
                    ),
                ]);
                operation
                    .parameters
                    .get_or_insert_with(Vec::new)
                    .push(RefOr::T(idempotency_key_parameter()));
            }
            if operation
                .operation_id
                .as_deref()
                .is_some_and(|id| id.starts_with("update") || id.starts_with("delete"))
                && !path.starts_with("/api/v1/comments")
            {
                codes.push(("412", "`If-Match` is stale (`PRECONDITION_FAILED`)"));
            }
            for (code, description) in codes {
                operation
                    .responses
                    .responses
                    .entry(code.to_owned())
                    .or_insert_with(|| {
                        RefOr::T(
                            ResponseBuilder::new()
                                .description(description)
                                .content("application/json", error())
                                .build(),
                        )
                    });
            }
        }
    }
}

/// The optional `Idempotency-Key` header of every write.
fn idempotency_key_parameter() -> openapi::path::Parameter {
    openapi::path::ParameterBuilder::new()
        .name("Idempotency-Key")
        .parameter_in(openapi::path::ParameterIn::Header)
        .required(openapi::Required::False)
        .description(Some(
            "Makes a retry safe: the first response is kept for 24 hours per user and \
             key and replayed byte for byte (with `Idempotent-Replayed: true`) to a retry \
             with the same key and request.",
        ))
        .schema(Some(
            openapi::ObjectBuilder::new()
                .schema_type(openapi::Type::String)
                .min_length(Some(1))
                .max_length(Some(255))
                .pattern(Some("^[!-~]+$")),
        ))
        .build()
}

/// The OpenAPI document of the API.
///
/// ```
/// let doc = tasker_http::openapi();
/// assert!(doc.paths.paths.contains_key("/api/v1/todos"));
/// ```
pub fn openapi() -> openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    for add in crate::routes::documents() {
        add(&mut doc);
    }
    let modifiers: [&dyn Modify; 4] = [
        &BearerAuth,
        &StandardErrors,
        &AtLeastOneKnownField,
        &TimeZoneNames,
    ];
    for modifier in modifiers {
        modifier.modify(&mut doc);
    }
    doc
}

/// Adds one operation to a document: a route-table entry's OpenAPI part.
pub(crate) type Operation = fn(&mut openapi::OpenApi);

/// Adds the operation `P` (a `#[utoipa::path]` function's type) and the
/// schemas it names, as `#[openapi(paths(…))]` would.
pub(crate) fn operation<P>(doc: &mut openapi::OpenApi)
where
    P: utoipa::Path + utoipa::__dev::SchemaReferences + for<'t> utoipa::__dev::Tags<'t>,
{
    let mut operation = P::operation();
    operation
        .tags
        .get_or_insert_with(Vec::new)
        .extend(P::tags().iter().map(ToString::to_string));
    doc.paths
        .add_path_operation(P::path(), P::methods(), operation);
    let mut schemas = Vec::new();
    P::schemas(&mut schemas);
    doc.components
        .get_or_insert_with(Default::default)
        .schemas
        .extend(schemas);
}

/// The document as JSON bytes.
pub(crate) fn document_json() -> Vec<u8> {
    serde_json::to_vec(&openapi()).unwrap_or_else(|_| b"{}".to_vec())
}
