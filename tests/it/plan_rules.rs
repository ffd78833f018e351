//! The planner, table-tested: (findings, state records, board) → actions.
//! Each case is summarised as one line per action so that the expectation
//! reads like the plan table.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeZone, Utc};
use colisync::board::{BoardCard, BoardLabel, CardContent, LabelSpec, marker_line};
use colisync::domain::ProductKind;
use colisync::domain::{ProblemKey, ReturnStage, RuleId, Severity};
use colisync::plan::{
    Action, BoardSnapshot, CardRead, Desired, ListTarget, PlanInput, cards_to_read, plan,
    render_plan_table,
};
use colisync::rules::{Delay, Finding};
use colisync::state::{CardRecord, CardStatus};

const EXP: &str = "Retard d'expédition";
const LIV: &str = "Retard de livraison";
const RET: &str = "Retour expéditeur";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 19, 8, 0, 0).unwrap()
}

fn key(s: &str) -> ProblemKey {
    s.parse().unwrap()
}

fn list_for(rule: RuleId) -> &'static str {
    match rule {
        RuleId::ShippingCompatible | RuleId::ShippingOriginal => EXP,
        RuleId::ReturnToSender => RET,
        _ => LIV,
    }
}

/// A desired card; `version` changes the text (and so the fingerprint).
fn want(k: &str, rule: RuleId, severity: Severity, version: u32) -> (ProblemKey, Desired) {
    let key = key(k);
    let content = CardContent {
        title: format!("{k} · {rule:?} · v{version}"),
        description: format!("Texte v{version}\n\n{}", marker_line(&key)),
        labels: vec![LabelSpec {
            name: "Colissimo".into(),
            color: "yellow".into(),
        }],
        due: None,
    };
    let finding = Finding {
        rule,
        key: key.clone(),
        severity,
        list: list_for(rule).into(),
        delay: Delay::Days(8),
        deadline: None,
        product: ProductKind::Compatible,
        carrier: None,
        tracking_number: None,
        facts: vec![],
        procedure: String::new(),
        validated_on: None,
        shipped_on: None,
        due: None,
        detail: None,
        stage: None,
        stage_note: None,
    };
    let fingerprint = format!("fp:{}:{}", content.title, content.description);
    (
        key,
        Desired {
            finding,
            content,
            fingerprint,
            checklist: None,
            requested_at: None,
        },
    )
}

fn fp(k: &str, rule: RuleId, severity: Severity, version: u32) -> String {
    want(k, rule, severity, version).1.fingerprint
}

fn rec(card: &str, list: &str, fingerprint: &str, rule: RuleId, status: CardStatus) -> CardRecord {
    CardRecord {
        card_id: card.into(),
        list_id: list.into(),
        fingerprint: fingerprint.into(),
        rule: Some(rule),
        severity: Severity::Late,
        status,
        filed_at: t0(),
        updated_at: t0(),
        label_ids: vec!["lab-colissimo".into()],
        due: None,
        stage: None,
    }
}

fn card(id: &str, list: &str, k: &str, closed: bool) -> BoardCard {
    BoardCard {
        id: id.into(),
        name: format!("card {id}"),
        desc: format!("quelque chose\n\n{}", marker_line(&key(k))),
        id_list: list.into(),
        closed,
        id_labels: vec!["lab-colissimo".into()],
        due: None,
        check_items: None,
    }
}

fn input() -> PlanInput {
    PlanInput {
        intake_lists: [(EXP, "l-exp"), (LIV, "l-liv"), (RET, "l-ret")]
            .into_iter()
            .map(|(n, i)| (n.to_owned(), i.to_owned()))
            .collect(),
        resolved_list: ListTarget {
            name: "Résolu".into(),
            id: Some("l-res".into()),
        },
        board: BoardSnapshot {
            cards: vec![],
            labels: vec![
                BoardLabel {
                    id: "lab-colissimo".into(),
                    name: "Colissimo".into(),
                    color: Some("yellow".into()),
                },
                BoardLabel {
                    id: "lab-vip".into(),
                    name: "VIP".into(),
                    color: Some("pink".into()),
                },
            ],
            ..BoardSnapshot::default()
        },
        own_label_names: BTreeSet::from(["Colissimo".to_owned(), "critique".to_owned()]),
        now: t0(),
        timezone: chrono_tz::Europe::Paris,
        ..PlanInput::default()
    }
}

/// One line per action, like the plan table but with ids.
fn summary(a: &Action) -> String {
    let to = |t: &Option<ListTarget>| {
        t.as_ref()
            .map(|t| format!(" move→{}", t.id.as_deref().unwrap_or("?")))
            .unwrap_or_default()
    };
    match a {
        Action::Create {
            key, list, note, ..
        } => format!(
            "create {key} in {}{}",
            list.id.as_deref().unwrap_or("?"),
            if note.is_some() { " +note" } else { "" }
        ),
        Action::Update {
            card_id,
            keep_label_ids,
            move_to,
            comment,
            ..
        } => format!(
            "update {card_id}{}{}{}",
            to(move_to),
            if keep_label_ids.is_empty() {
                String::new()
            } else {
                format!(" keep={}", keep_label_ids.join(","))
            },
            if comment.is_some() { " +comment" } else { "" }
        ),
        Action::Reopen {
            card_id,
            content,
            move_to,
            ..
        } => format!(
            "reopen {card_id}{}{}",
            if content.is_some() { " +text" } else { "" },
            to(move_to)
        ),
        Action::Resolve {
            card_id,
            comment,
            move_to,
            ..
        } => format!(
            "resolve {card_id}{} «{}»",
            to(move_to),
            comment.as_deref().unwrap_or("")
        ),
        Action::Adopt {
            key,
            card_id,
            status,
            fingerprint,
            ..
        } => format!(
            "adopt {key} {card_id} {status:?}{}",
            if fingerprint.is_empty() {
                ""
            } else {
                " current"
            }
        ),
        Action::MarkArchived { card_id, .. } => format!("archived {card_id}"),
        Action::Comment { card_id, .. } => format!("comment {card_id}"),
    }
}

fn check(input: &PlanInput, expect: &[&str]) {
    let got: Vec<String> = plan(input).iter().map(summary).collect();
    assert_eq!(got, expect, "\n{}", render_plan_table(&plan(input)));
}

use RuleId::{DeliveryColissimo as Late, ReturnToSender as Return, ShippingCompatible as Ship};

#[test]
fn creates_a_card_for_a_new_problem() {
    let mut i = input();
    i.desired = BTreeMap::from([want("order/1", Ship, Severity::Late, 1)]);
    check(&i, &["create order/1 in l-exp"]);
}

#[test]
fn unchanged_problem_plans_nothing() {
    let mut i = input();
    i.desired = BTreeMap::from([want("order/1", Ship, Severity::Late, 1)]);
    i.records.insert(
        key("order/1"),
        rec(
            "c1",
            "l-exp",
            &fp("order/1", Ship, Severity::Late, 1),
            Ship,
            CardStatus::Open,
        ),
    );
    i.board.cards.push(card("c1", "l-exp", "order/1", false));
    check(&i, &[]);
}

#[test]
fn changed_problem_updates_in_place() {
    let mut i = input();
    i.desired = BTreeMap::from([want("order/1", Ship, Severity::Critical, 2)]);
    i.records.insert(
        key("order/1"),
        rec(
            "c1",
            "l-exp",
            &fp("order/1", Ship, Severity::Late, 1),
            Ship,
            CardStatus::Open,
        ),
    );
    i.board.cards.push(card("c1", "l-exp", "order/1", false));
    check(&i, &["update c1"]);
}

#[test]
fn rule_change_moves_the_card_while_in_an_intake_list() {
    let k = "parcel/1/6A1";
    let mut i = input();
    i.desired = BTreeMap::from([want(k, Return, Severity::Late, 1)]);
    i.records.insert(
        key(k),
        rec(
            "c1",
            "l-liv",
            &fp(k, Late, Severity::Late, 1),
            Late,
            CardStatus::Open,
        ),
    );
    i.board.cards.push(card("c1", "l-liv", k, false));
    check(&i, &["update c1 move→l-ret +comment"]);
}

#[test]
fn a_card_a_lead_moved_gets_its_text_updated_but_stays() {
    let k = "parcel/1/6A1";
    let mut i = input();
    i.desired = BTreeMap::from([want(k, Return, Severity::Late, 1)]);
    i.records.insert(
        key(k),
        rec(
            "c1",
            "l-liv",
            &fp(k, Late, Severity::Late, 1),
            Late,
            CardStatus::Open,
        ),
    );
    i.board.cards.push(card("c1", "l-en-cours", k, false));
    check(&i, &["update c1 +comment"]);
}

#[test]
fn labels_colisync_did_not_add_are_kept() {
    let mut i = input();
    i.desired = BTreeMap::from([want("order/1", Ship, Severity::Late, 2)]);
    i.records.insert(
        key("order/1"),
        rec(
            "c1",
            "l-exp",
            &fp("order/1", Ship, Severity::Late, 1),
            Ship,
            CardStatus::Open,
        ),
    );
    let mut c = card("c1", "l-exp", "order/1", false);
    c.id_labels = vec!["lab-vip".into(), "lab-colissimo".into()];
    i.board.cards.push(c);
    check(&i, &["update c1 keep=lab-vip"]);
}

#[test]
fn an_archived_card_is_not_refiled_unless_more_severe() {
    let mut i = input();
    i.desired = BTreeMap::from([want("order/1", Ship, Severity::Late, 2)]);
    let r = rec(
        "c1",
        "l-exp",
        &fp("order/1", Ship, Severity::Late, 1),
        Ship,
        CardStatus::Open,
    );
    i.records.insert(key("order/1"), r.clone());
    i.board.cards.push(card("c1", "l-exp", "order/1", true));
    // First seen archived: recorded, nothing on the board.
    check(&i, &["archived c1"]);
    // Recorded as archived: nothing at all.
    i.records.insert(
        key("order/1"),
        CardRecord {
            status: CardStatus::Archived,
            ..r.clone()
        },
    );
    check(&i, &[]);
    // More severe than when archived: a new card naming the old one.
    i.desired = BTreeMap::from([want("order/1", Ship, Severity::Critical, 3)]);
    check(&i, &["create order/1 in l-exp +note"]);
    let Action::Create {
        note: Some(note), ..
    } = &plan(&i)[0]
    else {
        panic!("expected a create with a note")
    };
    assert!(note.contains("c1"), "{note}");
    // A deleted card counts as archived, once reading it says so.
    i.desired = BTreeMap::from([want("order/1", Ship, Severity::Late, 2)]);
    i.records.insert(key("order/1"), r);
    i.board.cards.clear();
    i.board.reads.insert("c1".into(), CardRead::Gone);
    check(&i, &["archived c1"]);
}

/// A recorded card missing from the listing is never concluded archived or
/// deleted from that absence: the plan acts on what reading it said.
#[test]
fn a_card_missing_from_the_listing_is_judged_by_reading_it() {
    let mut i = input();
    i.desired = BTreeMap::from([want("order/1", Ship, Severity::Late, 1)]);
    let r = rec(
        "c1",
        "l-exp",
        &fp("order/1", Ship, Severity::Late, 1),
        Ship,
        CardStatus::Open,
    );
    i.records.insert(key("order/1"), r.clone());

    // Listed: nothing to read, nothing to do.
    i.board.cards.push(card("c1", "l-exp", "order/1", false));
    assert!(cards_to_read(&i).is_empty());
    check(&i, &[]);

    // Not listed and not read: unknown, so nothing at all for the key.
    i.board.cards.clear();
    assert_eq!(cards_to_read(&i), vec!["c1".to_owned()]);
    check(&i, &[]);
    // The read failed: the same.
    i.board.reads.insert("c1".into(), CardRead::Failed);
    assert!(cards_to_read(&i).is_empty(), "read once per pass");
    check(&i, &[]);
    // The read found it open: the listing missed it; nothing changed.
    i.board.reads.insert(
        "c1".into(),
        CardRead::Found(card("c1", "l-exp", "order/1", false)),
    );
    check(&i, &[]);
    // Found archived: a lead archived it.
    i.board.reads.insert(
        "c1".into(),
        CardRead::Found(card("c1", "l-exp", "order/1", true)),
    );
    check(&i, &["archived c1"]);
    // Gone, and another card carries the marker: that one is adopted.
    i.board.reads.insert("c1".into(), CardRead::Gone);
    i.board.cards.push(card("c9", "l-exp", "order/1", false));
    assert!(
        plan(&i)
            .iter()
            .any(|a| matches!(a, Action::Adopt { card_id, .. } if card_id == "c9")),
        "{:#?}",
        plan(&i)
    );
    // Not read, another marker card listed: still nothing concluded.
    i.board.reads.clear();
    assert_eq!(cards_to_read(&i), vec!["c1".to_owned()]);
    check(&i, &[]);

    // A card already recorded as archived that would call for nothing even
    // if it were gone is not read: deleted cards cost no read every pass.
    let mut quiet = input();
    quiet.records.insert(
        key("order/1"),
        CardRecord {
            status: CardStatus::Archived,
            ..r.clone()
        },
    );
    assert!(cards_to_read(&quiet).is_empty());
    quiet.desired = BTreeMap::from([want("order/1", Ship, Severity::Late, 1)]);
    assert!(cards_to_read(&quiet).is_empty());
    // …unless the problem became more severe: a new card would be filed.
    quiet.desired = BTreeMap::from([want("order/1", Ship, Severity::Critical, 1)]);
    assert_eq!(cards_to_read(&quiet), vec!["c1".to_owned()]);
}

#[test]
fn an_ended_problem_is_resolved_with_a_comment_and_moved_only_from_intake() {
    let mut i = input();
    i.ended.insert(key("order/1"), "commande expédiée".into());
    i.ended.insert(key("order/2"), "colis livré".into());
    for (id, k) in [("c1", "order/1"), ("c2", "order/2")] {
        i.records
            .insert(key(k), rec(id, "l-exp", "fp", Ship, CardStatus::Open));
    }
    i.board.cards.push(card("c1", "l-exp", "order/1", false));
    i.board
        .cards
        .push(card("c2", "l-en-cours", "order/2", false));
    check(
        &i,
        &[
            "resolve c1 move→l-res «Problème terminé : commande expédiée. (colisync, mar. 19 mai 2026 à 10:00:00)»",
            "resolve c2 «Problème terminé : colis livré. (colisync, mar. 19 mai 2026 à 10:00:00)»",
        ],
    );
    // Once resolved (c1 moved), nothing more, even when a lead takes c1
    // back into an intake list.
    let mut done = i.clone();
    for k in ["order/1", "order/2"] {
        done.records.get_mut(&key(k)).unwrap().status = CardStatus::Resolved;
    }
    done.records.get_mut(&key("order/1")).unwrap().list_id = "l-res".into();
    done.board.cards[0].id_list = "l-res".into();
    check(&done, &[]);
    done.board.cards[0].id_list = "l-liv".into();
    check(&done, &[]);
    // Resolved but the move failed (the card is where colisync left it):
    // only the move is left to do.
    let mut partial = i.clone();
    partial.records.get_mut(&key("order/1")).unwrap().status = CardStatus::Resolved;
    partial.records.remove(&key("order/2"));
    partial.board.cards.truncate(1);
    check(&partial, &["resolve c1 move→l-res «»"]);
}

#[test]
fn a_problem_that_comes_back_reopens_its_card() {
    let mut i = input();
    i.desired = BTreeMap::from([
        want("order/1", Ship, Severity::Late, 1),
        want("order/2", Ship, Severity::Late, 2),
        want("order/3", Ship, Severity::Late, 1),
    ]);
    let f1 = fp("order/1", Ship, Severity::Late, 1);
    i.records.insert(
        key("order/1"),
        rec("c1", "l-res", &f1, Ship, CardStatus::Resolved),
    );
    i.records.insert(
        key("order/2"),
        rec("c2", "l-res", &f1, Ship, CardStatus::Resolved),
    );
    // Resolved, then archived by a lead (housekeeping): a new card.
    i.records.insert(
        key("order/3"),
        rec("c3", "l-res", &f1, Ship, CardStatus::Resolved),
    );
    i.board.cards.push(card("c1", "l-res", "order/1", false));
    i.board
        .cards
        .push(card("c2", "l-en-cours", "order/2", false));
    i.board.cards.push(card("c3", "l-res", "order/3", true));
    check(
        &i,
        &[
            "reopen c1 move→l-exp",
            "reopen c2 +text",
            "create order/3 in l-exp +note",
        ],
    );
}

#[test]
fn cards_with_our_marker_are_adopted_after_a_state_loss() {
    let mut i = input();
    let (k1, d1) = want("order/1", Ship, Severity::Late, 1);
    i.desired = BTreeMap::from([
        (k1.clone(), d1.clone()),
        want("order/2", Ship, Severity::Late, 1),
        want("order/3", Ship, Severity::Late, 1),
    ]);
    // order/1: the card shows exactly what would be rendered.
    let mut c1 = card("c1", "l-exp", "order/1", false);
    c1.name = d1.content.title.clone();
    c1.desc = d1.content.description.clone();
    i.board.cards.push(c1);
    // order/2: older text; order/3: archived by a lead; order/4: ended.
    i.board.cards.push(card("c2", "l-exp", "order/2", false));
    i.board.cards.push(card("c3", "l-exp", "order/3", true));
    i.board.cards.push(card("c4", "l-exp", "order/4", false));
    // A card without marker is not ours.
    let mut stranger = card("c5", "l-exp", "order/5", false);
    stranger.desc = "une carte d'un lead".into();
    i.board.cards.push(stranger);
    check(
        &i,
        &[
            "adopt order/1 c1 Open current",
            "adopt order/2 c2 Open",
            "update c2",
            "adopt order/3 c3 Archived",
            "adopt order/4 c4 Open",
        ],
    );
    // order/4 has no finding, and nothing says it ended (the state was
    // lost: its order may simply not have been pulled): adopted, left
    // alone. Once the pass has evidence, it is resolved.
    i.ended.insert(key("order/4"), "commande expédiée".into());
    let actions: Vec<String> = plan(&i).iter().map(summary).collect();
    assert!(
        actions.contains(
            &"resolve c4 move→l-res «Problème terminé : commande expédiée. (colisync, mar. 19 mai 2026 à 10:00:00)»"
                .to_owned()
        ),
        "{actions:#?}"
    );
}

#[test]
fn of_two_cards_with_one_marker_the_open_one_is_adopted() {
    let mut i = input();
    i.desired = BTreeMap::from([want("order/1", Ship, Severity::Critical, 1)]);
    i.board.cards.push(card("c1", "l-exp", "order/1", true));
    i.board.cards.push(card("c0", "l-exp", "order/1", false));
    check(&i, &["adopt order/1 c0 Open", "update c0"]);
}

#[test]
fn the_dry_run_table_shows_key_rule_action_list_title() {
    let mut i = input();
    i.desired = BTreeMap::from([want("order/1", Ship, Severity::Late, 1)]);
    i.intake_lists.remove(EXP);
    let table = render_plan_table(&plan(&i));
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["KEY", "RULE", "ACTION", "LIST", "TITLE"]
    );
    assert!(lines[1].starts_with("order/1"), "{table}");
    assert!(lines[1].contains("shipping_compatible"), "{table}");
    assert!(
        lines[1].contains("Retard d'expédition (missing)"),
        "{table}"
    );
    assert!(
        lines[1].contains("order/1 · ShippingCompatible · v1"),
        "{table}"
    );
    assert_eq!(
        render_plan_table(&[]),
        "Nothing to do: the board is up to date.\n"
    );
}

// ----- due dates: colisync clears only the one it wrote ------------------

fn due_at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 22, 22, 0, 0).unwrap()
}

/// parcel/1 was late in delivery (colisync wrote `due_at()` on the card) and
/// is now returning to the sender (content without a due date). The card's
/// due date as read this pass is `on_card`.
fn case_change_dropping_the_due(
    on_card: Option<DateTime<Utc>>,
    recorded: Option<DateTime<Utc>>,
) -> PlanInput {
    let k = "parcel/1/6A1";
    let mut i = input();
    i.desired = BTreeMap::from([want(k, Return, Severity::Late, 2)]);
    i.records.insert(
        key(k),
        CardRecord {
            due: recorded,
            ..rec(
                "c1",
                "l-liv",
                &fp(k, Late, Severity::Late, 1),
                Late,
                CardStatus::Open,
            )
        },
    );
    i.board.cards.push(BoardCard {
        due: on_card,
        ..card("c1", "l-liv", k, false)
    });
    i
}

fn clears_due(actions: &[Action]) -> Vec<bool> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Update { clear_due, .. } | Action::Reopen { clear_due, .. } => Some(*clear_due),
            _ => None,
        })
        .collect()
}

#[test]
fn a_case_without_due_date_clears_the_due_date_colisync_wrote() {
    let i = case_change_dropping_the_due(Some(due_at()), Some(due_at()));
    check(&i, &["update c1 move→l-ret +comment"]);
    assert_eq!(clears_due(&plan(&i)), [true]);
}

#[test]
fn a_due_date_a_lead_set_or_changed_is_left_alone() {
    let lead = Utc.with_ymd_and_hms(2026, 6, 1, 10, 0, 0).unwrap();
    // A lead moved colisync's due date.
    let i = case_change_dropping_the_due(Some(lead), Some(due_at()));
    assert_eq!(clears_due(&plan(&i)), [false]);
    // A lead removed it (nothing to clear).
    let i = case_change_dropping_the_due(None, Some(due_at()));
    assert_eq!(clears_due(&plan(&i)), [false]);
    // colisync never wrote one (or the record predates the field).
    let i = case_change_dropping_the_due(Some(lead), None);
    assert_eq!(clears_due(&plan(&i)), [false]);
}

#[test]
fn a_new_due_date_is_written_not_cleared() {
    let k = "parcel/1/6A1";
    let mut i = case_change_dropping_the_due(Some(due_at()), Some(due_at()));
    let (_, mut d) = want(k, Return, Severity::Late, 2);
    d.content.due = Some(Utc.with_ymd_and_hms(2026, 5, 29, 22, 0, 0).unwrap());
    i.desired.insert(key(k), d);
    assert_eq!(clears_due(&plan(&i)), [false]);
}

#[test]
fn a_reopened_card_without_due_date_clears_colisync_s_old_one() {
    let k = "parcel/1/6A1";
    let mut i = case_change_dropping_the_due(Some(due_at()), Some(due_at()));
    let r = i.records.get_mut(&key(k)).unwrap();
    r.status = CardStatus::Resolved;
    i.board.cards[0].id_list = "l-res".into();
    assert_eq!(clears_due(&plan(&i)), [true]);
    // Unchanged text: no content written, nothing cleared.
    i.desired = BTreeMap::from([want(k, Late, Severity::Late, 1)]);
    assert_eq!(clears_due(&plan(&i)), [false]);
}

#[test]
fn an_adopted_card_records_its_due_date_only_if_colisync_renders_it() {
    let k = "parcel/1/6A1";
    let mut i = input();
    let (_, mut d) = want(k, Late, Severity::Late, 1);
    d.content.due = Some(due_at());
    i.board.cards.push(BoardCard {
        name: d.content.title.clone(),
        desc: d.content.description.clone(),
        due: Some(due_at()),
        ..card("c1", "l-liv", k, false)
    });
    i.desired.insert(key(k), d);
    let Action::Adopt { due, .. } = &plan(&i)[0] else {
        panic!("expected an adopt")
    };
    assert_eq!(*due, Some(due_at()));
    i.board.cards[0].due = Some(Utc.with_ymd_and_hms(2026, 6, 1, 10, 0, 0).unwrap());
    let Action::Adopt { due, .. } = &plan(&i)[0] else {
        panic!("expected an adopt")
    };
    assert_eq!(*due, None);
}

// Records and actions written before the due field: tests/it/state_migration.rs
// (schema 1's defaults are the migration's now).

#[test]
fn comments_carry_the_pass_instant_in_the_configured_timezone_and_are_deterministic() {
    use colisync::plan::comment_signature;
    // 08:00 UTC in May is 10:00 in Paris; 08:00 UTC in January, 09:00.
    assert_eq!(
        comment_signature(t0(), chrono_tz::Europe::Paris),
        "(colisync, mar. 19 mai 2026 à 10:00:00)"
    );
    assert_eq!(
        comment_signature(
            Utc.with_ymd_and_hms(2026, 1, 6, 8, 0, 5).unwrap(),
            chrono_tz::Europe::Paris,
        ),
        "(colisync, mar. 6 janvier 2026 à 09:00:05)"
    );
    // The configured timezone, not a fixed one.
    assert_eq!(
        comment_signature(t0(), chrono_tz::UTC),
        "(colisync, mar. 19 mai 2026 à 08:00:00)"
    );
    // The same problem resolved at two passes: two different comments; the
    // same pass planned twice: the same comment.
    let mut i = input();
    i.records.insert(
        key("order/1"),
        rec("c1", "l-exp", "fp", Ship, CardStatus::Open),
    );
    i.board.cards.push(card("c1", "l-exp", "order/1", false));
    i.ended.insert(key("order/1"), "commande expédiée".into());
    let comment = |i: &PlanInput| match &plan(i)[0] {
        Action::Resolve {
            comment: Some(c), ..
        } => c.clone(),
        a => panic!("expected a resolve, got {a:?}"),
    };
    let first = comment(&i);
    assert_eq!(first, comment(&i));
    i.now = t0() + chrono::Duration::seconds(1);
    assert_ne!(first, comment(&i));
}

/// Architecture invariant: a card is resolved only on evidence that its
/// problem ended, never on missing data. A recorded open card whose
/// finding disappeared is left alone (no action) unless its key is in
/// `ended`; so is one whose finding disappeared because its rule was
/// disabled while the order is still open.
#[test]
fn a_card_is_resolved_only_on_evidence_never_on_absence() {
    let mut i = input();
    for (id, k) in [("c1", "order/1"), ("c2", "parcel/2/6A2"), ("c3", "order/3")] {
        i.records
            .insert(key(k), rec(id, "l-exp", "fp", Ship, CardStatus::Open));
        i.board.cards.push(card(id, "l-exp", k, false));
    }
    // No finding, no evidence: nothing at all.
    check(&i, &[]);
    assert!(cards_to_read(&i).is_empty());
    // Evidence for one key only: that one is resolved, the others stay.
    i.ended.insert(key("parcel/2/6A2"), "colis livré".into());
    check(
        &i,
        &[
            "resolve c2 move→l-res «Problème terminé : colis livré. (colisync, mar. 19 mai 2026 à 10:00:00)»",
        ],
    );
    // A finding that comes back on a card left alone updates that card.
    i.desired = BTreeMap::from([want("order/1", Ship, Severity::Late, 2)]);
    let actions: Vec<String> = plan(&i).iter().map(summary).collect();
    assert!(actions.contains(&"update c1".to_owned()), "{actions:#?}");
}

/// Keys whose facts the pass could not learn (the order's lookup failed,
/// the parcel's poll failed before it was ever tracked) get no action, not
/// even an adoption, whatever the findings and the evidence say.
#[test]
fn unknown_orders_and_parcels_get_no_action() {
    let mut i = input();
    i.desired = BTreeMap::from([
        want("order/1", Ship, Severity::Critical, 1),
        want("parcel/2/6A2", Ship, Severity::Late, 1),
    ]);
    i.board.cards.push(card("c1", "l-exp", "order/1", false));
    i.board
        .cards
        .push(card("c5", "l-exp", "parcel/1/6A1", false));
    i.records.insert(
        key("parcel/1/6A1"),
        rec("c9", "l-exp", "fp", Ship, CardStatus::Open),
    );
    i.ended.insert(key("parcel/1/6A1"), "colis livré".into());
    i.unknown_orders.insert("1".into());
    i.unknown_parcels.insert(key("parcel/2/6A2"));
    check(&i, &[]);
    assert!(
        cards_to_read(&i).is_empty(),
        "nothing read for unknown keys"
    );
}

/// A marker is trusted only when it agrees (module doc): a card the state
/// records for one key is never adopted for the key a lead typed into its
/// marker; with no state, of two open cards claiming one key the one whose
/// title names the order wins, then the oldest; the other is left alone.
#[test]
fn an_edited_marker_takes_no_card_over() {
    // With the state: c1 is order/1's card; a lead edited its marker to
    // order/2 (which has its card c2) or to order/7 (no card).
    let mut i = input();
    let f1 = fp("order/1", Ship, Severity::Late, 1);
    let f2 = fp("order/2", Ship, Severity::Late, 1);
    i.desired = BTreeMap::from([
        want("order/1", Ship, Severity::Late, 1),
        want("order/2", Ship, Severity::Late, 1),
    ]);
    i.records.insert(
        key("order/1"),
        rec("c1", "l-exp", &f1, Ship, CardStatus::Open),
    );
    i.records.insert(
        key("order/2"),
        rec("c2", "l-exp", &f2, Ship, CardStatus::Open),
    );
    i.board.cards.push(card("c1", "l-exp", "order/2", false));
    i.board.cards.push(card("c2", "l-exp", "order/2", false));
    check(&i, &[]);
    i.board.cards[0] = card("c1", "l-exp", "order/7", false);
    i.ended.insert(key("order/7"), "commande expédiée".into());
    check(&i, &[]);
    // The marker removed: still order/1's card.
    i.board.cards[0].desc = "plus de marqueur".into();
    check(&i, &[]);

    // Without the state: two open cards claim order/2; c1 (older) is a
    // copy, c2's title names order 2: c2 wins.
    let mut n = input();
    let (_, d2) = want("order/2", Ship, Severity::Late, 1);
    let mut c2 = card("c2", "l-exp", "order/2", false);
    c2.name = "Cmd 2 · Retard d'expédition · compatible · 3 j ouvrés".into();
    n.desired = BTreeMap::from([(key("order/2"), d2)]);
    n.board.cards.push(card("c1", "l-exp", "order/2", false));
    n.board.cards.push(c2);
    let actions: Vec<String> = plan(&n).iter().map(summary).collect();
    assert_eq!(
        actions,
        ["adopt order/2 c2 Open", "update c2"],
        "{actions:#?}"
    );
    // Neither title names it: the oldest wins.
    n.board.cards[1].name = "une autre carte".into();
    let actions: Vec<String> = plan(&n).iter().map(summary).collect();
    assert_eq!(actions[0], "adopt order/2 c1 Open", "{actions:#?}");
}

/// A return's card going from « en retour » to « revenu »: same rule, so
/// only the stage its record knows tells the planner to comment; a record
/// that does not know its stage (filed before, adopted) is not commented,
/// nor is a text change within one stage.
#[test]
fn a_return_coming_back_is_commented_only_from_a_known_stage() {
    use colisync::domain::ReturnStage::{Back, Returning};
    let k = "parcel/1/6A1";
    let note = "Le colis est revenu à l'expéditeur le mar. 19 mai 2026 à 09:00.";
    let case = |recorded: Option<ReturnStage>, now: ReturnStage| {
        let mut i = input();
        let (key_, mut d) = want(k, Return, Severity::Late, 2);
        d.finding.stage = Some(now);
        d.finding.stage_note = (now == Back).then(|| note.to_owned());
        i.desired = BTreeMap::from([(key_, d)]);
        let mut r = rec(
            "c1",
            "l-ret",
            &fp(k, Return, Severity::Late, 1),
            Return,
            CardStatus::Open,
        );
        r.stage = recorded;
        i.records.insert(key(k), r);
        i.board.cards.push(card("c1", "l-ret", k, false));
        let actions = plan(&i);
        assert_eq!(actions.len(), 1, "{actions:#?}");
        match &actions[0] {
            Action::Update { comment, stage, .. } => {
                assert_eq!(*stage, Some(now));
                comment.clone()
            }
            other => panic!("{other:#?}"),
        }
    };
    assert_eq!(
        case(Some(Returning), Back).as_deref(),
        Some(format!("{note} (colisync, mar. 19 mai 2026 à 10:00:00)").as_str())
    );
    assert_eq!(case(None, Back), None);
    assert_eq!(case(Some(Back), Back), None);
    assert_eq!(case(Some(Returning), Returning), None);
}
