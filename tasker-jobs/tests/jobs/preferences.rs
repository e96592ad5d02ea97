//! The user's settings in the e-mails: times in their zone, links to the
//! todos, and the kinds they switched off not sent.

use std::time::Duration;

use tasker_core::{
    domain::UserId,
    model::{SettingsChange, UpdateSettings},
};
use tasker_jobs::{CronJob, Job, Worker, fire};
use time::{Duration as TimeDuration, macros::datetime};

use crate::{
    delivery::wait_idle,
    support::{Backend, T0, World, both, eventually, unsubscribe_links},
};

both!(
    the_one_click_link_of_a_weekly_report_stops_the_next_one,
    a_tokyo_user_sees_the_due_time_in_tokyo_with_a_link_to_the_todo,
    due_times_are_shown_in_the_users_zone_across_dst_and_odd_offsets,
    the_weekly_scan_sends_each_user_the_report_of_their_local_week_from_monday_nine,
    reminders_switched_off_are_not_sent_and_not_retried,
    a_weekly_report_switched_off_or_for_an_empty_week_is_not_sent,
);

async fn choose(w: &World, user: &UserId, settings: serde_json::Value) {
    let input: UpdateSettings = serde_json::from_value(settings).unwrap();
    let change = SettingsChange::try_from(input).unwrap();
    w.services.settings.update(user, &change).await.unwrap();
}

async fn a_tokyo_user_sees_the_due_time_in_tokyo_with_a_link_to_the_todo(backend: Backend) {
    let w = World::new(backend).await;
    let ann = w.user("ann").await;
    choose(&w, &ann, serde_json::json!({"timeZone": "Asia/Tokyo"})).await;
    // 09:00 in Tokyo on Nov 26 is midnight UTC, 12 hours after T0.
    let id = w
        .todo_due(&ann, "call the bank", datetime!(2026-11-26 00:00 UTC))
        .await;
    let stop = tasker_jobs::CancellationToken::new();
    let worker = Worker::start(w.context.clone(), stop.clone());
    fire(&w.queue, CronJob::DueDateReminders, T0).await;
    let fake = w.fake.clone();
    let mail = eventually(Duration::from_secs(20), "the reminder", || {
        let fake = fake.clone();
        async move { fake.deliveries().pop() }
    })
    .await;
    assert!(mail.text.contains("call the bank"), "{}", mail.text);
    assert!(
        mail.text.contains("Nov 26, 2026, 09:00 JST"),
        "{}",
        mail.text
    );
    assert!(
        mail.text
            .contains(&format!("https://tasker.example.com/todos?id={id}")),
        "{}",
        mail.text
    );
    stop.cancel();
    worker.wait().await;
}

async fn reminders_switched_off_are_not_sent_and_not_retried(backend: Backend) {
    let w = World::new(backend).await;
    let ann = w.user("ann").await;
    let bob = w.user("bob").await;
    choose(
        &w,
        &ann,
        serde_json::json!({"notifications": {"dueReminders": false, "overdueNotices": false}}),
    )
    .await;
    w.todo_due(&ann, "ann soon", T0 + TimeDuration::hours(2))
        .await;
    w.todo_due(&ann, "ann late", T0 - TimeDuration::hours(2))
        .await;
    w.todo_due(&bob, "bob soon", T0 + TimeDuration::hours(2))
        .await;
    let stop = tasker_jobs::CancellationToken::new();
    let worker = Worker::start(w.context.clone(), stop.clone());
    fire(&w.queue, CronJob::DueDateReminders, T0).await;
    fire(&w.queue, CronJob::OverdueNotices, T0).await;
    wait_idle(&w).await;
    let mails = w.fake.deliveries();
    assert_eq!(mails.len(), 1, "only bob's reminder: {mails:?}");
    assert!(mails[0].text.contains("bob soon"));
    // Skipped, not left pending: the next scans find nothing for ann.
    let jobs = &w.services.jobs;
    let mut scan = jobs.due_soon(TimeDuration::hours(24), 100);
    while scan.next_batch().await.unwrap().is_some() {}
    assert_eq!(scan.seen(), 0);
    stop.cancel();
    worker.wait().await;
}

async fn a_weekly_report_switched_off_or_for_an_empty_week_is_not_sent(backend: Backend) {
    let w = World::new(backend).await;
    let busy = w.user("busy").await;
    let quiet = w.user("quiet").await;
    let off = w.user("off").await;
    let asked = w.user("asked").await;
    // Something happened in the week of Nov 23 for `busy` and `off`.
    w.todo_due(&busy, "done soon", T0 + TimeDuration::days(1))
        .await;
    w.todo_due(&off, "done soon", T0 + TimeDuration::days(1))
        .await;
    choose(
        &w,
        &off,
        serde_json::json!({"notifications": {"weeklyReport": false}}),
    )
    .await;
    choose(
        &w,
        &asked,
        serde_json::json!({"notifications": {"weeklyReportWhenEmpty": true}}),
    )
    .await;
    let stop = tasker_jobs::CancellationToken::new();
    let worker = Worker::start(w.context.clone(), stop.clone());
    let week = tasker_jobs::previous_week_start(datetime!(2026-11-30 09:00 UTC));
    for user in [&busy, &quiet, &off, &asked] {
        w.queue
            .push(Job::WeeklyReport {
                user_id: user.as_str().to_owned(),
                week_start: week,
                week_end: None,
            })
            .await
            .unwrap();
    }
    wait_idle(&w).await;
    let mut to: Vec<String> = w.fake.deliveries().into_iter().map(|d| d.to).collect();
    to.sort();
    assert_eq!(to.len(), 2, "{to:?}");
    assert!(to[0].contains("asked@example.com"), "{to:?}");
    assert!(to[1].contains("busy@example.com"), "{to:?}");
    stop.cancel();
    worker.wait().await;
}

async fn the_one_click_link_of_a_weekly_report_stops_the_next_one(backend: Backend) {
    let w = World::new(backend).await;
    let ann = w.user("ann").await;
    let bob = w.user("bob").await;
    // Both want the report even for a quiet week, so the second week is
    // sent unless unsubscribed.
    for user in [&ann, &bob] {
        w.todo_due(user, "something", T0 + TimeDuration::days(1))
            .await;
        choose(
            &w,
            user,
            serde_json::json!({"notifications": {"weeklyReportWhenEmpty": true}}),
        )
        .await;
    }
    let stop = tasker_jobs::CancellationToken::new();
    let worker = Worker::start(w.context.clone(), stop.clone());
    weekly_reports(&w, &["ann", "bob"], datetime!(2026-11-30 09:00 UTC)).await;
    let mails = w.fake.deliveries();
    assert_eq!(mails.len(), 2, "{mails:?}");
    let to_ann = mails.iter().find(|m| m.to.contains("ann@")).expect("ann's");
    let headers = &to_ann.headers;
    assert_eq!(
        headers["List-Unsubscribe-Post"], "List-Unsubscribe=One-Click",
        "{headers}"
    );
    let link = headers["List-Unsubscribe"].as_str().expect("a link");
    let token = link
        .strip_prefix("<https://api.tasker.example.com/api/v1/unsubscribe/")
        .and_then(|rest| rest.strip_suffix('>'))
        .unwrap_or_else(|| panic!("{link}"));
    // What the API's one-click POST does with the link (tested there).
    let (user, kind) = unsubscribe_links().verify(token).expect("a valid token");
    assert_eq!(user, ann);
    w.services
        .settings
        .update(&user, &SettingsChange::switch_off(kind))
        .await
        .unwrap();
    // The next week: bob's report, none for ann.
    weekly_reports(&w, &["ann", "bob"], datetime!(2026-12-07 09:00 UTC)).await;
    let mails = w.fake.deliveries();
    let count = |who: &str| mails.iter().filter(|m| m.to.contains(who)).count();
    assert_eq!(count("bob@"), 2, "{mails:?}");
    assert_eq!(count("ann@"), 1, "{mails:?}");
    stop.cancel();
    worker.wait().await;
}

/// Runs the weekly reports of `users` sent on `monday`, to the end.
async fn weekly_reports(w: &World, users: &[&str], monday: time::OffsetDateTime) {
    for user in users {
        w.queue
            .push(Job::WeeklyReport {
                user_id: (*user).to_owned(),
                week_start: tasker_jobs::previous_week_start(monday),
                week_end: None,
            })
            .await
            .unwrap();
    }
    wait_idle(w).await;
}

/// One user's reminder, sent at `now`, for todos due at `due` (all within
/// the next 24 hours): the text of the e-mail.
async fn reminder_text(
    backend: Backend,
    zone: &str,
    now: time::OffsetDateTime,
    due: &[time::OffsetDateTime],
) -> String {
    let w = World::new(backend).await;
    w.clock.set(now);
    let ann = w.user("ann").await;
    choose(&w, &ann, serde_json::json!({"timeZone": zone})).await;
    for (i, at) in due.iter().enumerate() {
        w.todo_due(&ann, &format!("task {i}"), *at).await;
    }
    let stop = tasker_jobs::CancellationToken::new();
    let worker = Worker::start(w.context.clone(), stop.clone());
    fire(&w.queue, CronJob::DueDateReminders, now).await;
    let fake = w.fake.clone();
    let mail = eventually(Duration::from_secs(20), "the reminder", || {
        let fake = fake.clone();
        async move { fake.deliveries().pop() }
    })
    .await;
    stop.cancel();
    worker.wait().await;
    mail.text
}

async fn due_times_are_shown_in_the_users_zone_across_dst_and_odd_offsets(backend: Backend) {
    // Berlin, the night clocks go forward (01:00 UTC, 2027-03-28): one
    // todo before, one after.
    let text = reminder_text(
        backend,
        "Europe/Berlin",
        datetime!(2027-03-27 12:00 UTC),
        &[
            datetime!(2027-03-28 00:30 UTC),
            datetime!(2027-03-28 01:30 UTC),
        ],
    )
    .await;
    assert!(text.contains("Sun, Mar 28, 2027, 01:30 CET"), "{text}");
    assert!(text.contains("Sun, Mar 28, 2027, 03:30 CEST"), "{text}");
    // New York, the night clocks go back (06:00 UTC, 2026-11-01): 01:30
    // twice, first in daylight time, then in standard time.
    let text = reminder_text(
        backend,
        "America/New_York",
        datetime!(2026-10-31 12:00 UTC),
        &[
            datetime!(2026-11-01 05:30 UTC),
            datetime!(2026-11-01 06:30 UTC),
        ],
    )
    .await;
    assert!(text.contains("Sun, Nov 1, 2026, 01:30 EDT"), "{text}");
    assert!(text.contains("Sun, Nov 1, 2026, 01:30 EST"), "{text}");
    // Half- and three-quarter-hour offsets, and the date line: Kolkata
    // (+05:30) and Chatham (+13:45 in its summer), at the year's end.
    let text = reminder_text(
        backend,
        "Asia/Kolkata",
        datetime!(2026-12-31 12:00 UTC),
        &[datetime!(2026-12-31 18:45 UTC)],
    )
    .await;
    assert!(text.contains("Fri, Jan 1, 2027, 00:15 IST"), "{text}");
    let text = reminder_text(
        backend,
        "Pacific/Chatham",
        datetime!(2026-12-31 00:00 UTC),
        &[datetime!(2026-12-31 10:15 UTC)],
    )
    .await;
    assert!(text.contains("Fri, Jan 1, 2027, 00:00 +1345"), "{text}");
}

async fn the_weekly_scan_sends_each_user_the_report_of_their_local_week_from_monday_nine(
    backend: Backend,
) {
    let w = World::new(backend).await;
    let tokyo = w.user("tokyo").await;
    let utc = w.user("utc").await;
    choose(&w, &tokyo, serde_json::json!({"timeZone": "Asia/Tokyo"})).await;
    for user in [&tokyo, &utc] {
        // Created at T0, Wednesday Nov 25: in the week of Nov 23 in both zones.
        w.todo_due(user, "something", T0 + TimeDuration::days(1))
            .await;
    }
    let stop = tasker_jobs::CancellationToken::new();
    let worker = Worker::start(w.context.clone(), stop.clone());
    let mut sent = Vec::new();
    for (tick, expected) in [
        // Sunday in UTC, Monday 08:00 in Tokyo: the week of Nov 16 for both,
        // never sent (the todos, due Nov 26, are overdue by now).
        (datetime!(2026-11-29 23:00 UTC), 2),
        (datetime!(2026-11-30 00:00 UTC), 3), // Monday 09:00 in Tokyo
        (datetime!(2026-11-30 08:00 UTC), 3),
        (datetime!(2026-11-30 09:00 UTC), 4), // Monday 09:00 in UTC
        (datetime!(2026-11-30 10:00 UTC), 4),
        (datetime!(2026-12-02 10:00 UTC), 4), // a late tick: nothing again
    ] {
        w.clock.set(tick);
        fire(&w.queue, CronJob::WeeklyReports, tick).await;
        wait_idle(&w).await;
        sent = w.fake.deliveries();
        assert_eq!(sent.len(), expected, "at {tick}: {sent:?}");
    }
    let keys: Vec<_> = sent.iter().filter_map(|d| d.key.as_deref()).collect();
    assert!(
        keys[..2].contains(&"weekly_report/tokyo/2026-W47"),
        "{keys:?}"
    );
    assert!(
        keys[..2].contains(&"weekly_report/utc/2026-W47"),
        "{keys:?}"
    );
    assert_eq!(
        keys[2..],
        ["weekly_report/tokyo/2026-W48", "weekly_report/utc/2026-W48"]
    );
    assert!(
        sent[2].text.contains("(Nov 23 – Nov 30)"),
        "{}",
        sent[2].text
    );
    stop.cancel();
    worker.wait().await;
}
