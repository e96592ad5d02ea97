-- tasker: responses kept for Idempotency-Key retries (SQLite). Same table as PostgreSQL.
--
-- A row is written, without a response, when a request with a new key
-- starts (the claim); the response is added when it ends. A retry with the
-- same key and the same request replays the response; rows older than 24 h
-- are pruned by the auto-archive job and ignored before that.
create table idempotency_keys (
    user_id text not null check (length(user_id) between 1 and 255),
    idem_key text not null check (length(idem_key) between 1 and 255),
    fingerprint text not null,
    created_at text not null,
    response_status integer,
    response_headers text,
    response_body blob,
    primary key (user_id, idem_key)
) strict;

create index idempotency_keys_created on idempotency_keys (created_at);
