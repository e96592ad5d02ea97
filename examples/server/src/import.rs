//! `import go --from <url>`: the Go service's data into the configured database.

use tasker_core::import::{GoDatabase, ImportBatch, ImportCounts};

use crate::{
    app::{self, StartError},
    config::Config,
};

/// Reads and checks every user of the Go database first; only when all of
/// them can be imported is anything written, one transaction per user.
/// Rows already imported are skipped, so a second run writes nothing.
pub(crate) async fn import_go(config: Config, from: &str) -> Result<(), StartError> {
    let go = GoDatabase::connect(from)
        .await
        .map_err(|e| StartError::dependency("Go database (--from)", e))?;
    let users = go
        .users()
        .await
        .map_err(|e| StartError::dependency("Go database (--from)", e))?;
    let mut batches: Vec<ImportBatch> = Vec::with_capacity(users.len());
    let mut problems = Vec::new();
    for user in &users {
        match go.read_user(user).await {
            Ok(batch) => batches.push(batch),
            Err(e) => problems.push(format!("  user {user}: {e}")),
        }
    }
    go.close().await;
    if !problems.is_empty() {
        return Err(StartError::Config(format!(
            "the Go database has rows tasker cannot take; nothing was written:\n{}",
            problems.join("\n")
        )));
    }

    let store = app::connect_store(&config).await?;
    store
        .migrate()
        .await
        .map_err(|e| StartError::dependency("database migrations", e))?;
    let mut total = ImportCounts::default();
    let mut failed = Vec::new();
    for batch in &batches {
        match store.import_batch(batch).await {
            Ok(written) => {
                println!("{}: {written}", batch.user);
                total.add(written);
            }
            Err(e) => failed.push(format!(
                "  user {}: {e} (none of this user's rows written)",
                batch.user
            )),
        }
    }
    store.close().await;
    println!(
        "imported {} of {} users into {}: {total}{}",
        batches.len() - failed.len(),
        batches.len(),
        store.backend(),
        if total.is_empty() {
            " (everything was already there)"
        } else {
            ""
        }
    );
    if failed.is_empty() {
        Ok(())
    } else {
        Err(StartError::Config(format!(
            "some users could not be imported:\n{}",
            failed.join("\n")
        )))
    }
}
