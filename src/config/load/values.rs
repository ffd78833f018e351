//! Value checks, pure: cron, times, dates, URLs, header-safe secrets,
//! board references.

use super::*;

/// Parses the cron expression the way the `cron` crate will run it, with the
/// two traps of that crate turned into errors the admin can act on.
pub(super) fn parse_schedule(text: &str, tz: Tz) -> Result<cron::Schedule, String> {
    let fields: Vec<&str> = text.split_whitespace().collect();
    if !text.trim_start().starts_with('@') {
        if fields.len() == 5 {
            return Err(format!(
                "{text:?} has 5 fields: colisync's cron needs six or seven fields, seconds first \
                 (e.g. \"0 {text}\" for the same times at second 0)"
            ));
        }
        if fields.len() < 6 || fields.len() > 7 {
            return Err(format!(
                "{text:?} has {} fields: write six or seven fields, seconds first: \
                 sec min hour day-of-month month day-of-week [year], e.g. \"{}\"",
                fields.len(),
                defaults::SCHEDULE
            ));
        }
        // The cron crate counts Sunday = 1, unlike crontab (Monday = 1):
        // "1-5" would silently mean Sunday to Thursday. Only names are
        // unambiguous. Digits after '/' are a step, not a day.
        let dow = fields[5];
        let days_part: String = dow
            .split(',')
            .map(|item| item.split('/').next().unwrap_or(""))
            .collect();
        if days_part.chars().any(|c| c.is_ascii_digit()) {
            return Err(format!(
                "day-of-week {dow:?} is numeric, and this cron counts Sunday = 1 (so 1-5 would be \
                 Sunday to Thursday): write day names instead, e.g. Mon-Fri or Mon-Sat"
            ));
        }
    }
    let schedule = cron::Schedule::from_str(text).map_err(|e| {
        // The crate's message repeats the expression with a caret under it
        // over several lines; its last line says what is wrong.
        let shown = e.to_string();
        let why = shown
            .lines()
            .rev()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("");
        format!("{text:?} is not a valid cron expression: {why}")
    })?;
    if schedule.upcoming(tz).next().is_none() {
        return Err(format!("{text:?} never fires"));
    }
    Ok(schedule)
}

/// Strict `HH:MM`, 24 h.
pub(super) fn parse_hhmm(s: &str) -> Option<NaiveTime> {
    let b = s.as_bytes();
    if b.len() != 5
        || b[2] != b':'
        || !b
            .iter()
            .enumerate()
            .all(|(i, c)| i == 2 || c.is_ascii_digit())
    {
        return None;
    }
    NaiveTime::parse_from_str(s, "%H:%M").ok()
}

/// Strict `YYYY-MM-DD`.
pub(super) fn parse_ymd(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    let shape = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape {
        return None;
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

pub(super) fn value_as_date(v: &toml::Value) -> Option<NaiveDate> {
    match v {
        toml::Value::String(s) => parse_ymd(s),
        // A bare TOML local date (2026-12-24, no time, no offset).
        toml::Value::Datetime(dt) if dt.time.is_none() && dt.offset.is_none() => {
            let d = dt.date?;
            NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day))
        }
        _ => None,
    }
}

/// The dates of `extra_open_days`, index-aligned with the raw list (`None`
/// where a date was invalid, already reported).
pub(super) fn open_dates_aligned(list: &[Spanned<toml::Value>]) -> Vec<Option<NaiveDate>> {
    list.iter().map(|v| value_as_date(v.get_ref())).collect()
}

pub(super) fn describe_value(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => format!("{s:?}"),
        other => format!("{} {}", other.type_str(), other),
    }
}

/// Why a secret would fail as an HTTP header value, if it would: the
/// request would be refused at every start (a newline pasted with it, a
/// tab, a control character), or the value would not be the secret (spaces
/// around it are dropped by HTTP). Never quotes the value.
pub(super) fn header_unsafe(v: &str) -> Option<String> {
    let what = |c: char| match c {
        '\n' | '\r' => "a line break".to_owned(),
        '\t' => "a tab".to_owned(),
        c if c.is_control() => format!("a control character (U+{:04X})", u32::from(c)),
        _ => format!("a non-ASCII character (U+{:04X})", u32::from(c)),
    };
    if let Some(c) = v.chars().find(|c| c.is_control() || !c.is_ascii()) {
        return Some(format!(
            "contains {}, which an HTTP header cannot carry: write the secret alone on \
             one line",
            what(c)
        ));
    }
    if v.trim() != v {
        return Some("starts or ends with spaces, which HTTP drops: remove them".to_owned());
    }
    None
}

/// The URL as an error may show it: no userinfo, query or fragment (where
/// credentials are put), since the text is printed and logged.
pub(super) fn shown_url(s: &str) -> String {
    let cut = s.find(['?', '#']).unwrap_or(s.len());
    let mut head = s.get(..cut).unwrap_or_default().to_owned();
    let authority_start = head.find("://").map_or(0, |i| i + 3);
    let authority_end = head
        .get(authority_start..)
        .and_then(|rest| rest.find('/'))
        .map_or(head.len(), |i| authority_start + i);
    if let Some(at) = head
        .get(authority_start..authority_end)
        .and_then(|a| a.rfind('@'))
    {
        head.replace_range(authority_start..=authority_start + at, "");
    }
    if cut < s.len() {
        head.push_str("?…");
    }
    head
}

pub(super) fn check_url(s: &str) -> Result<Url, String> {
    let shown = shown_url(s);
    let url = Url::parse(s).map_err(|e| format!("{shown:?} is not a URL: {e}"))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(format!("{shown:?} must start with https:// (or http://)"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("{shown:?} has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        // Credentials belong in the secret keys, never in a URL that is logged.
        return Err(format!(
            "{shown:?} must not contain a user or password (not shown): use the secret keys"
        ));
    }
    // Any query at all: a base URL needs none, and a query is where
    // credentials go (`?key=…&token=…`); telling them apart by name would
    // miss the next spelling.
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "{shown:?} must not carry a query or fragment (not shown): credentials belong in \
             the secret keys"
        ));
    }
    Ok(url)
}

/// `base` + `/segment`, whether or not `base` ends with a slash.
pub(super) fn join_path(base: &Url, segment: &str) -> Option<Url> {
    let mut u = base.clone();
    let path = format!("{}/{segment}", u.path().trim_end_matches('/'));
    u.set_path(&path);
    Some(u)
}

/// A Trello board id (24 hex) or short link (8 alphanumerics).
pub(super) fn is_board_ref(s: &str) -> bool {
    (s.len() == 24 && s.chars().all(|c| c.is_ascii_hexdigit()))
        || (s.len() == 8 && s.chars().all(|c| c.is_ascii_alphanumeric()))
}
