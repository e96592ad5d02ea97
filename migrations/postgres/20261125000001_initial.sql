-- tasker: initial schema (PostgreSQL).
-- status: 0 draft, 1 active, 2 completed, 3 archived (life-cycle order).
-- priority: 1 low, 2 medium, 3 high (sorts by meaning).
-- *_key columns hold the lowercased text (Unicode lowercasing, done by the application) used
-- for case-insensitive sorting, searching and uniqueness, compared byte-wise ("C") so both
-- backends order and match them the same way.

create sequence todos_sort_order_seq;

create table categories (
    id uuid primary key,
    user_id text not null check (char_length(user_id) between 1 and 255),
    name text not null check (char_length(name) between 1 and 100),
    name_key text collate "C" not null,
    color text not null check (color ~ '^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$'),
    description text check (char_length(description) <= 255),
    description_key text collate "C",
    created_at timestamptz not null,
    updated_at timestamptz not null
);

create unique index categories_user_name_key on categories (user_id, name_key);
create index categories_user_created on categories (user_id, created_at, id);
create index categories_user_updated on categories (user_id, updated_at, id);

create table todos (
    id uuid primary key,
    user_id text not null check (char_length(user_id) between 1 and 255),
    title text not null check (char_length(title) between 1 and 255),
    title_key text collate "C" not null,
    description text check (char_length(description) <= 1000),
    description_key text collate "C",
    status smallint not null default 0 check (status between 0 and 3),
    priority smallint not null default 2 check (priority between 1 and 3),
    due_date timestamptz,
    completed_at timestamptz,
    parent_todo_id uuid references todos (id) on delete cascade,
    category_id uuid references categories (id) on delete set null,
    metadata jsonb check (metadata is null or jsonb_typeof(metadata) = 'object'),
    sort_order bigint not null,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    constraint todos_completed_at_matches_status check ((status = 2) = (completed_at is not null)),
    constraint todos_not_own_parent check (parent_todo_id <> id)
);

-- Subtasks are one level deep: a parent is a root todo of the same user, and a todo that
-- has subtasks cannot become one. The parent row is locked, so two concurrent changes
-- (X under Y while Y goes under Z) cannot both pass.
create function todos_check_subtask_depth() returns trigger
language plpgsql as $$
begin
    if new.parent_todo_id is not null then
        perform 1 from todos p
         where p.id = new.parent_todo_id
           and p.parent_todo_id is null
           and p.user_id = new.user_id
           for update;
        if not found and exists (select 1 from todos p where p.id = new.parent_todo_id) then
            raise exception 'todos_subtask_depth: must be a root todo: subtasks cannot have subtasks'
                using errcode = 'check_violation', constraint = 'todos_subtask_depth';
        end if;
        if tg_op = 'UPDATE' and exists (select 1 from todos c where c.parent_todo_id = new.id) then
            raise exception 'todos_subtask_depth: a todo that has subtasks cannot become a subtask'
                using errcode = 'check_violation', constraint = 'todos_subtask_depth';
        end if;
    end if;
    return new;
end;
$$;

create trigger todos_subtask_depth
    before insert or update of parent_todo_id on todos
    for each row execute function todos_check_subtask_depth();

-- one index per sort of the list, led by the owner
create index todos_user_created on todos (user_id, created_at, id);
create index todos_user_updated on todos (user_id, updated_at, id);
create index todos_user_title on todos (user_id, title_key, id);
create index todos_user_priority on todos (user_id, priority, id);
create index todos_user_due on todos (user_id, due_date, id);
-- due date descending keeps undated todos last too
create index todos_user_due_desc on todos (user_id, due_date desc nulls last, id desc);
create index todos_user_status on todos (user_id, status, id);
create index todos_user_completed on todos (user_id, completed_at);
-- subtasks of a page, todos of a category
create index todos_parent on todos (parent_todo_id, sort_order) where parent_todo_id is not null;
create index todos_category on todos (category_id) where category_id is not null;
-- background jobs: open todos by due date, completed todos by completion
create index todos_open_due on todos (due_date) where status < 2 and due_date is not null;
create index todos_completed_at on todos (completed_at) where status = 2;

create table comments (
    id uuid primary key,
    todo_id uuid not null references todos (id) on delete cascade,
    user_id text not null,
    content text not null check (char_length(content) between 1 and 1000),
    created_at timestamptz not null,
    updated_at timestamptz not null
);

create index comments_todo on comments (todo_id, created_at, id);

create table attachments (
    id uuid primary key,
    todo_id uuid not null references todos (id) on delete cascade,
    name text not null check (char_length(name) between 1 and 255),
    uploaded_by text not null,
    download_key text not null unique,
    file_size bigint check (file_size >= 0),
    mime_type text,
    created_at timestamptz not null,
    updated_at timestamptz not null
);

create index attachments_todo on attachments (todo_id, created_at, id);

-- the notification ledger: one row per e-mail that went out
create table todo_notifications (
    todo_id uuid not null references todos (id) on delete cascade,
    kind text not null check (kind in ('due_reminder', 'overdue')),
    due_date timestamptz not null,
    sent_at timestamptz not null,
    primary key (todo_id, kind, due_date)
);

create table user_notifications (
    user_id text not null,
    kind text not null,
    period text not null,
    sent_at timestamptz not null,
    primary key (user_id, kind, period)
);
