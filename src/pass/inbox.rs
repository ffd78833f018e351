//! The inbox of `colisync case`: a spool directory (`[cases] inbox_dir`)
//! where an agent's request waits for the next pass. The daemon holds the
//! state's lock, so the command never opens the state: it writes one file
//! per request, atomically (a `.tmp` written, synced, then renamed), and
//! each pass reads them before the board (step « inbox » of
//! ARCHITECTURE.md), records the cases, flushes, and only then deletes the
//! files. A file that does not read is moved to `rejected/` and named in
//! the pass's errors; the pass goes on. A dry run reads and deletes
//! nothing.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::CaseKind;

/// Where rejected files go, under the inbox.
const REJECTED: &str = "rejected";

/// One request, as the file holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InboxRequest {
    /// The order's increment id.
    pub order: String,
    /// `perdu` or `adresse`.
    pub kind: String,
    #[serde(default)]
    pub parcel: Option<String>,
    pub requested_at: DateTime<Utc>,
    /// Unique per request: a file read twice (a crash between recording
    /// and deleting it) is one request.
    pub request_id: String,
}

/// Why a request cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum InboxError {
    #[error("{0}")]
    Invalid(String),
    #[error("writing the request in {}: {error}", dir.display())]
    Io { dir: PathBuf, error: std::io::Error },
}

/// An order number or a parcel as typed by an agent: what the key and
/// the marker can carry.
fn check_part(what: &str, s: &str) -> Result<String, InboxError> {
    let t = s.trim();
    if t.is_empty() || t.chars().count() > 100 || t.chars().any(char::is_control) {
        return Err(InboxError::Invalid(format!(
            "{what} {s:?}: expected a non-empty number of at most 100 characters, without control characters"
        )));
    }
    Ok(t.to_owned())
}

/// Writes `colisync case ORDER KIND [--parcel N]`'s request into `dir`
/// (created if missing); the file's path.
pub fn write_request(
    dir: &Path,
    order: &str,
    kind: CaseKind,
    parcel: Option<&str>,
    now: DateTime<Utc>,
) -> Result<PathBuf, InboxError> {
    let order = check_part("order", order)?;
    let parcel = parcel.map(|p| check_part("parcel", p)).transpose()?;
    let io = |error| InboxError::Io {
        dir: dir.to_owned(),
        error,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let nanos = now.timestamp_subsec_nanos();
    let random = std::collections::hash_map::RandomState::new();
    let salt = std::hash::BuildHasher::hash_one(&random, (std::process::id(), nanos));
    let id = format!(
        "case-{}-{}-{:016x}",
        now.timestamp(),
        std::process::id(),
        salt
    );
    let request = InboxRequest {
        order,
        kind: kind.as_str().to_owned(),
        parcel,
        requested_at: now,
        request_id: id.clone(),
    };
    let bytes = serde_json::to_vec_pretty(&request).map_err(|e| io(std::io::Error::other(e)))?;
    let tmp = dir.join(format!(".{id}.json.tmp"));
    let path = dir.join(format!("{id}.json"));
    let mut f = std::fs::File::create(&tmp).map_err(io)?;
    f.write_all(&bytes).map_err(io)?;
    f.sync_all().map_err(io)?;
    drop(f);
    std::fs::rename(&tmp, &path).map_err(io)?;
    // The rename itself must reach the disk before « enregistrée ».
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(path)
}

/// One file of the inbox, read.
#[derive(Debug)]
pub(crate) struct InboxFile {
    pub(crate) path: PathBuf,
    /// The request and its kind, or why the file is rejected.
    pub(crate) read: Result<(InboxRequest, CaseKind), String>,
}

/// The requests waiting, oldest name first. A missing inbox is an empty
/// one (no agent wrote yet); an unreadable one is an error.
pub(crate) fn read_inbox(dir: &Path) -> Result<Vec<InboxFile>, std::io::Error> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("case-") && n.ends_with(".json"))
        })
        .collect();
    paths.sort();
    Ok(paths
        .into_iter()
        .map(|path| {
            let read = parse_file(&path);
            InboxFile { path, read }
        })
        .collect())
}

fn parse_file(path: &Path) -> Result<(InboxRequest, CaseKind), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot be read: {e}"))?;
    let req: InboxRequest =
        serde_json::from_slice(&bytes).map_err(|e| format!("is not a case request: {e}"))?;
    let kind: CaseKind = req.kind.parse()?;
    check_part("order", &req.order).map_err(|e| e.to_string())?;
    if req.request_id.trim().is_empty() {
        return Err("has an empty request_id".into());
    }
    Ok((req, kind))
}

/// A request recorded (and flushed): its file goes.
pub(crate) fn remove(path: &Path) -> Result<(), std::io::Error> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// A file that does not read goes to `rejected/`, out of the next
/// passes' way, kept for the admin.
pub(crate) fn reject(dir: &Path, path: &Path) -> Result<(), std::io::Error> {
    let to = dir.join(REJECTED);
    std::fs::create_dir_all(&to)?;
    let name = path.file_name().unwrap_or_default();
    std::fs::rename(path, to.join(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_round_trips_and_bad_files_are_told_apart() {
        let dir = std::env::temp_dir().join(format!("colisync-inbox-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let now = Utc::now();
        let path = write_request(&dir, " 100023 ", CaseKind::Lost, Some("6A1"), now).unwrap();
        std::fs::write(dir.join("case-0-bad.json"), b"{not json").unwrap();
        std::fs::write(dir.join(".case-x.json.tmp"), b"half").unwrap();
        let files = read_inbox(&dir).unwrap();
        assert_eq!(files.len(), 2);
        let bad = files.iter().find(|f| f.read.is_err()).unwrap();
        reject(&dir, &bad.path).unwrap();
        assert!(dir.join("rejected/case-0-bad.json").exists());
        let good = files.iter().find(|f| f.path == path).unwrap();
        let (req, kind) = good.read.as_ref().unwrap();
        assert_eq!((req.order.as_str(), *kind), ("100023", CaseKind::Lost));
        assert_eq!(req.parcel.as_deref(), Some("6A1"));
        remove(&path).unwrap();
        assert_eq!(read_inbox(&dir).unwrap().len(), 0);
        assert!(write_request(&dir, "10\n0", CaseKind::Lost, None, now).is_err());
        assert!(write_request(&dir, "", CaseKind::Address, None, now).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(read_inbox(&dir).unwrap().is_empty());
    }
}
