//! The card lines that show what La Poste says besides its events: the
//! pickup point a parcel waits at, and the carrier's estimated delivery
//! with each change of it (stored by the state's poll, so the lines are the
//! same from one pass to the next until the carrier changes its mind).

use chrono_tz::Tz;

use super::md;
use crate::domain::{Parcel, TrackingStatus};
use crate::fr::{self, stages};

/// Zero to two Markdown lines for the card's head.
pub(super) fn lines(p: &Parcel, tz: Tz) -> Vec<String> {
    let Some(snap) = p.tracking.as_ref() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Some(point) = &snap.info.removal_point {
        out.push(stages::card_removal_point(&md(&point.label_fr())));
    }
    // Once the carrier is done (delivered, or back at the sender) its
    // estimate says nothing more.
    let delivered = snap.status == TrackingStatus::Delivered || snap.is_final;
    if let (Some(day), false) = (snap.info.estimated_on, delivered) {
        let earlier: Vec<String> = snap
            .info
            .estimate_history
            .iter()
            .filter(|c| c.estimate != day)
            .map(|c| {
                stages::card_earlier_estimate(&fr::date(c.estimate), &fr::datetime(c.seen_at, tz))
            })
            .collect();
        out.push(stages::card_estimate(&fr::date(day), &earlier));
    }
    out
}
