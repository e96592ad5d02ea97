//! Search: wildcards and quotes match literally, and case is ignored beyond ASCII too.

use tasker_core::{domain::TodoDescription, query::TodoListParams};

use super::{list, params, titles};
use crate::support::{Ctx, contract, user};

contract!(
    search_matches_literally_and_ignores_case,
    search_ignores_case_beyond_ascii,
);

async fn search_matches_literally_and_ignores_case(ctx: Ctx) {
    let alice = user("alice");
    for (title, description) in [
        ("100% done", None),
        ("1000 done", None),
        ("snake_case", None),
        ("snakeXcase", None),
        ("O'Reilly book", None),
        ("Plain", Some("with a BACK\\slash")),
        ("Shopping", Some("Buy MILK")),
    ] {
        ctx.todo_with(&alice, title, |n| {
            n.description = description.map(|d| TodoDescription::parse(d).unwrap());
        })
        .await;
    }
    ctx.todo(&user("bob"), "milk for bob").await;
    let search = |term: &str| TodoListParams {
        search: Some(term.into()),
        ..params()
    };
    for (term, expected) in [
        ("%", vec!["100% done"]),
        ("0%", vec!["100% done"]),
        ("_", vec!["snake_case"]),
        ("'", vec!["O'Reilly book"]),
        ("'; DROP TABLE todos; --", vec![]),
        ("\\", vec!["Plain"]),
        ("milk", vec!["Shopping"]),
        ("SNAKE", vec!["snakeXcase", "snake_case"]),
    ] {
        assert_eq!(
            titles(&list(&ctx, &alice, search(term)).await),
            expected,
            "{term:?}"
        );
    }
    assert_eq!(
        list(&ctx, &alice, params()).await.total,
        7,
        "the table survived"
    );
}

async fn search_ignores_case_beyond_ascii(ctx: Ctx) {
    let alice = user("alice");
    ctx.todo(&alice, "CAFÉ au lait").await;
    ctx.todo_with(&alice, "Groceries", |n| {
        n.description = Some(TodoDescription::parse("ÄPFEL und Straße").unwrap());
    })
    .await;
    ctx.todo(&alice, "cafe without accent").await;
    let search = |term: &str| TodoListParams {
        search: Some(term.into()),
        ..params()
    };
    for (term, expected) in [
        ("café", vec!["CAFÉ au lait"]),
        ("äpfel", vec!["Groceries"]),
        ("STRASSE", vec![]),
        ("straße", vec!["Groceries"]),
        ("CAFE", vec!["cafe without accent"]),
    ] {
        assert_eq!(
            titles(&list(&ctx, &alice, search(term)).await),
            expected,
            "{term:?}"
        );
    }
}
