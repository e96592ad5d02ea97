//! Backend-neutral SQL text and arguments.
//!
//! Both backends accept `$N` placeholders, `RETURNING`, `NULLS LAST`, row-value
//! comparisons and `COUNT(*) FILTER (…)`, so statements are written once here;
//! the few differences are in [`Dialect`]. Each backend binds [`Arg`]s to its
//! own driver types.

use std::fmt::Write as _;

use time::OffsetDateTime;
use uuid::Uuid;

use crate::{
    domain::{TodoMetadata, TodoStatus},
    query::{CategoryQuery, CategorySort, CursorKey, ParentFilter, TodoQuery, TodoSort},
};

/// What differs between the SQL of the two backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(all(feature = "postgres", feature = "sqlite")), allow(dead_code))]
pub(crate) enum Dialect {
    Postgres,
    Sqlite,
}

impl Dialect {
    /// Appended to a `SELECT` inside a write transaction to lock the rows it
    /// reads. SQLite's write transaction already excludes other writers.
    pub(crate) fn lock_rows(self) -> &'static str {
        match self {
            Self::Postgres => " FOR UPDATE",
            Self::Sqlite => "",
        }
    }

    /// Like [`Dialect::lock_rows`], skipping rows another transaction holds.
    pub(crate) fn lock_rows_skip_locked(self) -> &'static str {
        match self {
            Self::Postgres => " FOR UPDATE SKIP LOCKED",
            Self::Sqlite => "",
        }
    }

    /// The next `sort_order`: a sequence on PostgreSQL; on SQLite, whose writers
    /// are serialised, one past the largest so far.
    pub(crate) fn next_sort_order(self) -> &'static str {
        match self {
            Self::Postgres => "nextval('todos_sort_order_seq')",
            Self::Sqlite => "(SELECT COALESCE(MAX(sort_order), 0) + 1 FROM todos)",
        }
    }

    /// How a write transaction starts. SQLite takes the write lock up front so
    /// two transactions never deadlock upgrading a read lock.
    pub(crate) fn begin_write(self) -> &'static str {
        match self {
            Self::Postgres => "BEGIN",
            Self::Sqlite => "BEGIN IMMEDIATE",
        }
    }
}

/// One bound value.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Text(String),
    OptText(Option<String>),
    Uuid(Uuid),
    OptUuid(Option<Uuid>),
    /// A list, only used by PostgreSQL (`= ANY($n)`).
    Uuids(Vec<Uuid>),
    Time(OffsetDateTime),
    OptTime(Option<OffsetDateTime>),
    I16(i16),
    I64(i64),
    OptI64(Option<i64>),
    OptBool(Option<bool>),
    Metadata(Option<TodoMetadata>),
    Bytes(Vec<u8>),
}

/// A statement under construction: text plus its arguments in placeholder order.
#[derive(Debug, Clone)]
pub(crate) struct Sql {
    pub(crate) dialect: Dialect,
    pub(crate) text: String,
    pub(crate) args: Vec<Arg>,
}

impl Sql {
    pub(crate) fn new(dialect: Dialect, text: &str) -> Self {
        Self {
            dialect,
            text: text.to_owned(),
            args: Vec::new(),
        }
    }

    /// Appends text.
    pub(crate) fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder for `arg`.
    pub(crate) fn bind(&mut self, arg: Arg) -> &mut Self {
        self.args.push(arg);
        let _ = write!(self.text, "${}", self.args.len());
        self
    }

    /// Appends `column IN (ids)` in the backend's best form.
    pub(crate) fn push_in(&mut self, column: &str, ids: &[Uuid]) -> &mut Self {
        self.push(column);
        match self.dialect {
            Dialect::Postgres => {
                self.push(" = ANY(")
                    .bind(Arg::Uuids(ids.to_vec()))
                    .push(")");
            }
            Dialect::Sqlite => {
                self.push(" IN (");
                for (i, id) in ids.iter().enumerate() {
                    if i > 0 {
                        self.push(", ");
                    }
                    self.bind(Arg::Uuid(*id));
                }
                self.push(")");
            }
        }
        self
    }

    /// Appends a literal substring match of `term` on any of `key_columns`,
    /// which hold lowercased text (the `*_key` columns). The term is lowercased
    /// the same way, so matching ignores case in every script on both backends.
    fn push_search(&mut self, key_columns: &[&str], term: &str) -> &mut Self {
        let pattern = format!("%{}%", escape_like(&term.to_lowercase()));
        self.push("(");
        for (i, column) in key_columns.iter().enumerate() {
            if i > 0 {
                self.push(" OR ");
            }
            self.push(&format!("{column} LIKE "))
                .bind(Arg::Text(pattern.clone()))
                .push(" ESCAPE '\\'");
        }
        self.push(")")
    }
}

/// Escapes `\`, `%` and `_` so a search term matches literally.
pub(crate) fn escape_like(term: &str) -> String {
    let mut out = String::with_capacity(term.len());
    for c in term.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Columns of a todo, unqualified (for `RETURNING`).
pub(crate) const TODO_COLUMNS: &str = "id, user_id, title, description, status, priority, due_date, \
     completed_at, parent_todo_id, category_id, metadata, sort_order, created_at, updated_at";

/// Columns of a todo aliased `t`.
pub(crate) const TODO_COLUMNS_T: &str = "t.id, t.user_id, t.title, t.description, t.status, t.priority, \
     t.due_date, t.completed_at, t.parent_todo_id, t.category_id, t.metadata, t.sort_order, \
     t.created_at, t.updated_at";

/// Columns of a joined category, prefixed `c_`.
pub(crate) const JOINED_CATEGORY_COLUMNS: &str = "c.id AS c_id, c.user_id AS c_user_id, c.name AS c_name, \
     c.color AS c_color, c.description AS c_description, c.created_at AS c_created_at, \
     c.updated_at AS c_updated_at";

/// Columns of a category, unqualified.
pub(crate) const CATEGORY_COLUMNS: &str =
    "id, user_id, name, color, description, created_at, updated_at";

/// Columns of a comment, unqualified.
pub(crate) const COMMENT_COLUMNS: &str = "id, todo_id, user_id, content, created_at, updated_at";

/// Columns of an attachment, unqualified.
pub(crate) const ATTACHMENT_COLUMNS: &str =
    "id, todo_id, name, uploaded_by, download_key, file_size, mime_type, created_at, updated_at";

const COMPLETED: i16 = TodoStatus::Completed as i16;
const ARCHIVED: i16 = TodoStatus::Archived as i16;

/// `status` is open (draft or active): the todo can be overdue.
pub(crate) fn open_status(column: &str) -> String {
    format!("{column} < {COMPLETED}")
}

/// The `WHERE` clause of a todo list (alias `t`), shared by the count and the page.
pub(crate) fn todo_list_where(sql: &mut Sql, user: &str, q: &TodoQuery, now: OffsetDateTime) {
    sql.push(" WHERE t.user_id = ")
        .bind(Arg::Text(user.to_owned()));
    match q.parent {
        ParentFilter::Roots => sql.push(" AND t.parent_todo_id IS NULL"),
        ParentFilter::ChildrenOf(id) => sql.push(" AND t.parent_todo_id = ").bind(Arg::Uuid(id)),
    };
    if let Some(status) = q.status {
        sql.push(" AND t.status = ").bind(Arg::I16(status.rank()));
    }
    if let Some(priority) = q.priority {
        sql.push(" AND t.priority = ")
            .bind(Arg::I16(priority.rank()));
    }
    if let Some(category) = q.category_id {
        sql.push(" AND t.category_id = ").bind(Arg::Uuid(category));
    }
    if let Some(from) = q.due_from {
        sql.push(" AND t.due_date >= ").bind(Arg::Time(from));
    }
    if let Some(to) = q.due_to {
        sql.push(" AND t.due_date <= ").bind(Arg::Time(to));
    }
    match q.overdue {
        Some(true) => {
            sql.push(&format!(
                " AND {} AND t.due_date < ",
                open_status("t.status")
            ))
            .bind(Arg::Time(now));
        }
        Some(false) => {
            sql.push(&format!(
                " AND (t.status >= {COMPLETED} OR t.due_date IS NULL OR t.due_date >= "
            ))
            .bind(Arg::Time(now))
            .push(")");
        }
        None => {}
    }
    match q.completed {
        Some(true) => sql.push(&format!(" AND t.status = {COMPLETED}")),
        Some(false) => sql.push(&format!(" AND t.status <> {COMPLETED}")),
        None => sql,
    };
    if let Some(term) = &q.search {
        sql.push(" AND ")
            .push_search(&["t.title_key", "t.description_key"], term);
    }
}

/// The sort column of a todo list.
fn todo_sort_column(sort: TodoSort) -> &'static str {
    match sort {
        TodoSort::CreatedAt => "t.created_at",
        TodoSort::UpdatedAt => "t.updated_at",
        TodoSort::Title => "t.title_key",
        TodoSort::Priority => "t.priority",
        TodoSort::DueDate => "t.due_date",
        TodoSort::Status => "t.status",
    }
}

/// Keeps only the rows after the query's cursor in `todo_list_order`: a row
/// comparison on (sort key, id) that the list index answers as a range.
/// Empty due dates sort last in both directions.
pub(crate) fn todo_list_after_cursor(sql: &mut Sql, q: &TodoQuery) {
    let Some(cursor) = &q.cursor else {
        return;
    };
    let column = todo_sort_column(q.sort);
    let op = match q.order {
        crate::query::SortOrder::Asc => ">",
        crate::query::SortOrder::Desc => "<",
    };
    let key = match cursor.key() {
        CursorKey::Time(t) => Arg::Time(*t),
        CursorKey::OptTime(Some(t)) => Arg::Time(*t),
        CursorKey::Rank(r) => Arg::I16(*r),
        CursorKey::Text(s) => Arg::Text(s.clone()),
        CursorKey::OptTime(None) => {
            sql.push(&format!(" AND {column} IS NULL AND t.id {op} "))
                .bind(Arg::Uuid(cursor.id()));
            return;
        }
    };
    sql.push(&format!(" AND (({column}, t.id) {op} ("))
        .bind(key)
        .push(", ")
        .bind(Arg::Uuid(cursor.id()))
        .push(")");
    if q.sort == TodoSort::DueDate {
        sql.push(&format!(" OR {column} IS NULL"));
    }
    sql.push(")");
}

/// The `ORDER BY` of a todo list. Ties break by id in the same direction, so
/// pages never repeat or skip a row; todos without a due date come last.
pub(crate) fn todo_list_order(q: &TodoQuery) -> String {
    let dir = q.order.sql();
    let key = todo_sort_column(q.sort);
    let nulls = if q.sort == TodoSort::DueDate {
        " NULLS LAST"
    } else {
        ""
    };
    format!(" ORDER BY {key} {dir}{nulls}, t.id {dir}")
}

/// The `WHERE` clause of a category list.
pub(crate) fn category_list_where(sql: &mut Sql, user: &str, q: &CategoryQuery) {
    sql.push(" WHERE user_id = ")
        .bind(Arg::Text(user.to_owned()));
    if let Some(term) = &q.search {
        sql.push(" AND ")
            .push_search(&["name_key", "description_key"], term);
    }
}

/// The `ORDER BY` of a category list.
pub(crate) fn category_list_order(q: &CategoryQuery) -> String {
    let dir = q.order.sql();
    let key = match q.sort {
        CategorySort::Name => "name_key",
        CategorySort::CreatedAt => "created_at",
        CategorySort::UpdatedAt => "updated_at",
    };
    format!(" ORDER BY {key} {dir}, id {dir}")
}

/// `LIMIT … OFFSET …` for a page.
pub(crate) fn push_page(sql: &mut Sql, limit: u32, offset: u64) {
    sql.push(" LIMIT ")
        .bind(Arg::I64(i64::from(limit)))
        .push(" OFFSET ")
        .bind(Arg::I64(i64::try_from(offset).unwrap_or(i64::MAX)));
}

/// Per-status counts of one user's todos, and how many are overdue at `$2`.
pub(crate) const STATS: &str = "SELECT COUNT(*) AS total, \
     COUNT(*) FILTER (WHERE status = 0) AS draft, \
     COUNT(*) FILTER (WHERE status = 1) AS active, \
     COUNT(*) FILTER (WHERE status = 2) AS completed, \
     COUNT(*) FILTER (WHERE status = 3) AS archived, \
     COUNT(*) FILTER (WHERE status < 2 AND due_date < $2) AS overdue \
     FROM todos WHERE user_id = $1";

/// Archives one batch of todos completed before `$1`, stamping `$2`; at most `$3` rows.
/// On PostgreSQL, rows another transaction has locked are left for the next
/// batch: the batch never waits for a lock, so it never joins a deadlock.
pub(crate) fn archive_batch(dialect: Dialect) -> String {
    format!(
        "UPDATE todos SET status = {ARCHIVED}, completed_at = NULL, updated_at = $2 \
         WHERE id IN (SELECT id FROM todos WHERE status = {COMPLETED} AND completed_at < $1 \
         ORDER BY completed_at, id LIMIT $3{})",
        dialect.lock_rows_skip_locked()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_metacharacters_are_escaped() {
        assert_eq!(escape_like(r"50%_off\"), r"50\%\_off\\");
        assert_eq!(escape_like("it's"), "it's");
    }

    #[test]
    fn placeholders_number_in_bind_order() {
        let mut sql = Sql::new(Dialect::Sqlite, "SELECT 1 WHERE a = ");
        sql.bind(Arg::I64(1))
            .push(" AND ")
            .push_in("b", &[Uuid::nil(), Uuid::max()]);
        assert_eq!(sql.text, "SELECT 1 WHERE a = $1 AND b IN ($2, $3)");
        let mut sql = Sql::new(Dialect::Postgres, "");
        sql.push_in("b", &[Uuid::nil(), Uuid::max()]);
        assert_eq!(sql.text, "b = ANY($1)");
        assert_eq!(sql.args.len(), 1);
    }
}
