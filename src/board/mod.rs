//! The Trello board: what a card looks like (rendering, pure) and how it is
//! read and written (the Trello client).
//!
//! Architecture invariant: only `apply` (in `plan`) writes cards, comments
//! and card labels, through this module's client; the pass only creates the
//! intake lists missing on the board (ARCHITECTURE.md).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::ProblemKey;

/// Trello's limit on a card name, a description and a comment, in
/// characters: the renderer keeps its cards within it (counting Unicode
/// characters), the client cuts what it sends to it (counting UTF-16 code
/// units, what Trello's JavaScript counts, never fewer than characters).
pub const TEXT_LIMIT: usize = 16384;

/// A label colisync puts on its cards (carrier, product kind, severity).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LabelSpec {
    pub name: String,
    /// Trello colour name (`green`, `yellow`, `orange`, `red`, `purple`,
    /// `blue`, `sky`, `lime`, `pink`, `black`).
    pub color: String,
}

/// A card as colisync wants it, rendered from a finding. Deterministic: an
/// unchanged problem renders byte-identically.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardContent {
    pub title: String,
    /// Markdown; its last line is the marker (see [`marker_line`]).
    pub description: String,
    pub labels: Vec<LabelSpec>,
    pub due: Option<DateTime<Utc>>,
}

/// A card as read from the board.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardCard {
    pub id: String,
    pub name: String,
    pub desc: String,
    pub id_list: String,
    pub closed: bool,
    pub id_labels: Vec<String>,
    pub due: Option<DateTime<Utc>>,
    /// The card's `badges`: (checklist items, items ticked), across all its
    /// checklists; `None` when Trello did not send them. A change is what
    /// makes the pass read a case card's checklists.
    #[serde(default)]
    pub check_items: Option<(u32, u32)>,
}

/// A checklist of a card as read from the board, items in Trello's
/// order (`pos`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardChecklist {
    pub id: String,
    pub name: String,
    pub items: Vec<BoardCheckItem>,
}

/// One item of a checklist: `complete` is Trello's `state: "complete"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardCheckItem {
    pub id: String,
    pub name: String,
    pub complete: bool,
}

/// A list as read from the board.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardList {
    pub id: String,
    pub name: String,
    pub(crate) closed: bool,
}

/// A label as read from the board.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardLabel {
    pub id: String,
    pub name: String,
    pub color: Option<String>,
}

/// Prefix of the machine marker, the last line of every card colisync
/// files. It lets the state be rebuilt from the board (adoption) and lets an
/// unknown-outcome create be settled by looking for the card.
pub(crate) const MARKER_PREFIX: &str = "colisync-key: ";

/// The marker line for a problem key, e.g. `` `colisync-key: order/100023` ``
/// (in backticks so that Trello's Markdown shows it verbatim). The key's
/// parts are percent-encoded outside letters, digits, `-`, `_`, `.` (see
/// [`ProblemKey`]), so the line is printable ASCII without spaces or
/// backticks whatever Magento sent: Trello's normalising of descriptions
/// (line endings, trailing spaces) and the backticks cannot change it.
pub fn marker_line(key: &ProblemKey) -> String {
    format!("`{MARKER_PREFIX}{key}`")
}

/// Finds the marker in a card description, wherever a lead left it.
/// Backslash escapes are undone first: a Markdown editor that rewrites the
/// line outside its backticks may escape `_` or `.`, and the encoding never
/// writes a raw backslash itself (it is `%5C`).
pub fn parse_marker(desc: &str) -> Option<ProblemKey> {
    desc.lines().rev().find_map(|line| {
        let line = unescape_markdown(line.trim());
        let line = line.trim_matches('`');
        line.strip_prefix(MARKER_PREFIX)?.trim().parse().ok()
    })
}

/// `\_` → `_`: a backslash before ASCII punctuation is Markdown's escape.
fn unescape_markdown(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(&next) = chars.peek() {
                if next.is_ascii_punctuation() {
                    out.push(next);
                    chars.next();
                    continue;
                }
            }
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_round_trips() {
        for key in [
            ProblemKey::Order {
                increment_id: "100023".into(),
            },
            ProblemKey::Parcel {
                increment_id: "FR/2026/7".into(),
                parcel: "6A12345678901".into(),
            },
        ] {
            let desc = format!("**Client**: x\n\n{}", marker_line(&key));
            assert_eq!(parse_marker(&desc), Some(key));
        }
        // Trello may store CRLF and trim or add trailing spaces.
        let odd = ProblemKey::Parcel {
            increment_id: "10 0\n`7".into(),
            parcel: "A/B %_x.1".into(),
        };
        let desc = format!("a  \r\n\r\n{}  \r\n", marker_line(&odd));
        assert_eq!(parse_marker(&desc), Some(odd.clone()));
        // An editor that escaped the line's Markdown.
        let escaped = marker_line(&odd).replace('_', "\\_").replace('%', "\\%");
        assert_eq!(parse_marker(&escaped), Some(odd));
        assert_eq!(parse_marker("no marker here"), None);
        assert_eq!(parse_marker("`colisync-key: bogus`"), None);
    }
}

pub mod render;
pub mod trello;
