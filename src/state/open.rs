//! Opening the store: sled's directory lock, private permissions, the
//! schema check and migrations, and the recovery from a corrupt directory
//! (moved aside, an empty state started). See the module doc of `state`.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::{
    LOCK_WAIT, META_SCHEMA, MIGRATIONS, Migration, SCHEMA_VERSION, State, StateError,
    is_lock_error, sled_err,
};

/// sled's page cache, in bytes of on-disk data cached. sled's default is
/// 1 GiB (sled 0.34 `Config::cache_capacity`), and the process's memory is
/// a multiple of it (spacejam/sled#1309; ZcashFoundation/zebra#1233
/// lowered theirs to 50 MB), so a quiet pass over a large store kept far
/// more resident than it reads. A pass reads each record about once, so a
/// small cache costs little.
const CACHE_CAPACITY: u64 = 16 * 1024 * 1024;

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
    pub(crate) fn recover_from_corruption(
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
            .cache_capacity(CACHE_CAPACITY)
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
            cases: tree("cases")?,
            open_index: tree(super::index::OPEN_ORDERS)?,
            order_times: tree(super::index::ORDER_TIMES)?,
            due: tree(super::index::DUE)?,
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
                    &self.cases,
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
    use crate::domain::ProblemKey;

    fn step_add_marker(db: &sled::Db) -> Result<(), StateError> {
        db.open_tree("meta")
            .and_then(|t| t.insert("migrated_to_next", "yes"))
            .map_err(sled_err("test migration"))?;
        Ok(())
    }

    #[test]
    fn migration_steps_run_in_order_and_bump_the_schema() {
        let dir = tempfile::tempdir().unwrap();
        let state = State::open(dir.path()).unwrap();
        assert_eq!(state.schema_version().unwrap(), Some(SCHEMA_VERSION));
        let next: Vec<Migration> = MIGRATIONS
            .iter()
            .copied()
            .chain([step_add_marker as Migration])
            .collect();
        state.check_schema(&next).unwrap();
        assert_eq!(state.schema_version().unwrap(), Some(SCHEMA_VERSION + 1));
        assert!(state.meta.get("migrated_to_next").unwrap().is_some());
        // Idempotent: nothing more to run.
        state.check_schema(&next).unwrap();
        assert_eq!(state.schema_version().unwrap(), Some(SCHEMA_VERSION + 1));
        // And this build refuses it.
        let err = state.check_schema(MIGRATIONS).unwrap_err();
        assert!(
            matches!(err, StateError::NewerSchema { found, .. } if found == SCHEMA_VERSION + 1),
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
        let dir2 = dir.clone();
        drop(state);
        let state = State::start_over_with(&dir2, "again", read_only).unwrap();
        let aside2 = state.recovered_from().unwrap().to_owned();
        assert_ne!(aside2, aside);
        assert!(aside.exists(), "the first copy stays where it was");
        assert!(!aside2.join(aside.file_name().unwrap()).exists());
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
