//! Business days in the shop's timezone: weekends, French public holidays
//! (Easter-based ones computed for any year), the admin's extra closed days
//! and re-opened holidays, and the shipping cutoff.
//!
//! Pure and clock-free: every operation takes the dates it reasons about.
//! Instants stay `DateTime<Utc>` everywhere else; this module is where they
//! become local dates.
//!
//! Counting convention (DESIGN.md): "N business days have passed since day D"
//! counts the business days after D up to and including today.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Days, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;

use crate::config::CalendarConfig;

/// The calendar the rules think in.
#[derive(Debug, Clone)]
pub struct Calendar {
    tz: Tz,
    cutoff: NaiveTime,
    extra_closed: BTreeSet<NaiveDate>,
    extra_open: BTreeSet<NaiveDate>,
}

impl Calendar {
    pub fn new(cfg: &CalendarConfig) -> Self {
        Calendar {
            tz: cfg.timezone,
            cutoff: cfg.cutoff,
            extra_closed: cfg.extra_closed_days.iter().copied().collect(),
            extra_open: cfg.extra_open_days.iter().copied().collect(),
        }
    }

    /// Europe/Paris, 16:00 cutoff, no extra days: the seeds' calendar.
    pub fn france() -> Self {
        Calendar {
            tz: chrono_tz::Europe::Paris,
            cutoff: NaiveTime::from_hms_opt(16, 0, 0).expect("16:00 is a valid time"),
            extra_closed: BTreeSet::new(),
            extra_open: BTreeSet::new(),
        }
    }

    pub fn timezone(&self) -> Tz {
        self.tz
    }

    pub fn cutoff(&self) -> NaiveTime {
        self.cutoff
    }

    /// The local calendar date of an instant.
    pub fn local_date(&self, t: DateTime<Utc>) -> NaiveDate {
        t.with_timezone(&self.tz).date_naive()
    }

    /// Weekends and public holidays are closed, then the admin's overrides
    /// apply (an extra open day wins over a holiday, an extra closed day
    /// closes any day).
    pub fn is_business_day(&self, d: NaiveDate) -> bool {
        if self.extra_closed.contains(&d) {
            return false;
        }
        if self.extra_open.contains(&d) {
            return true;
        }
        !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) && holiday_name(d).is_none()
    }

    /// The first business day strictly after `d`.
    pub fn next_business_day(&self, d: NaiveDate) -> NaiveDate {
        let mut day = d;
        loop {
            day = day.succ_opt().unwrap_or(NaiveDate::MAX);
            if day == NaiveDate::MAX || self.is_business_day(day) {
                return day;
            }
        }
    }

    /// The `n`-th business day after `d` (`n = 0` gives `d` itself).
    pub fn add_business_days(&self, d: NaiveDate, n: u32) -> NaiveDate {
        (0..n).fold(d, |day, _| self.next_business_day(day))
    }

    /// Business days after `since` up to and including `until`; negative
    /// when `until` is before `since` (so that counting is additive).
    pub fn business_days_between(&self, since: NaiveDate, until: NaiveDate) -> i64 {
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
    pub fn due_ship_day(&self, validated: DateTime<Utc>) -> NaiveDate {
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
    pub fn start_of_day(&self, d: NaiveDate) -> DateTime<Utc> {
        self.local_instant(d, NaiveTime::MIN)
    }

    /// The first instant after local day `d` ends.
    pub fn end_of_day(&self, d: NaiveDate) -> DateTime<Utc> {
        self.start_of_day(d.succ_opt().unwrap_or(d))
    }

    /// A local wall-clock time as an instant: in the autumn overlap the
    /// earlier one, in the spring gap the first instant after it.
    pub fn local_instant(&self, d: NaiveDate, t: NaiveTime) -> DateTime<Utc> {
        let naive = d.and_time(t);
        match self.tz.from_local_datetime(&naive) {
            LocalResult::Single(x) => x.with_timezone(&Utc),
            LocalResult::Ambiguous(a, b) => a.min(b).with_timezone(&Utc),
            LocalResult::None => {
                // Walk forward minute by minute out of the gap (at most a
                // couple of hours in any real zone).
                let mut probe = naive;
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
pub fn easter_sunday(year: i32) -> NaiveDate {
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

/// The French public holidays (metropolitan) of `year`, sorted.
pub fn public_holidays(year: i32) -> Vec<(NaiveDate, &'static str)> {
    let fixed = |m: u32, d: u32| NaiveDate::from_ymd_opt(year, m, d);
    let easter = easter_sunday(year);
    let after_easter = |n: u64| easter.checked_add_days(Days::new(n));
    let mut days: Vec<(NaiveDate, &'static str)> = [
        (fixed(1, 1), "Jour de l'an"),
        (after_easter(1), "Lundi de Pâques"),
        (fixed(5, 1), "Fête du Travail"),
        (fixed(5, 8), "Victoire 1945"),
        (after_easter(39), "Ascension"),
        (after_easter(50), "Lundi de Pentecôte"),
        (fixed(7, 14), "Fête nationale"),
        (fixed(8, 15), "Assomption"),
        (fixed(11, 1), "Toussaint"),
        (fixed(11, 11), "Armistice 1918"),
        (fixed(12, 25), "Noël"),
    ]
    .into_iter()
    .filter_map(|(d, name)| Some((d?, name)))
    .collect();
    days.sort();
    days
}

/// The holiday's French name if `d` is a public holiday.
pub fn holiday_name(d: NaiveDate) -> Option<&'static str> {
    let (m, day) = (d.month(), d.day());
    let fixed = match (m, day) {
        (1, 1) => Some("Jour de l'an"),
        (5, 1) => Some("Fête du Travail"),
        (5, 8) => Some("Victoire 1945"),
        (7, 14) => Some("Fête nationale"),
        (8, 15) => Some("Assomption"),
        (11, 1) => Some("Toussaint"),
        (11, 11) => Some("Armistice 1918"),
        (12, 25) => Some("Noël"),
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
        1 => Some("Lundi de Pâques"),
        39 => Some("Ascension"),
        50 => Some("Lundi de Pentecôte"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn design_worked_example() {
        // DESIGN.md: validated Thursday 30 April 2026, on Tuesday 19 May 2026
        // exactly 10 business days have passed (1, 8 and 14 May are holidays).
        let cal = Calendar::france();
        assert_eq!(
            cal.business_days_between(d(2026, 4, 30), d(2026, 5, 19)),
            10
        );
        assert_eq!(cal.business_days_between(d(2026, 4, 30), d(2026, 5, 18)), 9);
    }

    #[test]
    fn holidays_2027() {
        let h = public_holidays(2027);
        assert_eq!(h.len(), 11);
        assert!(h.contains(&(d(2027, 3, 29), "Lundi de Pâques")));
        assert!(h.contains(&(d(2027, 5, 6), "Ascension")));
        assert!(h.contains(&(d(2027, 5, 17), "Lundi de Pentecôte")));
    }
}
