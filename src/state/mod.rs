//! The state store: colisync's memory, in sled under `daemon.state_dir`.
//!
//! **Architecture invariant:** this is the only module that touches sled.
//! Everything else sees typed records: order snapshots, parcels with their
//! poll schedule, the Magento cursor, one [`CardRecord`] per problem key, and
//! the apply journal ([`Intent`]s).
//!
//! # Layout
//!
//! A fixed, small set of trees (sled inflates disk use with many trees):
//!
//! | tree      | key                                  | value                         |
//! |-----------|--------------------------------------|-------------------------------|
//! | `meta`    | `schema`, `magento_cursor`, `last_write_at`, `undecodable_orders` | schema number; `DateTime<Utc>`; `DateTime<Utc>`; [`UndecodableOrder`]s |
//! | `orders`  | entity id, 8 bytes big-endian        | [`Order`]                     |
//! | `parcels` | problem key (`parcel/100023/6A12…`)  | [`ParcelRecord`]              |
//! | `cards`   | problem key (`order/100023`, …)      | [`CardRecord`]                |
//! | `journal` | intent id, 8 bytes big-endian        | [`Intent`]                    |
//!
//! Problem keys are written as their `Display` (parts percent-encoded, see
//! [`ProblemKey`]); records written before that encoding, under the raw
//! form, are still read, and replaced by the encoded form when written.
//!
//! Values are JSON envelopes `{"v": <schema>, "value": …}`, so a value
//! written by another schema is recognised as such instead of mis-decoded.
//! Decoding never panics: a bad value is an error naming its tree and key.
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

pub mod outbox;
pub mod poll;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};

use crate::domain::{Order, OrderState};
use crate::plan::Action;
use crate::rules::{ProblemKey, RuleId, Severity};

pub use poll::{ParcelRecord, is_final, next_poll_at, parcel_key, poll_interval};

/// The schema this build reads and writes. Bump it together with a new
/// entry in [`MIGRATIONS`].
pub const SCHEMA_VERSION: u32 = 1;

/// One migration step: upgrades a database at schema `n` to `n + 1`
/// (`MIGRATIONS[n - 1]`). It may rewrite any tree; [`State::open`] records
/// the new schema number and flushes after each step, so an interrupted
/// migration resumes at the step it was in. Steps must therefore be
/// idempotent.
pub type Migration = fn(&sled::Db) -> Result<(), StateError>;

/// Schema 1 is the first schema: nothing to migrate yet.
pub const MIGRATIONS: &[Migration] = &[];

const META_SCHEMA: &str = "schema";

/// How long [`State::open`] waits for sled's directory lock before saying
/// another process holds it.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(2);
const META_CURSOR: &str = "magento_cursor";
const META_LAST_WRITE: &str = "last_write_at";

/// A key of `meta` rather than a tree of its own: the set is small (orders
/// Magento sends broken) and the tree list is fixed at open.
const META_UNDECODABLE: &str = "undecodable_orders";

/// A Magento order (with its invoices, shipments and status history) that
/// could not be decoded, entirely or in part. The pull reads it again by id
/// on every pass, and reports it, until it decodes: the cursor has moved
/// past it and would never bring it back by itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UndecodableOrder {
    pub increment_id: Option<String>,
    /// What was wrong, last time it was read.
    pub problem: String,
    pub first_seen: DateTime<Utc>,
}

/// Everything that can go wrong with the state. Messages name the directory
/// or the tree and key involved, never a secret.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error(
        "state directory {} is in use by another colisync process (is the daemon running?)",
        dir.display()
    )]
    InUse { dir: PathBuf },
    #[error(
        "state directory {} has schema version {found}, newer than the {supported} this colisync \
         understands: upgrade colisync, or point daemon.state_dir at another directory",
        dir.display()
    )]
    NewerSchema {
        dir: PathBuf,
        found: u32,
        supported: u32,
    },
    #[error("state: migrating schema {from} to {}: {message}", from + 1)]
    Migration { from: u32, message: String },
    #[error("state: {context}: {source}")]
    Sled {
        context: String,
        #[source]
        source: sled::Error,
    },
    #[error("state: {context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("state: cannot decode {tree}/{key}: {message}")]
    Decode {
        tree: &'static str,
        key: String,
        message: String,
    },
    #[error("state: cannot encode {tree}/{key}: {source}")]
    Encode {
        tree: &'static str,
        key: String,
        #[source]
        source: serde_json::Error,
    },
}

impl StateError {
    /// Whether sled found its files corrupt: the caller should not retry but
    /// [`State::recover_from_corruption`].
    pub fn is_corruption(&self) -> bool {
        matches!(
            self,
            StateError::Sled {
                source: sled::Error::Corruption { .. },
                ..
            }
        )
    }
}

/// Where a card stands, as far as colisync knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    #[serde(default)]
    pub label_ids: Vec<String>,
    /// The due date colisync last wrote on the card (`None`: it wrote none,
    /// or records from before this field). When the problem's new content
    /// has no due date, the card's due date is cleared only if it is still
    /// this one: a due date a lead set or changed is theirs.
    #[serde(default)]
    pub due: Option<DateTime<Utc>>,
}

/// One journaled Trello write (see `plan::apply` for the protocol).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Intent {
    pub key: ProblemKey,
    /// The planned action being carried out, complete so that a pass after a
    /// crash can settle it without the plan that produced it.
    pub action: Action,
    pub started_at: DateTime<Utc>,
    /// The card concerned: known from the start for updates and comments,
    /// set once a create has been answered.
    pub card_id: Option<String>,
    /// Steps of the action known to be done (a step's outcome is recorded
    /// here without a flush: losing it only costs a board read on resume).
    #[serde(default)]
    pub steps_done: u8,
    /// colisync's label ids as written by a step already done (a create or
    /// an update's PUT), saved with `steps_done`: a pass resuming after
    /// that step records them, else the card's new labels would be taken
    /// for a lead's and kept for ever. `None` until such a step is done.
    #[serde(default)]
    pub label_ids: Option<Vec<String>>,
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

#[derive(Deserialize)]
struct EnvelopeRaw {
    v: u32,
    value: serde_json::Value,
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
    let raw: EnvelopeRaw = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
    if raw.v != SCHEMA_VERSION {
        return Err(bad(format!(
            "written by schema {}, this colisync reads schema {SCHEMA_VERSION}",
            raw.v
        )));
    }
    serde_json::from_value(raw.value).map_err(|e| bad(e.to_string()))
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

/// Why an open attempt failed: corruption is recoverable by starting over.
enum OpenFailure {
    Corrupt(sled::Error),
    Other(StateError),
}

impl State {
    /// Opens (or creates) the state in `dir`, migrating an older schema.
    ///
    /// Fails with [`StateError::InUse`] when another colisync holds the
    /// directory and with [`StateError::NewerSchema`] when a newer colisync
    /// wrote it. A corrupt store is moved aside and replaced by an empty one
    /// (see the module documentation); [`State::recovered_from`] says so.
    pub fn open(dir: &Path) -> Result<State, StateError> {
        match Self::try_open_locked(dir, None) {
            Ok(state) => Ok(state),
            Err(OpenFailure::Other(e)) => Err(e),
            Err(OpenFailure::Corrupt(cause)) => Self::start_over(dir, &cause.to_string()),
        }
    }

    /// For a corruption error met while running (see
    /// [`StateError::is_corruption`]): closes this state, moves its
    /// directory aside and opens an empty one, as [`State::open`] does.
    pub fn recover_from_corruption(
        self,
        cause: &dyn std::fmt::Display,
    ) -> Result<State, StateError> {
        let dir = self.dir.clone();
        drop(self);
        Self::start_over(&dir, &cause.to_string())
    }

    /// Moves a corrupt `dir` aside and opens a fresh state there, loudly.
    fn start_over(dir: &Path, cause: &str) -> Result<State, StateError> {
        Self::start_over_with(dir, cause, |from, to| std::fs::rename(from, to))
    }

    /// [`State::start_over`] with the rename of the directory itself given
    /// (tests make it fail as a read-only parent does).
    fn start_over_with(
        dir: &Path,
        cause: &str,
        rename_dir: impl FnOnce(&Path, &Path) -> std::io::Result<()>,
    ) -> Result<State, StateError> {
        let aside = move_aside(dir, Utc::now(), rename_dir)?;
        tracing::error!(
            state_dir = %dir.display(),
            moved_to = %aside.display(),
            error = %cause,
            "STATE CORRUPTED: moved it aside and started an empty state; \
             colisync's cards will be adopted from the board by their marker"
        );
        match Self::try_open_locked(dir, Some(aside)) {
            Ok(state) => Ok(state),
            Err(OpenFailure::Other(e)) => Err(e),
            Err(OpenFailure::Corrupt(source)) => Err(StateError::Sled {
                context: format!("opening fresh state directory {}", dir.display()),
                source,
            }),
        }
    }

    /// [`State::try_open`], waiting up to [`LOCK_WAIT`] for the lock: a
    /// `State` dropped in this process releases sled's lock only once sled's
    /// background threads let go of the file, a moment later.
    fn try_open_locked(dir: &Path, recovered_from: Option<PathBuf>) -> Result<State, OpenFailure> {
        let deadline = std::time::Instant::now() + LOCK_WAIT;
        loop {
            match Self::try_open(dir, recovered_from.clone()) {
                Err(OpenFailure::Other(StateError::InUse { .. }))
                    if std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                other => return other,
            }
        }
    }

    fn try_open(dir: &Path, recovered_from: Option<PathBuf>) -> Result<State, OpenFailure> {
        create_private_dir(dir).map_err(|e| {
            OpenFailure::Other(StateError::Sled {
                context: format!("creating {} (mode 0700)", dir.display()),
                source: sled::Error::Io(e),
            })
        })?;
        let classify = |context: String| {
            move |e: sled::Error| match e {
                sled::Error::Corruption { .. } | sled::Error::Unsupported(_) => {
                    OpenFailure::Corrupt(e)
                }
                e if is_lock_error(&e) => OpenFailure::Other(StateError::InUse {
                    dir: dir.to_owned(),
                }),
                source => OpenFailure::Other(StateError::Sled { context, source }),
            }
        };
        let db = sled::Config::new()
            .path(dir)
            .open()
            .map_err(classify(format!("opening {}", dir.display())))?;
        let tree = |name: &str| {
            db.open_tree(name)
                .map_err(classify(format!("opening tree {name}")))
        };
        let state = State {
            meta: tree("meta")?,
            orders: tree("orders")?,
            parcels: tree("parcels")?,
            cards: tree("cards")?,
            journal: tree("journal")?,
            dir: dir.to_owned(),
            recovered_from,
            db,
        };
        // sled has created its files by now, with the process's umask.
        if let Err(e) = make_private(dir) {
            return Err(OpenFailure::Other(StateError::Sled {
                context: format!("making the files of {} private (0600)", dir.display()),
                source: sled::Error::Io(e),
            }));
        }
        match state.check_schema(MIGRATIONS) {
            Ok(()) => Ok(state),
            Err(StateError::Sled {
                source: source @ sled::Error::Corruption { .. },
                ..
            }) => Err(OpenFailure::Corrupt(source)),
            Err(e) => Err(OpenFailure::Other(e)),
        }
    }

    /// Reads the schema number, stamps a fresh store, refuses a newer one
    /// and runs `migrations` on an older one.
    fn check_schema(&self, migrations: &[Migration]) -> Result<(), StateError> {
        let found = match self.schema_version()? {
            Some(v) => v,
            None => {
                let has_data = [
                    &self.meta,
                    &self.orders,
                    &self.parcels,
                    &self.cards,
                    &self.journal,
                ]
                .iter()
                .any(|t| !t.is_empty());
                if has_data {
                    return Err(StateError::Migration {
                        from: 0,
                        message: format!(
                            "{} holds data but no schema version; move it aside to start over",
                            self.dir.display()
                        ),
                    });
                }
                self.set_schema_version(SCHEMA_VERSION)?;
                self.flush()?;
                return Ok(());
            }
        };
        let supported = 1 + migrations.len() as u32;
        if found > supported {
            return Err(StateError::NewerSchema {
                dir: self.dir.clone(),
                found,
                supported,
            });
        }
        if found == 0 {
            return Err(StateError::Migration {
                from: 0,
                message: "schema 0 does not exist".into(),
            });
        }
        for from in found..supported {
            tracing::info!(from, to = from + 1, state_dir = %self.dir.display(), "migrating state schema");
            migrations[(from - 1) as usize](&self.db)?;
            self.set_schema_version(from + 1)?;
            self.flush()?;
        }
        Ok(())
    }

    /// The schema number stored in `meta` (`None` for a fresh store).
    pub fn schema_version(&self) -> Result<Option<u32>, StateError> {
        let Some(bytes) = self
            .meta
            .get(META_SCHEMA)
            .map_err(sled_err("reading meta/schema"))?
        else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| StateError::Decode {
                tree: "meta",
                key: META_SCHEMA.into(),
                message: e.to_string(),
            })
    }

    fn set_schema_version(&self, v: u32) -> Result<(), StateError> {
        self.meta
            .insert(META_SCHEMA, v.to_string().as_bytes())
            .map_err(sled_err("writing meta/schema"))?;
        Ok(())
    }

    /// The directory this state lives in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where this open moved a corrupt state directory, if it did: the
    /// caller reports it (metrics, exit summary).
    pub fn recovered_from(&self) -> Option<&Path> {
        self.recovered_from.as_deref()
    }

    /// Makes every write so far durable. Returns once sled has written and
    /// synced its log. Required between a journal intent and the Trello call
    /// it announces; otherwise once per pass.
    pub fn flush(&self) -> Result<(), StateError> {
        self.db.flush().map_err(sled_err("flushing"))?;
        Ok(())
    }

    // ----- meta ---------------------------------------------------------

    /// The Magento cursor: orders updated at or after it are pulled next.
    pub fn cursor(&self) -> Result<Option<DateTime<Utc>>, StateError> {
        self.get_json(&self.meta, "meta", META_CURSOR)
    }

    pub fn set_cursor(&self, at: DateTime<Utc>) -> Result<(), StateError> {
        self.put_json(&self.meta, "meta", META_CURSOR, &at)
    }

    /// The instant (`now`) of the last pass that wrote to the board: a pass
    /// earlier than it must write nothing (time only moves forward).
    pub fn last_write_at(&self) -> Result<Option<DateTime<Utc>>, StateError> {
        self.get_json(&self.meta, "meta", META_LAST_WRITE)
    }

    /// Forgets the last writing pass's instant (`colisync once
    /// --reset-clock`, the way out of a mistaken `--now` in the future);
    /// returns what it was. Flushed: the admin's decision must survive a
    /// crash of the pass that follows.
    pub fn forget_last_write_at(&self) -> Result<Option<DateTime<Utc>>, StateError> {
        let last = self.last_write_at()?;
        self.meta
            .remove(META_LAST_WRITE.as_bytes())
            .map_err(sled_err("forgetting the last pass's instant"))?;
        self.flush()?;
        Ok(last)
    }

    /// Records `at` as the last writing pass's instant; never moves it back.
    pub fn note_write_at(&self, at: DateTime<Utc>) -> Result<(), StateError> {
        match self.last_write_at()? {
            Some(last) if last >= at => Ok(()),
            _ => self.put_json(&self.meta, "meta", META_LAST_WRITE, &at),
        }
    }

    /// Orders that could not be decoded, by entity id (see
    /// [`UndecodableOrder`]).
    pub fn undecodable_orders(&self) -> Result<BTreeMap<u64, UndecodableOrder>, StateError> {
        Ok(self
            .get_json(&self.meta, "meta", META_UNDECODABLE)?
            .unwrap_or_default())
    }

    pub fn set_undecodable_orders(
        &self,
        set: &BTreeMap<u64, UndecodableOrder>,
    ) -> Result<(), StateError> {
        self.put_json(&self.meta, "meta", META_UNDECODABLE, set)
    }

    // ----- orders -------------------------------------------------------

    pub fn order(&self, entity_id: u64) -> Result<Option<Order>, StateError> {
        let key = entity_id.to_string();
        match self
            .orders
            .get(entity_id.to_be_bytes())
            .map_err(sled_err(format!("reading orders/{key}")))?
        {
            Some(bytes) => decode("orders", &key, &bytes).map(Some),
            None => Ok(None),
        }
    }

    pub fn put_order(&self, order: &Order) -> Result<(), StateError> {
        let key = order.entity_id.to_string();
        let bytes = encode("orders", &key, order)?;
        self.orders
            .insert(order.entity_id.to_be_bytes(), bytes)
            .map_err(sled_err(format!("writing orders/{key}")))?;
        Ok(())
    }

    /// Every order the rules must judge on a pass: all but cancelled and
    /// closed orders (which fire nothing). Shipped (`complete`) orders stay:
    /// their parcels are judged through them until the order is closed or
    /// falls out of the snapshot. An undecodable order is logged (with its
    /// key) and skipped rather than failing the whole pass.
    pub fn open_orders(&self) -> Result<Vec<Order>, StateError> {
        let mut out = Vec::new();
        for entry in self.orders.iter() {
            let (k, v) = entry.map_err(sled_err("iterating orders"))?;
            let key = u64_key(&k).map_or_else(|| format!("{k:?}"), |id| id.to_string());
            match decode::<Order>("orders", &key, &v) {
                Ok(order) if matches!(order.state, OrderState::Canceled | OrderState::Closed) => {}
                Ok(order) => out.push(order),
                Err(e) => tracing::error!(error = %e, "skipping undecodable order"),
            }
        }
        Ok(out)
    }

    /// Forgets orders last updated before `cutoff` (and their parcels): the
    /// snapshot covers `magento.lookback_days`, no more. An order whose
    /// problem still has an open card is kept whatever its age: forgetting
    /// it would "resolve" a problem that is still there (an original
    /// cartridge order waiting for months, a parcel lost for good).
    pub fn prune_orders(&self, cutoff: DateTime<Utc>) -> Result<usize, StateError> {
        let open_cards: BTreeSet<String> = self
            .cards()?
            .into_iter()
            .filter(|(_, r)| r.status == CardStatus::Open)
            .map(|(k, _)| k.increment_id().to_owned())
            .collect();
        let mut removed = 0;
        for entry in self.orders.iter() {
            let (k, v) = entry.map_err(sled_err("iterating orders"))?;
            let key = u64_key(&k).map_or_else(|| format!("{k:?}"), |id| id.to_string());
            let Ok(order) = decode::<Order>("orders", &key, &v) else {
                continue;
            };
            if order.updated_at < cutoff && !open_cards.contains(&order.increment_id) {
                for p in self.parcels_of(&order)? {
                    self.remove_parcel(&p.key())?;
                }
                self.orders
                    .remove(k)
                    .map_err(sled_err(format!("removing orders/{key}")))?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    // ----- parcels ------------------------------------------------------

    pub fn parcel(&self, key: &ProblemKey) -> Result<Option<ParcelRecord>, StateError> {
        self.get_json(&self.parcels, "parcels", &key.to_string())
    }

    pub fn put_parcel(&self, record: &ParcelRecord) -> Result<(), StateError> {
        let key = record.key();
        self.put_json(&self.parcels, "parcels", &key.to_string(), record)?;
        self.remove_legacy(&self.parcels, "parcels", &key)
    }

    /// Forgets a parcel Magento no longer has (its track was replaced or
    /// deleted). Its card record, if any, stays: the plan resolves it.
    pub fn remove_parcel(&self, key: &ProblemKey) -> Result<(), StateError> {
        self.parcels
            .remove(key.to_string().as_bytes())
            .map_err(sled_err(format!("removing parcels/{key}")))?;
        self.remove_legacy(&self.parcels, "parcels", key)
    }

    /// Records a parcel as Magento describes it (a shipment and its track),
    /// keeping what La Poste said and the poll schedule if it is known
    /// already. Returns the stored record.
    pub fn upsert_parcel(
        &self,
        parcel: crate::domain::Parcel,
        now: DateTime<Utc>,
    ) -> Result<ParcelRecord, StateError> {
        let record = match self.parcel(&parcel_key(&parcel))? {
            Some(mut known) => {
                let tracking = known.parcel.tracking.take();
                known.parcel = crate::domain::Parcel { tracking, ..parcel };
                known
            }
            None => ParcelRecord::new(parcel, now),
        };
        self.put_parcel(&record)?;
        Ok(record)
    }

    /// The parcels of one order (by its shipments' parcels' keys).
    pub fn parcels_of(&self, order: &Order) -> Result<Vec<ParcelRecord>, StateError> {
        let prefix = ProblemKey::parcel_prefix(&order.increment_id);
        let legacy = format!("parcel/{}/", order.increment_id);
        let mut prefixes = vec![prefix];
        if legacy != prefixes[0] {
            prefixes.push(legacy);
        }
        let mut out: BTreeMap<ProblemKey, (bool, ParcelRecord)> = BTreeMap::new();
        for prefix in &prefixes {
            for entry in self.parcels.scan_prefix(prefix.as_bytes()) {
                let (k, v) = entry.map_err(sled_err("iterating parcels"))?;
                let key = String::from_utf8_lossy(&k).into_owned();
                match decode::<ParcelRecord>("parcels", &key, &v) {
                    // An increment id containing '/' could share the prefix.
                    Ok(r) if r.parcel.order_entity_id == order.entity_id => {
                        keep_canonical(&mut out, &key, r.key(), r)
                    }
                    Ok(_) => {}
                    Err(e) => tracing::error!(error = %e, "skipping undecodable parcel"),
                }
            }
        }
        Ok(out.into_values().map(|(_, r)| r).collect())
    }

    /// Every parcel record (the pass's snapshot).
    pub fn parcels(&self) -> Result<Vec<ParcelRecord>, StateError> {
        let mut out: BTreeMap<ProblemKey, (bool, ParcelRecord)> = BTreeMap::new();
        for entry in self.parcels.iter() {
            let (k, v) = entry.map_err(sled_err("iterating parcels"))?;
            let key = String::from_utf8_lossy(&k).into_owned();
            match decode::<ParcelRecord>("parcels", &key, &v) {
                Ok(r) => keep_canonical(&mut out, &key, r.key(), r),
                Err(e) => tracing::error!(error = %e, "skipping undecodable parcel"),
            }
        }
        Ok(out.into_values().map(|(_, r)| r).collect())
    }

    /// Parcels whose next poll is due at `now` (see [`poll`]).
    pub fn parcels_due(&self, now: DateTime<Utc>) -> Result<Vec<ParcelRecord>, StateError> {
        Ok(self
            .parcels()?
            .into_iter()
            .filter(|r| r.is_due(now))
            .collect())
    }

    // ----- cards --------------------------------------------------------

    pub fn card(&self, key: &ProblemKey) -> Result<Option<CardRecord>, StateError> {
        self.get_json(&self.cards, "cards", &key.to_string())
    }

    pub fn put_card(&self, key: &ProblemKey, record: &CardRecord) -> Result<(), StateError> {
        self.put_json(&self.cards, "cards", &key.to_string(), record)?;
        self.remove_legacy(&self.cards, "cards", key)
    }

    /// Every card record. A record that cannot be decoded (or whose key is
    /// not a problem key) is logged and skipped: the planner then finds the
    /// card on the board by its marker and adopts it again.
    pub fn cards(&self) -> Result<BTreeMap<ProblemKey, CardRecord>, StateError> {
        let mut out: BTreeMap<ProblemKey, (bool, CardRecord)> = BTreeMap::new();
        for entry in self.cards.iter() {
            let (k, v) = entry.map_err(sled_err("iterating cards"))?;
            let key = String::from_utf8_lossy(&k).into_owned();
            let parsed = key
                .parse::<ProblemKey>()
                .map_err(|message| StateError::Decode {
                    tree: "cards",
                    key: key.clone(),
                    message,
                });
            match parsed.and_then(|pk| Ok((pk, decode::<CardRecord>("cards", &key, &v)?))) {
                Ok((pk, record)) => keep_canonical(&mut out, &key, pk, record),
                Err(e) => tracing::error!(error = %e, "skipping undecodable card record"),
            }
        }
        Ok(out.into_iter().map(|(k, (_, r))| (k, r)).collect())
    }

    // ----- journal ------------------------------------------------------

    /// Writes an intent (not flushed: the caller flushes before the Trello
    /// call, see `plan::apply`).
    pub fn begin_intent(&self, intent: &Intent) -> Result<IntentId, StateError> {
        let id = self
            .db
            .generate_id()
            .map_err(sled_err("generating intent id"))?;
        self.put_intent(IntentId(id), intent)?;
        Ok(IntentId(id))
    }

    /// Rewrites an intent in place (progress of a multi-step action).
    pub fn put_intent(&self, id: IntentId, intent: &Intent) -> Result<(), StateError> {
        let bytes = encode("journal", &id.0.to_string(), intent)?;
        self.journal
            .insert(id.0.to_be_bytes(), bytes)
            .map_err(sled_err(format!("writing journal/{}", id.0)))?;
        Ok(())
    }

    /// Removes a settled intent, and in the same transaction records the
    /// card outcome if there is one: the two reach the disk together or not
    /// at all. Not flushed.
    pub fn settle_intent(
        &self,
        id: IntentId,
        outcome: Option<(&ProblemKey, &CardRecord)>,
    ) -> Result<(), StateError> {
        let card = match outcome {
            Some((key, record)) => {
                let k = key.to_string();
                Some((k.clone(), key.legacy_form(), encode("cards", &k, record)?))
            }
            None => None,
        };
        (&self.cards, &self.journal)
            .transaction(|(cards, journal)| {
                if let Some((k, legacy, bytes)) = &card {
                    cards.insert(k.as_bytes(), bytes.as_slice())?;
                    if let Some(legacy) = legacy {
                        cards.remove(legacy.as_bytes())?;
                    }
                }
                journal.remove(&id.0.to_be_bytes())?;
                Ok::<(), ConflictableTransactionError<std::convert::Infallible>>(())
            })
            .map_err(|e| match e {
                TransactionError::Abort(never) => match never {},
                TransactionError::Storage(source) => StateError::Sled {
                    context: format!("settling journal/{}", id.0),
                    source,
                },
            })
    }

    /// Intents begun and not settled, oldest first: settled at the start of
    /// every pass. An undecodable intent is reported as an error (it names
    /// its id) so that the operator sees it; it stays in the journal.
    pub fn pending_intents(&self) -> Result<Vec<(IntentId, Intent)>, StateError> {
        let mut out = Vec::new();
        for entry in self.journal.iter() {
            let (k, v) = entry.map_err(sled_err("iterating journal"))?;
            let Some(id) = u64_key(&k) else {
                return Err(StateError::Decode {
                    tree: "journal",
                    key: format!("{k:?}"),
                    message: "not an intent id".into(),
                });
            };
            out.push((IntentId(id), decode("journal", &id.to_string(), &v)?));
        }
        Ok(out)
    }

    /// Drops an intent that cannot be decoded (operator action after
    /// reading the error naming it).
    pub fn discard_intent(&self, id: IntentId) -> Result<(), StateError> {
        self.journal
            .remove(id.0.to_be_bytes())
            .map_err(sled_err(format!("removing journal/{}", id.0)))?;
        Ok(())
    }

    // ----- helpers ------------------------------------------------------

    /// Drops the record a key had under its form from before the encoding,
    /// once it is written under today's.
    fn remove_legacy(
        &self,
        tree: &sled::Tree,
        name: &'static str,
        key: &ProblemKey,
    ) -> Result<(), StateError> {
        if let Some(legacy) = key.legacy_form() {
            tree.remove(legacy.as_bytes())
                .map_err(sled_err(format!("removing {name}/{legacy}")))?;
        }
        Ok(())
    }

    fn get_json<T: DeserializeOwned>(
        &self,
        tree: &sled::Tree,
        name: &'static str,
        key: &str,
    ) -> Result<Option<T>, StateError> {
        match tree
            .get(key.as_bytes())
            .map_err(sled_err(format!("reading {name}/{key}")))?
        {
            Some(bytes) => decode(name, key, &bytes).map(Some),
            None => Ok(None),
        }
    }

    fn put_json<T: Serialize>(
        &self,
        tree: &sled::Tree,
        name: &'static str,
        key: &str,
        value: &T,
    ) -> Result<(), StateError> {
        let bytes = encode(name, key, value)?;
        tree.insert(key.as_bytes(), bytes)
            .map_err(sled_err(format!("writing {name}/{key}")))?;
        Ok(())
    }
}

/// Creates `dir` (and missing parents) readable by its owner only; an
/// existing `dir` is narrowed to 0700.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let mode = std::fs::metadata(dir)?.permissions().mode() & 0o777;
    if mode != 0o700 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Files under `dir` 0600, directories 0700 (sled's `blobs/`, copies moved
/// aside inside it).
fn make_private(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let want = if kind.is_dir() {
            make_private(&entry.path())?;
            0o700
        } else if kind.is_file() {
            0o600
        } else {
            continue;
        };
        let path = entry.path();
        if std::fs::metadata(&path)?.permissions().mode() & 0o777 != want {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(want))?;
        }
    }
    Ok(())
}

/// Collects a record read under `stored` (a tree's key) for `key`: when a
/// key has a record under today's form and one under its form from before
/// the encoding, today's is the one written last by this build.
fn keep_canonical<T>(
    out: &mut BTreeMap<ProblemKey, (bool, T)>,
    stored: &str,
    key: ProblemKey,
    record: T,
) {
    let canonical = stored == key.to_string();
    match out.get(&key) {
        Some((true, _)) if !canonical => {}
        _ => {
            out.insert(key, (canonical, record));
        }
    }
}

/// Name prefix of a corrupt store moved aside *inside* the state directory.
const CORRUPT_INSIDE_PREFIX: &str = "corrupt-";

/// Moves the corrupt store in `dir` aside; returns where it went.
///
/// The directory is renamed to `<dir>.corrupt-<timestamp>` next to it when
/// its parent is writable. Under the shipped systemd unit it is not:
/// `StateDirectory=` with `ProtectSystem=strict` leaves `/var/lib`
/// read-only to the service (and with `DynamicUser=` `/var/lib/colisync`
/// is a symlink), so only the directory's own contents can move. Then they
/// go to `<dir>/corrupt-<timestamp>/` (earlier such copies stay where they
/// are) and sled starts afresh beside them. Without this fallback a
/// corrupt store made every start fail: the crash loop this recovery
/// exists to avoid.
fn move_aside(
    dir: &Path,
    now: DateTime<Utc>,
    rename_dir: impl FnOnce(&Path, &Path) -> std::io::Result<()>,
) -> Result<PathBuf, StateError> {
    let beside = unused(corrupt_path(dir, now));
    let rename_error = match rename_dir(dir, &beside) {
        Ok(()) => return Ok(beside),
        Err(e) => e,
    };
    let inside = unused(dir.join(format!(
        "{CORRUPT_INSIDE_PREFIX}{}",
        now.format("%Y%m%dT%H%M%SZ")
    )));
    let failed = |what: String| {
        let context = format!(
            "moving corrupt state directory {} aside: renaming it to {} failed ({rename_error}), \
             then {what}",
            dir.display(),
            beside.display()
        );
        move |source| StateError::Io { context, source }
    };
    std::fs::create_dir(&inside).map_err(failed(format!("creating {}", inside.display())))?;
    let entries = std::fs::read_dir(dir).map_err(failed(format!("listing {}", dir.display())))?;
    for entry in entries {
        let entry = entry.map_err(failed(format!("listing {}", dir.display())))?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with(CORRUPT_INSIDE_PREFIX) {
            continue;
        }
        let to = inside.join(&name);
        std::fs::rename(entry.path(), &to).map_err(failed(format!(
            "moving {} to {}",
            entry.path().display(),
            to.display()
        )))?;
    }
    tracing::warn!(
        state_dir = %dir.display(),
        error = %rename_error,
        "the state directory cannot be renamed (read-only parent?): its contents were moved into it"
    );
    Ok(inside)
}

/// `path`, or `path-2`, `path-3`… if it exists already (two recoveries
/// in the same second).
fn unused(path: PathBuf) -> PathBuf {
    if !path.exists() {
        return path;
    }
    let mut n = 2;
    loop {
        let mut name = path.file_name().unwrap_or_default().to_os_string();
        name.push(format!("-{n}"));
        let candidate = path.with_file_name(name);
        if !candidate.exists() {
            return candidate;
        }
        n += 1;
    }
}

/// `<dir>.corrupt-<UTC timestamp>`, next to the directory.
fn corrupt_path(dir: &Path, now: DateTime<Utc>) -> PathBuf {
    let mut name = dir
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "state".into());
    name.push(format!(".corrupt-{}", now.format("%Y%m%dT%H%M%SZ")));
    dir.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step_add_marker(db: &sled::Db) -> Result<(), StateError> {
        db.open_tree("meta")
            .and_then(|t| t.insert("migrated_to_2", "yes"))
            .map_err(sled_err("test migration"))?;
        Ok(())
    }

    #[test]
    fn migration_steps_run_in_order_and_bump_the_schema() {
        let dir = tempfile::tempdir().unwrap();
        let state = State::open(dir.path()).unwrap();
        assert_eq!(state.schema_version().unwrap(), Some(1));
        state.check_schema(&[step_add_marker]).unwrap();
        assert_eq!(state.schema_version().unwrap(), Some(2));
        assert!(state.meta.get("migrated_to_2").unwrap().is_some());
        // Idempotent: nothing more to run.
        state.check_schema(&[step_add_marker]).unwrap();
        assert_eq!(state.schema_version().unwrap(), Some(2));
        // And this build (schema 1) refuses it.
        let err = state.check_schema(MIGRATIONS).unwrap_err();
        assert!(
            matches!(err, StateError::NewerSchema { found: 2, .. }),
            "{err}"
        );
    }

    #[test]
    fn a_corrupt_state_is_moved_aside_and_started_empty() {
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("state");
        let state = State::open(&dir).unwrap();
        let key: ProblemKey = "order/1".parse().unwrap();
        state.set_cursor(Utc::now()).unwrap();
        state.flush().unwrap();
        // sled recovers torn or garbled logs silently; the corruption error
        // it can report is built here.
        let cause = StateError::Sled {
            context: "reading cards/order/1".into(),
            source: sled::Error::Corruption { at: None, bt: () },
        };
        assert!(cause.is_corruption());
        let state = state.recover_from_corruption(&cause).unwrap();
        let aside = state.recovered_from().unwrap().to_owned();
        assert!(
            aside.to_string_lossy().contains("state.corrupt-"),
            "{aside:?}"
        );
        assert!(aside.join("db").exists() || aside.join("conf").exists());
        assert_eq!(state.cursor().unwrap(), None);
        assert_eq!(state.card(&key).unwrap(), None);
        assert_eq!(state.schema_version().unwrap(), Some(SCHEMA_VERSION));
    }

    #[test]
    fn a_corrupt_state_whose_parent_is_read_only_is_moved_aside_inside_it() {
        // Under the shipped unit (StateDirectory= with ProtectSystem=strict
        // and DynamicUser=) /var/lib is read-only to the service: the state
        // directory cannot be renamed, only its contents moved.
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("state");
        let state = State::open(&dir).unwrap();
        state.set_cursor(Utc::now()).unwrap();
        state.flush().unwrap();
        drop(state);
        let read_only = |_: &Path, _: &Path| {
            Err(std::io::Error::new(
                std::io::ErrorKind::ReadOnlyFilesystem,
                "Read-only file system (os error 30)",
            ))
        };
        let state = State::start_over_with(&dir, "test corruption", read_only).unwrap();
        let aside = state.recovered_from().unwrap().to_owned();
        assert_eq!(aside.parent(), Some(dir.as_path()), "{aside:?}");
        assert!(aside.join("db").exists() || aside.join("conf").exists());
        assert_eq!(state.cursor().unwrap(), None);
        assert_eq!(state.schema_version().unwrap(), Some(SCHEMA_VERSION));
        // A later corruption moves the new store aside, not the old copy
        // into it.
        let dir2 = state.dir().to_owned();
        drop(state);
        let state = State::start_over_with(&dir2, "again", read_only).unwrap();
        let aside2 = state.recovered_from().unwrap().to_owned();
        assert_ne!(aside2, aside);
        assert!(aside.exists(), "the first copy stays where it was");
        assert!(!aside2.join(aside.file_name().unwrap()).exists());
    }

    #[test]
    fn records_under_a_key_written_before_the_encoding_are_read_then_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let state = State::open(dir.path()).unwrap();
        let t = Utc::now();
        let key = ProblemKey::Order {
            increment_id: "Müller*1".into(),
        };
        let legacy = key.legacy_form().expect("the encoding changes it");
        let record = |id: &str| CardRecord {
            card_id: id.into(),
            list_id: "l".into(),
            fingerprint: String::new(),
            rule: None,
            severity: Severity::Late,
            status: CardStatus::Open,
            filed_at: t,
            updated_at: t,
            label_ids: vec![],
            due: None,
        };
        let old = record("old");
        state
            .cards
            .insert(legacy.as_bytes(), encode("cards", &legacy, &old).unwrap())
            .unwrap();
        assert_eq!(state.cards().unwrap().get(&key), Some(&old));
        state.put_card(&key, &record("new")).unwrap();
        assert!(state.cards.get(legacy.as_bytes()).unwrap().is_none());
        assert_eq!(state.cards().unwrap().get(&key), Some(&record("new")));

        // A parcel record likewise, found by its order.
        let p = crate::domain::Parcel {
            order_entity_id: 9,
            order_increment_id: "Müller*1".into(),
            shipment_id: 3,
            tracking_number: "A/B".into(),
            carrier: crate::domain::Carrier::Colissimo,
            shipped_at: t,
            tracking: None,
        };
        let rec = ParcelRecord::new(p, t);
        let legacy = rec.key().legacy_form().expect("the encoding changes it");
        state
            .parcels
            .insert(legacy.as_bytes(), encode("parcels", &legacy, &rec).unwrap())
            .unwrap();
        assert_eq!(state.parcels().unwrap(), vec![rec.clone()]);
        state.put_parcel(&rec).unwrap();
        assert!(state.parcels.get(legacy.as_bytes()).unwrap().is_none());
        assert_eq!(state.parcels().unwrap(), vec![rec.clone()]);
        state.remove_parcel(&rec.key()).unwrap();
        assert!(state.parcels().unwrap().is_empty());
    }

    #[test]
    fn corrupt_path_sits_next_to_the_directory() {
        let now = DateTime::parse_from_rfc3339("2026-05-19T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            corrupt_path(Path::new("/var/lib/colisync"), now),
            PathBuf::from("/var/lib/colisync.corrupt-20260519T100000Z")
        );
    }
}
