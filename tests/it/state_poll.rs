//! The parcel poll policy, as a table.

use chrono::{DateTime, Duration, TimeZone, Utc};
use colisync::domain::{Carrier, Parcel, TrackingEvent, TrackingSnapshot, TrackingStatus};
use colisync::state::{ParcelRecord, next_poll_at, poll_interval, poll_slot};

fn shipped() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 11, 14, 0, 0).unwrap()
}

fn snapshot(status: TrackingStatus, codes: &[&str], final_: bool) -> TrackingSnapshot {
    TrackingSnapshot {
        fetched_at: shipped(),
        status,
        events: codes
            .iter()
            .map(|c| TrackingEvent {
                code: (*c).into(),
                label: String::new(),
                at: shipped(),
            })
            .collect(),
        is_final: final_,
        product: None,
        info: Default::default(),
    }
}

fn parcel(carrier: Carrier, number: &str, tracking: Option<TrackingSnapshot>) -> Parcel {
    Parcel {
        order_entity_id: 1,
        order_increment_id: "100001".into(),
        shipment_id: 9,
        tracking_number: number.into(),
        carrier,
        shipped_at: shipped(),
        tracking,
    }
}

#[test]
fn poll_interval_table() {
    let h = Duration::hours;
    let d = Duration::days;
    // (age since shipment, polls without news) → interval
    let table = [
        (h(0), 0, h(1)),
        (h(30), 12, h(1)),
        (d(3) - h(1), 40, h(1)),
        (d(3), 0, h(2)),
        (d(3), 1, h(2)),
        (d(4), 2, h(4)),
        (d(4), 3, h(4)),
        (d(5), 4, h(8)),
        (d(6), 6, h(16)),
        (d(7), 8, h(24)),
        (d(20), 500, h(24)),
        (d(20), u32::MAX, h(24)),
    ];
    for (age, unchanged, want) in table {
        assert_eq!(
            poll_interval(age, unchanged),
            want,
            "age {age}, {unchanged} polls unchanged"
        );
    }
}

#[test]
fn who_is_polled_at_all() {
    let now = shipped() + Duration::days(4);
    let in_transit = Some(snapshot(TrackingStatus::InTransit, &["PC1"], false));
    let cases = [
        (
            "never polled: now",
            parcel(Carrier::Colissimo, "6A12345678901", None),
            Some(now),
        ),
        (
            "in transit: later, on its number's slot",
            parcel(Carrier::Colissimo, "6A12345678901", in_transit.clone()),
            Some(poll_slot("6A12345678901", Duration::hours(2), now)),
        ),
        (
            "letter without number: never",
            parcel(Carrier::Letter, "", None),
            None,
        ),
        (
            "lettre suivie (a La Poste number): now",
            parcel(Carrier::Letter, "1L01234567890", None),
            Some(now),
        ),
        (
            // La Poste tracks its own group only (holders 1, 3, 4).
            "another carrier, even with a number of La Poste's shape: never",
            parcel(Carrier::Foreign, "12345678901234", None),
            None,
        ),
        (
            // Maybe a Colissimo parcel under a method nobody mapped.
            "an unrecognised carrier with a number La Poste accepts: now",
            parcel(Carrier::Other, "6A12345678901", None),
            Some(now),
        ),
        (
            // Never sent by the La Poste client: polling it would fail the
            // pass forever (rules judge it as a tracking anomaly).
            "a number La Poste cannot track: never",
            parcel(Carrier::Colissimo, "6A-1234-5678", None),
            None,
        ),
        (
            "a number La Poste can track, as typed in Magento: now",
            parcel(Carrier::Colissimo, " 6a12345678901 ", None),
            Some(now),
        ),
        (
            "no number: never",
            parcel(Carrier::Other, "", in_transit),
            None,
        ),
        (
            "delivered: never again",
            parcel(
                Carrier::Chronopost,
                "XY123456789FR",
                Some(snapshot(TrackingStatus::Delivered, &["DI1", "PC1"], false)),
            ),
            None,
        ),
        (
            "back at the sender (DI2): never again",
            parcel(
                Carrier::Colissimo,
                "6A12345678901",
                Some(snapshot(
                    TrackingStatus::ReturnToSender,
                    &["DI2", "RE1"],
                    false,
                )),
            ),
            None,
        ),
        (
            "returning (RE1): still polled",
            parcel(
                Carrier::Colissimo,
                "6A12345678901",
                Some(snapshot(TrackingStatus::ReturnToSender, &["RE1"], false)),
            ),
            Some(poll_slot("6A12345678901", Duration::hours(2), now)),
        ),
        (
            "isFinal: never again",
            parcel(
                Carrier::Colissimo,
                "6A12345678901",
                Some(snapshot(TrackingStatus::InTransit, &["ET1"], true)),
            ),
            None,
        ),
    ];
    for (what, p, want) in cases {
        assert_eq!(next_poll_at(&p, 0, now), want, "{what}");
    }
}

#[test]
fn unchanged_polls_back_off_and_news_resets() {
    // The next poll is the number's slot for the interval in force (see
    // `poll_slot`), in [interval/2, 3 × interval/2) from the poll.
    let n = "6A12345678901";
    let start = shipped() + Duration::days(5);
    let mut r = ParcelRecord::new(parcel(Carrier::Colissimo, n, None), start);
    assert!(r.is_due(start));
    let transit = snapshot(TrackingStatus::InTransit, &["PC1"], false);
    r.record_poll(transit.clone(), start);
    assert_eq!(r.polls_unchanged, 0);
    assert_eq!(
        r.next_poll_at,
        Some(poll_slot(n, Duration::hours(2), start))
    );
    let mut now = start;
    for _ in 0..4 {
        now += Duration::hours(3);
        r.record_poll(transit.clone(), now);
    }
    assert_eq!(r.polls_unchanged, 4);
    let next = poll_slot(n, Duration::hours(8), now);
    assert_eq!(r.next_poll_at, Some(next));
    assert!(next >= now + Duration::hours(4) && next < now + Duration::hours(12));
    assert!(!r.is_due(next - Duration::seconds(1)));
    assert!(r.is_due(next));
    let moved = snapshot(TrackingStatus::OutForDelivery, &["MD2", "PC1"], false);
    r.record_poll(moved, now);
    assert_eq!((r.polls_unchanged, r.last_change_at), (0, now));
    r.record_poll(
        snapshot(TrackingStatus::Delivered, &["DI1", "MD2", "PC1"], true),
        now,
    );
    assert_eq!(r.next_poll_at, None);
    assert!(!r.is_due(now + Duration::days(365)));
}

fn numbers(count: u32) -> Vec<String> {
    (0..count).map(|i| format!("6A{:011}", i * 7 + 3)).collect()
}

#[test]
fn a_slot_is_half_to_one_and_a_half_intervals_away_and_then_one_interval() {
    let now = shipped() + Duration::days(4);
    for (k, n) in numbers(500).iter().enumerate() {
        for hours in [1, 2, 4, 8, 16, 24] {
            let i = Duration::hours(hours);
            // Polls at odd instants, sub-second ones included.
            let at = now + Duration::seconds(k as i64 * 37) + Duration::milliseconds(k as i64 % 3);
            let slot = poll_slot(n, i, at);
            assert!(
                slot >= at + i / 2 && slot < at + i + i / 2,
                "{n} {hours} h: {slot} from {at}"
            );
            assert_eq!(
                poll_slot(n, i, slot),
                slot + i,
                "polled on its slot: one interval on"
            );
            assert_eq!(poll_slot(n, i, at), slot, "deterministic");
        }
        assert_eq!(
            poll_slot(&format!(" {} ", n.to_lowercase()), Duration::hours(2), now),
            poll_slot(n, Duration::hours(2), now)
        );
    }
}

#[test]
fn parcels_polled_together_spread_over_the_next_interval() {
    // 10,000 parcels polled in one pass (a morning after a night without
    // passes): their next polls fill the 15-minute slices of the next
    // interval about evenly instead of all falling in one pass.
    let now = shipped() + Duration::days(4);
    let i = Duration::hours(2);
    let mut buckets = [0u32; 8];
    for n in numbers(10_000) {
        let slot = poll_slot(&n, i, now);
        let b = ((slot - (now + i / 2)).num_minutes() / 15) as usize;
        buckets[b] += 1;
    }
    let mean = 10_000 / 8;
    assert!(
        buckets.iter().all(|b| *b * 2 <= mean * 3),
        "max ≤ 1.5 × mean: {buckets:?}"
    );
    assert!(buckets.iter().all(|b| *b * 2 >= mean), "{buckets:?}");
}

#[test]
fn a_stored_record_with_an_untrackable_number_is_never_due() {
    // Records written before numbers were checked say "due now" for ever
    // (a failed poll never reschedules): the number decides.
    let now = shipped() + Duration::days(4);
    let mut r = ParcelRecord::new(parcel(Carrier::Colissimo, "6A12345678901", None), now);
    assert!(r.is_due(now));
    r.parcel.tracking_number = "6A-1234-5678".into();
    assert_eq!(r.next_poll_at, Some(now));
    assert!(!r.is_due(now));
}

#[test]
fn a_record_of_an_older_policy_is_polled_once_it_can_be() {
    // Letters were never polled before lettres suivies were: their records
    // were stored with no schedule. Never polled and trackable: due now.
    let now = shipped() + Duration::days(1);
    let mut record = ParcelRecord::new(parcel(Carrier::Letter, "1L01234567890", None), shipped());
    record.next_poll_at = None;
    assert!(record.is_due(now));
    // Once polled, the schedule is the policy's again.
    record.record_poll(snapshot(TrackingStatus::InTransit, &["PC1"], false), now);
    assert_eq!(
        record.next_poll_at,
        Some(poll_slot("1L01234567890", Duration::hours(1), now))
    );
    // A letter without number, or another carrier's parcel, stays unpolled.
    for p in [
        parcel(Carrier::Letter, "", None),
        parcel(Carrier::Foreign, "12345678901234", None),
    ] {
        let mut r = ParcelRecord::new(p, shipped());
        r.next_poll_at = None;
        assert!(!r.is_due(now));
    }
}
