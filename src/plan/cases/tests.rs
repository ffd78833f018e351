//! The triggers and the evidence of the cases, table-tested.

use chrono::TimeZone;

use super::*;
use crate::board::marker_line;
use crate::domain::{RuleId, Severity};

fn now(day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, day, 9, 0, 0).unwrap()
}

fn card(id: &str, key: &str, labels: &[&str]) -> BoardCard {
    BoardCard {
        id: id.into(),
        name: "Cmd 100023 · x".into(),
        desc: format!("texte\n\n{}", marker_line(&key.parse().unwrap())),
        id_list: "l-intake".into(),
        closed: false,
        id_labels: labels.iter().map(|s| s.to_string()).collect(),
        due: None,
        check_items: None,
    }
}

fn labels() -> BTreeMap<String, CaseKind> {
    [
        ("lab-lost".to_owned(), CaseKind::Lost),
        ("lab-addr".to_owned(), CaseKind::Address),
    ]
    .into()
}

fn lost_key() -> ProblemKey {
    "case/100023/perdu".parse().unwrap()
}

#[test]
fn a_label_on_a_marker_card_opens_the_case_once() {
    let mut cases = BTreeMap::new();
    let cards = vec![card("c1", "parcel/100023/6A1", &["lab-lost", "lab-other"])];
    let changed = label_triggers(&cards, &labels(), &mut cases, now(13));
    assert_eq!(changed, [lost_key()].into());
    let case = &cases[&lost_key()];
    assert_eq!(case.parcel.as_deref(), Some("6A1"));
    assert_eq!(case.opened_at, now(13));
    assert!(case.is_open());
    // The label stays: no second request.
    let changed = label_triggers(&cards, &labels(), &mut cases, now(14));
    assert!(changed.is_empty());
    assert_eq!(cases[&lost_key()].requests.len(), 1);
}

#[test]
fn no_request_from_unmarked_or_archived_cards() {
    let mut cases = BTreeMap::new();
    let mut unmarked = card("c1", "order/100023", &["lab-lost"]);
    unmarked.desc = "une carte d'un lead".into();
    let mut archived = card("c2", "order/100023", &["lab-lost"]);
    archived.closed = true;
    let changed = label_triggers(&[unmarked, archived], &labels(), &mut cases, now(13));
    assert!(changed.is_empty());
    assert!(cases.is_empty());
}

#[test]
fn two_labels_on_one_card_open_two_cases() {
    let mut cases = BTreeMap::new();
    let cards = vec![card("c1", "order/100023", &["lab-lost", "lab-addr"])];
    label_triggers(&cards, &labels(), &mut cases, now(13));
    assert_eq!(cases.len(), 2);
    let addr: ProblemKey = "case/100023/adresse".parse().unwrap();
    assert_eq!(cases[&addr].parcel, None);
}

#[test]
fn removing_the_label_re_arms_and_putting_it_back_reopens() {
    let mut cases = BTreeMap::new();
    let with = vec![card("c1", "order/100023", &["lab-lost"])];
    label_triggers(&with, &labels(), &mut cases, now(13));
    let case = cases.get_mut(&lost_key()).unwrap();
    case.closed_at = Some(now(14));
    case.closed_how = Some("x".into());
    // Still there after the close: no reopen.
    assert!(label_triggers(&with, &labels(), &mut cases, now(15)).is_empty());
    assert!(!cases[&lost_key()].is_open());
    // A card missing from the listing frees nothing.
    assert!(label_triggers(&[], &labels(), &mut cases, now(15)).is_empty());
    assert_eq!(cases[&lost_key()].consumed_labels.len(), 1);
    // Taken off a listed card: re-armed.
    let without = vec![card("c1", "order/100023", &[])];
    assert_eq!(
        label_triggers(&without, &labels(), &mut cases, now(16)),
        [lost_key()].into()
    );
    assert!(cases[&lost_key()].consumed_labels.is_empty());
    assert!(!cases[&lost_key()].is_open());
    // Put back: reopened.
    label_triggers(&with, &labels(), &mut cases, now(17));
    let case = &cases[&lost_key()];
    assert!(case.is_open());
    assert_eq!(case.requests.len(), 2);
    assert_eq!(case.opened_at, now(13));
}

#[test]
fn a_cli_request_read_twice_is_one() {
    let mut cases = BTreeMap::new();
    let req = CaseOpening {
        increment_id: "100023".into(),
        kind: CaseKind::Lost,
        parcel: None,
        via: CaseVia::Cli {
            request_id: "r1".into(),
        },
    };
    assert!(open_case(&mut cases, req.clone(), now(13)));
    assert!(!open_case(&mut cases, req, now(13)));
    assert_eq!(cases[&lost_key()].requests.len(), 1);
}

fn record(status: CardStatus) -> CardRecord {
    CardRecord {
        card_id: "c1".into(),
        list_id: "l-cases".into(),
        fingerprint: String::new(),
        rule: Some(RuleId::LostParcel),
        severity: Severity::Late,
        status,
        filed_at: now(13),
        updated_at: now(13),
        label_ids: Vec::new(),
        due: None,
        stage: None,
    }
}

fn item(name: &str, complete: bool) -> BoardCheckItem {
    BoardCheckItem {
        id: format!("i-{name}"),
        name: name.into(),
        complete,
    }
}

fn open_case_now() -> Case {
    Case::new(
        "100023".into(),
        CaseKind::Lost,
        None,
        now(13),
        CaseVia::Cli {
            request_id: "r".into(),
        },
    )
}

#[test]
fn only_a_leads_hand_ends_a_case() {
    let case = open_case_now();
    let rec = record(CardStatus::Open);
    let mut c = card("c1", "case/100023/perdu", &[]);
    c.id_list = "l-cases".into();
    let all = [item("1", true), item("2", true)];
    let one_left = [item("1", true), item("2", false)];
    let lead_extra = [item("1", true), item("2", true), item("mine", false)];
    let res = Some("l-res");
    // Every item ticked.
    assert_eq!(
        evidence(&case, Some(&rec), Some(&c), res, Some(&all)),
        Some(CaseEnd::Ticked)
    );
    // One left, or a lead's own extra item left.
    assert_eq!(
        evidence(&case, Some(&rec), Some(&c), res, Some(&one_left)),
        None
    );
    assert_eq!(
        evidence(&case, Some(&rec), Some(&c), res, Some(&lead_extra)),
        None
    );
    // Not read this pass: nothing concluded.
    assert_eq!(evidence(&case, Some(&rec), Some(&c), res, None), None);
    // An empty checklist (a lead emptied it) is no evidence.
    assert_eq!(evidence(&case, Some(&rec), Some(&c), res, Some(&[])), None);
    // Moved into the resolved list by a lead.
    let mut moved = c.clone();
    moved.id_list = "l-res".into();
    assert_eq!(
        evidence(&case, Some(&rec), Some(&moved), res, None),
        Some(CaseEnd::Moved)
    );
    // In the resolved list because colisync resolved it (a reopening
    // pass): not a lead's move.
    assert_eq!(
        evidence(
            &case,
            Some(&record(CardStatus::Resolved)),
            Some(&moved),
            res,
            None
        ),
        None
    );
    // No card, or archived: nothing.
    assert_eq!(evidence(&case, Some(&rec), None, res, Some(&all)), None);
    let mut archived = c.clone();
    archived.closed = true;
    assert_eq!(
        evidence(&case, Some(&rec), Some(&archived), res, Some(&all)),
        None
    );
}

#[test]
fn a_checklist_complete_before_a_reopening_does_not_close_it_again() {
    let mut case = open_case_now();
    case.ticked = ["1".to_owned(), "2".to_owned()].into();
    case.closed_at = Some(now(14));
    case.request(
        now(15),
        CaseVia::Cli {
            request_id: "r2".into(),
        },
        None,
    );
    assert!(case.is_open());
    let rec = record(CardStatus::Open);
    let c = card("c1", "case/100023/perdu", &[]);
    let all = [item("1", true), item("2", true)];
    assert_eq!(
        evidence(&case, Some(&rec), Some(&c), None, Some(&all)),
        None
    );
    let more = [item("1", true), item("2", true), item("3", true)];
    assert_eq!(
        evidence(&case, Some(&rec), Some(&c), None, Some(&more)),
        Some(CaseEnd::Ticked)
    );
}

#[test]
fn ticked_steps_follow_the_names() {
    let mut case = open_case_now();
    case.steps = ["1. a", "2. b", "3. c"]
        .iter()
        .map(|n| crate::domain::CaseStep {
            name: n.to_string(),
            due: None,
        })
        .collect();
    case.ticked = ticked_names(&[item("2. b", true), item("1. a", false), item("x", true)]);
    assert_eq!(ticked_steps(&case), vec![false, true, false]);
}
