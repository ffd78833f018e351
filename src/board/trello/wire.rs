//! What goes over the wire: the cards colisync sends, the JSON Trello
//! answers, and the ids' creation seconds the card listing pages by.

use super::*;

/// A card to create.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NewCard {
    pub name: String,
    /// Markdown; its last line is the marker.
    pub desc: String,
    pub id_labels: Vec<String>,
    pub due: Option<DateTime<Utc>>,
}

/// Fields to change on a card. `PUT` replaces exactly the fields sent and
/// leaves the others alone; `None` means "not sent".
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CardUpdate {
    pub name: Option<String>,
    pub desc: Option<String>,
    pub id_list: Option<String>,
    /// `Some(None)` clears the due date.
    pub due: Option<Option<DateTime<Utc>>>,
    /// Replaces the whole label set.
    pub id_labels: Option<Vec<String>>,
    pub closed: Option<bool>,
}

/// A card as Trello sends it; every field optional (fields=… may leave
/// some out).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CardJson {
    pub(super) id: String,
    #[serde(default)]
    pub(super) name: Option<String>,
    #[serde(default)]
    pub(super) desc: Option<String>,
    #[serde(default)]
    pub(super) id_list: Option<String>,
    #[serde(default)]
    pub(super) closed: Option<bool>,
    #[serde(default)]
    pub(super) id_labels: Option<Vec<String>>,
    #[serde(default)]
    pub(super) due: Option<DateTime<Utc>>,
    #[serde(default)]
    pub(super) id_board: Option<String>,
    #[serde(default)]
    pub(super) badges: Option<BadgesJson>,
}

/// The checklist counts of a card's `badges`
/// (`{"checkItems": 5, "checkItemsChecked": 2, …}`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct BadgesJson {
    #[serde(default)]
    pub(super) check_items: Option<u32>,
    #[serde(default)]
    pub(super) check_items_checked: Option<u32>,
}

impl From<CardJson> for BoardCard {
    fn from(c: CardJson) -> Self {
        BoardCard {
            id: c.id,
            name: c.name.unwrap_or_default(),
            desc: c.desc.unwrap_or_default(),
            id_list: c.id_list.unwrap_or_default(),
            closed: c.closed.unwrap_or(false),
            id_labels: c.id_labels.unwrap_or_default(),
            due: c.due,
            check_items: c
                .badges
                .and_then(|b| Some((b.check_items?, b.check_items_checked?))),
        }
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct ListJson {
    pub(super) id: String,
    #[serde(default)]
    pub(super) name: Option<String>,
    #[serde(default)]
    pub(super) closed: Option<bool>,
}

#[derive(Debug, Deserialize)]
pub(super) struct LabelJson {
    pub(super) id: String,
    #[serde(default)]
    pub(super) name: Option<String>,
    #[serde(default)]
    pub(super) color: Option<String>,
}

/// A checklist as Trello sends it (`checkItems` absent with
/// `checkItems=none`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ChecklistJson {
    pub(super) id: String,
    #[serde(default)]
    pub(super) name: Option<String>,
    #[serde(default)]
    pub(super) check_items: Vec<CheckItemJson>,
}

#[derive(Debug, Deserialize)]
pub(super) struct CheckItemJson {
    pub(super) id: String,
    #[serde(default)]
    pub(super) name: Option<String>,
    #[serde(default)]
    pub(super) state: Option<String>,
    #[serde(default)]
    pub(super) pos: Option<f64>,
}

impl From<CheckItemJson> for BoardCheckItem {
    fn from(i: CheckItemJson) -> Self {
        BoardCheckItem {
            id: i.id,
            name: i.name.unwrap_or_default(),
            complete: i.state.as_deref() == Some("complete"),
        }
    }
}

impl From<ChecklistJson> for BoardChecklist {
    fn from(c: ChecklistJson) -> Self {
        let mut items = c.check_items;
        // Trello answers in `pos` order; sort anyway so that a reader never
        // depends on it.
        items.sort_by(|a, b| a.pos.unwrap_or(0.0).total_cmp(&b.pos.unwrap_or(0.0)));
        BoardChecklist {
            id: c.id,
            name: c.name.unwrap_or_default(),
            items: items.into_iter().map(Into::into).collect(),
        }
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct IdJson {
    pub(super) id: String,
}

/// The creation second of a Trello id: its first 8 hex digits, as in a
/// Mongo ObjectId (trello-archive/api-docs issue 68).
pub fn id_second(id: &str) -> Option<u32> {
    let head = id.get(..8)?;
    if id.len() != 24 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(head, 16).ok()
}

/// The smallest id of a second: `before=` this id asks for the cards
/// created before that second, whether Trello compares whole ids or, as it
/// does, their seconds.
pub(super) fn first_id_of_second(second: u32) -> String {
    format!("{second:08x}0000000000000000")
}

/// The oldest and newest creation seconds of a page (`None` when empty).
pub(super) fn seconds_span(page: &[CardJson]) -> Result<Option<(u32, u32)>, TrelloError> {
    let mut span: Option<(u32, u32)> = None;
    for c in page {
        let Some(s) = id_second(&c.id) else {
            return Err(TrelloError::Incomplete {
                reason: format!("a card id is not a Trello id: {:?}", c.id),
            });
        };
        span = Some(span.map_or((s, s), |(o, n)| (o.min(s), n.max(s))));
    }
    Ok(span)
}

pub(super) fn keep_new(found: &mut HashMap<String, BoardCard>, page: Vec<CardJson>) {
    for c in page {
        if !found.contains_key(&c.id) {
            found.insert(c.id.clone(), c.into());
        }
    }
}

/// What one nested read of the board answers: its id, open lists and
/// labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardLayout {
    pub id: String,
    pub lists: Vec<BoardList>,
    pub labels: Vec<BoardLabel>,
}

/// `GET /1/boards/{id}` with `lists` and `labels` nested.
#[derive(Debug, Deserialize)]
pub(super) struct BoardJson {
    pub(super) id: String,
    #[serde(default)]
    pub(super) lists: Vec<ListJson>,
    #[serde(default)]
    pub(super) labels: Vec<LabelJson>,
}

pub(super) fn list_from(l: ListJson) -> BoardList {
    BoardList {
        id: l.id,
        name: l.name.unwrap_or_default(),
        closed: l.closed.unwrap_or(false),
    }
}

pub(super) fn label_from(l: LabelJson) -> BoardLabel {
    BoardLabel {
        id: l.id,
        name: l.name.unwrap_or_default(),
        color: l.color,
    }
}

/// Trello's date format: ISO 8601 with milliseconds and `Z`.
pub(super) fn due_text(d: DateTime<Utc>) -> String {
    d.to_rfc3339_opts(SecondsFormat::Millis, true)
}
