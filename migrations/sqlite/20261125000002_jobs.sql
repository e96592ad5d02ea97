-- tasker: background-job state (SQLite). Same tables as PostgreSQL.

-- The notification ledger now records a claim before the e-mail goes out and
-- the delivery after it: a job that dies in between finds its claim again and
-- sends the same message with the same idempotency key. `sent_at` keeps its
-- name and means "claimed at". Rows written before this migration count as
-- delivered.
alter table todo_notifications add column claim_key text not null default '';
alter table todo_notifications add column delivered_at text;
update todo_notifications set delivered_at = sent_at;
create index todo_notifications_claim on todo_notifications (claim_key) where delivered_at is null;

alter table user_notifications add column delivered_at text;
update user_notifications set delivered_at = sent_at;

-- Users seen by the API or the jobs, with the contact details their tokens carried.
create table known_users (
    user_id text primary key check (length(user_id) between 1 and 255),
    email text check (length(email) <= 320),
    name text check (length(name) <= 255),
    first_seen_at text not null,
    updated_at text not null
) strict;

-- One row per job, written by the worker: what ran, how often, how it ended.
create table job_runs (
    job_id text primary key,
    queue text not null,
    kind text not null,
    status text not null check (status in ('running', 'retrying', 'done', 'failed')),
    attempts integer not null check (attempts >= 0),
    last_error text,
    started_at text not null,
    finished_at text
) strict;

create index job_runs_status on job_runs (status, finished_at);
