-- tasker: initial schema (SQLite).
-- Same tables as PostgreSQL. UUIDs are 16-byte blobs; instants are fixed-width
-- UTC text (2026-11-25T09:00:00.000000Z), so text order is time order.
-- status: 0 draft, 1 active, 2 completed, 3 archived. priority: 1 low, 2 medium, 3 high.

create table categories (
    id blob primary key check (length(id) = 16),
    user_id text not null check (length(user_id) between 1 and 255),
    name text not null check (length(name) between 1 and 100),
    name_key text not null,
    color text not null check (
        color glob '#[0-9a-fA-F][0-9a-fA-F][0-9a-fA-F]'
        or color glob '#[0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F]'
    ),
    description text check (length(description) <= 255),
    description_key text,
    created_at text not null,
    updated_at text not null
) strict;

create unique index categories_user_name_key on categories (user_id, name_key);
create index categories_user_created on categories (user_id, created_at, id);
create index categories_user_updated on categories (user_id, updated_at, id);

create table todos (
    id blob primary key check (length(id) = 16),
    user_id text not null check (length(user_id) between 1 and 255),
    title text not null check (length(title) between 1 and 255),
    title_key text not null,
    description text check (length(description) <= 1000),
    description_key text,
    status integer not null default 0 check (status between 0 and 3),
    priority integer not null default 2 check (priority between 1 and 3),
    due_date text,
    completed_at text,
    parent_todo_id blob references todos (id) on delete cascade,
    category_id blob references categories (id) on delete set null,
    metadata text check (metadata is null or json_type(metadata) = 'object'),
    sort_order integer not null,
    created_at text not null,
    updated_at text not null,
    constraint todos_completed_at_matches_status check ((status = 2) = (completed_at is not null)),
    constraint todos_not_own_parent check (parent_todo_id <> id)
) strict;

-- Subtasks are one level deep (see the PostgreSQL migration); SQLite serialises writers,
-- so checking inside the write is enough.
create trigger todos_subtask_depth_insert
before insert on todos
when new.parent_todo_id is not null
begin
    select raise(abort, 'todos_subtask_depth: must be a root todo: subtasks cannot have subtasks')
     where exists (select 1 from todos p
                    where p.id = new.parent_todo_id
                      and (p.parent_todo_id is not null or p.user_id <> new.user_id));
end;

create trigger todos_subtask_depth_update
before update of parent_todo_id on todos
when new.parent_todo_id is not null
begin
    select raise(abort, 'todos_subtask_depth: must be a root todo: subtasks cannot have subtasks')
     where exists (select 1 from todos p
                    where p.id = new.parent_todo_id
                      and (p.parent_todo_id is not null or p.user_id <> new.user_id));
    select raise(abort, 'todos_subtask_depth: a todo that has subtasks cannot become a subtask')
     where exists (select 1 from todos c where c.parent_todo_id = new.id);
end;

create index todos_user_created on todos (user_id, created_at, id);
create index todos_user_updated on todos (user_id, updated_at, id);
create index todos_user_title on todos (user_id, title_key, id);
create index todos_user_priority on todos (user_id, priority, id);
create index todos_user_due on todos (user_id, due_date, id);
create index todos_user_status on todos (user_id, status, id);
create index todos_user_completed on todos (user_id, completed_at);
create index todos_parent on todos (parent_todo_id, sort_order) where parent_todo_id is not null;
create index todos_category on todos (category_id) where category_id is not null;
create index todos_open_due on todos (due_date) where status < 2 and due_date is not null;
create index todos_completed_at on todos (completed_at) where status = 2;
create index todos_sort_order on todos (sort_order);

create table comments (
    id blob primary key check (length(id) = 16),
    todo_id blob not null references todos (id) on delete cascade,
    user_id text not null,
    content text not null check (length(content) between 1 and 1000),
    created_at text not null,
    updated_at text not null
) strict;

create index comments_todo on comments (todo_id, created_at, id);

create table attachments (
    id blob primary key check (length(id) = 16),
    todo_id blob not null references todos (id) on delete cascade,
    name text not null check (length(name) between 1 and 255),
    uploaded_by text not null,
    download_key text not null unique,
    file_size integer check (file_size >= 0),
    mime_type text,
    created_at text not null,
    updated_at text not null
) strict;

create index attachments_todo on attachments (todo_id, created_at, id);

create table todo_notifications (
    todo_id blob not null references todos (id) on delete cascade,
    kind text not null check (kind in ('due_reminder', 'overdue')),
    due_date text not null,
    sent_at text not null,
    primary key (todo_id, kind, due_date)
) strict;

create table user_notifications (
    user_id text not null,
    kind text not null,
    period text not null,
    sent_at text not null,
    primary key (user_id, kind, period)
) strict;
