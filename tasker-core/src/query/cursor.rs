//! [`PageCursor`]: where the next page of a todo list starts (keyset pagination).

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{PageRequest, SortOrder, TodoQuery, TodoSort};
use crate::{
    domain::{FieldError, TodoPriority, TodoStatus},
    model::Todo,
};

/// Where the next page of a todo list starts: the sort key and id of the last
/// todo shown, with the sort order and the number of the page that follows
/// (keyset pagination).
///
/// A page of a todo list carries the cursor of the page after it as
/// `nextCursor`; sending it back as `cursor` returns that page, read from the
/// index where the last one ended instead of counting past every row before
/// it. Cursors are opaque to clients; they hold no user data beyond the sort
/// key, and every filter of the request still applies.
///
/// ```
/// use tasker_core::query::{TodoListParams, TodoQuery};
///
/// let errors = TodoQuery::try_from(TodoListParams {
///     cursor: Some("not-a-cursor".into()),
///     ..Default::default()
/// })
/// .unwrap_err();
/// assert!(errors.has("cursor"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct PageCursor {
    pub(super) sort: TodoSort,
    pub(super) order: SortOrder,
    pub(super) page: u32,
    id: Uuid,
    key: CursorKey,
}

/// The sort key of the last todo of a page.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum CursorKey {
    /// `created_at` or `updated_at`.
    Time(OffsetDateTime),
    /// `due_date`, which may be empty.
    OptTime(Option<OffsetDateTime>),
    /// `priority` or `status`, as their rank.
    Rank(i16),
    /// The lowercased title.
    Text(String),
}

const CURSOR_VERSION: &str = "1";

impl PageCursor {
    /// The cursor of the page that follows the one `query` asked for, whose
    /// last todo is `last`.
    pub fn after(query: &TodoQuery, last: &Todo) -> Self {
        let key = match query.sort {
            TodoSort::CreatedAt => CursorKey::Time(last.created_at),
            TodoSort::UpdatedAt => CursorKey::Time(last.updated_at),
            TodoSort::Title => CursorKey::Text(last.title.as_str().to_lowercase()),
            TodoSort::Priority => CursorKey::Rank(last.priority.rank()),
            TodoSort::DueDate => CursorKey::OptTime(last.due_date),
            TodoSort::Status => CursorKey::Rank(last.status.rank()),
        };
        Self {
            sort: query.sort,
            order: query.order,
            page: query
                .page
                .page()
                .saturating_add(1)
                .min(PageRequest::MAX_PAGE),
            id: last.id,
            key,
        }
    }

    /// The id of the last todo before the page.
    pub fn id(&self) -> Uuid {
        self.id
    }

    pub(crate) fn key(&self) -> &CursorKey {
        &self.key
    }

    /// The cursor as sent to clients: URL-safe base64, no padding.
    pub fn encode(&self) -> String {
        let key = match &self.key {
            CursorKey::Time(t) | CursorKey::OptTime(Some(t)) => {
                t.unix_timestamp_nanos().to_string()
            }
            CursorKey::OptTime(None) => String::new(),
            CursorKey::Rank(r) => r.to_string(),
            CursorKey::Text(s) => s.clone(),
        };
        let raw = format!(
            "{CURSOR_VERSION}|{}|{}|{}|{}|{key}",
            self.sort.name(),
            self.order.name(),
            self.page,
            self.id
        );
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// Reads a cursor made by [`encode`](Self::encode).
    ///
    /// # Errors
    /// A [`FieldError`] on `cursor` for anything else.
    pub fn decode(raw: &str) -> Result<Self, FieldError> {
        let bad = || {
            FieldError::new(
                "cursor",
                "is not a cursor from a previous page's nextCursor",
            )
        };
        let bytes = URL_SAFE_NO_PAD.decode(raw.trim()).map_err(|_| bad())?;
        let text = String::from_utf8(bytes).map_err(|_| bad())?;
        let mut parts = text.splitn(6, '|');
        let mut next = || parts.next().ok_or_else(bad);
        if next()? != CURSOR_VERSION {
            return Err(bad());
        }
        let sort = TodoSort::parse(next()?).map_err(|_| bad())?;
        let order = SortOrder::parse(next()?).map_err(|_| bad())?;
        let page = next()?
            .parse::<u32>()
            .ok()
            .filter(|p| (2..=PageRequest::MAX_PAGE).contains(p))
            .ok_or_else(bad)?;
        let id = Uuid::parse_str(next()?).map_err(|_| bad())?;
        let key = next()?;
        let time = |k: &str| {
            k.parse::<i128>()
                .ok()
                .and_then(|n| OffsetDateTime::from_unix_timestamp_nanos(n).ok())
                .ok_or_else(bad)
        };
        let rank = |valid: fn(i16) -> bool| {
            key.parse::<i16>()
                .ok()
                .filter(|r| valid(*r))
                .map(CursorKey::Rank)
                .ok_or_else(bad)
        };
        let key = match sort {
            TodoSort::CreatedAt | TodoSort::UpdatedAt => CursorKey::Time(time(key)?),
            TodoSort::DueDate if key.is_empty() => CursorKey::OptTime(None),
            TodoSort::DueDate => CursorKey::OptTime(Some(time(key)?)),
            TodoSort::Priority => rank(|r| TodoPriority::from_rank(r).is_some())?,
            TodoSort::Status => rank(|r| TodoStatus::from_rank(r).is_some())?,
            TodoSort::Title if key.len() <= 4096 => CursorKey::Text(key.to_owned()),
            TodoSort::Title => return Err(bad()),
        };
        Ok(Self {
            sort,
            order,
            page,
            id,
            key,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_for_every_key() {
        let id = Uuid::now_v7();
        let at = time::macros::datetime!(2026-11-25 12:34:56.123456 UTC);
        for key in [
            CursorKey::Time(at),
            CursorKey::OptTime(Some(at)),
            CursorKey::OptTime(None),
            CursorKey::Rank(2),
            CursorKey::Text("a|b ü".into()),
        ] {
            let sort = match key {
                CursorKey::Time(_) => TodoSort::UpdatedAt,
                CursorKey::OptTime(_) => TodoSort::DueDate,
                CursorKey::Rank(_) => TodoSort::Priority,
                CursorKey::Text(_) => TodoSort::Title,
            };
            let cursor = PageCursor {
                sort,
                order: SortOrder::Asc,
                page: 7,
                id,
                key,
            };
            assert_eq!(PageCursor::decode(&cursor.encode()).unwrap(), cursor);
        }
    }
}
