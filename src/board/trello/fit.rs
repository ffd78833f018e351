//! Texts cut to Trello's limit ([`TEXT_LIMIT`], counted in UTF-16 code
//! units), visibly, a description keeping its marker line last.

use super::*;
use crate::fr::trello_cut_note;

pub(super) fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}

/// The longest prefix of `s` within `limit` UTF-16 units, cut on a char
/// boundary.
pub(super) fn prefix_utf16(s: &str, limit: usize) -> &str {
    let mut used = 0;
    for (i, c) in s.char_indices() {
        used += c.len_utf16();
        if used > limit {
            return &s[..i];
        }
    }
    s
}

/// A card name within the limit, ending in `…` when cut.
pub fn fit_name(name: &str) -> String {
    if utf16_len(name) <= TEXT_LIMIT {
        return name.to_owned();
    }
    format!("{}…", prefix_utf16(name, TEXT_LIMIT - 1))
}

/// A comment within the limit, with a visible note when cut.
pub fn fit_text(text: &str) -> String {
    if utf16_len(text) <= TEXT_LIMIT {
        return text.to_owned();
    }
    let note = trello_cut_note(TEXT_LIMIT);
    let room = TEXT_LIMIT - utf16_len(&note);
    format!("{}{note}", prefix_utf16(text, room))
}

/// A description within the limit. When cut, the text before the marker is
/// shortened, a visible note is added, and the last marker line is kept
/// intact at the end: the marker is how the daemon finds its cards again.
pub fn fit_description(desc: &str) -> String {
    if utf16_len(desc) <= TEXT_LIMIT {
        return desc.to_owned();
    }
    let marker = desc
        .lines()
        .rev()
        .find(|l| l.contains(MARKER_PREFIX))
        .map(str::to_owned);
    let note = trello_cut_note(TEXT_LIMIT);
    let Some(marker) = marker.filter(|m| utf16_len(m) + utf16_len(&note) + 2 < TEXT_LIMIT) else {
        return fit_text(desc);
    };
    let tail = format!("{note}\n\n{marker}");
    let room = TEXT_LIMIT - utf16_len(&tail);
    format!("{}{tail}", prefix_utf16(desc, room))
}
