//! `explain`: the pass's pull and judge stages for one order, with the
//! rules' trace. The order is read from Magento (the local snapshot when
//! Magento cannot be asked), its parcels polled as the pass polls them (only
//! those the pass would poll now; a refused number is unknown to La Poste, a
//! refused key said once), judged and rendered as the pass does. Writes
//! nothing: `explain` works on a copy of the state.

use chrono::{DateTime, Utc};

use super::Engine;
use super::error::PassError;
use super::pull::{Polled, poll};
use crate::domain::ProblemKey;
use crate::domain::{self, Order, Parcel};
use crate::rules::Judgement;
use crate::sources::magento::MagentoError;
use crate::state::{CardRecord, ParcelRecord};
use crate::tracking::laposte::TrackError;

/// One order as the pass would judge it now.
#[derive(Debug)]
pub struct Explained {
    pub order: Order,
    pub parcels: Vec<Parcel>,
    /// What could not be asked, in the order it happened.
    pub notes: Vec<Note>,
    pub judgement: Judgement,
    /// The card of each finding, in the findings' order.
    pub cards: Vec<ExplainedCard>,
}

/// Something `explain` had to do without.
#[derive(Debug)]
pub enum Note {
    /// Magento could not be asked: the local snapshot's order is used.
    MagentoUnreachable(MagentoError),
    /// La Poste refuses the number: taken as unknown to La Poste.
    NumberRefused { number: String, message: String },
    /// La Poste refused the API key (said once for all the numbers).
    KeyRefused(TrackError),
    /// La Poste could not be asked for this number.
    NotAsked { number: String, error: TrackError },
    /// The parcel just noted is judged on the tracking known locally.
    LocalTracking,
}

/// The card a finding calls for, and what the state knows of it.
#[derive(Debug)]
pub struct ExplainedCard {
    pub key: ProblemKey,
    pub list: String,
    pub title: String,
    pub record: Option<CardRecord>,
}

impl Engine {
    /// Pull and judge one order by its increment id, with the trace.
    pub async fn explain(
        &self,
        increment_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Explained, PassError> {
        let mut notes = Vec::new();
        let order = match self.magento.order_by_increment_id(increment_id).await {
            Ok(Some(order)) => order,
            Ok(None) => return Err(PassError::NoSuchOrder(increment_id.to_owned())),
            Err(e) => match self.snapshot_order(increment_id) {
                Some(order) => {
                    notes.push(Note::MagentoUnreachable(e));
                    order
                }
                None => {
                    return Err(PassError::magento(
                        format!("fetching order {increment_id}"),
                        e,
                    ));
                }
            },
        };
        let mut parcels = domain::parcels_of(&order, &self.classifier);
        // Only the parcels the pass polls (a lettre suivie is, a letter
        // without number or another carrier's parcel is not).
        let numbers: Vec<String> = parcels
            .iter()
            .filter(|p| ParcelRecord::new((*p).clone(), now).is_due(now))
            .map(|p| p.tracking_number.clone())
            .collect();
        if !numbers.is_empty() {
            for (number, polled) in poll(&self.laposte, &numbers, now).await {
                let Some(parcel) = parcels
                    .iter_mut()
                    .find(|p| p.tracking_number.eq_ignore_ascii_case(&number))
                else {
                    continue;
                };
                let failed = match polled {
                    Polled::Tracked(snap) => {
                        parcel.tracking = Some(snap);
                        continue;
                    }
                    Polled::Refused { snapshot, message } => {
                        notes.push(Note::NumberRefused { number, message });
                        parcel.tracking = Some(snapshot);
                        continue;
                    }
                    Polled::KeyRefused { error, first } => first.then_some(Note::KeyRefused(error)),
                    Polled::Failed(error) => Some(Note::NotAsked { number, error }),
                };
                notes.extend(failed);
                let known = self
                    .state
                    .parcel(&crate::state::parcel_key(parcel))
                    .ok()
                    .flatten();
                if let Some(record) = known {
                    parcel.tracking = record.parcel.tracking;
                    notes.push(Note::LocalTracking);
                }
            }
        }
        let judgement = self.judge_one(&order, &parcels, now);
        let cards = judgement
            .findings
            .iter()
            .map(|finding| ExplainedCard {
                key: finding.key.clone(),
                list: finding.list.clone(),
                title: self.render(finding, &order, &parcels).title,
                record: self.state.card(&finding.key).ok().flatten(),
            })
            .collect();
        Ok(Explained {
            order,
            parcels,
            notes,
            judgement,
            cards,
        })
    }

    /// The order of the state's snapshot with this increment id.
    fn snapshot_order(&self, increment_id: &str) -> Option<Order> {
        self.state
            .open_orders()
            .ok()?
            .into_iter()
            .find(|o| o.increment_id == increment_id)
    }
}
