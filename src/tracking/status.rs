//! La Poste event codes → normalised tracking status (API-NOTES.md table).
//!
//! Pure. The same codes serve tracked letters, Colissimo and Chronopost.
//! A parcel once returning stays returning, whatever transit events follow:
//! the whole history is looked at, not only the last event.

use crate::domain::{TrackingEvent, TrackingStatus};

/// What one event code means on its own. Unknown codes mean "in transit"
/// and are reported through [`is_known_code`] so that callers can log them.
pub fn status_of_code(code: &str) -> TrackingStatus {
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

/// Whether the code is one of API-NOTES.md's table.
pub fn is_known_code(code: &str) -> bool {
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
}
