//! The state store: colisync's memory, in sled under `daemon.state_dir`.
//!
//! **Architecture invariant:** this is the only module that touches sled.
//! Everything else sees typed records: order snapshots, parcels with their
//! poll schedule, the Magento cursor, one [`CardRecord`] per problem key, and
//! the apply journal ([`Intent`]s).
//!
//! # Layout and disk format
//!
//! A fixed, small set of trees (sled inflates disk use with many trees):
//!
//! | tree      | key                                  | value (`records.rs`)          |
//! |-----------|--------------------------------------|-------------------------------|
//! | `meta`    | `schema`, `magento_cursor`, `last_write_at`, `undecodable_orders` | schema number; `DateTime<Utc>`; `DateTime<Utc>`; `records::UndecodableOrders` |
//! | `orders`  | entity id, 8 bytes big-endian        | `records::Order`              |
//! | `parcels` | problem key (`parcel/100023/6A12…`)  | `records::ParcelRecord`       |
//! | `cards`   | problem key (`order/100023`, …)      | `records::CardRecord`         |
//! | `journal` | intent id, 8 bytes big-endian        | `records::Intent`             |
//! | `cases`   | case key (`case/100023/perdu`)       | `records::CaseRecord`         |
//! | `open_orders` | entity id, 8 bytes big-endian    | increment id (UTF-8): an index, `index.rs` |
//! | `order_times` | entity id, 8 bytes big-endian    | the order's `updated_at`, 12 bytes |
//! | `due`     | parcel problem key                   | the order's entity id, 8 bytes |
//!
//! What is written is the store's own records (`records.rs`), never the
//! types of the domain, the planner or the renderer: those are converted at
//! the boundary (`convert.rs`; the planner's actions in `plan::journal`),
//! so that changing them cannot change the disk. docs/state.md describes
//! the format.
//!
//! Problem keys are written as their `Display` (parts percent-encoded, see
//! [`ProblemKey`]); records written before that encoding, under the raw
//! form, are still read, and replaced by the encoded form when written.
//!
//! Values are JSON envelopes `{"v": <schema>, "value": …}`, so a value
//! written by another schema is recognised as such instead of mis-decoded.
//! Decoding never panics: a bad value is an error naming its tree and key.
//! `meta/schema` says which schema the whole store is at: [`State::open`]
//! refuses a newer one and migrates an older one before anything reads it
//! (`migrate.rs`: schema 1, written by colisync before the store had
//! records of its own, is migrated to 2).
//!
//! # Durability
//!
//! sled writes reach the disk only on [`State::flush`] (or sled's own
//! background flush every 500 ms): an insert followed by SIGKILL may be lost.
//! Ordinary snapshots (orders, parcels, cursor) are cheap to lose (the next
//! pass pulls them again), so the pass flushes them once at its end. The
//! journal is different: an intent must be on disk *before* the Trello call
//! it announces, so `apply` flushes after [`State::begin_intent`] and after
//! [`State::settle_intent`] (see `plan::apply` for the whole protocol).
//!
//! # One process, one directory
//!
//! sled locks the directory; a second open (even in the same process) fails.
//! [`State::open`] turns that into [`StateError::InUse`] with a sentence an
//! admin understands. On a `Corruption` error the directory is moved aside
//! (`<dir>.corrupt-<timestamp>`, or its contents to
//! `<dir>/corrupt-<timestamp>/` when its parent is read-only, as under the
//! shipped systemd unit) and an empty state is started, loudly: the
//! next pass adopts colisync's cards from the board by their marker line, so
//! nothing is filed twice. Crash-looping on a corrupt store would file
//! nothing at all. sled's `Unsupported` at open is the same case: it means
//! its `conf` file is garbled (not UTF-8) or names another sled format, and
//! the directory is as unusable as a corrupt one.
//!
//! The store holds customers' orders: the directory is made 0700 and its
//! files 0600 at every open, whatever the umask of an admin running
//! colisync by hand (the unit's `UMask=0077` does the same for the daemon).

mod convert;
mod error;
mod index;
mod migrate;
mod open;
pub mod outbox;
pub mod poll;
pub mod records;
mod trees;

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::domain::{ProblemKey, ReturnStage, RuleId, Severity};

pub use error::StateError;
pub use poll::{ParcelRecord, is_final, next_poll_at, parcel_key, poll_interval, poll_slot};
pub use records::IntentAction;
/// The schema this build reads and writes. Bump it together with a new
/// entry in [`MIGRATIONS`].
pub const SCHEMA_VERSION: u32 = 7;

/// One migration step: upgrades a database at schema `n` to `n + 1`
/// (`MIGRATIONS[n - 1]`). It may rewrite any tree; [`State::open`] records
/// the new schema number and flushes after each step, so an interrupted
/// migration resumes at the step it was in. Steps must therefore be
/// idempotent.
pub(crate) type Migration = fn(&sled::Db) -> Result<(), StateError>;

/// Schema 1 → 2: the in-memory types as written until then become the
/// store's records; 2 → 3: a tracking snapshot gains the carrier's extra
/// facts; 3 → 4: a journaled create may carry a checklist; 4 → 5: a card
/// record and the journaled writes that settle one keep the return's stage;
/// 5 → 6: the cases people open; 6 → 7: the indexes of open orders, order
/// times and followed parcels (`migrate.rs`).
pub(crate) const MIGRATIONS: &[Migration] = &[
    migrate::v1_to_v2,
    migrate::v2_to_v3,
    migrate::v3_to_v4,
    migrate::v4_to_v5,
    migrate::v5_to_v6,
    migrate::v6_to_v7,
];

const META_SCHEMA: &str = "schema";

/// How long [`State::open`] waits for sled's directory lock before saying
/// another process holds it.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(2);
const META_CURSOR: &str = "magento_cursor";
const META_LAST_WRITE: &str = "last_write_at";
/// When the last process's recent Trello requests completed: the next
/// `once` process counts them against Trello's window.
pub(crate) const META_TRELLO_RECENT: &str = "trello_recent";

/// A key of `meta` rather than a tree of its own: the set is small (orders
/// Magento sends broken) and the tree list is fixed at open.
const META_UNDECODABLE: &str = "undecodable_orders";

/// A Magento order (with its invoices, shipments and status history) that
/// could not be decoded, entirely or in part. The pull reads it again by id
/// on every pass, and reports it, until it decodes: the cursor has moved
/// past it and would never bring it back by itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UndecodableOrder {
    pub(crate) increment_id: Option<String>,
    /// What was wrong, last time it was read.
    pub(crate) problem: String,
    pub(crate) first_seen: DateTime<Utc>,
}

/// Where a card stands, as far as colisync knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardStatus {
    /// Filed and the problem is ongoing.
    Open,
    /// The problem ended; colisync commented why (and moved the card to the
    /// resolved list if it was still in an intake list).
    Resolved,
    /// A lead archived (or deleted) the card while its problem was ongoing:
    /// colisync does not re-file it unless the problem gets more severe.
    Archived,
}

/// What colisync knows about the card of one problem key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardRecord {
    pub card_id: String,
    /// The list colisync last put the card in (or found it in).
    pub list_id: String,
    /// Fingerprint of the last content written: the card is updated only
    /// when the rendered content's fingerprint differs. Empty when unknown
    /// (adopted card whose text differs from what colisync renders now).
    pub fingerprint: String,
    /// The rule last filed; `None` for a card adopted from the board after
    /// its problem ended (nothing says which rule filed it).
    pub rule: Option<RuleId>,
    /// Severity last filed: an archived card is re-filed only when the
    /// problem becomes more severe than this.
    pub severity: Severity,
    pub status: CardStatus,
    pub filed_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Label ids colisync put on the card. Only these are ever replaced on
    /// an update: every other label on the card belongs to a lead.
    pub label_ids: Vec<String>,
    /// The due date colisync last wrote on the card (`None`: it wrote none,
    /// or records from before this field). When the problem's new content
    /// has no due date, the card's due date is cleared only if it is still
    /// this one: a due date a lead set or changed is theirs.
    pub due: Option<DateTime<Utc>>,
    /// The return's stage the card last showed (`None`: not a return, or
    /// not known: a card filed before schema 5, or adopted from the
    /// board): a change from one known stage to another is commented.
    pub stage: Option<ReturnStage>,
}

/// One journaled Trello write (see `plan::apply` for the protocol).
#[derive(Debug, Clone, PartialEq)]
pub struct Intent {
    pub key: ProblemKey,
    /// The planned action being carried out, complete so that a pass after a
    /// crash can settle it without the plan that produced it: the store's
    /// record of it, which the applier converts from and back to the
    /// planner's action (`plan::journal`).
    pub action: IntentAction,
    pub started_at: DateTime<Utc>,
    /// The card concerned: known from the start for updates and comments,
    /// set once a create has been answered.
    pub card_id: Option<String>,
    /// Steps of the action known to be done (a step's outcome is recorded
    /// here without a flush: losing it only costs a board read on resume).
    pub steps_done: u8,
    /// colisync's label ids as written by a step already done (a create or
    /// an update's PUT), saved with `steps_done`: a pass resuming after
    /// that step records them, else the card's new labels would be taken
    /// for a lead's and kept for ever. `None` until such a step is done.
    pub label_ids: Option<Vec<String>>,
    /// The checklist a create's step already done made on the new card,
    /// saved with `steps_done`; a pass resuming without it reads the
    /// card's checklists back by name.
    pub checklist_id: Option<String>,
}

/// Identifies a journal entry; increasing, so pending intents settle in
/// the order they were begun.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IntentId(pub u64);

/// The open state store. Holds sled's directory lock until dropped.
pub struct State {
    db: sled::Db,
    dir: PathBuf,
    meta: sled::Tree,
    orders: sled::Tree,
    parcels: sled::Tree,
    cards: sled::Tree,
    journal: sled::Tree,
    cases: sled::Tree,
    /// Indexes (`index.rs`): open orders, orders' `updated_at`, parcels
    /// La Poste may still be asked about.
    open_index: sled::Tree,
    order_times: sled::Tree,
    due: sled::Tree,
    /// Where a corrupt state directory was moved by this open, if it was.
    recovered_from: Option<PathBuf>,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct EnvelopeRef<'a, T> {
    v: u32,
    value: &'a T,
}

/// The envelope's schema number alone: read first, so that a value of
/// another schema is named as such rather than mis-decoded (the value
/// itself is skipped, not built).
#[derive(Deserialize)]
struct EnvelopeVersion {
    v: u32,
}

#[derive(Deserialize)]
struct Envelope<T> {
    value: T,
}

fn encode<T: Serialize>(tree: &'static str, key: &str, value: &T) -> Result<Vec<u8>, StateError> {
    serde_json::to_vec(&EnvelopeRef {
        v: SCHEMA_VERSION,
        value,
    })
    .map_err(|source| StateError::Encode {
        tree,
        key: key.to_owned(),
        source,
    })
}

/// Decodes an envelope straight into `T` (no intermediate
/// `serde_json::Value`, which cost about a fifth of a quiet pass).
fn decode<T: DeserializeOwned>(
    tree: &'static str,
    key: &str,
    bytes: &[u8],
) -> Result<T, StateError> {
    let bad = |message: String| StateError::Decode {
        tree,
        key: key.to_owned(),
        message,
    };
    let version: EnvelopeVersion = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
    if version.v != SCHEMA_VERSION {
        return Err(bad(format!(
            "written by schema {}, this colisync reads schema {SCHEMA_VERSION}",
            version.v
        )));
    }
    serde_json::from_slice::<Envelope<T>>(bytes)
        .map(|e| e.value)
        .map_err(|e| bad(e.to_string()))
}

fn sled_err(context: impl Into<String>) -> impl FnOnce(sled::Error) -> StateError {
    let context = context.into();
    move |source| StateError::Sled { context, source }
}

fn u64_key(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}

fn is_lock_error(e: &sled::Error) -> bool {
    matches!(e, sled::Error::Io(io) if io.to_string().contains("could not acquire lock"))
}
