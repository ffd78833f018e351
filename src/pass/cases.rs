//! The cases people open, in the pass (ARCHITECTURE.md, steps « inbox »
//! and « cases »): the inbox of `colisync case` read before the board,
//! the label requests of the board read, the lead's ticks read from a
//! case card's checklists when its `badges` changed, and each open case
//! judged into the card it calls for. The decisions are `plan::cases`'
//! and `rules`' (pure); this does the reading, and holds the state's
//! writes until the pass applies ([`CaseWrites`]): a dry run records and
//! deletes nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use chrono::{DateTime, Utc};

use super::board::BoardRead;
use super::error::PassError;
use super::inbox;
use super::snapshot::Snapshot;
use super::{Engine, PassReport};
use crate::board::{BoardCard, BoardCheckItem, parse_marker, render};
use crate::domain::{Case, CaseKind, CaseVia, ProblemKey};
use crate::fr::cases as w;
use crate::plan::cases::{self as decide, CaseOpening};
use crate::plan::{CheckItemSpec, ChecklistSpec, Desired};
use crate::rules::{Judge, case_parcel};
use crate::state::CardStatus;

/// What the pass changed of the cases: written, flushed, and only then
/// the inbox files removed, when the pass applies.
#[derive(Debug, Default)]
pub(super) struct CaseWrites {
    pub(super) cases: BTreeMap<ProblemKey, Case>,
    pub(super) changed: BTreeSet<ProblemKey>,
    pub(super) inbox_done: Vec<PathBuf>,
    pub(super) inbox_rejected: Vec<PathBuf>,
    /// Orders this pass could not look up: their cases wait, silently
    /// (the lookup's failure is already in the report).
    pub(super) unknown_orders: BTreeSet<String>,
}

impl CaseWrites {
    /// The orders of the open cases: looked up even outside
    /// `lookback_days`.
    pub(super) fn open_orders(&self) -> BTreeSet<String> {
        self.cases
            .values()
            .filter(|c| c.is_open())
            .map(|c| c.increment_id.clone())
            .collect()
    }
}

impl Engine {
    /// The state's cases and the inbox's requests.
    pub(super) fn load_cases(&self, now: DateTime<Utc>, report: &mut PassReport) -> CaseWrites {
        let mut out = CaseWrites::default();
        match self.state.cases() {
            Ok(c) => out.cases = c,
            Err(e) => report.state_failed("reading the cases", e),
        }
        let dir = &self.config.cases.inbox_dir;
        let files = match inbox::read_inbox(dir) {
            Ok(f) => f,
            Err(e) => {
                report.errors.push(PassError::Inbox(format!(
                    "reading the case inbox {}: {e}; its requests wait for the next pass",
                    dir.display()
                )));
                return out;
            }
        };
        for f in files {
            match f.read {
                Ok((req, kind)) => {
                    let opening = CaseOpening {
                        increment_id: req.order.trim().to_owned(),
                        kind,
                        parcel: req.parcel.filter(|p| !p.trim().is_empty()),
                        via: CaseVia::Cli {
                            request_id: req.request_id,
                        },
                    };
                    let key = ProblemKey::Case {
                        increment_id: opening.increment_id.clone(),
                        kind,
                    };
                    tracing::info!(case = %key, file = %f.path.display(), "case requested with colisync case");
                    if decide::open_case(&mut out.cases, opening, now) {
                        out.changed.insert(key);
                    }
                    out.inbox_done.push(f.path);
                }
                Err(why) => {
                    report.errors.push(PassError::Inbox(format!(
                        "the case request {} {why}; moved to {}/rejected",
                        f.path.display(),
                        dir.display()
                    )));
                    out.inbox_rejected.push(f.path);
                }
            }
        }
        out
    }

    /// The requests the board's labels make.
    pub(super) fn case_triggers(&self, now: DateTime<Utc>, read: &BoardRead, cw: &mut CaseWrites) {
        let case_labels: BTreeMap<String, CaseKind> = read
            .labels
            .iter()
            .filter_map(|l| {
                self.config
                    .cases
                    .kind_of_label(&l.name)
                    .map(|k| (l.id.clone(), k))
            })
            .collect();
        let changed = decide::label_triggers(&read.cards, &case_labels, &mut cw.cases, now);
        for key in &changed {
            tracing::info!(case = %key, "case label seen on the board");
        }
        cw.changed.extend(changed);
    }

    /// Every case through its evidence and its rules: the cards the open
    /// ones call for go into `desired`, the ones a lead ended into `ended`.
    /// Nothing else ends a case: case keys other passes' evidence may have
    /// put in `ended` are taken out first.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn judge_cases(
        &self,
        now: DateTime<Utc>,
        read: &BoardRead,
        snapshot: &Snapshot,
        cw: &mut CaseWrites,
        desired: &mut BTreeMap<ProblemKey, Desired>,
        ended: &mut BTreeMap<ProblemKey, String>,
        report: &mut PassReport,
    ) {
        ended.retain(|k, _| !matches!(k, ProblemKey::Case { .. }));
        self.rebuild_lost_cases(now, read, cw, report).await;
        let judge = Judge::new(&self.calendar, &self.config.rules, &self.classifier, now);
        let parcels_by_order = snapshot.parcels_by_order();
        let resolved_id = read.resolved_list.id.as_deref();
        let keys: Vec<ProblemKey> = cw.cases.keys().cloned().collect();
        for key in keys {
            let record = read.records.get(&key);
            let card = case_card(read, &key);
            let Some(case) = cw.cases.get_mut(&key) else {
                continue;
            };
            if !case.is_open() {
                // Closed by a lead; a resolve that did not get through is
                // tried again on the same evidence.
                if record.is_some_and(|r| r.status == CardStatus::Open) {
                    ended.insert(key.clone(), case.closed_how.clone().unwrap_or_default());
                }
                continue;
            }
            let items = match card {
                Some(c) => self.read_ticks(case, c, report).await,
                None => None,
            };
            if items.is_some() {
                cw.changed.insert(key.clone());
            }
            if let Some(end) = decide::evidence(case, record, card, resolved_id, items.as_deref()) {
                tracing::info!(case = %key, how = end.reason(), "case closed by a lead");
                case.closed_at = Some(now);
                case.closed_how = Some(end.reason().to_owned());
                cw.changed.insert(key.clone());
                ended.insert(key.clone(), end.reason().to_owned());
                continue;
            }
            let Some(order) = snapshot
                .orders
                .values()
                .find(|o| o.increment_id == case.increment_id)
            else {
                if !cw.unknown_orders.contains(&case.increment_id) {
                    tracing::warn!(case = %key, "case of an order Magento does not know: no card");
                }
                continue;
            };
            let parcels = parcels_by_order
                .get(&order.entity_id)
                .cloned()
                .unwrap_or_default();
            if case.steps.is_empty() {
                match judge.case_steps(case, &parcels) {
                    Some(steps) => {
                        case.steps = steps;
                        cw.changed.insert(key.clone());
                    }
                    None => {
                        tracing::info!(case = %key, "lost-parcel case of an order without a parcel yet: no card until it ships");
                        continue;
                    }
                }
            }
            let ticked = decide::ticked_steps(case);
            let Some(finding) = judge.case_finding(case, order, &parcels, &ticked) else {
                continue;
            };
            *report.findings.entry(finding.rule.as_str()).or_default() += 1;
            let parcel = match case.kind {
                CaseKind::Lost => case_parcel(case, &parcels),
                CaseKind::Address => None,
            };
            let content = render::render(&finding, order, parcel, &self.render_ctx);
            let fingerprint = render::fingerprint(&content);
            let checklist = ChecklistSpec {
                name: w::checklist_name(case.kind),
                items: case
                    .steps
                    .iter()
                    .map(|s| CheckItemSpec {
                        name: s.name.clone(),
                        due: None,
                    })
                    .collect(),
            };
            desired.insert(
                key.clone(),
                Desired {
                    finding,
                    content,
                    fingerprint,
                    checklist: Some(checklist),
                    requested_at: case.requests.iter().map(|r| r.at).max(),
                },
            );
        }
    }

    /// After a state loss: an open case card on the board (found by its
    /// marker, outside the resolved list) whose case the state does not
    /// know gets its case back, so that it is followed and can be closed
    /// by a lead rather than frozen. Opened at the card's creation second;
    /// its steps are the names of colisync's checklist on the card (one
    /// read), so nothing is written twice: no new card, no new checklist.
    async fn rebuild_lost_cases(
        &self,
        now: DateTime<Utc>,
        read: &BoardRead,
        cw: &mut CaseWrites,
        report: &mut PassReport,
    ) {
        let resolved_id = read.resolved_list.id.as_deref();
        for card in read
            .cards
            .iter()
            .filter(|c| !c.closed && resolved_id != Some(c.id_list.as_str()))
        {
            let Some(key @ ProblemKey::Case { .. }) = parse_marker(&card.desc) else {
                continue;
            };
            if cw.cases.contains_key(&key) || read.records.contains_key(&key) {
                continue;
            }
            let ProblemKey::Case { increment_id, kind } = &key else {
                continue;
            };
            let lists = match self.trello.card_checklists(&card.id).await {
                Ok(l) => l,
                Err(e) => {
                    report.errors.push(
                        PassError::trello(
                            format!("reading the checklists of the case card {}", card.id),
                            e,
                        )
                        .then("; its case is rebuilt on a later pass"),
                    );
                    continue;
                }
            };
            let opened_at = crate::board::trello::id_second(&card.id)
                .and_then(|s| DateTime::from_timestamp(i64::from(s), 0))
                .unwrap_or(now);
            let mut case = Case::new(
                increment_id.clone(),
                *kind,
                None,
                opened_at,
                CaseVia::Cli {
                    request_id: format!("rebuilt-from-card-{}", card.id),
                },
            );
            let name = w::checklist_name(*kind);
            if let Some(list) = lists.into_iter().find(|l| l.name == name) {
                case.steps = list
                    .items
                    .iter()
                    .map(|i| crate::domain::CaseStep {
                        name: i.name.clone(),
                        due: day_in_name(&i.name, self.calendar.local_date(now)),
                    })
                    .collect();
                case.ticked = decide::ticked_names(&list.items);
            }
            case.seen_badges = card.check_items;
            tracing::warn!(case = %key, card = %card.id, "case rebuilt from its card (the state did not know it)");
            cw.cases.insert(key.clone(), case);
            cw.changed.insert(key);
        }
    }

    /// colisync's checklist on a case card, read only when the card's
    /// `badges` changed since the last read (a quiet pass reads nothing);
    /// the ticks are recorded in the case. `None` when not read.
    async fn read_ticks(
        &self,
        case: &mut Case,
        card: &BoardCard,
        report: &mut PassReport,
    ) -> Option<Vec<BoardCheckItem>> {
        let badges = card.check_items?;
        if case.seen_badges == Some(badges) {
            return None;
        }
        if case.seen_badges.is_none() && badges.1 == 0 {
            // A new card, nothing ticked yet: nothing to read.
            case.seen_badges = Some(badges);
            return None;
        }
        let lists = match self.trello.card_checklists(&card.id).await {
            Ok(l) => l,
            Err(e) => {
                report.errors.push(
                    PassError::trello(
                        format!("reading the checklists of the case card {}", card.id),
                        e,
                    )
                    .then("; the case stays as it was this pass"),
                );
                return None;
            }
        };
        let name = w::checklist_name(case.kind);
        let items = lists
            .into_iter()
            .find(|l| l.name == name)
            .map(|l| l.items)
            .unwrap_or_default();
        case.ticked = decide::ticked_names(&items);
        case.seen_badges = Some(badges);
        Some(items)
    }

    /// Stores what the pass changed of the cases, flushes, then removes the
    /// inbox files it recorded and moves the bad ones aside. A real pass
    /// only, before it writes to the board.
    pub(super) fn persist_cases(&self, cw: CaseWrites, report: &mut PassReport) {
        for key in &cw.changed {
            if let Some(case) = cw.cases.get(key) {
                if let Err(e) = self.state.put_case(case) {
                    report.state_failed(&format!("recording the case {key}"), e);
                    return;
                }
            }
        }
        if let Err(e) = self.state.flush() {
            report.state_failed("flushing the cases", e);
            return;
        }
        let dir = &self.config.cases.inbox_dir;
        for path in cw.inbox_done {
            if let Err(e) = inbox::remove(&path) {
                report.errors.push(PassError::Inbox(format!(
                    "removing the recorded case request {}: {e} (it is read again as the same request)",
                    path.display()
                )));
            }
        }
        for path in cw.inbox_rejected {
            if let Err(e) = inbox::reject(dir, &path) {
                report.errors.push(PassError::Inbox(format!(
                    "moving the case request {} to rejected/: {e}",
                    path.display()
                )));
            }
        }
    }
}

/// The case's card: the recorded one if listed, else an open one carrying
/// its marker (adoption).
fn case_card<'a>(read: &'a BoardRead, key: &ProblemKey) -> Option<&'a BoardCard> {
    if let Some(rec) = read.records.get(key) {
        if let Some(c) = read.cards.iter().find(|c| c.id == rec.card_id) {
            return Some(c);
        }
    }
    read.cards
        .iter()
        .filter(|c| !c.closed)
        .find(|c| parse_marker(&c.desc).as_ref() == Some(key))
}

/// The day an item's name carries (« 2. mer. 20 mai 2026 — … », as
/// `fr::advice::checklist_item` writes it), found among the year before
/// `today` and the two months after (the seed's steps fall within weeks of
/// the case's opening); `None` for an undated step or a name a lead
/// rewrote.
fn day_in_name(name: &str, today: chrono::NaiveDate) -> Option<chrono::NaiveDate> {
    let (_, rest) = name.split_once(". ")?;
    let (day, _) = rest.split_once(" — ")?;
    (-365i64..=60)
        .filter_map(|n| today.checked_add_signed(chrono::Duration::days(n)))
        .find(|d| crate::fr::date(*d) == day)
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    #[test]
    fn the_day_of_an_item_is_read_back_from_its_name() {
        let opened = NaiveDate::from_ymd_opt(2026, 5, 20).unwrap();
        assert_eq!(
            super::day_in_name("2. mar. 19 mai 2026 — Demandez …", opened),
            NaiveDate::from_ymd_opt(2026, 5, 19)
        );
        assert_eq!(super::day_in_name("4. Si le client conteste", opened), None);
        assert_eq!(super::day_in_name("1. bientôt — x", opened), None);
    }
}
