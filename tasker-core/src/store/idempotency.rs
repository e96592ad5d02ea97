//! `IdempotencyStore` for [`AnyStore`]: responses kept for `Idempotency-Key` retries.

use time::OffsetDateTime;

use super::{
    IdempotencyClaim, IdempotencyStore, IdempotentWrite, StoredResponse,
    any::AnyStore,
    decode,
    sql::{Arg, Sql},
};
use crate::{Error, Result, domain::UserId};

impl IdempotencyStore for AnyStore {
    async fn claim_idempotency_key(
        &self,
        user: &UserId,
        key: &str,
        fingerprint: &str,
        now: OffsetDateTime,
        expired_before: OffsetDateTime,
        abandoned_before: OffsetDateTime,
    ) -> Result<IdempotencyClaim> {
        const OP: &str = "claim an idempotency key";
        let mut tx = self.begin(OP).await?;
        let mut sql = self.sql("DELETE FROM idempotency_keys WHERE user_id = ");
        sql.bind(Arg::Text(user.as_str().to_owned()));
        sql.push(" AND idem_key = ").bind(Arg::Text(key.to_owned()));
        sql.push(" AND (created_at < ")
            .bind(Arg::Time(expired_before));
        sql.push(" OR (response_status IS NULL AND created_at < ")
            .bind(Arg::Time(abandoned_before));
        sql.push("))");
        tx.execute(sql, OP).await?;
        let mut sql = self.sql(
            "INSERT INTO idempotency_keys (user_id, idem_key, fingerprint, created_at) VALUES (",
        );
        sql.bind(Arg::Text(user.as_str().to_owned())).push(", ");
        sql.bind(Arg::Text(key.to_owned())).push(", ");
        sql.bind(Arg::Text(fingerprint.to_owned())).push(", ");
        sql.bind(Arg::Time(now)).push(") ON CONFLICT DO NOTHING");
        if tx.execute(sql, OP).await? > 0 {
            tx.commit(OP).await?;
            return Ok(IdempotencyClaim::Claimed);
        }
        let mut sql = self.sql(
            "SELECT fingerprint, response_status, response_headers, response_body \
             FROM idempotency_keys WHERE user_id = ",
        );
        sql.bind(Arg::Text(user.as_str().to_owned()));
        sql.push(" AND idem_key = ").bind(Arg::Text(key.to_owned()));
        let row = tx.fetch_optional(sql, OP).await?;
        tx.commit(OP).await?;
        // Released between the insert and the read: still someone else's turn.
        let Some(row) = row else {
            return Ok(IdempotencyClaim::InProgress);
        };
        let decoded = (|| -> std::result::Result<IdempotencyClaim, sqlx::Error> {
            let stored = row.text("fingerprint")?;
            if stored != fingerprint {
                return Ok(IdempotencyClaim::Mismatch);
            }
            let Some(status) = row.opt_i64("response_status")? else {
                return Ok(IdempotencyClaim::InProgress);
            };
            let headers = row.opt_text("response_headers")?;
            let headers: Vec<(String, String)> = match headers {
                Some(text) => {
                    serde_json::from_str(&text).map_err(|e| sqlx::Error::Decode(Box::new(e)))?
                }
                None => Vec::new(),
            };
            let body = row.opt_bytes("response_body")?;
            Ok(IdempotencyClaim::Completed(StoredResponse {
                status: u16::try_from(status)
                    .map_err(|_| decode::out_of_range("response_status"))?,
                headers,
                body: body.unwrap_or_default(),
            }))
        })();
        decoded.map_err(|e| Error::storage(OP, e))
    }

    async fn complete_idempotency_key(
        &self,
        user: &UserId,
        key: &str,
        response: &StoredResponse,
    ) -> Result<()> {
        const OP: &str = "store an idempotent response";
        self.execute(record_response(self, user, key, response, None)?, OP)
            .await?;
        Ok(())
    }

    fn idempotent_write(
        &self,
        user: &UserId,
        key: &str,
        claimed_at: OffsetDateTime,
    ) -> IdempotentWrite {
        IdempotentWrite::new(self, user, key, claimed_at)
    }

    async fn release_idempotency_key(&self, user: &UserId, key: &str) -> Result<()> {
        const OP: &str = "release an idempotency key";
        let mut sql = self.sql("DELETE FROM idempotency_keys WHERE user_id = ");
        sql.bind(Arg::Text(user.as_str().to_owned()));
        sql.push(" AND idem_key = ").bind(Arg::Text(key.to_owned()));
        sql.push(" AND response_status IS NULL");
        self.execute(sql, OP).await?;
        Ok(())
    }

    async fn prune_idempotency_keys(&self, before: OffsetDateTime) -> Result<u64> {
        const OP: &str = "prune idempotency keys";
        let mut sql = self.sql("DELETE FROM idempotency_keys WHERE created_at < ");
        sql.bind(Arg::Time(before));
        self.execute(sql, OP).await
    }
}

/// The statement that stores `response` under the user's claimed `key`
/// (only the claim made at `claimed_at`, when given).
pub(crate) fn record_response(
    store: &AnyStore,
    user: &UserId,
    key: &str,
    response: &StoredResponse,
    claimed_at: Option<OffsetDateTime>,
) -> Result<Sql> {
    const OP: &str = "store an idempotent response";
    let headers = serde_json::to_string(&response.headers).map_err(|e| Error::storage(OP, e))?;
    let mut sql = store.sql("UPDATE idempotency_keys SET response_status = ");
    sql.bind(Arg::I64(i64::from(response.status)));
    sql.push(", response_headers = ").bind(Arg::Text(headers));
    sql.push(", response_body = ")
        .bind(Arg::Bytes(response.body.clone()));
    sql.push(" WHERE user_id = ")
        .bind(Arg::Text(user.as_str().to_owned()));
    sql.push(" AND idem_key = ").bind(Arg::Text(key.to_owned()));
    sql.push(" AND response_status IS NULL");
    if let Some(claimed_at) = claimed_at {
        sql.push(" AND created_at = ").bind(Arg::Time(claimed_at));
    }
    Ok(sql)
}
