//! French formatting of dates and delays for facts and cards, by hand: the
//! team reads « lun. 4 mai 2026 à 10:15 », in the shop's timezone, and
//! chrono's localisation would pull in a feature and a locale database for
//! a dozen words.

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc, Weekday};
use chrono_tz::Tz;

const MONTHS: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

fn weekday(d: NaiveDate) -> &'static str {
    match d.weekday() {
        Weekday::Mon => "lun.",
        Weekday::Tue => "mar.",
        Weekday::Wed => "mer.",
        Weekday::Thu => "jeu.",
        Weekday::Fri => "ven.",
        Weekday::Sat => "sam.",
        Weekday::Sun => "dim.",
    }
}

/// The weekday's full name (`lundi`), e.g. for a re-opened day that is
/// not a holiday in `colisync calendar`.
pub fn weekday_name(d: NaiveDate) -> &'static str {
    match d.weekday() {
        Weekday::Mon => "lundi",
        Weekday::Tue => "mardi",
        Weekday::Wed => "mercredi",
        Weekday::Thu => "jeudi",
        Weekday::Fri => "vendredi",
        Weekday::Sat => "samedi",
        Weekday::Sun => "dimanche",
    }
}

/// `lun. 4 mai 2026`
pub fn date(d: NaiveDate) -> String {
    let month = MONTHS[d.month0() as usize];
    format!("{} {} {} {}", weekday(d), d.day(), month, d.year())
}

/// `lun. 4 mai 2026 à 10:15`, in `tz`.
pub fn datetime(t: DateTime<Utc>, tz: Tz) -> String {
    let local = t.with_timezone(&tz);
    format!(
        "{} à {:02}:{:02}",
        date(local.date_naive()),
        local.hour(),
        local.minute()
    )
}

/// `lun. 4 mai 2026 à 10:15:07`, in `tz`: to the second, for the stamp that
/// makes each of colisync's comments unique.
pub fn datetime_seconds(t: DateTime<Utc>, tz: Tz) -> String {
    let local = t.with_timezone(&tz);
    format!("{}:{:02}", datetime(t, tz), local.second())
}

/// A quantity as the team writes it: `2`, `1,5` (Magento sends decimals).
pub fn quantity(q: f64) -> String {
    if q.fract() == 0.0 && q.abs() < 1e15 {
        format!("{}", q as i64)
    } else {
        format!("{q}").replace('.', ",")
    }
}

/// `3 j ouvrés`, `1 j ouvré`
pub fn business_days(n: i64) -> String {
    if n.abs() <= 1 {
        format!("{n} j ouvré")
    } else {
        format!("{n} j ouvrés")
    }
}

/// English date for traces: `Mon 4 May 2026`.
pub fn date_en(d: NaiveDate) -> String {
    d.format("%a %-d %b %Y").to_string()
}

/// English instant for traces, local: `Mon 4 May 2026 10:15`.
pub fn datetime_en(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz)
        .format("%a %-d %b %Y %H:%M")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn formats() {
        let d = NaiveDate::from_ymd_opt(2026, 8, 15).unwrap();
        assert_eq!(date(d), "sam. 15 août 2026");
        assert_eq!(date_en(d), "Sat 15 Aug 2026");
        // 14:05 UTC in summer is 16:05 in Paris.
        let t = Utc.with_ymd_and_hms(2026, 5, 4, 14, 5, 0).unwrap();
        assert_eq!(
            datetime(t, chrono_tz::Europe::Paris),
            "lun. 4 mai 2026 à 16:05"
        );
        assert_eq!(business_days(1), "1 j ouvré");
        assert_eq!(business_days(3), "3 j ouvrés");
    }
}
