//! Category rules: defaults, case-insensitive unique names, deletes keep todos.

use tasker_core::{
    Error, Resource,
    domain::{CategoryDescription, CategoryName, HexColor},
    model::{CategoryPatch, NewCategory},
    query::{CategoryListParams, CategoryQuery},
};
use time::Duration;

use crate::support::{Ctx, T0, assert_not_found, contract, user};

contract!(
    a_category_reads_back_with_its_default_colour,
    names_are_unique_per_user_whatever_the_case,
    concurrent_creation_of_one_name_has_exactly_one_winner,
    renaming_onto_a_taken_name_conflicts_and_changes_nothing,
    deleting_a_category_keeps_its_todos,
    categories_list_by_name_and_search_literally,
    an_empty_update_is_refused,
);

fn named(name: &str) -> NewCategory {
    NewCategory {
        name: CategoryName::parse(name).unwrap(),
        color: HexColor::default(),
        description: None,
    }
}

fn is_taken<T: std::fmt::Debug>(result: &tasker_core::Result<T>) -> bool {
    matches!(result, Err(Error::CategoryNameTaken { .. }))
}

async fn a_category_reads_back_with_its_default_colour(ctx: Ctx) {
    let alice = user("alice");
    let mut new = named("Errands");
    new.description = Some(CategoryDescription::parse("Out and about").unwrap());
    let created = ctx.services.categories.create(&alice, new).await.unwrap();
    assert_eq!(created.color, "#6b7280");
    assert_eq!(created.created_at, T0);
    assert_eq!(
        ctx.services
            .categories
            .get(&alice, created.id)
            .await
            .unwrap(),
        created
    );

    ctx.clock.advance(Duration::minutes(5));
    let patch = CategoryPatch {
        color: Some(HexColor::parse("#0af").unwrap()),
        description: Some(None),
        ..Default::default()
    };
    let updated = ctx
        .services
        .categories
        .update(&alice, created.id, patch)
        .await
        .unwrap();
    assert_eq!(
        (updated.color.as_str(), updated.description.as_deref()),
        ("#0af", None)
    );
    assert_eq!(updated.name, "Errands");
    assert_eq!(updated.updated_at, T0 + Duration::minutes(5));
}

async fn names_are_unique_per_user_whatever_the_case(ctx: Ctx) {
    let (alice, bob) = (user("alice"), user("bob"));
    ctx.services
        .categories
        .create(&alice, named("Work"))
        .await
        .unwrap();
    for clash in ["work", "WORK", "  Work  "] {
        let result = ctx.services.categories.create(&alice, named(clash)).await;
        assert!(is_taken(&result), "{clash}: {result:?}");
    }
    ctx.services
        .categories
        .create(&bob, named("work"))
        .await
        .expect("another user may reuse the name");
    // Non-ASCII letters fold too.
    ctx.services
        .categories
        .create(&alice, named("Ärger"))
        .await
        .unwrap();
    assert!(is_taken(
        &ctx.services.categories.create(&alice, named("ärger")).await
    ));
}

async fn concurrent_creation_of_one_name_has_exactly_one_winner(ctx: Ctx) {
    let alice = user("alice");
    let attempts = (0..8).map(|i| {
        let service = ctx.services.categories.clone();
        let alice = alice.clone();
        let name = if i % 2 == 0 { "Shared" } else { "SHARED" };
        tokio::spawn(async move { service.create(&alice, named(name)).await })
    });
    let results: Vec<_> = futures_join(attempts).await;
    let winners = results.iter().filter(|r| r.is_ok()).count();
    let conflicts = results.iter().filter(|r| is_taken(r)).count();
    assert_eq!((winners, conflicts), (1, 7), "{results:?}");
    let page = ctx
        .services
        .categories
        .list(&alice, &CategoryQuery::default())
        .await
        .unwrap();
    assert_eq!(page.total, 1);
}

async fn futures_join<T: Send + 'static>(
    handles: impl Iterator<Item = tokio::task::JoinHandle<T>>,
) -> Vec<T> {
    let mut out = Vec::new();
    for handle in handles.collect::<Vec<_>>() {
        out.push(handle.await.expect("task"));
    }
    out
}

async fn renaming_onto_a_taken_name_conflicts_and_changes_nothing(ctx: Ctx) {
    let alice = user("alice");
    ctx.category(&alice, "Home").await;
    let garden = ctx.category(&alice, "Garden").await;
    let patch = CategoryPatch {
        name: Some(CategoryName::parse("HOME").unwrap()),
        color: Some(HexColor::parse("#fff").unwrap()),
        ..Default::default()
    };
    assert!(is_taken(
        &ctx.services
            .categories
            .update(&alice, garden.id, patch)
            .await
    ));
    assert_eq!(
        ctx.services
            .categories
            .get(&alice, garden.id)
            .await
            .unwrap(),
        garden
    );
    // Changing only the case of its own name is allowed.
    let patch = CategoryPatch {
        name: Some(CategoryName::parse("GARDEN").unwrap()),
        ..Default::default()
    };
    assert_eq!(
        ctx.services
            .categories
            .update(&alice, garden.id, patch)
            .await
            .unwrap()
            .name,
        "GARDEN"
    );
}

async fn deleting_a_category_keeps_its_todos(ctx: Ctx) {
    let alice = user("alice");
    let category = ctx.category(&alice, "Doomed").await;
    let todo = ctx
        .todo_with(&alice, "Survivor", |n| n.category_id = Some(category.id))
        .await;
    let child = ctx
        .todo_with(&alice, "Child survivor", |n| {
            n.category_id = Some(category.id);
            n.parent_todo_id = Some(todo.id);
        })
        .await;
    ctx.services
        .categories
        .delete(&alice, category.id)
        .await
        .unwrap();
    assert_not_found(
        ctx.services.categories.get(&alice, category.id).await,
        Resource::Category,
    );
    let after = ctx.services.todos.get(&alice, todo.id).await.unwrap();
    assert_eq!(after.todo.category_id, None);
    assert_eq!(after.category, None);
    assert_eq!(after.children.len(), 1);
    assert_eq!(after.children[0].id, child.id);
    assert_eq!(after.children[0].category_id, None);
    assert_not_found(
        ctx.services.categories.delete(&alice, category.id).await,
        Resource::Category,
    );
}

async fn categories_list_by_name_and_search_literally(ctx: Ctx) {
    let alice = user("alice");
    for name in [
        "banana",
        "Apple",
        "cherry",
        "100% done",
        "under_score",
        r"it's \ odd",
    ] {
        ctx.category(&alice, name).await;
        ctx.clock.advance(Duration::seconds(1));
    }
    let names = |page: tasker_core::model::Page<tasker_core::model::Category>| {
        page.data.into_iter().map(|c| c.name).collect::<Vec<_>>()
    };
    let query = |params: CategoryListParams| CategoryQuery::try_from(params).unwrap();
    let list = |q: CategoryQuery| {
        let service = ctx.services.categories.clone();
        let alice = alice.clone();
        async move { service.list(&alice, &q).await.unwrap() }
    };

    let all = list(CategoryQuery::default()).await;
    assert_eq!(
        names(all),
        [
            "100% done",
            "Apple",
            "banana",
            "cherry",
            r"it's \ odd",
            "under_score"
        ]
    );
    let descending = query(CategoryListParams {
        order: Some("desc".into()),
        limit: Some("2".into()),
        ..Default::default()
    });
    assert_eq!(
        names(list(descending).await),
        ["under_score", r"it's \ odd"]
    );

    let newest_first = query(CategoryListParams {
        sort: Some("created_at".into()),
        order: Some("desc".into()),
        limit: Some("2".into()),
        page: Some("2".into()),
        ..Default::default()
    });
    let page = list(newest_first).await;
    assert_eq!((page.total, page.total_pages), (6, 3));
    assert_eq!(names(page), ["100% done", "cherry"]);

    // Touching a category moves it to the front of the updated_at order.
    let banana = list(CategoryQuery::default()).await.data[2].clone();
    assert_eq!(banana.name, "banana");
    ctx.clock.advance(Duration::minutes(1));
    let recolour = CategoryPatch {
        color: Some(HexColor::parse("#123").unwrap()),
        ..Default::default()
    };
    ctx.services
        .categories
        .update(&alice, banana.id, recolour)
        .await
        .unwrap();
    let recent = query(CategoryListParams {
        sort: Some("updated_at".into()),
        order: Some("desc".into()),
        limit: Some("1".into()),
        ..Default::default()
    });
    assert_eq!(names(list(recent).await), ["banana"]);

    for (term, expected) in [
        ("%", vec!["100% done"]),
        ("_", vec!["under_score"]),
        ("APP", vec!["Apple"]),
        ("'", vec![r"it's \ odd"]),
        (r"\", vec![r"it's \ odd"]),
    ] {
        let q = query(CategoryListParams {
            search: Some(term.into()),
            ..Default::default()
        });
        assert_eq!(names(list(q).await), expected, "{term}");
    }
}

async fn an_empty_update_is_refused(ctx: Ctx) {
    let alice = user("alice");
    let category = ctx.category(&alice, "Same").await;
    let result = ctx
        .services
        .categories
        .update(&alice, category.id, CategoryPatch::default())
        .await;
    assert!(
        matches!(&result, Err(Error::Validation(e)) if e.has("body")),
        "{result:?}"
    );
    assert_eq!(
        ctx.services
            .categories
            .get(&alice, category.id)
            .await
            .unwrap(),
        category
    );
}
