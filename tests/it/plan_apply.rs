//! The journaled applier against an in-memory board that can lose answers,
//! refuse writes, and be "crashed" after each step of the protocol: no
//! duplicate card, no lost problem, and a second pass writes nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Mutex;

use chrono::{DateTime, TimeZone, Utc};
use colisync::board::{
    BoardCard, BoardCheckItem, BoardChecklist, BoardLabel, CardContent, LabelSpec, marker_line,
    parse_marker,
};
use colisync::domain::ProductKind;
use colisync::domain::{ProblemKey, RuleId, Severity};
use colisync::plan::{
    ApplyOptions, ApplyReport, BoardSnapshot, BoardWriter, CardUpdate, CheckItemSpec,
    ChecklistSpec, CrashAt, CrashPoint, Desired, ListTarget, PlanInput, WriteError, apply, plan,
    settle_pending,
};
use colisync::rules::{Delay, Finding};
use colisync::state::{CardStatus, State};

// ----- the fake board ----------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Create,
    Update,
    Comment,
    Checklist,
    Item,
    /// The read of a card's checklists.
    ReadChecklists,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// The write happens, the answer is lost.
    LoseAnswer,
    /// The write does not happen and the client cannot tell.
    Timeout,
    /// 400: nothing written.
    Refuse,
    /// 401.
    Unauthorized,
}

#[derive(Default)]
struct Inner {
    cards: Vec<BoardCard>,
    comments: BTreeMap<String, Vec<String>>,
    labels: Vec<BoardLabel>,
    checklists: Vec<(String, BoardChecklist)>,
    next_id: u64,
    /// Card writes (create, update, comment, label creation).
    writes: usize,
    faults: Vec<(Op, Fault)>,
    /// `ApplyOptions::max_in_flight` of the passes on this board (0: 1).
    lanes: usize,
    /// Writes between their start and their answer, and the most at once.
    in_flight: usize,
    max_in_flight: usize,
    /// Each write as (the key of the card's marker, what it did), in the
    /// order the writes were made.
    calls: Vec<(ProblemKey, String)>,
}

#[derive(Default)]
struct FakeBoard(Mutex<Inner>);

impl FakeBoard {
    fn with_lanes(lanes: usize) -> Self {
        let b = FakeBoard::default();
        b.0.lock().unwrap().lanes = lanes;
        b
    }

    fn lanes(&self) -> usize {
        self.0.lock().unwrap().lanes.max(1)
    }

    fn max_in_flight(&self) -> usize {
        self.0.lock().unwrap().max_in_flight
    }

    /// The writes made for each key, in order.
    fn calls_by_key(&self) -> BTreeMap<ProblemKey, Vec<String>> {
        let mut m: BTreeMap<ProblemKey, Vec<String>> = BTreeMap::new();
        for (k, c) in &self.0.lock().unwrap().calls {
            m.entry(k.clone()).or_default().push(c.clone());
        }
        m
    }

    /// The request's trip: counted in flight while it yields to the other
    /// writes of the pass (a real request would await its answer there).
    async fn trip(&self) {
        {
            let mut inner = self.0.lock().unwrap();
            inner.in_flight += 1;
            inner.max_in_flight = inner.max_in_flight.max(inner.in_flight);
        }
        tokio::task::yield_now().await;
        tokio::task::yield_now().await;
        self.0.lock().unwrap().in_flight -= 1;
    }

    fn log_call(inner: &mut Inner, card_id: &str, what: String) {
        let key = inner
            .cards
            .iter()
            .find(|c| c.id == card_id)
            .and_then(|c| parse_marker(&c.desc));
        if let Some(key) = key {
            inner.calls.push((key, what));
        }
    }

    fn inject(&self, op: Op, fault: Fault) {
        self.0.lock().unwrap().faults.push((op, fault));
    }

    fn writes(&self) -> usize {
        self.0.lock().unwrap().writes
    }

    fn snapshot(&self) -> BoardSnapshot {
        let inner = self.0.lock().unwrap();
        BoardSnapshot {
            cards: inner.cards.clone(),
            labels: inner.labels.clone(),
            ..BoardSnapshot::default()
        }
    }

    fn cards_for(&self, key: &ProblemKey) -> Vec<BoardCard> {
        let inner = self.0.lock().unwrap();
        inner
            .cards
            .iter()
            .filter(|c| parse_marker(&c.desc).as_ref() == Some(key))
            .cloned()
            .collect()
    }

    fn comments(&self, card_id: &str) -> Vec<String> {
        let inner = self.0.lock().unwrap();
        inner.comments.get(card_id).cloned().unwrap_or_default()
    }

    /// The checklists of a card, oldest first.
    fn checklists(&self, card_id: &str) -> Vec<BoardChecklist> {
        let inner = self.0.lock().unwrap();
        inner
            .checklists
            .iter()
            .filter(|(c, _)| c == card_id)
            .map(|(_, l)| l.clone())
            .collect()
    }

    fn edit(&self, card_id: &str, f: impl FnOnce(&mut BoardCard)) {
        let mut inner = self.0.lock().unwrap();
        let card = inner.cards.iter_mut().find(|c| c.id == card_id).unwrap();
        f(card);
    }

    /// Takes the first fault queued for `op`; `Ok(true)` means "perform the
    /// write then report `Unknown`".
    fn fault(inner: &mut Inner, op: Op) -> Result<bool, WriteError> {
        let Some(pos) = inner.faults.iter().position(|(o, _)| *o == op) else {
            return Ok(false);
        };
        match inner.faults.remove(pos).1 {
            Fault::LoseAnswer => Ok(true),
            Fault::Timeout => Err(WriteError::Unknown("timeout".into())),
            Fault::Refuse => Err(WriteError::Definite("400 invalid value".into())),
            Fault::Unauthorized => Err(WriteError::Fatal("401 invalid token".into())),
        }
    }
}

fn lost<T>(lose: bool, value: T) -> Result<T, WriteError> {
    if lose {
        Err(WriteError::Unknown("connection reset".into()))
    } else {
        Ok(value)
    }
}

impl BoardWriter for FakeBoard {
    async fn ensure_labels(&self, labels: &[LabelSpec]) -> Result<Vec<String>, WriteError> {
        let mut inner = self.0.lock().unwrap();
        let mut ids = Vec::new();
        for spec in labels {
            let found = inner
                .labels
                .iter()
                .find(|l| l.name == spec.name)
                .map(|l| l.id.clone());
            let id = match found {
                Some(id) => id,
                None => {
                    let id = format!("label-{}", spec.name);
                    inner.labels.push(BoardLabel {
                        id: id.clone(),
                        name: spec.name.clone(),
                        color: Some(spec.color.clone()),
                    });
                    inner.writes += 1;
                    id
                }
            };
            ids.push(id);
        }
        Ok(ids)
    }

    async fn create_card(
        &self,
        list_id: &str,
        content: &CardContent,
        label_ids: &[String],
    ) -> Result<BoardCard, WriteError> {
        self.trip().await;
        let mut inner = self.0.lock().unwrap();
        let lose = Self::fault(&mut inner, Op::Create)?;
        inner.next_id += 1;
        let card = BoardCard {
            id: format!("{:024x}", inner.next_id),
            name: content.title.clone(),
            desc: content.description.clone(),
            id_list: list_id.into(),
            closed: false,
            id_labels: label_ids.to_vec(),
            due: content.due,
            check_items: None,
        };
        inner.cards.push(card.clone());
        inner.writes += 1;
        Self::log_call(&mut inner, &card.id, "create".into());
        lost(lose, card)
    }

    async fn update_card(&self, card_id: &str, update: &CardUpdate) -> Result<(), WriteError> {
        self.trip().await;
        let mut inner = self.0.lock().unwrap();
        let lose = Self::fault(&mut inner, Op::Update)?;
        Self::log_call(&mut inner, card_id, format!("update {:?}", update.id_list));
        let Some(card) = inner.cards.iter_mut().find(|c| c.id == card_id) else {
            return Err(WriteError::Definite(
                "The requested resource was not found.".into(),
            ));
        };
        if let Some(v) = &update.name {
            card.name = v.clone();
        }
        if let Some(v) = &update.desc {
            card.desc = v.clone();
        }
        if let Some(v) = update.due {
            card.due = v;
        }
        if let Some(v) = &update.id_labels {
            card.id_labels = v.clone();
        }
        if let Some(v) = &update.id_list {
            card.id_list = v.clone();
        }
        inner.writes += 1;
        lost(lose, ())
    }

    async fn add_comment(&self, card_id: &str, text: &str) -> Result<(), WriteError> {
        self.trip().await;
        let mut inner = self.0.lock().unwrap();
        let lose = Self::fault(&mut inner, Op::Comment)?;
        Self::log_call(&mut inner, card_id, format!("comment {text}"));
        inner
            .comments
            .entry(card_id.to_owned())
            .or_default()
            .push(text.to_owned());
        inner.writes += 1;
        lost(lose, ())
    }

    async fn find_card_by_marker(&self, key: &ProblemKey) -> Result<Option<BoardCard>, WriteError> {
        Ok(self
            .cards_for(key)
            .into_iter()
            .max_by(|a, b| a.id.cmp(&b.id)))
    }

    async fn recent_comments(&self, card_id: &str) -> Result<Vec<String>, WriteError> {
        Ok(self.comments(card_id))
    }

    async fn create_checklist(&self, card_id: &str, name: &str) -> Result<String, WriteError> {
        let mut inner = self.0.lock().unwrap();
        let lose = Self::fault(&mut inner, Op::Checklist)?;
        inner.next_id += 1;
        let id = format!("cl{:022x}", inner.next_id);
        inner.checklists.push((
            card_id.to_owned(),
            BoardChecklist {
                id: id.clone(),
                name: name.to_owned(),
                items: Vec::new(),
            },
        ));
        inner.writes += 1;
        lost(lose, id)
    }

    async fn add_check_item(
        &self,
        checklist_id: &str,
        name: &str,
        _due: Option<DateTime<Utc>>,
    ) -> Result<String, WriteError> {
        let mut inner = self.0.lock().unwrap();
        let lose = Self::fault(&mut inner, Op::Item)?;
        inner.next_id += 1;
        let id = format!("it{:022x}", inner.next_id);
        let Some((_, list)) = inner
            .checklists
            .iter_mut()
            .find(|(_, l)| l.id == checklist_id)
        else {
            return Err(WriteError::Definite(
                "The requested resource was not found.".into(),
            ));
        };
        list.items.push(BoardCheckItem {
            id: id.clone(),
            name: name.to_owned(),
            complete: false,
        });
        inner.writes += 1;
        lost(lose, id)
    }

    async fn card_checklists(&self, card_id: &str) -> Result<Vec<BoardChecklist>, WriteError> {
        let mut inner = self.0.lock().unwrap();
        Self::fault(&mut inner, Op::ReadChecklists)?;
        Ok(inner
            .checklists
            .iter()
            .filter(|(c, _)| c == card_id)
            .map(|(_, l)| l.clone())
            .collect())
    }
}

// ----- the world: what the rules found -----------------------------------

const EXP: &str = "Retard d'expédition";
const LIV: &str = "Retard de livraison";
const RET: &str = "Retour expéditeur";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 19, 8, 0, 0).unwrap()
}

fn key(s: &str) -> ProblemKey {
    s.parse().unwrap()
}

fn desired(k: &str, rule: RuleId, severity: Severity) -> (ProblemKey, Desired) {
    let key = key(k);
    let list = match rule {
        RuleId::ShippingCompatible | RuleId::ShippingOriginal => EXP,
        RuleId::ReturnToSender => RET,
        _ => LIV,
    };
    let content = CardContent {
        title: format!("{k} · {rule:?} · {severity:?}"),
        description: format!("Procédure…\n\n{}", marker_line(&key)),
        labels: vec![LabelSpec {
            name: format!("{severity:?}"),
            color: "red".into(),
        }],
        due: None,
    };
    let fingerprint = format!("{}|{}", content.title, content.description);
    let finding = Finding {
        rule,
        key: key.clone(),
        severity,
        list: list.into(),
        delay: Delay::None,
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

type World = BTreeMap<ProblemKey, Desired>;

/// Before: order/2 late in delivery, order/3 late in shipping.
fn world_before() -> World {
    BTreeMap::from([
        desired("parcel/2/6A2", RuleId::DeliveryColissimo, Severity::Late),
        desired("order/3", RuleId::ShippingCompatible, Severity::Late),
    ])
}

/// After: order/1 new, order/2 returning to the sender, order/3 shipped.
fn world_after() -> World {
    BTreeMap::from([
        desired("order/1", RuleId::ShippingCompatible, Severity::Late),
        desired("parcel/2/6A2", RuleId::ReturnToSender, Severity::Late),
    ])
}

/// In these tests a problem that leaves the world ended, with evidence (the
/// planner resolves only on evidence): order/3 was shipped, the others give
/// the generic reason.
fn plan_input(state: &State, board: &FakeBoard, world: &World, now: DateTime<Utc>) -> PlanInput {
    let records = state.cards().unwrap();
    let ended = records
        .keys()
        .filter(|k| !world.contains_key(*k))
        .map(|k| {
            let why = if *k == key("order/3") {
                "commande expédiée"
            } else {
                colisync::plan::DEFAULT_END_REASON
            };
            (k.clone(), why.to_owned())
        })
        .collect();
    PlanInput {
        desired: world.clone(),
        records,
        board: board.snapshot(),
        intake_lists: [(EXP, "l-exp"), (LIV, "l-liv"), (RET, "l-ret")]
            .into_iter()
            .map(|(n, i)| (n.to_owned(), i.to_owned()))
            .collect(),
        resolved_list: ListTarget {
            name: "Résolu".into(),
            id: Some("l-res".into()),
        },
        ended,
        own_label_names: BTreeSet::from(["Late".to_owned(), "Critical".to_owned()]),
        now,
        timezone: chrono_tz::Europe::Paris,
        ..PlanInput::default()
    }
}

/// One pass as the daemon runs it: settle the journal, read the board, plan,
/// apply.
async fn pass(
    state: &State,
    board: &FakeBoard,
    world: &World,
    crash: Option<CrashPoint>,
) -> ApplyReport {
    pass_at(now(), state, board, world, crash).await
}

/// [`pass`] at another instant.
async fn pass_at(
    now: DateTime<Utc>,
    state: &State,
    board: &FakeBoard,
    world: &World,
    crash: Option<CrashPoint>,
) -> ApplyReport {
    let settled = settle_pending(board, state, now).await;
    assert!(settled.fatal.is_none(), "{settled:?}");
    let actions = plan(&plan_input(state, board, world, now));
    let mut report = apply(
        &actions,
        board,
        state,
        &ApplyOptions {
            now,
            crash,
            stop: None,
            max_in_flight: board.lanes(),
        },
    )
    .await;
    report.settled += settled.settled;
    report
}

/// The board shows exactly `world`: one open card per problem, in the
/// rule's list, with the rendered text; order/3 resolved once.
fn assert_converged(board: &FakeBoard, world: &World) {
    for (k, d) in world {
        let cards = board.cards_for(k);
        assert_eq!(cards.len(), 1, "{k}: {cards:#?}");
        let c = &cards[0];
        assert_eq!(c.name, d.content.title, "{k}");
        assert!(!c.closed);
    }
    let c2 = &board.cards_for(&key("parcel/2/6A2"))[0];
    assert_eq!(c2.id_list, "l-ret", "moved with the rule change");
    let changes = board
        .comments(&c2.id)
        .iter()
        .filter(|c| c.starts_with("Le cas a changé"))
        .count();
    assert_eq!(changes, 1, "{:?}", board.comments(&c2.id));
    let c3 = board.cards_for(&key("order/3"));
    assert_eq!(c3.len(), 1);
    assert_eq!(c3[0].id_list, "l-res");
    assert_eq!(
        board.comments(&c3[0].id),
        ["Problème terminé : commande expédiée. (colisync, mar. 19 mai 2026 à 10:00:00)"]
    );
}

async fn setup(dir: &Path) -> FakeBoard {
    let board = FakeBoard::default();
    let state = State::open(dir).unwrap();
    let r = pass(&state, &board, &world_before(), None).await;
    assert!(r.is_success(), "{r:?}");
    assert_eq!(r.created, 2);
    board
}

// ----- the tests ---------------------------------------------------------

/// With four writes allowed at once, the writes of different cards
/// overlap, each card's writes keep the plan's order, and the board ends
/// exactly as with one write at a time.
#[tokio::test]
async fn writes_of_different_cards_overlap_and_each_cards_keep_their_order() {
    async fn run(lanes: usize) -> (usize, BTreeMap<ProblemKey, Vec<String>>, Vec<String>) {
        let dir = tempfile::tempdir().unwrap();
        let board = FakeBoard::with_lanes(lanes);
        let state = State::open(dir.path()).unwrap();
        for (at, world) in [
            (now(), world_before()),
            (now() + chrono::Duration::hours(1), world_after()),
        ] {
            let r = pass_at(at, &state, &board, &world, None).await;
            assert!(r.is_success(), "{r:?}");
        }
        let mut cards: Vec<String> = board
            .snapshot()
            .cards
            .iter()
            .map(|c| {
                format!(
                    "{:?} {} {} {}",
                    parse_marker(&c.desc),
                    c.name,
                    c.id_list,
                    c.closed
                )
            })
            .collect();
        cards.sort();
        (board.max_in_flight(), board.calls_by_key(), cards)
    }
    let (one, calls_one, board_one) = run(1).await;
    let (four, calls_four, board_four) = run(4).await;
    assert_eq!(one, 1);
    assert!(four >= 2, "writes in flight at once: {four}");
    assert!(calls_one.values().any(|c| c.len() >= 2), "{calls_one:#?}");
    assert_eq!(
        calls_four, calls_one,
        "each card's writes in the same order"
    );
    assert_eq!(board_four, board_one);
}

/// A fatal answer stops launching writes: the writes already in flight
/// finish and are recorded, nothing after them starts.
#[tokio::test]
async fn a_fatal_answer_stops_launching_writes() {
    let dir = tempfile::tempdir().unwrap();
    let board = FakeBoard::with_lanes(4);
    let state = State::open(dir.path()).unwrap();
    let world: World = (20..30)
        .map(|i| {
            desired(
                &format!("order/{i}"),
                RuleId::ShippingCompatible,
                Severity::Late,
            )
        })
        .collect();
    board.inject(Op::Create, Fault::Unauthorized);
    let r = pass(&state, &board, &world, None).await;
    assert!(r.fatal.is_some(), "{r:?}");
    // The first write failed; at most the three others in flight with it
    // were made, and recorded.
    assert!(r.created <= 3, "{r:?}");
    assert_eq!(board.snapshot().cards.len(), r.created);
    assert_eq!(r.failures.len(), 1, "{:?}", r.failures);
    let r = pass(&state, &board, &world, None).await;
    assert!(r.is_success(), "{r:?}");
    assert_eq!(board.snapshot().cards.len(), 10);
}

#[tokio::test]
async fn a_pass_files_the_cards_and_the_next_one_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let board = setup(dir.path()).await;
    let state = State::open(dir.path()).unwrap();
    let r = pass(&state, &board, &world_after(), None).await;
    assert!(r.is_success(), "{r:?}");
    assert_eq!((r.created, r.updated, r.resolved), (1, 1, 1), "{r:?}");
    assert_converged(&board, &world_after());
    let writes = board.writes();
    let r = pass(&state, &board, &world_after(), None).await;
    assert_eq!(r, ApplyReport::default());
    assert_eq!(
        board.writes(),
        writes,
        "a second identical pass writes nothing"
    );
}

#[tokio::test]
async fn a_crash_after_any_step_of_any_action_leaves_no_duplicate_and_loses_nothing() {
    // world_after plans: create order/1, update parcel/2 then comment the
    // rule change, comment order/3 resolved then move it.
    let points = [
        CrashAt::IntentFlushed,
        CrashAt::TrelloCalled(0),
        CrashAt::TrelloCalled(1),
        CrashAt::Recorded,
    ];
    for (action, at, lose_unflushed) in (0..3)
        .flat_map(|a| points.map(|p| (a, p)))
        .flat_map(|(a, p)| [(a, p, false), (a, p, true)])
    {
        {
            if action == 0 && at == CrashAt::TrelloCalled(1) {
                continue; // a create without a note is one write
            }
            let dir = tempfile::tempdir().unwrap();
            let board = setup(dir.path()).await;
            {
                let state = State::open(dir.path()).unwrap();
                let crash = Some(CrashPoint {
                    action,
                    at,
                    lose_unflushed,
                });
                let r = pass(&state, &board, &world_after(), crash).await;
                assert!(r.crashed, "action {action} {at:?}: {r:?}");
                // Dropped without a final flush: the "process" is gone.
            }
            let state = State::open(dir.path()).unwrap();
            let r = pass(&state, &board, &world_after(), None).await;
            assert!(r.is_success(), "action {action} {at:?}: {r:?}");
            assert!(state.pending_intents().unwrap().is_empty());
            assert_converged(&board, &world_after());
            let writes = board.writes();
            let r = pass(&state, &board, &world_after(), None).await;
            assert_eq!(r, ApplyReport::default(), "action {action} {at:?}");
            assert_eq!(board.writes(), writes, "action {action} {at:?}");
        }
    }
}

#[tokio::test]
async fn lost_answers_are_settled_by_reading_the_board() {
    let cases = [
        (Op::Create, Fault::LoseAnswer),
        (Op::Create, Fault::Timeout),
        (Op::Update, Fault::LoseAnswer),
        (Op::Update, Fault::Timeout),
        (Op::Comment, Fault::LoseAnswer),
        (Op::Comment, Fault::Timeout),
    ];
    for (op, fault) in cases {
        let dir = tempfile::tempdir().unwrap();
        let board = setup(dir.path()).await;
        let state = State::open(dir.path()).unwrap();
        board.inject(op, fault);
        let r = pass(&state, &board, &world_after(), None).await;
        assert!(r.is_success(), "{op:?} {fault:?}: {r:?}");
        assert_converged(&board, &world_after());
        let r = pass(&state, &board, &world_after(), None).await;
        assert_eq!(r, ApplyReport::default(), "{op:?} {fault:?}");
    }
}

#[tokio::test]
async fn an_answer_lost_twice_is_settled_on_the_next_pass() {
    for fault in [Fault::LoseAnswer, Fault::Timeout] {
        let dir = tempfile::tempdir().unwrap();
        let board = setup(dir.path()).await;
        let state = State::open(dir.path()).unwrap();
        for op in [Op::Create, Op::Comment] {
            board.inject(op, fault);
            board.inject(op, fault);
        }
        let r = pass(&state, &board, &world_after(), None).await;
        match fault {
            // Found on the board after the first lost answer.
            Fault::LoseAnswer => assert!(r.is_success(), "{r:?}"),
            // Not written twice: left in the journal for the next pass.
            _ => assert_eq!((r.pending, r.failures.len()), (2, 2), "{r:?}"),
        }
        drop(state);
        let state = State::open(dir.path()).unwrap();
        let r = pass(&state, &board, &world_after(), None).await;
        assert!(r.is_success(), "{fault:?}: {r:?}");
        assert_converged(&board, &world_after());
        let r = pass(&state, &board, &world_after(), None).await;
        assert_eq!(r, ApplyReport::default(), "{fault:?}");
    }
}

#[tokio::test]
async fn labels_written_before_a_resumed_step_are_recorded_as_colisyncs() {
    // An update's PUT swaps colisync's labels (Late → Critical), then its
    // comment's answer is lost twice: the intent waits for the next pass,
    // which posts the comment from step 1. The record must name the labels
    // the PUT wrote, or the next update takes "Critical" for a lead's label
    // and keeps it next to "Late" for ever.
    let dir = tempfile::tempdir().unwrap();
    let board = FakeBoard::default();
    let state = State::open(dir.path()).unwrap();
    let k = "parcel/2/6A2";
    let world = |rule, severity| BTreeMap::from([desired(k, rule, severity)]);
    let r = pass(
        &state,
        &board,
        &world(RuleId::DeliveryColissimo, Severity::Late),
        None,
    )
    .await;
    assert!(r.is_success(), "{r:?}");
    board.inject(Op::Comment, Fault::Timeout);
    board.inject(Op::Comment, Fault::Timeout);
    let critical = world(RuleId::ReturnToSender, Severity::Critical);
    let r = pass(&state, &board, &critical, None).await;
    assert_eq!(r.pending, 1, "{r:?}");
    let r = pass(&state, &board, &critical, None).await;
    assert!(r.is_success(), "{r:?}");
    assert_eq!(
        state.card(&key(k)).unwrap().unwrap().label_ids,
        ["label-Critical"]
    );
    let r = pass(
        &state,
        &board,
        &world(RuleId::ReturnToSender, Severity::Late),
        None,
    )
    .await;
    assert!(r.is_success(), "{r:?}");
    assert_eq!(board.cards_for(&key(k))[0].id_labels, ["label-Late"]);
}

#[tokio::test]
async fn a_failed_resolve_move_is_retried_from_the_list_the_card_is_in() {
    // A lead moved order/3's card to another intake list; its problem ends:
    // the comment is posted, the move to the resolved list is refused. The
    // next pass must finish the move: the card still sits in an intake list
    // with its problem over.
    let dir = tempfile::tempdir().unwrap();
    let board = setup(dir.path()).await;
    let state = State::open(dir.path()).unwrap();
    let c3 = board.cards_for(&key("order/3"))[0].id.clone();
    board.edit(&c3, |c| c.id_list = "l-liv".into());
    let world = BTreeMap::from([desired(
        "parcel/2/6A2",
        RuleId::DeliveryColissimo,
        Severity::Late,
    )]);
    board.inject(Op::Update, Fault::Refuse);
    let r = pass(&state, &board, &world, None).await;
    assert_eq!(r.failures.len(), 1, "{r:?}");
    assert_eq!(board.cards_for(&key("order/3"))[0].id_list, "l-liv");
    let r = pass(&state, &board, &world, None).await;
    assert!(r.is_success(), "{r:?}");
    assert_eq!(board.cards_for(&key("order/3"))[0].id_list, "l-res");
    assert_eq!(
        board.comments(&c3),
        ["Problème terminé : commande expédiée. (colisync, mar. 19 mai 2026 à 10:00:00)"]
    );
}

#[tokio::test]
async fn a_refused_write_is_reported_and_the_pass_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let board = setup(dir.path()).await;
    let state = State::open(dir.path()).unwrap();
    board.inject(Op::Create, Fault::Refuse);
    let r = pass(&state, &board, &world_after(), None).await;
    assert_eq!(r.failures.len(), 1, "{r:?}");
    assert_eq!(r.failures[0].key, "order/1");
    assert_eq!((r.updated, r.resolved), (1, 1), "the rest of the pass ran");
    assert!(board.cards_for(&key("order/1")).is_empty());
    let r = pass(&state, &board, &world_after(), None).await;
    assert!(r.is_success(), "{r:?}");
    assert_converged(&board, &world_after());
}

#[tokio::test]
async fn bad_credentials_stop_the_pass_and_the_next_one_completes() {
    let dir = tempfile::tempdir().unwrap();
    let board = setup(dir.path()).await;
    let state = State::open(dir.path()).unwrap();
    board.inject(Op::Create, Fault::Unauthorized);
    let r = pass(&state, &board, &world_after(), None).await;
    assert!(r.fatal.is_some(), "{r:?}");
    assert_eq!(
        (r.updated, r.resolved),
        (0, 0),
        "stopped at the first action"
    );
    let r = pass(&state, &board, &world_after(), None).await;
    assert!(r.is_success(), "{r:?}");
    assert_converged(&board, &world_after());
}

#[tokio::test]
async fn losing_the_state_directory_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let board = setup(dir.path()).await;
    {
        let state = State::open(dir.path()).unwrap();
        let r = pass(&state, &board, &world_after(), None).await;
        assert!(r.is_success(), "{r:?}");
    }
    let writes = board.writes();
    let fresh = tempfile::tempdir().unwrap();
    let state = State::open(fresh.path()).unwrap();
    let r = pass(&state, &board, &world_after(), None).await;
    assert!(r.is_success(), "{r:?}");
    assert_eq!(r.adopted, 3, "{r:?}");
    assert_eq!(board.writes(), writes, "adoption writes nothing to Trello");
    assert_converged(&board, &world_after());
    assert_eq!(
        state.card(&key("order/3")).unwrap().map(|r| r.status),
        Some(CardStatus::Resolved)
    );
    let r = pass(&state, &board, &world_after(), None).await;
    assert_eq!(r, ApplyReport::default());
}

#[tokio::test]
async fn leads_archive_move_and_label_and_colisync_respects_it() {
    let dir = tempfile::tempdir().unwrap();
    let board = setup(dir.path()).await;
    let state = State::open(dir.path()).unwrap();
    let c2 = board.cards_for(&key("parcel/2/6A2"))[0].id.clone();
    let c3 = board.cards_for(&key("order/3"))[0].id.clone();
    // A lead takes parcel/2 into "En cours" with a VIP label, and archives order/3.
    board.edit(&c2, |c| {
        c.id_list = "l-en-cours".into();
        c.id_labels.push("label-vip".into());
    });
    board.edit(&c3, |c| c.closed = true);
    let mut world = world_after();
    world.insert(
        key("order/3").clone(),
        desired("order/3", RuleId::ShippingCompatible, Severity::Late).1,
    );
    let r = pass(&state, &board, &world, None).await;
    assert!(r.is_success(), "{r:?}");
    let card2 = &board.cards_for(&key("parcel/2/6A2"))[0];
    assert_eq!(card2.id_list, "l-en-cours", "not moved back");
    assert_eq!(
        card2.name,
        world[&key("parcel/2/6A2")].content.title,
        "text updated"
    );
    assert!(
        card2.id_labels.contains(&"label-vip".to_owned()),
        "lead's label kept"
    );
    assert_eq!(
        board.cards_for(&key("order/3")).len(),
        1,
        "archived: not re-filed"
    );
    assert_eq!(r.marked_archived, 1);
    // More severe: a new card, naming the archived one.
    world.insert(
        key("order/3"),
        desired("order/3", RuleId::ShippingCompatible, Severity::Critical).1,
    );
    let r = pass(&state, &board, &world, None).await;
    assert!(r.is_success(), "{r:?}");
    let cards = board.cards_for(&key("order/3"));
    assert_eq!(cards.len(), 2);
    let new = cards.iter().find(|c| !c.closed).unwrap();
    assert!(
        board.comments(&new.id)[0].contains(&c3),
        "{:?}",
        board.comments(&new.id)
    );
    let r = pass(&state, &board, &world, None).await;
    assert_eq!(r, ApplyReport::default());
}

// ----- property: any history of problems, faults and crashes converges ---

mod converge {
    use super::*;
    use proptest::prelude::*;

    const KEYS: [&str; 4] = ["order/10", "order/11", "parcel/12/6A12", "parcel/13/6A13"];

    /// One key's problem in one world: absent, or (rule choice, critical?).
    fn problem() -> impl Strategy<Value = Option<(u8, bool)>> {
        prop_oneof![Just(None), (0u8..2, any::<bool>()).prop_map(Some)]
    }

    fn world_of(problems: &[Option<(u8, bool)>]) -> World {
        KEYS.iter()
            .zip(problems)
            .filter_map(|(k, p)| {
                let (r, critical) = (*p)?;
                let rule = match (k.starts_with("order"), r) {
                    (true, 0) => RuleId::ShippingCompatible,
                    (true, _) => RuleId::ShippingOriginal,
                    (false, 0) => RuleId::DeliveryColissimo,
                    (false, _) => RuleId::ReturnToSender,
                };
                let sev = if critical {
                    Severity::Critical
                } else {
                    Severity::Late
                };
                Some(desired(k, rule, sev))
            })
            .collect()
    }

    fn fault() -> impl Strategy<Value = (Op, Fault)> {
        (
            prop_oneof![Just(Op::Create), Just(Op::Update), Just(Op::Comment)],
            prop_oneof![
                Just(Fault::LoseAnswer),
                Just(Fault::Timeout),
                Just(Fault::Refuse),
                Just(Fault::Unauthorized)
            ],
        )
    }

    fn crash() -> impl Strategy<Value = Option<CrashPoint>> {
        proptest::option::of(
            (
                0usize..4,
                prop_oneof![
                    Just(CrashAt::IntentFlushed),
                    Just(CrashAt::TrelloCalled(0)),
                    Just(CrashAt::TrelloCalled(1)),
                    Just(CrashAt::Recorded)
                ],
                any::<bool>(),
            )
                .prop_map(|(action, at, lose_unflushed)| CrashPoint {
                    action,
                    at,
                    lose_unflushed,
                }),
        )
    }

    #[derive(Debug, Clone)]
    struct Step {
        /// What a lead does on the board before the pass.
        lead: Option<(Lead, usize)>,
        problems: Vec<Option<(u8, bool)>>,
        faults: Vec<(Op, Fault)>,
        crash: Option<CrashPoint>,
    }

    #[derive(Debug, Clone, Copy)]
    enum Lead {
        /// Take the card into the lead's own list.
        Move,
        /// Put a label of the lead's on it.
        Label,
        Archive,
    }

    fn step() -> impl Strategy<Value = Step> {
        (
            proptest::option::of((
                prop_oneof![Just(Lead::Move), Just(Lead::Label), Just(Lead::Archive)],
                0..KEYS.len(),
            )),
            proptest::collection::vec(problem(), KEYS.len()),
            proptest::collection::vec(fault(), 0..3),
            crash(),
        )
            .prop_map(|(lead, problems, faults, crash)| Step {
                lead,
                problems,
                faults,
                crash,
            })
    }

    /// What the leads did, by card id.
    #[derive(Debug, Default)]
    struct LeadMarks {
        moved: BTreeSet<String>,
        labelled: BTreeSet<String>,
        archived: BTreeSet<String>,
    }

    fn lead_acts(board: &FakeBoard, lead: Option<(Lead, usize)>, marks: &mut LeadMarks) {
        let Some((what, i)) = lead else { return };
        let Some(card) = board
            .cards_for(&key(KEYS[i]))
            .into_iter()
            .find(|c| !c.closed)
        else {
            return;
        };
        match what {
            Lead::Move => {
                board.edit(&card.id, |c| c.id_list = "l-en-cours".into());
                marks.moved.insert(card.id);
            }
            Lead::Label => {
                board.edit(&card.id, |c| c.id_labels.push("label-vip".into()));
                marks.labelled.insert(card.id);
            }
            Lead::Archive => {
                board.edit(&card.id, |c| c.closed = true);
                marks.archived.insert(card.id);
            }
        }
    }

    /// The leads' changes are never undone.
    fn check_leads(board: &FakeBoard, marks: &LeadMarks) -> Result<(), TestCaseError> {
        let cards = board.snapshot().cards;
        for c in &cards {
            if marks.archived.contains(&c.id) {
                prop_assert!(c.closed, "unarchived {}", c.id);
            }
            if marks.moved.contains(&c.id) {
                prop_assert_eq!(&c.id_list, "l-en-cours", "moved back {}", &c.id);
            }
            if marks.labelled.contains(&c.id) {
                prop_assert!(
                    c.id_labels.contains(&"label-vip".to_owned()),
                    "label gone {}",
                    &c.id
                );
            }
        }
        for k in KEYS {
            let k = key(k);
            let cards = board.cards_for(&k);
            let archived = cards
                .iter()
                .filter(|c| marks.archived.contains(&c.id))
                .count();
            prop_assert!(
                cards.len() <= 1 + archived,
                "{k}: duplicate cards {cards:#?}"
            );
        }
        Ok(())
    }

    fn check_board(
        board: &FakeBoard,
        world: &World,
        marks: &LeadMarks,
    ) -> Result<(), TestCaseError> {
        for k in KEYS {
            let k = key(k);
            let cards = board.cards_for(&k);
            let open: Vec<&BoardCard> = cards.iter().filter(|c| !c.closed).collect();
            prop_assert!(open.len() <= 1, "{k}: duplicate open cards {cards:#?}");
            match (world.get(&k), open.first()) {
                (Some(d), Some(c)) => {
                    prop_assert_eq!(&c.name, &d.content.title);
                    let list = match d.finding.list.as_str() {
                        _ if marks.moved.contains(&c.id) => "l-en-cours",
                        EXP => "l-exp",
                        LIV => "l-liv",
                        _ => "l-ret",
                    };
                    prop_assert_eq!(&c.id_list, list, "{}", k);
                }
                // No open card for a problem: only when a lead archived it.
                (Some(_), None) => prop_assert!(
                    cards.iter().any(|c| marks.archived.contains(&c.id)),
                    "{} lost",
                    k
                ),
                (None, Some(c)) => prop_assert!(
                    c.id_list == "l-res" || marks.moved.contains(&c.id),
                    "{} not resolved: {:?}",
                    k,
                    c
                ),
                (None, None) => {}
            }
        }
        Ok(())
    }

    /// How many times each kind of comment may appear on a key's card:
    /// once per time the world gave a reason for it (a retry or a resumed
    /// intent must not add any).
    #[derive(Debug, Default, Clone, Copy)]
    struct Allowed {
        ended: usize,
        returned: usize,
        changed: usize,
    }

    fn check_comments(
        board: &FakeBoard,
        allowed: &BTreeMap<ProblemKey, Allowed>,
    ) -> Result<(), TestCaseError> {
        for (k, a) in allowed {
            for card in board.cards_for(k) {
                let comments = board.comments(&card.id);
                let count =
                    |prefix: &str| comments.iter().filter(|c| c.starts_with(prefix)).count();
                prop_assert!(
                    count("Problème terminé") <= a.ended,
                    "{k}: {comments:?} {a:?}"
                );
                prop_assert!(
                    count("Le problème est revenu") <= a.returned,
                    "{k}: {comments:?} {a:?}"
                );
                prop_assert!(
                    count("Le cas a changé") <= a.changed,
                    "{k}: {comments:?} {a:?}"
                );
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        #[test]
        fn passes_under_faults_and_crashes_converge_to_the_exact_board(
            steps in proptest::collection::vec(step(), 1..5),
            lanes in prop_oneof![Just(1usize), Just(4)],
        ) {
            let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
            rt.block_on(async {
                let dir = tempfile::tempdir().unwrap();
                // 4: the crash drops the other lanes mid-write.
                let board = FakeBoard::with_lanes(lanes);
                let mut state = State::open(dir.path()).unwrap();
                let mut allowed: BTreeMap<ProblemKey, Allowed> = BTreeMap::new();
                let mut before = World::new();
                let mut marks = LeadMarks::default();
                for s in &steps {
                    lead_acts(&board, s.lead, &mut marks);
                    let world = world_of(&s.problems);
                    for k in KEYS {
                        let k = key(k);
                        let a = allowed.entry(k.clone()).or_default();
                        match (before.get(&k), world.get(&k)) {
                            (Some(_), None) => a.ended += 1,
                            (None, Some(_)) => a.returned += 1,
                            (Some(x), Some(y)) if x.finding.rule != y.finding.rule => a.changed += 1,
                            _ => {}
                        }
                    }
                    before = world.clone();
                    for f in &s.faults {
                        board.inject(f.0, f.1);
                    }
                    let r = pass(&state, &board, &world, s.crash).await;
                    if r.crashed {
                        drop(state);
                        state = State::open(dir.path()).unwrap();
                    }
                    board.0.lock().unwrap().faults.clear();
                    // Without faults, the board converges within two passes.
                    let r = pass(&state, &board, &world, None).await;
                    if !r.is_success() {
                        let r = pass(&state, &board, &world, None).await;
                        prop_assert!(r.is_success(), "{:?}", r);
                    }
                    check_board(&board, &world, &marks)?;
                    check_leads(&board, &marks)?;
                    check_comments(&board, &allowed)?;
                    let writes = board.writes();
                    let r = pass(&state, &board, &world, None).await;
                    prop_assert_eq!(r, ApplyReport::default());
                    prop_assert_eq!(board.writes(), writes);
                }
                Ok(())
            })?;
        }
    }
}

/// The daemon runs passes on tokio's multi-threaded runtime: the futures
/// must be `Send` (checked at compile time).
#[allow(dead_code)]
fn apply_futures_are_send(board: &FakeBoard, state: &State, actions: &[colisync::plan::Action]) {
    fn send<T: Send>(_: T) {}
    send(apply(actions, board, state, &ApplyOptions::new(now())));
    send(settle_pending(board, state, now()));
}

// ----- due dates ---------------------------------------------------------

fn due_at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 22, 22, 0, 0).unwrap()
}

/// parcel/2 late in delivery, with the due date colisync renders.
fn world_late_with_due() -> World {
    let (k, mut d) = desired("parcel/2/6A2", RuleId::DeliveryColissimo, Severity::Late);
    d.content.due = Some(due_at());
    d.fingerprint.push_str("|due");
    BTreeMap::from([(k, d)])
}

/// parcel/2 returning to the sender: a fact, no due date.
fn world_returned() -> World {
    BTreeMap::from([desired(
        "parcel/2/6A2",
        RuleId::ReturnToSender,
        Severity::Late,
    )])
}

#[tokio::test]
async fn a_case_without_due_date_clears_the_due_date_colisync_wrote() {
    let crashes = [
        None,
        Some(CrashPoint {
            action: 0,
            at: CrashAt::TrelloCalled(0),
            lose_unflushed: true,
        }),
    ];
    for crash in crashes {
        let dir = tempfile::tempdir().unwrap();
        let board = FakeBoard::default();
        let state = State::open(dir.path()).unwrap();
        let k = key("parcel/2/6A2");
        let r = pass(&state, &board, &world_late_with_due(), None).await;
        assert!(r.is_success(), "{r:?}");
        assert_eq!(board.cards_for(&k)[0].due, Some(due_at()));
        assert_eq!(state.card(&k).unwrap().unwrap().due, Some(due_at()));

        let r = pass(&state, &board, &world_returned(), crash).await;
        if crash.is_some() {
            assert!(r.crashed, "{r:?}");
            let r = pass(&state, &board, &world_returned(), None).await;
            assert!(r.is_success(), "{r:?}");
        } else {
            assert!(r.is_success(), "{r:?}");
            assert_eq!(r.updated, 1, "{r:?}");
        }
        let c = &board.cards_for(&k)[0];
        assert_eq!(
            c.due, None,
            "{crash:?}: colisync's stale due date is cleared"
        );
        assert_eq!(c.id_list, "l-ret");
        assert_eq!(state.card(&k).unwrap().unwrap().due, None);

        let writes = board.writes();
        let r = pass(&state, &board, &world_returned(), None).await;
        assert_eq!(r, ApplyReport::default());
        assert_eq!(
            board.writes(),
            writes,
            "a second identical pass writes nothing"
        );
    }
}

#[tokio::test]
async fn a_due_date_a_lead_changed_stays_when_the_case_drops_its_due_date() {
    let dir = tempfile::tempdir().unwrap();
    let board = FakeBoard::default();
    let state = State::open(dir.path()).unwrap();
    let k = key("parcel/2/6A2");
    let r = pass(&state, &board, &world_late_with_due(), None).await;
    assert!(r.is_success(), "{r:?}");
    let lead = Utc.with_ymd_and_hms(2026, 6, 1, 10, 0, 0).unwrap();
    let id = board.cards_for(&k)[0].id.clone();
    board.edit(&id, |c| c.due = Some(lead));

    let r = pass(&state, &board, &world_returned(), None).await;
    assert!(r.is_success(), "{r:?}");
    assert_eq!(r.updated, 1, "{r:?}");
    let c = &board.cards_for(&k)[0];
    assert_eq!(c.due, Some(lead), "the lead's due date is theirs");
    assert_eq!(c.name, world_returned()[&k].content.title);
    // The record keeps the due date colisync last wrote: the card's differs,
    // so it stays the lead's.
    assert_eq!(state.card(&k).unwrap().unwrap().due, Some(due_at()));

    let writes = board.writes();
    let r = pass(&state, &board, &world_returned(), None).await;
    assert_eq!(r, ApplyReport::default());
    assert_eq!(board.writes(), writes);
}

// ----- comments: each one colisync posts is unique -----------------------

#[tokio::test]
async fn a_lost_comment_is_not_mistaken_for_the_same_comment_of_an_earlier_pass() {
    // order/3 is resolved, comes back, and is resolved again for the same
    // reason. The second resolve comment is lost (the write did not happen
    // and the client cannot tell, or it happened and the answer was lost):
    // apply settles it by looking for its text on the card. The first
    // resolve comment must not count as the second.
    let hour = |h: i64| now() + chrono::Duration::hours(h);
    let shipped = BTreeMap::from([desired(
        "parcel/2/6A2",
        RuleId::DeliveryColissimo,
        Severity::Late,
    )]);
    for fault in [Fault::Timeout, Fault::LoseAnswer] {
        let dir = tempfile::tempdir().unwrap();
        let board = setup(dir.path()).await;
        let state = State::open(dir.path()).unwrap();
        let c3 = board.cards_for(&key("order/3"))[0].id.clone();
        let r = pass_at(hour(1), &state, &board, &shipped, None).await;
        assert_eq!(r.resolved, 1, "{r:?}");
        let r = pass_at(hour(2), &state, &board, &world_before(), None).await;
        assert_eq!(r.reopened, 1, "{r:?}");
        board.inject(Op::Comment, fault);
        let r = pass_at(hour(3), &state, &board, &shipped, None).await;
        assert!(r.is_success(), "{fault:?}: {r:?}");
        assert_eq!(r.resolved, 1, "{r:?}");
        assert_eq!(
            board.comments(&c3),
            [
                "Problème terminé : commande expédiée. (colisync, mar. 19 mai 2026 à 11:00:00)",
                "Le problème est revenu : order/3 · ShippingCompatible · Late (colisync, mar. 19 \
                 mai 2026 à 12:00:00)",
                "Problème terminé : commande expédiée. (colisync, mar. 19 mai 2026 à 13:00:00)",
            ],
            "{fault:?}: the second resolve comment is on the card, once"
        );
        assert_eq!(board.cards_for(&key("order/3"))[0].id_list, "l-res");
        let writes = board.writes();
        let r = pass_at(hour(4), &state, &board, &shipped, None).await;
        assert_eq!(r, ApplyReport::default());
        assert_eq!(
            board.writes(),
            writes,
            "a pass with nothing new writes nothing"
        );
    }
}

#[tokio::test]
async fn a_due_date_a_lead_changed_stays_when_the_text_is_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    let board = FakeBoard::default();
    let state = State::open(dir.path()).unwrap();
    let k = key("parcel/2/6A2");
    let r = pass(&state, &board, &world_late_with_due(), None).await;
    assert!(r.is_success(), "{r:?}");
    let lead = Utc.with_ymd_and_hms(2026, 6, 1, 10, 0, 0).unwrap();
    let id = board.cards_for(&k)[0].id.clone();
    board.edit(&id, |c| c.due = Some(lead));

    // A day later: the delay grows, the text changes, the deadline does not.
    let mut later = world_late_with_due();
    if let Some(d) = later.get_mut(&k) {
        d.content.title.push_str(" (J+1)");
        d.fingerprint.push_str("|j+1");
    }
    let r = pass(&state, &board, &later, None).await;
    assert!(r.is_success(), "{r:?}");
    assert_eq!(r.updated, 1, "{r:?}");
    let c = &board.cards_for(&k)[0];
    assert!(c.name.ends_with("(J+1)"), "{}", c.name);
    assert_eq!(
        c.due,
        Some(lead),
        "colisync put its deadline back over the lead's"
    );
}

// ----- checklists ---------------------------------------------------------

const PROCEDURE: &str = "Procédure colisync · colis perdu";
const ITEMS: [&str; 3] = [
    "1. lun. 11 mai 2026 — Patientez",
    "2. mar. 12 mai 2026 — Voisinage",
    "3. Attestation",
];

/// One new card with a three-item checklist (a case's procedure).
fn world_checklist() -> World {
    let (k, mut d) = desired("parcel/9/6A9", RuleId::DeliveryColissimo, Severity::Late);
    d.checklist = Some(ChecklistSpec {
        name: PROCEDURE.into(),
        items: ITEMS
            .iter()
            .map(|n| CheckItemSpec {
                name: (*n).into(),
                due: None,
            })
            .collect(),
    });
    BTreeMap::from([(k, d)])
}

/// Exactly one card, one checklist of that name, each item once, in order.
fn assert_one_checklist(board: &FakeBoard, what: &str) {
    let cards = board.cards_for(&key("parcel/9/6A9"));
    assert_eq!(cards.len(), 1, "{what}: {cards:#?}");
    let lists = board.checklists(&cards[0].id);
    assert_eq!(lists.len(), 1, "{what}: {lists:#?}");
    assert_eq!(lists[0].name, PROCEDURE);
    let names: Vec<&str> = lists[0].items.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ITEMS, "{what}");
}

#[tokio::test]
async fn a_crash_anywhere_in_writing_a_checklist_leaves_one_checklist_with_each_item_once() {
    // Writes: the card (0), the checklist (1), the items (2, 3, 4).
    let mut points = vec![CrashAt::IntentFlushed, CrashAt::Recorded];
    points.extend((0..=4).map(CrashAt::TrelloCalled));
    for at in points {
        for lose_unflushed in [false, true] {
            let what = format!("{at:?} lose_unflushed={lose_unflushed}");
            let dir = tempfile::tempdir().unwrap();
            let board = FakeBoard::default();
            {
                let state = State::open(dir.path()).unwrap();
                let crash = Some(CrashPoint {
                    action: 0,
                    at,
                    lose_unflushed,
                });
                let r = pass(&state, &board, &world_checklist(), crash).await;
                assert!(r.crashed, "{what}: {r:?}");
            }
            let state = State::open(dir.path()).unwrap();
            let r = pass(&state, &board, &world_checklist(), None).await;
            assert!(r.is_success(), "{what}: {r:?}");
            assert!(state.pending_intents().unwrap().is_empty(), "{what}");
            assert_one_checklist(&board, &what);
            let writes = board.writes();
            let r = pass(&state, &board, &world_checklist(), None).await;
            assert_eq!(r, ApplyReport::default(), "{what}");
            assert_eq!(board.writes(), writes, "{what}: nothing written again");
        }
    }
}

#[tokio::test]
async fn lost_checklist_answers_are_settled_by_name_and_an_unreadable_card_waits() {
    for (op, fault) in [
        (Op::Checklist, Fault::LoseAnswer),
        (Op::Item, Fault::LoseAnswer),
        (Op::Checklist, Fault::Timeout),
        (Op::Item, Fault::Timeout),
    ] {
        let what = format!("{op:?} {fault:?}");
        let dir = tempfile::tempdir().unwrap();
        let board = FakeBoard::default();
        let state = State::open(dir.path()).unwrap();
        board.inject(op, fault);
        let r = pass(&state, &board, &world_checklist(), None).await;
        match fault {
            // The write happened: found by name at once.
            Fault::LoseAnswer => assert!(r.is_success(), "{what}: {r:?}"),
            // It did not, and is never sent twice blind: next pass.
            _ => assert_eq!(r.pending, 1, "{what}: {r:?}"),
        }
        let r = pass(&state, &board, &world_checklist(), None).await;
        assert!(r.is_success(), "{what}: {r:?}");
        assert!(state.pending_intents().unwrap().is_empty(), "{what}");
        assert_one_checklist(&board, &what);
    }

    // A lost answer and a card whose checklists cannot be read: nothing is
    // written again, the intent waits, the next pass settles it.
    let dir = tempfile::tempdir().unwrap();
    let board = FakeBoard::default();
    let state = State::open(dir.path()).unwrap();
    board.inject(Op::Item, Fault::LoseAnswer);
    board.inject(Op::ReadChecklists, Fault::Refuse);
    let r = pass(&state, &board, &world_checklist(), None).await;
    assert_eq!(r.pending, 1, "{r:?}");
    assert_eq!(state.pending_intents().unwrap().len(), 1);
    let r = pass(&state, &board, &world_checklist(), None).await;
    assert!(r.is_success(), "{r:?}");
    assert_one_checklist(&board, "unreadable once");
}
