//! Pass 2, continued: `[cases]`, the cases people open (docs/rules.md).

use std::path::PathBuf;

use super::Checker;
use super::raw::RawCases;
use crate::config::{CasesConfig, TrelloConfig, defaults, same_label as label_eq};
use crate::domain::{Carrier, Severity};
use crate::fr::{LABEL_COMPATIBLE, LABEL_ORIGINAL};

/// The names of the labels colisync puts on its own cards (as
/// `board::render` writes them): a case label must not be one of them, or
/// every colisync card would open a case.
fn own_label_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = [
        Carrier::Letter,
        Carrier::Colissimo,
        Carrier::Chronopost,
        Carrier::Other,
        Carrier::Foreign,
    ]
    .into_iter()
    .map(Carrier::label_fr)
    .collect();
    names.extend([
        LABEL_COMPATIBLE,
        LABEL_ORIGINAL,
        Severity::Late.label_fr(),
        Severity::Critical.label_fr(),
    ]);
    names
}

impl Checker<'_> {
    pub(super) fn cases(
        &mut self,
        raw: &RawCases,
        trello: Option<&TrelloConfig>,
    ) -> Option<CasesConfig> {
        let list = self.list_name("cases.list", &raw.list, defaults::CASES_LIST);
        if let (Some(l), Some(t)) = (&list, trello) {
            if *l == t.resolved_list {
                self.err(
                    "cases.list",
                    raw.list.as_ref().map(|s| s.span()),
                    format!(
                        "{l:?} is also trello.resolved_list: a case card a lead moves there is \
                         closed, so the cases need a list of their own"
                    ),
                );
            }
        }
        let mut label = |key: &str, raw: &super::raw::S<String>, default: &str| {
            let span = raw.as_ref().map(|s| s.span());
            let value = raw
                .as_ref()
                .map_or(default, |s| s.get_ref().as_str())
                .trim();
            if value.is_empty() {
                self.err(key, span, "a label name must not be empty");
                return None;
            }
            if let Some(own) = own_label_names().into_iter().find(|n| label_eq(n, value)) {
                self.err(
                    key,
                    span,
                    format!(
                        "{value:?} is a label colisync puts on its own cards ({own:?}): every card \
                         would open a case; choose another name"
                    ),
                );
                return None;
            }
            Some((value.to_owned(), span))
        };
        let lost = label(
            "cases.lost_label",
            &raw.lost_label,
            defaults::CASES_LOST_LABEL,
        );
        let address = label(
            "cases.address_label",
            &raw.address_label,
            defaults::CASES_ADDRESS_LABEL,
        );
        if let (Some((l, _)), Some((a, span))) = (&lost, &address) {
            if label_eq(l, a) {
                self.err(
                    "cases.address_label",
                    span.clone(),
                    format!(
                        "{a:?} is also cases.lost_label: each kind of case needs its own label"
                    ),
                );
            }
        }
        let inbox_dir = match &raw.inbox_dir {
            None => Some(PathBuf::from(defaults::CASES_INBOX_DIR)),
            Some(s) if !std::path::Path::new(s.get_ref()).is_absolute() => {
                self.err(
                    "cases.inbox_dir",
                    Some(s.span()),
                    "must be an absolute path (the daemon and `colisync case` run from different \
                     directories)",
                );
                None
            }
            Some(s) => Some(PathBuf::from(s.get_ref())),
        };
        Some(CasesConfig {
            list: list?,
            lost_label: lost?.0,
            address_label: address?.0,
            inbox_dir: inbox_dir?,
        })
    }
}
