//! Business days in the shop's timezone: weekends, French public holidays
//! (Easter-based ones computed for any year), the admin's extra closed days
//! and re-opened holidays, and the shipping cutoff.
//!
//! Pure and clock-free: every operation takes the dates it reasons about.
//! Instants stay `DateTime<Utc>` everywhere else; this module is where they
//! become local dates.
//!
//! Counting convention (docs/rules.md): "N business days have passed since day D"
//! counts the business days after D up to and including today.

use std::collections::BTreeSet;

use chrono::{
    DateTime, Datelike, Days, LocalResult, NaiveDate, NaiveTime, TimeZone, Timelike, Utc, Weekday,
};
use chrono_tz::Tz;

/// The calendar the rules think in.
#[derive(Debug, Clone)]
pub struct Calendar {
    tz: Tz,
    cutoff: NaiveTime,
    extra_closed: BTreeSet<NaiveDate>,
    extra_open: BTreeSet<NaiveDate>,
}

impl Calendar {
    /// The calendar of `tz` with the shipping `cutoff` and the admin's
    /// overrides (`Calendar::new` in `config` builds it from `[calendar]`,
    /// and `config::defaults` owns the defaults).
    pub(crate) fn from_parts(
        tz: Tz,
        cutoff: NaiveTime,
        extra_closed: impl IntoIterator<Item = NaiveDate>,
        extra_open: impl IntoIterator<Item = NaiveDate>,
    ) -> Self {
        Calendar {
            tz,
            cutoff,
            extra_closed: extra_closed.into_iter().collect(),
            extra_open: extra_open.into_iter().collect(),
        }
    }

    pub(crate) fn timezone(&self) -> Tz {
        self.tz
    }

    pub(crate) fn cutoff(&self) -> NaiveTime {
        self.cutoff
    }

    /// The local calendar date of an instant.
    pub(crate) fn local_date(&self, t: DateTime<Utc>) -> NaiveDate {
        t.with_timezone(&self.tz).date_naive()
    }

    /// Weekends and public holidays are closed, then the admin's overrides
    /// apply (an extra open day wins over a holiday, an extra closed day
    /// closes any day).
    pub(crate) fn is_business_day(&self, d: NaiveDate) -> bool {
        if self.extra_closed.contains(&d) {
            return false;
        }
        if self.extra_open.contains(&d) {
            return true;
        }
        !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) && holiday(d).is_none()
    }

    /// The first business day strictly after `d`.
    pub(crate) fn next_business_day(&self, d: NaiveDate) -> NaiveDate {
        let mut day = d;
        loop {
            day = day.succ_opt().unwrap_or(NaiveDate::MAX);
            if day == NaiveDate::MAX || self.is_business_day(day) {
                return day;
            }
        }
    }

    /// The `n`-th business day after `d` (`n = 0` gives `d` itself).
    pub(crate) fn add_business_days(&self, d: NaiveDate, n: u32) -> NaiveDate {
        (0..n).fold(d, |day, _| self.next_business_day(day))
    }

    /// Business days after `since` up to and including `until`; negative
    /// when `until` is before `since` (so that counting is additive).
    pub(crate) fn business_days_between(&self, since: NaiveDate, until: NaiveDate) -> i64 {
        if until < since {
            return -self.business_days_between(until, since);
        }
        since
            .iter_days()
            .skip(1)
            .take_while(|d| *d <= until)
            .filter(|d| self.is_business_day(*d))
            .count() as i64
    }

    /// The day an order validated at `validated` must ship: the validation
    /// day if it is a business day and validation came before the cutoff
    /// (local time), else the next business day.
    pub(crate) fn due_ship_day(&self, validated: DateTime<Utc>) -> NaiveDate {
        let local = validated.with_timezone(&self.tz);
        let day = local.date_naive();
        if self.is_business_day(day) && local.time() < self.cutoff {
            day
        } else {
            self.next_business_day(day)
        }
    }

    /// The first instant of local day `d`. On a DST change at midnight the
    /// earliest existing local time is used.
    pub(crate) fn start_of_day(&self, d: NaiveDate) -> DateTime<Utc> {
        self.local_instant(d, NaiveTime::MIN)
    }

    /// The first instant after local day `d` ends.
    pub(crate) fn end_of_day(&self, d: NaiveDate) -> DateTime<Utc> {
        self.start_of_day(d.succ_opt().unwrap_or(d))
    }

    /// A local wall-clock time as an instant: in the autumn overlap the
    /// earlier one, in the spring gap the first instant after it.
    pub(crate) fn local_instant(&self, d: NaiveDate, t: NaiveTime) -> DateTime<Utc> {
        let naive = d.and_time(t);
        match self.tz.from_local_datetime(&naive) {
            LocalResult::Single(x) => x.with_timezone(&Utc),
            LocalResult::Ambiguous(a, b) => a.min(b).with_timezone(&Utc),
            LocalResult::None => {
                // Walk forward out of the gap minute by minute from the
                // start of the minute, so that 02:30:30 in the spring gap
                // gives 03:00:00, the gap's end, not 03:00:30. Gaps last at
                // most a couple of hours in any real zone.
                let mut probe =
                    d.and_time(NaiveTime::from_hms_opt(t.hour(), t.minute(), 0).unwrap_or(t));
                for _ in 0..(24 * 60) {
                    probe += chrono::Duration::minutes(1);
                    if let Some(x) = self.tz.from_local_datetime(&probe).earliest() {
                        return x.with_timezone(&Utc);
                    }
                }
                Utc.from_utc_datetime(&naive)
            }
        }
    }

    /// Admin-configured closed days in `year`.
    pub fn extra_closed_days(&self, year: i32) -> impl Iterator<Item = NaiveDate> + '_ {
        self.extra_closed
            .iter()
            .copied()
            .filter(move |d| d.year() == year)
    }

    /// Admin-configured re-opened days in `year`.
    pub fn extra_open_days(&self, year: i32) -> impl Iterator<Item = NaiveDate> + '_ {
        self.extra_open
            .iter()
            .copied()
            .filter(move |d| d.year() == year)
    }
}

/// Easter Sunday by the anonymous Gregorian algorithm (Meeus/Jones/Butcher).
///
/// Panics if `year` is outside what `NaiveDate` can represent (±262 143);
/// callers that take a year from outside check [`is_supported_year`] first.
pub(crate) fn easter_sunday(year: i32) -> NaiveDate {
    let a = year.rem_euclid(19);
    let b = year.div_euclid(100);
    let c = year.rem_euclid(100);
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32)
        .expect("the Easter algorithm yields a valid March or April date")
}

/// Years whose holidays this module computes: the Gregorian calendar (the
/// Easter algorithm assumes it) up to what `NaiveDate` represents.
pub(crate) fn is_supported_year(year: i32) -> bool {
    (1583..=200_000).contains(&year)
}

/// A French public holiday (metropolitan). Its French name is
/// [`Holiday::name_fr`] (in `crate::fr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Holiday {
    NewYear,
    EasterMonday,
    LabourDay,
    VictoryInEurope,
    Ascension,
    WhitMonday,
    BastilleDay,
    Assumption,
    AllSaints,
    Armistice,
    Christmas,
}

/// The French public holidays (metropolitan) of `year`, sorted; empty for a
/// year outside [`is_supported_year`].
pub fn public_holidays(year: i32) -> Vec<(NaiveDate, Holiday)> {
    if !is_supported_year(year) {
        return Vec::new();
    }
    let fixed = |m: u32, d: u32| NaiveDate::from_ymd_opt(year, m, d);
    let easter = easter_sunday(year);
    let after_easter = |n: u64| easter.checked_add_days(Days::new(n));
    let mut days: Vec<(NaiveDate, Holiday)> = [
        (fixed(1, 1), Holiday::NewYear),
        (after_easter(1), Holiday::EasterMonday),
        (fixed(5, 1), Holiday::LabourDay),
        (fixed(5, 8), Holiday::VictoryInEurope),
        (after_easter(39), Holiday::Ascension),
        (after_easter(50), Holiday::WhitMonday),
        (fixed(7, 14), Holiday::BastilleDay),
        (fixed(8, 15), Holiday::Assumption),
        (fixed(11, 1), Holiday::AllSaints),
        (fixed(11, 11), Holiday::Armistice),
        (fixed(12, 25), Holiday::Christmas),
    ]
    .into_iter()
    .filter_map(|(d, h)| Some((d?, h)))
    .collect();
    days.sort();
    days
}

/// The holiday `d` is, if it is one.
pub(crate) fn holiday(d: NaiveDate) -> Option<Holiday> {
    let (m, day) = (d.month(), d.day());
    let fixed = match (m, day) {
        (1, 1) => Some(Holiday::NewYear),
        (5, 1) => Some(Holiday::LabourDay),
        (5, 8) => Some(Holiday::VictoryInEurope),
        (7, 14) => Some(Holiday::BastilleDay),
        (8, 15) => Some(Holiday::Assumption),
        (11, 1) => Some(Holiday::AllSaints),
        (11, 11) => Some(Holiday::Armistice),
        (12, 25) => Some(Holiday::Christmas),
        _ => None,
    };
    if fixed.is_some() {
        return fixed;
    }
    // Easter-based holidays fall between 23 March and 14 June.
    if !(3..=6).contains(&m) {
        return None;
    }
    let offset = (d - easter_sunday(d.year())).num_days();
    match offset {
        1 => Some(Holiday::EasterMonday),
        39 => Some(Holiday::Ascension),
        50 => Some(Holiday::WhitMonday),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn with_extra(closed: &[NaiveDate], open: &[NaiveDate]) -> Calendar {
        Calendar::from_parts(
            chrono_tz::Europe::Paris,
            NaiveTime::from_hms_opt(16, 0, 0).unwrap(),
            closed.iter().copied(),
            open.iter().copied(),
        )
    }

    /// The seeds' calendar (the defaults live in `config`, out of reach of
    /// this module).
    fn france() -> Calendar {
        with_extra(&[], &[])
    }

    #[test]
    fn design_worked_example() {
        // docs/rules.md: validated Thursday 30 April 2026, on Tuesday 19 May 2026
        // exactly 10 business days have passed (1, 8 and 14 May are holidays).
        let cal = france();
        assert_eq!(
            cal.business_days_between(d(2026, 4, 30), d(2026, 5, 19)),
            10
        );
        assert_eq!(cal.business_days_between(d(2026, 4, 30), d(2026, 5, 18)), 9);
        assert_eq!(cal.add_business_days(d(2026, 4, 30), 10), d(2026, 5, 19));
    }

    #[test]
    fn holidays_2027() {
        let h = public_holidays(2027);
        let expected = [
            (d(2027, 1, 1), Holiday::NewYear),
            (d(2027, 3, 29), Holiday::EasterMonday),
            (d(2027, 5, 1), Holiday::LabourDay),
            (d(2027, 5, 6), Holiday::Ascension),
            (d(2027, 5, 8), Holiday::VictoryInEurope),
            (d(2027, 5, 17), Holiday::WhitMonday),
            (d(2027, 7, 14), Holiday::BastilleDay),
            (d(2027, 8, 15), Holiday::Assumption),
            (d(2027, 11, 1), Holiday::AllSaints),
            (d(2027, 11, 11), Holiday::Armistice),
            (d(2027, 12, 25), Holiday::Christmas),
        ];
        assert_eq!(h, expected);
        for (day, h) in expected {
            assert_eq!(holiday(day), Some(h));
        }
    }

    #[test]
    fn easter_for_known_years() {
        for (y, m, day) in [
            (2008, 3, 23),
            (2011, 4, 24),
            (2019, 4, 21),
            (2024, 3, 31),
            (2025, 4, 20),
            (2026, 4, 5),
            (2027, 3, 28),
            (2038, 4, 25),
            (2285, 3, 22),
        ] {
            assert_eq!(easter_sunday(y), d(y, m, day), "Easter {y}");
        }
    }

    #[test]
    fn unsupported_years_give_no_holidays_instead_of_panicking() {
        assert!(public_holidays(262_144).is_empty());
        assert!(public_holidays(1000).is_empty());
        assert_eq!(public_holidays(1583).len(), 11);
    }

    #[test]
    fn extra_closed_and_open_days() {
        // Whit Monday 2027 re-opened, Christmas Eve 2026 (a Thursday) closed.
        let cal = with_extra(&[d(2026, 12, 24)], &[d(2027, 5, 17)]);
        assert!(cal.is_business_day(d(2027, 5, 17)));
        assert!(!france().is_business_day(d(2027, 5, 17)));
        assert!(!cal.is_business_day(d(2026, 12, 24)));
        assert_eq!(cal.next_business_day(d(2026, 12, 23)), d(2026, 12, 28));
        // Friday 14 May 2027 → Monday 17 May is open again.
        assert_eq!(cal.next_business_day(d(2027, 5, 14)), d(2027, 5, 17));
        assert_eq!(france().next_business_day(d(2027, 5, 14)), d(2027, 5, 18));
        assert_eq!(
            cal.extra_closed_days(2026).collect::<Vec<_>>(),
            [d(2026, 12, 24)]
        );
        assert_eq!(cal.extra_open_days(2026).count(), 0);
        // A Saturday can be opened too (inventory catch-up).
        let sat = with_extra(&[], &[d(2026, 6, 6)]);
        assert!(sat.is_business_day(d(2026, 6, 6)));
    }

    #[test]
    fn due_ship_day_cutoff_in_winter_and_summer_time() {
        let cal = france();
        // Friday 27 March 2026, CET (UTC+1): 15:59 and 16:01 local.
        assert_eq!(
            cal.due_ship_day(utc("2026-03-27T14:59:00Z")),
            d(2026, 3, 27)
        );
        assert_eq!(
            cal.due_ship_day(utc("2026-03-27T15:01:00Z")),
            d(2026, 3, 30)
        );
        // Monday 30 March 2026, the day after the switch, CEST (UTC+2): a
        // fixed +1 offset would call 14:01 UTC "15:01" and be wrong.
        assert_eq!(
            cal.due_ship_day(utc("2026-03-30T13:59:00Z")),
            d(2026, 3, 30)
        );
        assert_eq!(
            cal.due_ship_day(utc("2026-03-30T14:01:00Z")),
            d(2026, 3, 31)
        );
        // Friday 23 October 2026, still CEST.
        assert_eq!(
            cal.due_ship_day(utc("2026-10-23T13:59:00Z")),
            d(2026, 10, 23)
        );
        assert_eq!(
            cal.due_ship_day(utc("2026-10-23T14:01:00Z")),
            d(2026, 10, 26)
        );
        // Monday 26 October 2026, back to CET.
        assert_eq!(
            cal.due_ship_day(utc("2026-10-26T14:59:00Z")),
            d(2026, 10, 26)
        );
        assert_eq!(
            cal.due_ship_day(utc("2026-10-26T15:01:00Z")),
            d(2026, 10, 27)
        );
        // Exactly 16:00 is not before the cutoff.
        assert_eq!(
            cal.due_ship_day(utc("2026-10-26T15:00:00Z")),
            d(2026, 10, 27)
        );
        // Friday 23:30 UTC is already Saturday in Paris: due Monday.
        assert_eq!(
            cal.due_ship_day(utc("2026-03-27T23:30:00Z")),
            d(2026, 3, 30)
        );
        // Validated on a holiday morning (Ascension 2026): next business day.
        assert_eq!(
            cal.due_ship_day(utc("2026-05-14T08:00:00Z")),
            d(2026, 5, 15)
        );
    }

    #[test]
    fn local_instant_in_the_spring_gap_and_autumn_overlap() {
        let cal = france();
        // 29 March 2026: 02:00-03:00 does not exist; the gap ends at 03:00
        // CEST = 01:00 UTC.
        let t = |h, m, s| NaiveTime::from_hms_opt(h, m, s).unwrap();
        assert_eq!(
            cal.local_instant(d(2026, 3, 29), t(2, 30, 0)),
            utc("2026-03-29T01:00:00Z")
        );
        assert_eq!(
            cal.local_instant(d(2026, 3, 29), t(2, 30, 30)),
            utc("2026-03-29T01:00:00Z")
        );
        assert_eq!(
            cal.local_instant(d(2026, 3, 29), t(3, 0, 0)),
            utc("2026-03-29T01:00:00Z")
        );
        // 25 October 2026: 02:30 happens twice; the earlier is CEST.
        assert_eq!(
            cal.local_instant(d(2026, 10, 25), t(2, 30, 0)),
            utc("2026-10-25T00:30:00Z")
        );
        // Days of 23 and 25 hours.
        assert_eq!(
            cal.start_of_day(d(2026, 3, 29)),
            utc("2026-03-28T23:00:00Z")
        );
        assert_eq!(cal.end_of_day(d(2026, 3, 29)), utc("2026-03-29T22:00:00Z"));
        assert_eq!(
            cal.start_of_day(d(2026, 10, 25)),
            utc("2026-10-24T22:00:00Z")
        );
        assert_eq!(cal.end_of_day(d(2026, 10, 25)), utc("2026-10-25T23:00:00Z"));
        // Local date across the switch.
        assert_eq!(cal.local_date(utc("2026-10-25T22:59:59Z")), d(2026, 10, 25));
        assert_eq!(cal.local_date(utc("2026-10-25T23:00:00Z")), d(2026, 10, 26));
    }

    /// A day between 2000 and 2060.
    fn day() -> impl Strategy<Value = NaiveDate> {
        (0u64..22_000).prop_map(|n| d(2000, 1, 1) + Days::new(n))
    }

    /// The French calendar with a few random overrides.
    fn calendar() -> impl Strategy<Value = Calendar> {
        (
            proptest::collection::vec(day(), 0..20),
            proptest::collection::vec(day(), 0..20),
        )
            .prop_map(|(closed, open)| with_extra(&closed, &open))
    }

    proptest! {
        #[test]
        fn counting_is_additive(cal in calendar(), a in day(), b in day(), c in day()) {
            prop_assert_eq!(
                cal.business_days_between(a, b) + cal.business_days_between(b, c),
                cal.business_days_between(a, c)
            );
        }

        #[test]
        fn next_business_day_is_the_first_one(cal in calendar(), a in day()) {
            let next = cal.next_business_day(a);
            prop_assert!(next > a);
            prop_assert!(cal.is_business_day(next));
            for between in a.iter_days().skip(1).take_while(|x| *x < next) {
                prop_assert!(!cal.is_business_day(between));
            }
            prop_assert_eq!(cal.business_days_between(a, next), 1);
        }

        #[test]
        fn add_business_days_agrees_with_counting(cal in calendar(), a in day(), n in 0u32..60) {
            let later = cal.add_business_days(a, n);
            prop_assert_eq!(cal.business_days_between(a, later), i64::from(n));
            if n > 0 {
                prop_assert!(cal.is_business_day(later));
            }
        }

        #[test]
        fn due_ship_day_is_a_business_day_not_before_validation(
            cal in calendar(),
            secs in 946_684_800i64..2_800_000_000,
        ) {
            let t = DateTime::from_timestamp(secs, 0).unwrap();
            let due = cal.due_ship_day(t);
            prop_assert!(cal.is_business_day(due));
            prop_assert!(due >= cal.local_date(t));
        }
    }
}
