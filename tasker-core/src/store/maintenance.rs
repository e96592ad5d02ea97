//! [`MaintenanceStore`] for [`AnyStore`]: the blob sweep's key check, archiving.

use time::OffsetDateTime;

use super::{
    MaintenanceStore,
    any::{AnyStore, decode_all},
    sql::{self, Arg},
};
use crate::Result;

impl MaintenanceStore for AnyStore {
    async fn existing_download_keys(&self, keys: &[String]) -> Result<Vec<String>> {
        const OP: &str = "find attachment keys";
        let mut found = Vec::new();
        for chunk in keys.chunks(200) {
            let mut sql = self.sql("SELECT download_key FROM attachments WHERE download_key IN (");
            for (i, key) in chunk.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.bind(Arg::Text(key.clone()));
            }
            sql.push(")");
            let rows = self.fetch_all(sql, OP).await?;
            found.extend(decode_all(OP, &rows, |r| r.text("download_key"))?);
        }
        Ok(found)
    }

    async fn archive_completed_batch(
        &self,
        before: OffsetDateTime,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<u64> {
        const OP: &str = "archive completed todos";
        let mut sql = self.sql(&sql::archive_batch(self.dialect()));
        sql.args = vec![
            Arg::Time(before),
            Arg::Time(now),
            Arg::I64(i64::from(limit)),
        ];
        self.execute(sql, OP).await
    }
}
