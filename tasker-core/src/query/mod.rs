//! List queries: paging, sorting and filtering, parsed from query-string values.
//!
//! [`TodoListParams`] and [`CategoryListParams`] hold the raw strings a client
//! sent; `TryFrom` turns them into a checked [`TodoQuery`] / [`CategoryQuery`]
//! and lists every bad parameter by name.

mod category;
mod cursor;
mod page;

pub use category::{CategoryListParams, CategoryQuery, CategorySort};
pub(crate) use cursor::CursorKey;
pub use cursor::PageCursor;
pub use page::{PageRequest, SortOrder};

use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::{
    FieldError, TodoPriority, TodoStatus, ValidationErrors, parse_uuid, timestamp,
};

/// What a todo list is sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    schema(as = TodoSortKey, rename_all = "snake_case")
)]
pub enum TodoSort {
    /// Creation time (default).
    #[default]
    CreatedAt,
    /// Last change.
    UpdatedAt,
    /// Title.
    Title,
    /// Priority by meaning: high > medium > low.
    Priority,
    /// Due date; todos without one come last in both directions.
    DueDate,
    /// Status in life-cycle order: draft, active, completed, archived.
    Status,
}

impl TodoSort {
    fn name(self) -> &'static str {
        match self {
            Self::CreatedAt => "created_at",
            Self::UpdatedAt => "updated_at",
            Self::Title => "title",
            Self::Priority => "priority",
            Self::DueDate => "due_date",
            Self::Status => "status",
        }
    }

    fn parse(raw: &str) -> Result<Self, FieldError> {
        Ok(match raw {
            "created_at" => Self::CreatedAt,
            "updated_at" => Self::UpdatedAt,
            "title" => Self::Title,
            "priority" => Self::Priority,
            "due_date" => Self::DueDate,
            "status" => Self::Status,
            _ => {
                return Err(FieldError::new(
                    "sort",
                    "must be one of: created_at, updated_at, title, priority, due_date, status",
                ));
            }
        })
    }
}

/// Which level of the todo tree a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ParentFilter {
    /// Root todos only (the default).
    #[default]
    Roots,
    /// The subtasks of one todo.
    ChildrenOf(Uuid),
}

/// The query string of "list todos", as sent. Every value is a raw string.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(rename_all = "camelCase")]
pub struct TodoListParams {
    /// Page number (default 1). Not with `cursor`.
    #[cfg_attr(
        feature = "openapi",
        param(value_type = Option<u32>, minimum = 1, maximum = 1000000)
    )]
    pub page: Option<String>,
    /// The `nextCursor` of the previous page: keyset pagination, as fast on
    /// the 500th page as on the first. It carries the sort order and the page
    /// number; `sort` and `order`, if sent, must match it. Not with `page`.
    /// URL-safe base64 without padding. (Not in the Go service.)
    #[cfg_attr(
        feature = "openapi",
        param(min_length = 1, max_length = 8192, pattern = r"^[A-Za-z0-9_-]+$")
    )]
    pub cursor: Option<String>,
    /// Page size (default 20).
    #[cfg_attr(
        feature = "openapi",
        param(value_type = Option<u32>, minimum = 1, maximum = 100)
    )]
    pub limit: Option<String>,
    /// Sort key (default `created_at`).
    #[cfg_attr(feature = "openapi", param(value_type = Option<TodoSort>))]
    pub sort: Option<String>,
    /// Direction (default `desc`).
    #[cfg_attr(feature = "openapi", param(value_type = Option<SortOrder>))]
    pub order: Option<String>,
    /// Case-insensitive substring of title or description, trimmed; blank
    /// means no filter.
    #[cfg_attr(feature = "openapi", param(pattern = r"^[^\x00]*$"))]
    pub search: Option<String>,
    /// Only this status.
    #[cfg_attr(feature = "openapi", param(value_type = Option<TodoStatus>))]
    pub status: Option<String>,
    /// Only this priority.
    #[cfg_attr(feature = "openapi", param(value_type = Option<TodoPriority>))]
    pub priority: Option<String>,
    /// Only this category.
    #[cfg_attr(
        feature = "openapi",
        param(value_type = Option<Uuid>, pattern = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
    )]
    pub category_id: Option<String>,
    /// The subtasks of this todo (default: root todos only).
    #[cfg_attr(
        feature = "openapi",
        param(value_type = Option<Uuid>, pattern = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
    )]
    pub parent_todo_id: Option<String>,
    /// Due at or after: an RFC 3339 date-time or a date `YYYY-MM-DD`.
    #[cfg_attr(
        feature = "openapi",
        param(
            pattern = r"^(((19[89][0-9]|197[1-9]|[2-8][0-9]{3}|9[0-8][0-9][0-9]|99[0-8][0-9]|999[0-8])-((0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])|(0[469]|11)-(0[1-9]|[12][0-9]|30)|02-(0[1-9]|1[0-9]|2[0-8]))|(19(7[26]|8[048]|9[26])|[2-9][0-9](0[48]|[2468][048]|[13579][26])|([2468][048]|[3579][26])00)-02-29|1970-(01-(0[2-9]|[12][0-9]|3[01])|(0[3578]|1[02])-(0[1-9]|[12][0-9]|3[01])|(0[469]|11)-(0[1-9]|[12][0-9]|30)|02-(0[1-9]|1[0-9]|2[0-8]))|9999-((0[13578]|10)-(0[1-9]|[12][0-9]|3[01])|12-(0[1-9]|[12][0-9]|30)|(0[469]|11)-(0[1-9]|[12][0-9]|30)|02-(0[1-9]|1[0-9]|2[0-8])))([Tt ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9]))?|1970-01-01([Tt ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?([Zz]|-([01][0-9]|2[0-3]):[0-5][0-9]|\+00:00))?|9999-12-31([Tt ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?([Zz]|\+([01][0-9]|2[0-3]):[0-5][0-9]|-00:00))?)$"
        )
    )]
    pub due_from: Option<String>,
    /// Due at or before: an RFC 3339 date-time or a date `YYYY-MM-DD` (which
    /// includes the whole day).
    #[cfg_attr(
        feature = "openapi",
        param(
            pattern = r"^(((19[89][0-9]|197[1-9]|[2-8][0-9]{3}|9[0-8][0-9][0-9]|99[0-8][0-9]|999[0-8])-((0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])|(0[469]|11)-(0[1-9]|[12][0-9]|30)|02-(0[1-9]|1[0-9]|2[0-8]))|(19(7[26]|8[048]|9[26])|[2-9][0-9](0[48]|[2468][048]|[13579][26])|([2468][048]|[3579][26])00)-02-29|1970-(01-(0[2-9]|[12][0-9]|3[01])|(0[3578]|1[02])-(0[1-9]|[12][0-9]|3[01])|(0[469]|11)-(0[1-9]|[12][0-9]|30)|02-(0[1-9]|1[0-9]|2[0-8]))|9999-((0[13578]|10)-(0[1-9]|[12][0-9]|3[01])|12-(0[1-9]|[12][0-9]|30)|(0[469]|11)-(0[1-9]|[12][0-9]|30)|02-(0[1-9]|1[0-9]|2[0-8])))([Tt ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9]))?|1970-01-01([Tt ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?([Zz]|-([01][0-9]|2[0-3]):[0-5][0-9]|\+00:00))?|9999-12-31([Tt ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?([Zz]|\+([01][0-9]|2[0-3]):[0-5][0-9]|-00:00))?)$"
        )
    )]
    pub due_to: Option<String>,
    /// Only overdue (`true`) or not overdue (`false`) todos.
    #[cfg_attr(feature = "openapi", param(value_type = Option<crate::openapi::QueryBool>))]
    pub overdue: Option<String>,
    /// Only completed (`true`) or not completed (`false`) todos.
    #[cfg_attr(feature = "openapi", param(value_type = Option<crate::openapi::QueryBool>))]
    pub completed: Option<String>,
}

/// A checked todo list query.
///
/// ```
/// use tasker_core::query::{TodoListParams, TodoQuery};
///
/// let q = TodoQuery::try_from(TodoListParams {
///     limit: Some("5".into()),
///     sort: Some("priority".into()),
///     ..Default::default()
/// })
/// .unwrap();
/// assert_eq!(q.page.limit(), 5);
///
/// let errors = TodoQuery::try_from(TodoListParams {
///     limit: Some("500".into()),
///     overdue: Some("maybe".into()),
///     ..Default::default()
/// })
/// .unwrap_err();
/// assert!(errors.has("limit") && errors.has("overdue"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct TodoQuery {
    /// Page and size (default page 1, 20 per page). With a cursor, the page
    /// number is the one the cursor carries.
    pub page: PageRequest,
    /// Where the page starts (keyset pagination); `None` pages by offset.
    pub cursor: Option<PageCursor>,
    /// Sort key (default `created_at`).
    pub sort: TodoSort,
    /// Direction (default `desc`).
    pub order: SortOrder,
    /// Case-insensitive substring of title or description, matched literally
    /// (trimmed; a blank term is no filter).
    pub search: Option<String>,
    /// Only this status.
    pub status: Option<TodoStatus>,
    /// Only this priority.
    pub priority: Option<TodoPriority>,
    /// Only this category.
    pub category_id: Option<Uuid>,
    /// Roots (default) or the subtasks of one todo.
    pub parent: ParentFilter,
    /// Due at or after.
    pub due_from: Option<OffsetDateTime>,
    /// Due at or before (a plain date means the end of that day).
    pub due_to: Option<OffsetDateTime>,
    /// Only overdue (`true`) or only not overdue (`false`).
    pub overdue: Option<bool>,
    /// Only completed (`true`) or only not completed (`false`).
    pub completed: Option<bool>,
}

impl Default for TodoQuery {
    fn default() -> Self {
        Self {
            page: PageRequest { page: 1, limit: 20 },
            cursor: None,
            sort: TodoSort::default(),
            order: SortOrder::Desc,
            search: None,
            status: None,
            priority: None,
            category_id: None,
            parent: ParentFilter::Roots,
            due_from: None,
            due_to: None,
            overdue: None,
            completed: None,
        }
    }
}

/// A query boolean, spelled as Go's `strconv.ParseBool` accepted it; empty is
/// `false`, as the Go service's binder read it.
fn parse_bool(field: &str, raw: &str) -> Result<bool, FieldError> {
    match raw {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "" | "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err(FieldError::new(
            field,
            "must be true or false (also 1/0, t/f, TRUE/FALSE, True/False)",
        )),
    }
}

/// A search term, trimmed; a blank term is no filter (`None`). Any length is
/// taken; only NUL, which no text column can hold, is refused.
fn parse_search(raw: &str) -> Result<Option<String>, FieldError> {
    if raw.contains('\0') {
        return Err(FieldError::new("search", "must not contain NUL characters"));
    }
    let term = raw.trim();
    Ok((!term.is_empty()).then(|| term.to_owned()))
}

impl TryFrom<TodoListParams> for TodoQuery {
    type Error = ValidationErrors;

    fn try_from(p: TodoListParams) -> Result<Self, Self::Error> {
        let mut e = ValidationErrors::new();
        let mut page = PageRequest::parse(&mut e, p.page.as_deref(), p.limit.as_deref(), 20);
        let mut sort = p.sort.map(|s| e.check(TodoSort::parse(&s)));
        let mut order = p.order.map(|o| e.check(SortOrder::parse(&o)));
        let cursor = p.cursor.and_then(|c| e.check(PageCursor::decode(&c)));
        if let Some(cursor) = &cursor {
            if p.page.is_some() {
                e.push(FieldError::new("page", "cannot be combined with cursor"));
            }
            if sort.flatten().is_some_and(|s| s != cursor.sort)
                || order.flatten().is_some_and(|o| o != cursor.order)
            {
                e.push(FieldError::new(
                    "cursor",
                    "belongs to a list in another sort order: send the sort and order it was made for, or none",
                ));
            }
            sort = Some(Some(cursor.sort));
            order = Some(Some(cursor.order));
            if let Some(page) = &mut page {
                page.page = cursor.page;
            }
        }
        let search = p.search.map(|s| e.check(parse_search(&s)));
        let status = p
            .status
            .map(|s| e.check(TodoStatus::parse_field("status", &s)));
        let priority = p
            .priority
            .map(|s| e.check(TodoPriority::parse_field("priority", &s)));
        let category_id = p.category_id.map(|s| e.check(parse_uuid("categoryId", &s)));
        let parent = p
            .parent_todo_id
            .map(|s| e.check(parse_uuid("parentTodoId", &s)));
        let due_from = p.due_from.map(|s| e.check(timestamp::parse("dueFrom", &s)));
        let due_to = p
            .due_to
            .map(|s| e.check(timestamp::parse_until("dueTo", &s)));
        let overdue = p.overdue.map(|s| e.check(parse_bool("overdue", &s)));
        let completed = p.completed.map(|s| e.check(parse_bool("completed", &s)));
        if let (Some(Some(from)), Some(Some(to))) = (due_from, due_to)
            && from > to
        {
            e.push(FieldError::new("dueTo", "must not be before dueFrom"));
        }
        e.finish(|| Self {
            page: page.expect("checked"),
            cursor,
            sort: sort.flatten().unwrap_or_default(),
            order: order.flatten().unwrap_or(SortOrder::Desc),
            search: search.flatten().flatten(),
            status: status.flatten(),
            priority: priority.flatten(),
            category_id: category_id.flatten(),
            parent: parent
                .flatten()
                .map_or(ParentFilter::Roots, ParentFilter::ChildrenOf),
            due_from: due_from.flatten(),
            due_to: due_to.flatten(),
            overdue: overdue.flatten(),
            completed: completed.flatten(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_query_string_parses_or_names_its_fields(
            values in proptest::collection::vec(proptest::option::of("\\PC{0,30}|[0-9]{1,12}|9999-12-31T23:59:59[+-]0[0-9]:00"), 14)
        ) {
            let v = |i: usize| values[i].clone();
            let params = TodoListParams {
                page: v(0), limit: v(1), sort: v(2), order: v(3), search: v(4), status: v(5),
                priority: v(6), category_id: v(7), parent_todo_id: v(8), due_from: v(9),
                due_to: v(10), overdue: v(11), completed: v(12), cursor: v(13),
            };
            if let Err(errors) = TodoQuery::try_from(params) {
                prop_assert!(!errors.is_empty());
                for e in errors.errors() {
                    prop_assert!(!e.field().is_empty() && !e.error().is_empty());
                }
            }
        }
    }

    #[test]
    fn defaults_match_the_contract() {
        let q = TodoQuery::try_from(TodoListParams::default()).unwrap();
        assert_eq!(q, TodoQuery::default());
        let c = CategoryQuery::try_from(CategoryListParams::default()).unwrap();
        assert_eq!(c, CategoryQuery::default());
        assert_eq!(c.page.limit(), 50);
    }

    #[test]
    fn page_bounds() {
        for bad in ["0", "-1", "x", "1.5", "1000001"] {
            let p = TodoListParams {
                page: Some(bad.into()),
                ..Default::default()
            };
            assert!(TodoQuery::try_from(p).unwrap_err().has("page"), "{bad}");
        }
        assert_eq!(PageRequest::new(3, 20).unwrap().offset(), 40);
        assert!(PageRequest::new(1, 101).unwrap_err().has("limit"));
    }

    #[test]
    fn due_range_must_be_ordered() {
        let p = TodoListParams {
            due_from: Some("2026-02-01".into()),
            due_to: Some("2026-01-01".into()),
            ..Default::default()
        };
        assert!(TodoQuery::try_from(p).unwrap_err().has("dueTo"));
    }

    #[test]
    fn booleans_take_go_parse_bool_spellings_and_empty_is_false() {
        let overdue = |raw: &str| {
            TodoQuery::try_from(TodoListParams {
                overdue: Some(raw.into()),
                ..Default::default()
            })
            .map(|q| q.overdue)
        };
        for raw in ["1", "t", "T", "true", "TRUE", "True"] {
            assert_eq!(overdue(raw).unwrap(), Some(true), "{raw}");
        }
        for raw in ["", "0", "f", "F", "false", "FALSE", "False"] {
            assert_eq!(overdue(raw).unwrap(), Some(false), "{raw}");
        }
        for raw in ["yes", "tRUE", " true", "2"] {
            assert!(overdue(raw).unwrap_err().has("overdue"), "{raw}");
        }
    }

    #[test]
    fn a_blank_search_is_no_filter_and_any_length_is_taken() {
        let search = |raw: String| {
            CategoryQuery::try_from(CategoryListParams {
                search: Some(raw),
                ..Default::default()
            })
            .map(|q| q.search)
        };
        assert_eq!(search(" ".into()).unwrap(), None);
        assert_eq!(search(String::new()).unwrap(), None);
        assert_eq!(search("  milk ".into()).unwrap().as_deref(), Some("milk"));
        let long = "x".repeat(300);
        assert_eq!(search(long.clone()).unwrap(), Some(long));
        assert!(search("a\0b".into()).unwrap_err().has("search"));
    }
}
