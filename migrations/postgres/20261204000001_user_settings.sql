-- What a user chose: the time zone their e-mails show times in, and which
-- recurring e-mails they get. A NULL column follows the server's default.
create table user_settings (
    user_id text primary key check (char_length(user_id) between 1 and 255),
    time_zone text check (char_length(time_zone) between 1 and 64),
    due_reminders boolean,
    overdue_notices boolean,
    weekly_report boolean,
    weekly_report_when_empty boolean,
    updated_at timestamptz not null
);
