//! Judge and render (ARCHITECTURE.md, step 7): every open order of the
//! snapshot through the rules, each finding rendered to the card it calls
//! for, and the evidence that problems ended. Pure: no clock, no I/O.
//! `explain` runs the same stage on one order, with the rules' trace.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use super::snapshot::Snapshot;
use super::{Engine, PassReport};
use crate::board::CardContent;
use crate::board::render;
use crate::domain::ProblemKey;
use crate::domain::{Order, OrderState, Parcel, TrackingStatus};
use crate::fr::pass::{self as texts, order_state_reason};
use crate::plan::Desired;
use crate::rules::{AdviceSection, Finding, Judge, Judgement};
use crate::state::{CardRecord, CardStatus};

impl Engine {
    /// Every open order of the snapshot through the rules; the cards they
    /// call for, and the problems the snapshot has positive evidence of
    /// having ended (with why): the only ones whose cards get resolved.
    pub(super) fn judge_all(
        &self,
        now: DateTime<Utc>,
        snapshot: &Snapshot,
        report: &mut PassReport,
    ) -> (BTreeMap<ProblemKey, Desired>, BTreeMap<ProblemKey, String>) {
        let judge = Judge::new(&self.calendar, &self.config.rules, &self.classifier, now);
        let parcels_by_order = snapshot.parcels_by_order();
        let mut desired = BTreeMap::new();
        let mut ended = snapshot.forgotten.clone();
        for order in snapshot.orders.values() {
            let parcels = parcels_by_order
                .get(&order.entity_id)
                .cloned()
                .unwrap_or_default();
            report.orders_judged += 1;
            for finding in judge.findings(order, &parcels) {
                *report.findings.entry(finding.rule.as_str()).or_default() += 1;
                let content = self.render(&finding, order, &parcels);
                let fingerprint = render::fingerprint(&content);
                desired.insert(
                    finding.key.clone(),
                    Desired {
                        finding,
                        content,
                        fingerprint,
                        // The rules' cards carry no checklist: only a
                        // procedure followed step by step by a lead does.
                        checklist: None,
                        requested_at: None,
                    },
                );
            }
            ended_problems(order, &parcels, &mut ended);
        }
        (desired, ended)
    }

    /// The orders of the snapshot with nothing left to judge: shipped in
    /// full with every parcel delivered (La Poste's evidence, never an
    /// absence), no finding this pass, every card record of their keys
    /// resolved, and no journaled write pending for them. Nothing can fire
    /// for them again until Magento changes them, which writes them (and
    /// reopens them) again. A returned parcel (`DI2`) is final but not
    /// delivered: its order stays open. So do letters, never "delivered".
    pub(super) fn settled_orders(
        &self,
        snapshot: &Snapshot,
        desired: &BTreeMap<ProblemKey, Desired>,
        records: &BTreeMap<ProblemKey, CardRecord>,
        pending: &BTreeSet<String>,
    ) -> Vec<u64> {
        let mut busy: BTreeSet<&str> = desired.keys().map(ProblemKey::increment_id).collect();
        busy.extend(
            records
                .iter()
                .filter(|(_, r)| r.status != CardStatus::Resolved)
                .map(|(k, _)| k.increment_id()),
        );
        let mut delivered: BTreeMap<u64, bool> = BTreeMap::new();
        for r in snapshot.parcels.values() {
            let d = delivered.entry(r.parcel.order_entity_id).or_insert(true);
            *d &= r.parcel.status() == Some(TrackingStatus::Delivered);
        }
        snapshot
            .orders
            .values()
            .filter(|o| !matches!(o.state, OrderState::Canceled | OrderState::Closed))
            .filter(|o| o.is_fully_shipped() && o.has_shipments())
            .filter(|o| delivered.get(&o.entity_id) == Some(&true))
            .filter(|o| {
                let id = o.increment_id.as_str();
                !busy.contains(id) && !pending.contains(id)
            })
            .map(|o| o.entity_id)
            .collect()
    }

    /// One order through the rules, with the trace of their reasoning
    /// (what `explain` prints).
    pub(crate) fn judge_one(
        &self,
        order: &Order,
        parcels: &[Parcel],
        now: DateTime<Utc>,
    ) -> Judgement {
        Judge::new(&self.calendar, &self.config.rules, &self.classifier, now).judge(order, parcels)
    }

    /// What each procedure says for one order now (`colisync advise`, on
    /// the order and parcels [`Engine::explain`] pulled).
    pub fn advise(
        &self,
        order: &Order,
        parcels: &[Parcel],
        now: DateTime<Utc>,
    ) -> Vec<AdviceSection> {
        Judge::new(&self.calendar, &self.config.rules, &self.classifier, now).advise(order, parcels)
    }

    /// The card a finding of `order` calls for.
    pub(crate) fn render(
        &self,
        finding: &Finding,
        order: &Order,
        parcels: &[Parcel],
    ) -> CardContent {
        let parcel = match &finding.key {
            ProblemKey::Parcel { parcel, .. } => parcels.iter().find(|p| &p.key_part() == parcel),
            ProblemKey::Case { .. } => finding
                .tracking_number
                .as_deref()
                .and_then(|n| parcels.iter().find(|p| p.tracking_number == n)),
            ProblemKey::Order { .. } => None,
        };
        render::render(finding, order, parcel, &self.render_ctx)
    }
}

/// The problems of `order` that its own data says ended, with why (the
/// reasons of the resolve comments, `texts`).
fn ended_problems(order: &Order, parcels: &[Parcel], ended: &mut BTreeMap<ProblemKey, String>) {
    let order_key = ProblemKey::Order {
        increment_id: order.increment_id.clone(),
    };
    if let Some(why) = order_state_reason(order) {
        ended.insert(order_key, why.to_owned());
    } else if order.is_fully_shipped() {
        ended.insert(order_key, texts::ORDER_SHIPPED.to_owned());
    }
    for p in parcels {
        let key = ProblemKey::Parcel {
            increment_id: order.increment_id.clone(),
            parcel: p.key_part(),
        };
        let why = match (p.status(), order_state_reason(order)) {
            (Some(TrackingStatus::Delivered), _) => texts::delivered_reason(p),
            (_, Some(why)) => why,
            _ => continue,
        };
        ended.insert(key, why.to_owned());
    }
}
