//! Users' settings: nothing stored until chosen, and a change keeps what it
//! does not name.

use time::Duration;

use tasker_core::{
    clock::Clock,
    model::{SettingsChange, StoredSettings, TimeZoneName, UpdateSettings},
    store::UserStore,
};

use crate::support::{Ctx, T0, contract, user};

contract!(
    settings_are_empty_until_chosen_and_a_change_keeps_what_it_does_not_name,
    settings_belong_to_one_user,
);

fn change(json: serde_json::Value) -> SettingsChange {
    let input: UpdateSettings = serde_json::from_value(json).unwrap();
    SettingsChange::try_from(input).unwrap()
}

async fn settings_are_empty_until_chosen_and_a_change_keeps_what_it_does_not_name(ctx: Ctx) {
    let ann = user("ann");
    assert_eq!(
        ctx.store.user_settings(&ann).await.unwrap(),
        StoredSettings::default()
    );
    let first = ctx
        .store
        .update_user_settings(
            &ann,
            &change(serde_json::json!({"timeZone": "Asia/Kolkata"})),
            T0,
        )
        .await
        .unwrap();
    assert_eq!(
        first.time_zone,
        Some(TimeZoneName::parse("Asia/Kolkata").unwrap())
    );
    assert_eq!(first.weekly_report, None);
    assert_eq!(first.updated_at, Some(T0));
    ctx.clock.advance(Duration::minutes(1));
    let later = ctx.clock.now();
    let second = ctx
        .store
        .update_user_settings(
            &ann,
            &change(serde_json::json!({"notifications": {
                "weeklyReport": false, "dueReminders": true
            }})),
            later,
        )
        .await
        .unwrap();
    assert_eq!(second.time_zone, first.time_zone, "kept");
    assert_eq!(second.weekly_report, Some(false));
    assert_eq!(second.due_reminders, Some(true));
    assert_eq!(second.overdue_notices, None);
    assert_eq!(second.updated_at, Some(later));
    assert_eq!(ctx.store.user_settings(&ann).await.unwrap(), second);
}

async fn settings_belong_to_one_user(ctx: Ctx) {
    let (ann, bob) = (user("ann"), user("bob"));
    ctx.store
        .update_user_settings(&ann, &change(serde_json::json!({"timeZone": "UTC"})), T0)
        .await
        .unwrap();
    assert_eq!(
        ctx.store.user_settings(&bob).await.unwrap(),
        StoredSettings::default()
    );
}
