-- no-transaction
-- Category colours: also #RGBA and #RRGGBBAA, as the Go service's `hexcolor` rule accepted.
-- SQLite cannot change a CHECK constraint, so the table is rebuilt as its manual
-- says (https://www.sqlite.org/lang_altertable.html, "other kinds of table schema
-- changes"): foreign keys off outside the transaction, copy, swap, on again (the
-- copy keeps every id, so the todos' category references stay valid).
pragma foreign_keys = off;

begin immediate;

create table categories_new (
    id blob primary key check (length(id) = 16),
    user_id text not null check (length(user_id) between 1 and 255),
    name text not null check (length(name) between 1 and 100),
    name_key text not null,
    color text not null check (
        color glob '#[0-9a-fA-F][0-9a-fA-F][0-9a-fA-F]'
        or color glob '#[0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F]'
        or color glob '#[0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F]'
        or color glob '#[0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F]'
    ),
    description text check (length(description) <= 255),
    description_key text,
    created_at text not null,
    updated_at text not null
) strict;

insert into categories_new
    (id, user_id, name, name_key, color, description, description_key, created_at, updated_at)
select id, user_id, name, name_key, color, description, description_key, created_at, updated_at
from categories;

drop table categories;
alter table categories_new rename to categories;

create unique index categories_user_name_key on categories (user_id, name_key);
create index categories_user_created on categories (user_id, created_at, id);
create index categories_user_updated on categories (user_id, updated_at, id);

commit;

pragma foreign_keys = on;
