//! Board read: the lists and labels of the Trello board (one nested read)
//! and its cards (filter `all`), the state's card records, the recorded cards the listing
//! did not show read by id (ARCHITECTURE.md, step 4), and the intake lists
//! missing from the board, which a real pass creates before it applies.
//! Only reads: the plan is made from what they return.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use super::error::PassError;
use super::snapshot::Snapshot;
use super::{Engine, PassReport};
use crate::board::render;
use crate::board::{BoardCard, BoardLabel};
use crate::domain::ProblemKey;
use crate::plan::{self, BoardSnapshot, CardRead, Desired, ListTarget, PlanInput};
use crate::state::CardRecord;

/// The board and the card records as read before judging.
#[derive(Debug)]
pub(super) struct BoardRead {
    pub(crate) cards: Vec<BoardCard>,
    pub(crate) labels: Vec<BoardLabel>,
    pub(crate) intake_lists: BTreeMap<String, String>,
    pub(crate) resolved_list: ListTarget,
    pub(crate) records: BTreeMap<ProblemKey, CardRecord>,
    /// The lists colisync files into that the board lacks.
    pub(crate) missing_lists: Vec<String>,
}

impl Engine {
    /// Lists, labels and cards of the board, the lists missing, and the
    /// state's card records: what the plan compares the findings with.
    pub(super) async fn read_board(&self, report: &mut PassReport) -> Option<BoardRead> {
        let fail = |report: &mut PassReport, what: &str, e| {
            report
                .errors
                .push(PassError::trello(format!("{what} of the Trello board"), e));
            None
        };
        // Lists and labels nested in one read of the board, which also
        // resolves its id: with the cards' page, an idle pass reads Trello
        // twice.
        let (lists, labels) = match self.trello.board_lists_labels().await {
            Ok(b) => (b.lists, b.labels),
            Err(e) => return fail(report, "reading the lists and labels", e),
        };
        let cards = match self.trello.cards().await {
            Ok(c) => c,
            Err(e) => return fail(report, "reading the cards", e),
        };

        let by_name: BTreeMap<String, String> = lists
            .iter()
            .filter(|l| !l.closed)
            .map(|l| (l.name.clone(), l.id.clone()))
            .collect();
        let mut wanted: BTreeSet<String> = self
            .config
            .rules
            .iter()
            .filter(|(_, r)| r.enabled)
            .map(|(_, r)| r.list.clone())
            .collect();
        wanted.insert(self.config.trello.resolved_list.clone());
        let missing_lists: Vec<String> = wanted
            .iter()
            .filter(|n| !by_name.contains_key(*n))
            .cloned()
            .collect();
        for name in &missing_lists {
            tracing::info!(list = %name, "the list is missing on the board; a real pass creates it");
        }
        let resolved_name = self.config.trello.resolved_list.clone();
        let resolved_list = ListTarget {
            id: by_name.get(&resolved_name).cloned(),
            name: resolved_name,
        };
        let intake_lists = by_name
            .into_iter()
            .filter(|(name, _)| self.is_intake_list(name))
            .collect();
        let records = match self.state.cards() {
            Ok(r) => r,
            Err(e) => {
                report.state_failed("reading the card records", e);
                return None;
            }
        };
        Some(BoardRead {
            cards,
            labels,
            intake_lists,
            resolved_list,
            records,
            missing_lists,
        })
    }

    /// Every rule's list is an intake list, a disabled rule's too: cards
    /// filed there before the rule was disabled still move to the resolved
    /// list when their problem ends.
    fn is_intake_list(&self, name: &str) -> bool {
        name != self.config.trello.resolved_list
            && (self.config.rules.iter().any(|(_, r)| r.list == name)
                || name == self.config.cases.list)
    }

    /// The plan's input; a recorded card the listing did not show is read
    /// by id first.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn plan_input(
        &self,
        now: DateTime<Utc>,
        desired: BTreeMap<ProblemKey, Desired>,
        ended: BTreeMap<ProblemKey, String>,
        read: BoardRead,
        unknown_orders: BTreeSet<String>,
        snapshot: &Snapshot,
        report: &mut PassReport,
    ) -> PlanInput {
        let BoardRead {
            cards,
            labels,
            intake_lists,
            resolved_list,
            records,
            missing_lists: _,
        } = read;
        let mut input = PlanInput {
            desired,
            records,
            board: BoardSnapshot {
                cards,
                labels,
                reads: BTreeMap::new(),
            },
            intake_lists,
            resolved_list,
            ended,
            unknown_orders,
            unknown_parcels: snapshot.unknown_parcels(),
            own_label_names: render::own_label_names(),
            // Stamped on the comments, so that each one is unique.
            now,
            timezone: self.config.calendar.timezone,
        };
        // A recorded card the listing did not show is read by id before the
        // plan concludes anything from its absence.
        for card_id in plan::cards_to_read(&input) {
            let read = match self.trello.card_on_board(&card_id).await {
                Ok(Some(card)) => {
                    tracing::warn!(card = %card_id, "a recorded card missing from the board listing is on the board");
                    CardRead::Found(card)
                }
                Ok(None) => CardRead::Gone,
                Err(e) => {
                    report.errors.push(
                        PassError::trello(
                            format!("reading the card {card_id} (not in the board listing)"),
                            e,
                        )
                        .then("; nothing done for it this pass"),
                    );
                    CardRead::Failed
                }
            };
            input.board.reads.insert(card_id, read);
        }
        input
    }

    /// Creates the lists the board lacks (idempotent by name: `names` come
    /// from a read of this pass that showed none of that name) and gives
    /// their ids to the plan's input. Whether any was created.
    pub(super) async fn create_lists(
        &self,
        names: &[String],
        input: &mut PlanInput,
        report: &mut PassReport,
    ) -> bool {
        let mut created = false;
        for name in names {
            match self.trello.create_list(name).await {
                Ok(l) => {
                    tracing::info!(list = %name, "created the missing list on the board");
                    created = true;
                    if l.name == input.resolved_list.name {
                        input.resolved_list.id = Some(l.id);
                    } else if self.is_intake_list(&l.name) {
                        input.intake_lists.insert(l.name, l.id);
                    }
                }
                Err(e) => report
                    .errors
                    .push(PassError::trello(format!("creating the list {name:?}"), e)),
            }
        }
        created
    }
}
