//! `CategoryStore` for [`AnyStore`]: categories.

use time::OffsetDateTime;
use uuid::Uuid;

use super::{
    CategoryStore,
    any::{AnyStore, count, decode_all, decode_one},
    decode,
    sql::{self, Arg, Sql},
    write::{category_insert_error, classify, retry_conflicts},
};
use crate::{
    Error, Result,
    domain::UserId,
    model::{Category, CategoryPatch, Page},
    query::CategoryQuery,
};

impl AnyStore {
    /// `INSERT INTO categories …` for `category`; the caller adds the tail
    /// (`RETURNING …`, or `ON CONFLICT` for an import).
    pub(super) fn insert_category_sql(&self, category: &Category) -> Sql {
        let mut sql = self.sql(
            "INSERT INTO categories (id, user_id, name, name_key, color, description, \
             description_key, created_at, updated_at) VALUES (",
        );
        sql.bind(Arg::Uuid(category.id)).push(", ");
        sql.bind(Arg::Text(category.user_id.as_str().to_owned()))
            .push(", ");
        sql.bind(Arg::Text(category.name.clone())).push(", ");
        sql.bind(Arg::Text(category.name.to_lowercase())).push(", ");
        sql.bind(Arg::Text(category.color.clone())).push(", ");
        sql.bind(Arg::OptText(category.description.clone()))
            .push(", ");
        sql.bind(Arg::OptText(
            category.description.as_deref().map(str::to_lowercase),
        ))
        .push(", ");
        sql.bind(Arg::Time(category.created_at)).push(", ");
        sql.bind(Arg::Time(category.updated_at));
        sql.push(")");
        sql
    }
}

impl CategoryStore for AnyStore {
    async fn insert_category(&self, category: &Category) -> Result<Category> {
        const OP: &str = "insert a category";
        let mut sql = self.insert_category_sql(category);
        sql.push(&format!(" RETURNING {}", sql::CATEGORY_COLUMNS));
        let row = self
            .try_fetch_one(sql)
            .await
            .map_err(|e| category_insert_error(OP, e, category))?;
        decode::category(&row).map_err(|e| Error::storage(OP, e))
    }

    async fn get_category(&self, user: &UserId, id: Uuid) -> Result<Option<Category>> {
        const OP: &str = "get a category";
        let mut sql = self.sql(&format!(
            "SELECT {} FROM categories WHERE id = ",
            sql::CATEGORY_COLUMNS
        ));
        sql.bind(Arg::Uuid(id))
            .push(" AND user_id = ")
            .bind(Arg::Text(user.as_str().to_owned()));
        let row = self.fetch_optional(sql, OP).await?;
        decode_one(OP, row, decode::category)
    }

    async fn update_category(
        &self,
        user: &UserId,
        id: Uuid,
        patch: &CategoryPatch,
        now: OffsetDateTime,
        expected_updated_at: Option<OffsetDateTime>,
    ) -> Result<Option<Category>> {
        const OP: &str = "update a category";
        let mut sql = self.sql("UPDATE categories SET updated_at = ");
        sql.bind(Arg::Time(now));
        if let Some(name) = &patch.name {
            sql.push(", name = ")
                .bind(Arg::Text(name.as_str().to_owned()));
            sql.push(", name_key = ").bind(Arg::Text(name.key()));
        }
        if let Some(color) = &patch.color {
            sql.push(", color = ")
                .bind(Arg::Text(color.as_str().to_owned()));
        }
        if let Some(description) = &patch.description {
            let d = description.as_ref().map(|d| d.as_str().to_owned());
            let key = d.as_deref().map(str::to_lowercase);
            sql.push(", description = ").bind(Arg::OptText(d));
            sql.push(", description_key = ").bind(Arg::OptText(key));
        }
        sql.push(" WHERE id = ").bind(Arg::Uuid(id));
        sql.push(" AND user_id = ")
            .bind(Arg::Text(user.as_str().to_owned()));
        if let Some(expected) = expected_updated_at {
            sql.push(" AND updated_at = ").bind(Arg::Time(expected));
        }
        sql.push(&format!(" RETURNING {}", sql::CATEGORY_COLUMNS));
        let row = self.try_fetch_optional(sql).await.map_err(|e| {
            classify(
                OP,
                e,
                || Error::CategoryNameTaken {
                    name: patch
                        .name
                        .as_ref()
                        .map(|n| n.as_str().to_owned())
                        .unwrap_or_default(),
                },
                |_| Error::storage(OP, "unexpected foreign key violation"),
            )
        })?;
        decode_one(OP, row, decode::category)
    }

    async fn delete_category(
        &self,
        user: &UserId,
        id: Uuid,
        expected_updated_at: Option<OffsetDateTime>,
    ) -> Result<bool> {
        retry_conflicts(|| self.delete_category_once(user, id, expected_updated_at)).await
    }

    async fn list_categories(&self, user: &UserId, q: &CategoryQuery) -> Result<Page<Category>> {
        const OP: &str = "list categories";
        let mut total = self.sql("SELECT COUNT(*) AS n FROM categories");
        sql::category_list_where(&mut total, user.as_str(), q);
        let total = count(OP, &self.fetch_one(total, OP).await?, "n")?;
        let page = q.page;
        if page.offset() >= total {
            return Ok(Page::new(Vec::new(), page.page(), page.limit(), total));
        }
        let mut rows = self.sql(&format!("SELECT {} FROM categories", sql::CATEGORY_COLUMNS));
        sql::category_list_where(&mut rows, user.as_str(), q);
        rows.push(&sql::category_list_order(q));
        sql::push_page(&mut rows, page.limit(), page.offset());
        let rows = self.fetch_all(rows, OP).await?;
        let data = decode_all(OP, &rows, decode::category)?;
        Ok(Page::new(data, page.page(), page.limit(), total))
    }
}

/// One attempt of deleting a category; `delete_category` runs it
/// through `retry_conflicts`.
impl AnyStore {
    async fn delete_category_once(
        &self,
        user: &UserId,
        id: Uuid,
        expected_updated_at: Option<OffsetDateTime>,
    ) -> Result<bool> {
        const OP: &str = "delete a category";
        let user = user.as_str().to_owned();
        let mut tx = self.begin(OP).await?;
        // Its todos first, in id order, then the category (the DELETE):
        // the lock order of this store (see `TodoStore` in `store/mod.rs`).
        let mut lock = self.sql("SELECT id FROM todos WHERE category_id = ");
        lock.bind(Arg::Uuid(id))
            .push(" AND user_id = ")
            .bind(Arg::Text(user.clone()));
        lock.push(" ORDER BY id").push(self.dialect().lock_rows());
        tx.fetch_all(lock, OP).await?;
        let mut clear = self.sql("UPDATE todos SET category_id = NULL WHERE category_id = ");
        clear
            .bind(Arg::Uuid(id))
            .push(" AND user_id = ")
            .bind(Arg::Text(user.clone()));
        tx.execute(clear, OP).await?;
        let mut delete = self.sql("DELETE FROM categories WHERE id = ");
        delete
            .bind(Arg::Uuid(id))
            .push(" AND user_id = ")
            .bind(Arg::Text(user));
        if let Some(expected) = expected_updated_at {
            delete.push(" AND updated_at = ").bind(Arg::Time(expected));
        }
        // Nothing deleted: the transaction is dropped, so the todos keep their category.
        let deleted = tx.execute(delete, OP).await? > 0;
        if deleted {
            tx.commit(OP).await?;
        }
        Ok(deleted)
    }
}
