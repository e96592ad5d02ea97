//! [`IdempotentWrite`]: one transaction for the statements of an idempotent
//! request and the record of its response.
//!
//! While a request runs inside [`IdempotentWrite::run`], every statement the
//! store sends for it goes to one transaction, begun at its first statement:
//! reads, single-statement writes, and the write transactions of store
//! methods, which join it (their commit is the request's).
//! [`IdempotentWrite::commit`] then adds the response to the key's claim and
//! commits everything at once. "Written but not recorded" cannot happen: a
//! process that dies before that commit wrote nothing, and a retry runs the
//! request again once the claim is abandoned; one that dies after it left
//! the response to replay.
//!
//! Inside the transaction:
//!
//! - a conflict ([`Error::is_conflict`]) is not retried in place, because
//!   the transaction is lost with it: the store returns it at once and
//!   [`IdempotentWrite::conflicted`] tells the caller to run the whole
//!   request again;
//! - work that must only happen once the writes are durable (removing the
//!   files of deleted attachments) waits for the commit ([`after_commit`])
//!   and is dropped with a rollback;
//! - one connection serves the request, one statement at a time: a store
//!   method that asked for a second connection while holding the first
//!   would get an error, not a deadlock.

use std::{
    future::Future,
    ops::{Deref, DerefMut},
    pin::Pin,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicBool, Ordering},
    },
};

use time::OffsetDateTime;

use super::{
    StoredResponse,
    any::AnyStore,
    conn::{Conn, DbResult},
    idempotency,
    options::StatementCounter,
};
use crate::{Error, Result, domain::UserId};

tokio::task_local! {
    /// The idempotent write the current task's request runs in, if any.
    static CURRENT: Arc<Shared>;
}

/// Work to run after the commit.
type Deferred = Pin<Box<dyn Future<Output = ()> + Send>>;

/// What the store calls of one request share.
struct Shared {
    /// The store the transaction belongs to (another store's calls run as usual).
    owner: StatementCounter,
    slot: Mutex<Slot>,
    conflicted: AtomicBool,
    deferred: Mutex<Vec<Deferred>>,
}

/// The request's transaction.
enum Slot {
    /// No statement yet: nothing begun.
    NotBegun,
    /// Begun, waiting for the next statement.
    Idle(Conn),
    /// A statement of the request holds it.
    InUse,
    /// Committed or rolled back.
    Closed,
}

impl Shared {
    fn slot(&self) -> std::sync::MutexGuard<'_, Slot> {
        self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The write the current task runs in, when it belongs to the store that
/// `owner` counts the statements of.
fn current_for(owner: &StatementCounter) -> Option<Arc<Shared>> {
    CURRENT
        .try_with(|shared| shared.owner.same(owner).then(|| Arc::clone(shared)))
        .ok()
        .flatten()
}

/// Whether the current task runs inside an idempotent write (of any store).
pub(crate) fn in_idempotent_write() -> bool {
    CURRENT.try_with(|_| ()).is_ok()
}

/// Notes that the current idempotent write lost a conflict, so its caller
/// runs the request again (see the module docs).
pub(crate) fn note_conflict() {
    let _ = CURRENT.try_with(|shared| shared.conflicted.store(true, Ordering::Relaxed));
}

/// Runs `work` now, or, inside an idempotent write, after its commit (and
/// never, if it rolls back).
pub(crate) async fn after_commit(work: impl Future<Output = ()> + Send + 'static) {
    match CURRENT.try_with(Arc::clone) {
        Ok(shared) => shared
            .deferred
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Box::pin(work)),
        Err(_) => work.await,
    }
}

/// A connection a store method holds: its own, or the request's transaction.
pub(crate) enum Held {
    Own(Conn),
    Joined(Joined),
}

/// The request's transaction, lent to one store call; given back on drop.
pub(crate) struct Joined {
    conn: Option<Conn>,
    shared: Arc<Shared>,
}

impl Drop for Joined {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            *self.shared.slot() = Slot::Idle(conn);
        }
    }
}

impl Deref for Held {
    type Target = Conn;

    fn deref(&self) -> &Conn {
        match self {
            Self::Own(conn) => conn,
            Self::Joined(joined) => joined.conn.as_ref().expect("held until dropped"),
        }
    }
}

impl DerefMut for Held {
    fn deref_mut(&mut self) -> &mut Conn {
        match self {
            Self::Own(conn) => conn,
            Self::Joined(joined) => joined.conn.as_mut().expect("held until dropped"),
        }
    }
}

impl Held {
    /// Commits a transaction of the caller's own; a joined one commits with
    /// the request ([`IdempotentWrite::commit`]).
    pub(crate) async fn commit(self, operation: &'static str) -> Result<()> {
        match self {
            Self::Own(conn) => conn.commit(operation).await,
            Self::Joined(_) => Ok(()),
        }
    }
}

impl AnyStore {
    /// The request's transaction, when the current task runs in an
    /// idempotent write of this store; begun at its first statement.
    pub(crate) async fn join_idempotent_write(&self) -> Option<DbResult<Held>> {
        let shared = current_for(self.counter())?;
        let taken = std::mem::replace(&mut *shared.slot(), Slot::InUse);
        let conn = match taken {
            Slot::Idle(conn) => conn,
            Slot::NotBegun => match self.begin_own().await {
                Ok(conn) => conn,
                Err(error) => {
                    *shared.slot() = Slot::NotBegun;
                    return Some(Err(error));
                }
            },
            other @ (Slot::InUse | Slot::Closed) => {
                let problem = if matches!(other, Slot::InUse) {
                    "a second connection asked for inside an idempotent write"
                } else {
                    "a statement after the idempotent write ended"
                };
                *shared.slot() = other;
                return Some(Err(sqlx::Error::Protocol(problem.into())));
            }
        };
        Some(Ok(Held::Joined(Joined {
            conn: Some(conn),
            shared,
        })))
    }
}

/// The statements of one idempotent request and the record of its
/// response, committed together (see the module docs). Made by
/// [`super::IdempotencyStore::idempotent_write`] after the key was claimed.
#[must_use = "an idempotent write rolls back unless committed"]
pub struct IdempotentWrite {
    store: AnyStore,
    user: UserId,
    key: String,
    claimed_at: OffsetDateTime,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for IdempotentWrite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdempotentWrite")
            .field("user", &self.user)
            .field("key", &self.key)
            .field("claimed_at", &self.claimed_at)
            .finish_non_exhaustive()
    }
}

impl IdempotentWrite {
    pub(crate) fn new(
        store: &AnyStore,
        user: &UserId,
        key: &str,
        claimed_at: OffsetDateTime,
    ) -> Self {
        Self {
            store: store.clone(),
            user: user.clone(),
            key: key.to_owned(),
            claimed_at,
            shared: Arc::new(Shared {
                owner: store.counter().clone(),
                slot: Mutex::new(Slot::NotBegun),
                conflicted: AtomicBool::new(false),
                deferred: Mutex::new(Vec::new()),
            }),
        }
    }

    /// Runs `request` (the handler of the idempotent request) with its
    /// statements in this write's transaction.
    pub async fn run<F: Future>(&self, request: F) -> F::Output {
        CURRENT.scope(Arc::clone(&self.shared), request).await
    }

    /// Whether a statement lost a conflict with a concurrent transaction:
    /// roll back and run the request again.
    pub fn conflicted(&self) -> bool {
        self.shared.conflicted.load(Ordering::Relaxed)
    }

    /// Stores `response` under the claimed key and commits it with the
    /// request's statements; then runs the work that waited for the commit.
    /// `Ok(false)`: the claim is no longer this request's (it was taken
    /// over as abandoned), and nothing was committed.
    ///
    /// # Errors
    /// [`Error::Storage`] when the record or the commit fails. The commit
    /// may still have happened (an answer lost on the way back), so the
    /// claim must not be released: a retry then finds the response, or,
    /// once the claim is abandoned, runs the request again.
    pub async fn commit(self, response: &StoredResponse) -> Result<bool> {
        const OP: &str = "commit an idempotent write";
        let record = idempotency::record_response(
            &self.store,
            &self.user,
            &self.key,
            response,
            Some(self.claimed_at),
        )?;
        let taken = std::mem::replace(&mut *self.shared.slot(), Slot::Closed);
        let recorded = match taken {
            // Nothing ran: the record alone is the transaction.
            Slot::NotBegun => self.store.execute(record, OP).await? > 0,
            Slot::Idle(mut tx) => {
                let recorded = tx.execute(record, OP).await? > 0;
                if !recorded {
                    return Ok(false);
                }
                tx.commit(OP).await?;
                true
            }
            Slot::InUse | Slot::Closed => {
                return Err(Error::storage(
                    OP,
                    "the request's transaction is still in use",
                ));
            }
        };
        let deferred = std::mem::take(
            &mut *self
                .shared
                .deferred
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        for work in deferred {
            work.await;
        }
        Ok(recorded)
    }

    /// Rolls the request's statements back and drops the work that waited
    /// for the commit.
    pub fn roll_back(self) {
        *self.shared.slot() = Slot::Closed;
        self.shared
            .deferred
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}
