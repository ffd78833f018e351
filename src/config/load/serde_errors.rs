//! serde's errors, located (line, column) and named (the dotted key),
//! without ever quoting a value.

use super::*;

pub(super) fn serde_problem(text: &str, e: &toml::de::Error) -> Problem {
    let span = e.span();
    let (line, column) = match &span {
        Some(r) => {
            let (l, c) = line_col(text, r.start);
            (Some(l), Some(c))
        }
        None => (None, None),
    };
    let mut key = span
        .as_ref()
        .map(|r| key_at(text, r.clone()))
        .unwrap_or_default();
    if let (true, Some(r)) = (key.is_empty(), &span) {
        key = key_on_line(text, r.start);
    }
    let last = key.rsplit('.').next().unwrap_or("");
    let quotes_value = ["invalid type", "invalid value", "invalid length"]
        .iter()
        .any(|m| e.message().contains(m));
    let message = if SECRET_KEYS.contains(&last) && quotes_value {
        // serde would quote the offending value; it may be the secret.
        "wrong type: a secret must be a string (value not shown)".to_owned()
    } else {
        // serde names Rust types; the admin knows TOML's.
        let m = e.message().trim();
        // "expected struct RawMagento" would leak our internals.
        let m = match m.find("expected struct ") {
            Some(i) => format!("{}expected a table", &m[..i]),
            None => m.to_owned(),
        };
        m.replace("expected i64", "expected an integer")
            .replace("expected a sequence", "expected an array")
            .replace("expected f64", "expected a number")
            .replace("expected a boolean", "expected true or false")
    };
    Problem {
        line,
        column,
        key,
        message,
    }
}

/// The dotted key whose name or value covers `span` (the narrowest one), for
/// naming the key in serde's errors, which only give a position.
pub(super) fn key_at(text: &str, span: Range<usize>) -> String {
    let Ok(doc) = toml::de::DeTable::parse(text) else {
        return String::new();
    };
    let mut best: Option<(usize, String)> = None;
    walk_table(doc.get_ref(), "", span.start, &mut best);
    best.map(|(_, k)| k).unwrap_or_default()
}

pub(super) fn walk_table(
    t: &toml::de::DeTable<'_>,
    prefix: &str,
    pos: usize,
    best: &mut Option<(usize, String)>,
) {
    for (k, v) in t.iter() {
        let path = if prefix.is_empty() {
            k.get_ref().to_string()
        } else {
            format!("{prefix}.{}", k.get_ref())
        };
        consider(k.span(), &path, pos, best);
        walk_value(v, &path, pos, best);
    }
}

pub(super) fn walk_value(
    v: &Spanned<toml::de::DeValue<'_>>,
    path: &str,
    pos: usize,
    best: &mut Option<(usize, String)>,
) {
    consider(v.span(), path, pos, best);
    match v.get_ref() {
        toml::de::DeValue::Table(t) => walk_table(t, path, pos, best),
        toml::de::DeValue::Array(a) => {
            for (i, item) in a.iter().enumerate() {
                walk_value(item, &format!("{path}[{i}]"), pos, best);
            }
        }
        _ => {}
    }
}

pub(super) fn consider(
    span: Range<usize>,
    path: &str,
    pos: usize,
    best: &mut Option<(usize, String)>,
) {
    if span.start <= pos && pos < span.end.max(span.start + 1) {
        let width = span.end - span.start;
        if best.as_ref().is_none_or(|(w, _)| width < *w) {
            *best = Some((width, path.to_owned()));
        }
    }
}

/// For a syntax error (the document cannot be walked): the bare key written
/// before `=` on the error's line, under the last `[table]` header above it.
/// Only the key name is taken from the line, never its value.
pub(super) fn key_on_line(text: &str, pos: usize) -> String {
    let before = text.get(..pos.min(text.len())).unwrap_or("");
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next().unwrap_or("");
    let Some((k, _)) = line.split_once('=') else {
        return String::new();
    };
    let k = k.trim();
    let bare = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    };
    if !bare(k) {
        return String::new();
    }
    let table = before[..line_start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('[') && l.ends_with(']'))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim().to_owned())
        .filter(|t| bare(t));
    match table {
        Some(t) => format!("{t}.{k}"),
        None => k.to_owned(),
    }
}

/// 1-based line and column (in characters) of byte offset `pos`.
pub(super) fn line_col(text: &str, pos: usize) -> (usize, usize) {
    let pos = pos.min(text.len());
    let before = text.get(..pos).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}
