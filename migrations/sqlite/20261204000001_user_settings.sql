-- What a user chose: the time zone their e-mails show times in, and which
-- recurring e-mails they get. A NULL column follows the server's default.
create table user_settings (
    user_id text primary key check (length(user_id) between 1 and 255),
    time_zone text check (length(time_zone) between 1 and 64),
    due_reminders integer check (due_reminders in (0, 1)),
    overdue_notices integer check (overdue_notices in (0, 1)),
    weekly_report integer check (weekly_report in (0, 1)),
    weekly_report_when_empty integer check (weekly_report_when_empty in (0, 1)),
    updated_at text not null
) strict;
