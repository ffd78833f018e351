//! La Poste event codes → normalised tracking status (docs/apis.md).
//!
//! Pure. The same codes serve tracked letters, Colissimo and Chronopost.
//! A parcel once returning stays returning, whatever transit events follow:
//! the whole history is looked at, not only the last event. A parcel La
//! Poste calls final (`isFinal`) is judged final whatever its last code.

use crate::domain::{TrackingEvent, TrackingStatus};

/// What one event code means on its own. Unknown codes mean "in transit"
/// and are reported through [`is_known_code`] so that callers can log them.
pub(crate) fn status_of_code(code: &str) -> TrackingStatus {
    match code {
        "DR1" => TrackingStatus::InfoReceived,
        "MD2" => TrackingStatus::OutForDelivery,
        "AG1" => TrackingStatus::AwaitingPickup,
        "ND1" | "PB1" | "DO3" => TrackingStatus::Problem,
        "RE1" | "DI2" => TrackingStatus::ReturnToSender,
        "DI1" => TrackingStatus::Delivered,
        // PC1, PC2, ET1-ET4, EP1, DO1, DO2, PB2 and anything unknown.
        _ => TrackingStatus::InTransit,
    }
}

/// Whether the code is one of docs/apis.md's table.
pub(crate) fn is_known_code(code: &str) -> bool {
    matches!(
        code,
        "DR1"
            | "PC1"
            | "PC2"
            | "ET1"
            | "ET2"
            | "ET3"
            | "ET4"
            | "EP1"
            | "DO1"
            | "DO2"
            | "PB2"
            | "MD2"
            | "AG1"
            | "ND1"
            | "PB1"
            | "DO3"
            | "RE1"
            | "DI1"
            | "DI2"
    )
}

/// The parcel's status from its events (newest first). No events at all
/// means the carrier does not know the number yet.
pub fn normalise(events_newest_first: &[TrackingEvent]) -> TrackingStatus {
    let Some(last) = events_newest_first.first() else {
        return TrackingStatus::Unknown;
    };
    // DI2 (delivered back to the sender) is final and wins over everything;
    // a parcel that ever started returning stays returning.
    if events_newest_first
        .iter()
        .any(|e| status_of_code(&e.code) == TrackingStatus::ReturnToSender)
    {
        return TrackingStatus::ReturnToSender;
    }
    status_of_code(&last.code)
}

/// The parcel's status from its events (newest first) and La Poste's
/// `isFinal`, what the client stores.
///
/// Swagger SUIVI (Suivi-1.0.0, `shipmentPropPub.isFinal`) documents the flag
/// as "Is object delivered?": a final parcel is over, whatever code its last
/// event carries (La Poste adds codes the table above does not know; such a
/// parcel would otherwise read "in transit" for ever, and a delay card
/// would never end). Final after a return event (RE1, DI2) means it went
/// back to the sender, not to the customer.
pub(crate) fn normalise_snapshot(
    events_newest_first: &[TrackingEvent],
    is_final: bool,
) -> TrackingStatus {
    let status = normalise(events_newest_first);
    if !is_final {
        return status;
    }
    match status {
        TrackingStatus::ReturnToSender => TrackingStatus::ReturnToSender,
        _ => TrackingStatus::Delivered,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn ev(code: &str, hour: u32) -> TrackingEvent {
        TrackingEvent {
            code: code.into(),
            label: String::new(),
            at: Utc.with_ymd_and_hms(2026, 5, 4, hour, 0, 0).unwrap(),
        }
    }

    #[test]
    fn table() {
        use TrackingStatus::*;
        let cases: &[(&[&str], TrackingStatus)] = &[
            (&[], Unknown),
            (&["DR1"], InfoReceived),
            (&["PC1", "DR1"], InTransit),
            (&["ET3", "PC1"], InTransit),
            (&["MD2", "ET1"], OutForDelivery),
            (&["AG1", "MD2"], AwaitingPickup),
            (&["ND1", "MD2"], Problem),
            (&["PB1"], Problem),
            (&["DO3"], Problem),
            (&["PB2", "PB1"], InTransit),
            (&["DI1", "MD2"], Delivered),
            (&["RE1", "ND1"], ReturnToSender),
            (&["DI2", "RE1"], ReturnToSender),
            // Once returning, stays returning.
            (&["ET1", "RE1", "ND1"], ReturnToSender),
            (&["ZZ9", "PC1"], InTransit),
        ];
        for (codes, want) in cases {
            let events: Vec<_> = codes
                .iter()
                .enumerate()
                .map(|(i, c)| ev(c, 20 - i as u32))
                .collect();
            assert_eq!(normalise(&events), *want, "{codes:?}");
        }
        assert!(!is_known_code("ZZ9"));
        assert!(is_known_code("ET4"));
    }

    #[test]
    fn final_parcels() {
        use TrackingStatus::*;
        // (codes newest first, isFinal, status)
        let cases: &[(&[&str], bool, TrackingStatus)] = &[
            // Not final: the events alone decide, as `normalise`.
            (&[], false, Unknown),
            (&["ZZ9", "MD2"], false, InTransit),
            (&["DI1", "MD2"], false, Delivered),
            (&["ND1", "MD2"], false, Problem),
            (&["DI2", "RE1"], false, ReturnToSender),
            // Final: delivered, whatever the last code says...
            (&["DI1", "MD2"], true, Delivered),
            (&["ZZ9", "MD2"], true, Delivered),
            (&["ET1", "PC1"], true, Delivered),
            (&["AG1", "MD2"], true, Delivered),
            (&["ND1", "MD2"], true, Delivered),
            (&[], true, Delivered),
            // ...unless it went back to the sender.
            (&["DI2", "RE1", "ND1"], true, ReturnToSender),
            (&["ZZ9", "RE1"], true, ReturnToSender),
            (&["ZZ9", "DI2"], true, ReturnToSender),
            (&["DI1", "ET1", "RE1"], true, ReturnToSender),
        ];
        for (codes, is_final, want) in cases {
            let events: Vec<_> = codes
                .iter()
                .enumerate()
                .map(|(i, c)| ev(c, 20 - i as u32))
                .collect();
            assert_eq!(
                normalise_snapshot(&events, *is_final),
                *want,
                "{codes:?} final={is_final}"
            );
        }
    }
}
