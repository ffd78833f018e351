//! `colisync demo`: the whole pipeline against the in-process fakes and the
//! sample shop, with no account and no network. It shows what a lead would
//! see over a day and a half: the first pass filing one card per problem, a
//! second pass writing nothing, then a day later a lead's move respected, a
//! shipped order and a delivered parcel resolved, a parcel collected from
//! its pickup point and a return back at the shop (the same card, updated
//! and commented); and, beside the board, the private note left on a
//! customer's Freshdesk ticket and the comment on their Magento order; then
//! a lost-parcel case an agent opens with `colisync case`, its checklist,
//! and a lead ticking two of its steps.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use chrono::Duration;

use colisync::config::FreshdeskConfig;
use colisync::domain::{CaseKind, OrderState, Shipment, Track, TrackingEvent};
use colisync::pass::{Engine, Stop};
use colisync::secret::Secret;
use colisync::state::State;
use colisync_testkit::freshdesk::FakeFreshdesk;
use colisync_testkit::sample::{
    demo_shop, demo_shop_with_stages, lost_parcel_order, reference_now, return_events,
};
use colisync_testkit::world::World;

/// The fake Freshdesk's key (a demo value, not a secret).
const DEMO_FRESHDESK_KEY: &str = "demo-freshdesk-api-key";

use super::commands::{print_report, runtime};

pub(crate) fn demo(out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(run(out))
}

async fn run(out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let shop = demo_shop_with_stages();
    let world = World::start(&shop, Some((100, std::time::Duration::from_secs(10))))
        .await
        .context("starting the fake services")?;
    let dir = tempfile::Builder::new()
        .prefix("colisync-demo-")
        .tempdir()
        .context("creating a state directory")?;
    let mut config = world.config(dir.path());
    // Write-back on, against a fake Freshdesk where one customer (Camille
    // Martin, order 100001) has an open ticket.
    let freshdesk = FakeFreshdesk::start(DEMO_FRESHDESK_KEY, reference_now())
        .await
        .context("starting the fake Freshdesk")?;
    let camille = freshdesk.add_contact("Camille Martin", "camille.martin@example.fr");
    let ticket = freshdesk.add_ticket(
        camille,
        "Où en est ma commande 100001 ?",
        2,
        reference_now() - Duration::hours(20),
        Default::default(),
    );
    config.magento.order_notes = true;
    config.freshdesk = Some(FreshdeskConfig {
        base_url: freshdesk.base_url(),
        api_key: Secret::new(DEMO_FRESHDESK_KEY),
        escalation_group: None,
        escalation_rules: Vec::new(),
        requester_email: None,
        order_number_field: None,
        ticket_lookback_days: 90,
        requests_per_minute: 100,
        timeout: std::time::Duration::from_secs(10),
    });
    let tz = config.calendar.timezone;
    // The inbox of `colisync case`, removed with the demo.
    let inbox_dir = tempfile::Builder::new()
        .prefix("colisync-demo-inbox-")
        .tempdir()
        .context("creating the case inbox")?;
    config.cases.inbox_dir = inbox_dir.path().to_owned();
    let inbox = config.cases.inbox_dir.clone();
    let state = State::open(dir.path())?;
    let mut engine = Engine::new(config, state)?;
    let stop = Stop::default();
    let now = reference_now();

    writeln!(
        out,
        "colisync demo: fake Magento, La Poste, Trello and Freshdesk on 127.0.0.1, nothing leaves this machine."
    )?;
    writeln!(
        out,
        "Sample shop: {} orders, {} tracked parcels; the clock says {}.\n",
        shop.orders.len(),
        shop.parcels.len(),
        now.with_timezone(&tz).format("%A %d %B %Y %H:%M (%Z)")
    )?;

    writeln!(
        out,
        "== 1. What colisync would do (colisync once --dry-run)"
    )?;
    let report = engine.run_pass(now, &stop, true).await;
    print_report(out, &report)?;

    writeln!(out, "\n== 2. The first pass (colisync once)")?;
    let report = engine.run_pass(now, &stop, false).await;
    print_report(out, &report)?;
    print_board(out, &world)?;
    if let Some(card) = world
        .trello
        .cards()
        .into_iter()
        .find(|c| c.name.starts_with("Cmd 100010 "))
    {
        writeln!(
            out,
            "\nOne card in full:\n\n# {}\n\n{}",
            card.name, card.desc
        )?;
    }
    // The partial shipment: the card says what left and what still waits.
    if let Some(card) = world
        .trello
        .cards()
        .into_iter()
        .find(|c| c.name.starts_with("Cmd 100003 "))
    {
        let facts: Vec<&str> = card
            .desc
            .lines()
            .skip_while(|l| !l.starts_with("**Constat**"))
            .take_while(|l| !l.is_empty())
            .collect();
        writeln!(
            out,
            "\nA partly shipped order, « {} »:\n{}",
            card.name,
            facts.join("\n")
        )?;
    }

    // A parcel waiting at its pickup point, and a return on its way back.
    print_card(
        out,
        &world,
        tz,
        "Cmd 100019 ",
        "A parcel waiting at a pickup point",
        &[],
    )?;
    print_card(
        out,
        &world,
        tz,
        "Cmd 100020 ",
        "A Colissimo parcel on its way back to the shop",
        &[],
    )?;

    print_writeback(out, &world, &freshdesk, ticket)?;

    writeln!(out, "\n== 3. Fifteen minutes later, nothing changed")?;
    let before = writes(&world);
    let report = engine
        .run_pass(now + Duration::minutes(15), &stop, false)
        .await;
    print_report(out, &report)?;
    writeln!(
        out,
        "Trello writes in this pass: {}",
        writes(&world) - before
    )?;

    writeln!(out, "\n== 4. The next day")?;
    let tomorrow = now + Duration::days(1);
    // A lead takes the Chronopost card into their own list.
    let lead_list = world.trello.add_list("En cours (Sophie)");
    if let Some(card) = world
        .trello
        .cards()
        .into_iter()
        .find(|c| c.name.contains("Chronopost") && c.name.contains("livraison"))
    {
        world.trello.move_card(&card.id, &lead_list);
        writeln!(
            out,
            "A lead moved « {} » to « En cours (Sophie) ».",
            card.name
        )?;
    }
    // The warehouse ships order 100001; La Poste delivers 6A20260511001.
    if let Some(mut order) = shop
        .orders
        .iter()
        .find(|o| o.increment_id == "100001")
        .cloned()
    {
        let shipped = tomorrow - Duration::hours(2);
        order.state = OrderState::Complete;
        order.status = "complete".into();
        order.updated_at = shipped;
        order.shipments.push(Shipment {
            entity_id: 9001,
            created_at: shipped,
            tracks: vec![Track {
                number: "6A20260520001".into(),
                carrier_code: "colissimo".into(),
                title: "Colissimo".into(),
                created_at: shipped,
            }],
        });
        world.magento.update_order(&order);
        writeln!(out, "The warehouse shipped order 100001.")?;
    }
    world.laposte.set_parcel(
        "6A20260511001",
        "Colissimo",
        vec![TrackingEvent {
            code: "DI1".into(),
            label: "Votre colis est livré.".into(),
            at: tomorrow - Duration::hours(3),
        }],
        true,
    );
    writeln!(
        out,
        "La Poste delivered parcel 6A20260511001 (order 100005)."
    )?;
    // The customer collects 6A20260505019 at the TABAC DE LA GARE.
    world.laposte.set_parcel(
        "6A20260505019",
        "Colissimo",
        vec![
            TrackingEvent {
                code: "DI1".into(),
                label: "Votre colis a été remis au destinataire dans votre point de retrait."
                    .into(),
                at: tomorrow - Duration::hours(1),
            },
            TrackingEvent {
                code: "AG1".into(),
                label: "Votre colis est disponible dans votre point de retrait.".into(),
                at: reference_now() - Duration::days(12) - Duration::minutes(30),
            },
        ],
        true,
    );
    writeln!(
        out,
        "The customer collected parcel 6A20260505019 (order 100019) at its pickup point."
    )?;
    // 6A20260504020 is back at the shop.
    let mut back = return_events();
    back.insert(
        0,
        TrackingEvent {
            code: "DI2".into(),
            label: "Votre colis a été livré à l'expéditeur.".into(),
            at: tomorrow - Duration::hours(2) - Duration::minutes(15),
        },
    );
    world
        .laposte
        .set_parcel("6A20260504020", "Colissimo", back, true);
    writeln!(
        out,
        "Parcel 6A20260504020 (order 100020) is back at the shop."
    )?;
    let report = engine.run_pass(tomorrow, &stop, false).await;
    print_report(out, &report)?;
    print_board(out, &world)?;
    print_card(
        out,
        &world,
        tz,
        "Cmd 100020 ",
        "The same return card, now back at the shop",
        &["**Procédure**"],
    )?;
    let lost_ok = lost_parcel_case(out, &world, &mut engine, &inbox, tomorrow).await?;

    let ok = report.is_success() && lost_ok;
    writeln!(
        out,
        "\nThe demo's state lived in {} and is removed now. See README.md to run colisync for real.",
        dir.path().display()
    )?;
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// One card as a lead reads it: its title, due date, what was found (and
/// the other sections whose heading starts with one of `more`), and the
/// comments colisync posted on it.
fn print_card(
    out: &mut dyn Write,
    world: &World,
    tz: chrono_tz::Tz,
    title_starts: &str,
    heading: &str,
    more: &[&str],
) -> anyhow::Result<()> {
    let Some(card) = world
        .trello
        .cards()
        .into_iter()
        .find(|c| c.name.starts_with(title_starts))
    else {
        return Ok(());
    };
    writeln!(out, "\n{heading}, « {} »:", card.name)?;
    if let Some(due) = card.due {
        writeln!(
            out,
            "Due: {}",
            due.with_timezone(&tz).format("%A %d %B %Y %H:%M")
        )?;
    }
    let mut keep = false;
    for line in card.desc.lines() {
        if line.starts_with("**Constat**") || more.iter().any(|m| line.starts_with(m)) {
            keep = true;
        } else if line.is_empty() {
            keep = false;
        }
        if keep {
            writeln!(out, "{line}")?;
        }
    }
    for c in world.trello.comments(&card.id) {
        writeln!(out, "💬 {c}")?;
    }
    Ok(())
}

/// A customer says a delivered parcel never came: an agent runs `colisync
/// case 100030 perdu` (the demo writes the same inbox request), the next
/// pass files the case with the Colissimo procedure as a checklist, and a
/// day later the « lead » ticks two steps: the due date moves on. Whether
/// both passes succeeded.
async fn lost_parcel_case(
    out: &mut dyn Write,
    world: &World,
    engine: &mut Engine,
    inbox: &std::path::Path,
    day: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<bool> {
    let stop = Stop::default();
    let (order, parcel) = lost_parcel_order();
    world.magento.insert_order(&order);
    world.laposte.set_parcel(
        &parcel.number,
        &parcel.product,
        parcel.events,
        parcel.is_final,
    );
    writeln!(
        out,
        "\n== 5. A customer says order 100030 never came, though La Poste says delivered"
    )?;
    let at = day + Duration::hours(1);
    colisync::pass::inbox::write_request(inbox, "100030", CaseKind::Lost, None, at)?;
    writeln!(
        out,
        "$ colisync case 100030 perdu\n{}",
        colisync::fr::cases::REQUEST_SAVED
    )?;
    let first = engine
        .run_pass(at + Duration::minutes(15), &stop, false)
        .await;
    print_report(out, &first)?;
    print_case_card(out, world, "Cmd 100030 ")?;

    writeln!(
        out,
        "\n== 6. The next day, the lead ticks the first two steps"
    )?;
    if let Some(card) = world
        .trello
        .cards()
        .into_iter()
        .find(|c| c.name.starts_with("Cmd 100030 "))
    {
        world.trello.tick_check_item(&card.id, "1.");
        world.trello.tick_check_item(&card.id, "2.");
    }
    let second = engine.run_pass(day + Duration::days(1), &stop, false).await;
    print_report(out, &second)?;
    print_case_card(out, world, "Cmd 100030 ")?;
    Ok(first.is_success() && second.is_success())
}

/// A case card: its title, list, due date and checklist.
fn print_case_card(out: &mut dyn Write, world: &World, title: &str) -> anyhow::Result<()> {
    let Some(card) = world
        .trello
        .cards()
        .into_iter()
        .find(|c| c.name.starts_with(title))
    else {
        return Ok(());
    };
    let list = world
        .trello
        .lists()
        .into_iter()
        .find(|l| l.id == card.id_list)
        .map(|l| l.name)
        .unwrap_or_default();
    writeln!(out, "\n« {} » in « {list} »", card.name)?;
    if let Some(due) = card.due {
        writeln!(
            out,
            "  due: {}",
            due.with_timezone(&chrono_tz::Europe::Paris)
                .format("%a %d %b %Y")
        )?;
    }
    for cl in world.trello.checklists(&card.id) {
        writeln!(out, "  {}", cl.name)?;
        for item in &cl.items {
            let mark = if item.is_complete() { "x" } else { " " };
            writeln!(out, "    [{mark}] {}", item.name)?;
        }
    }
    Ok(())
}

fn writes(world: &World) -> usize {
    world
        .trello
        .requests()
        .all()
        .iter()
        .filter(|r| r.method != "GET")
        .count()
}

/// The board as a lead sees it: each open list with its cards' titles.
fn print_board(out: &mut dyn Write, world: &World) -> anyhow::Result<()> {
    let lists = world.trello.lists();
    let mut by_list: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for card in world.trello.cards().into_iter().filter(|c| !c.closed) {
        let mut line = card.name.clone();
        let comments = world.trello.comments(&card.id);
        if let Some(last) = comments.last() {
            line.push_str(&format!(
                "\n        💬 {}",
                last.lines().next().unwrap_or_default()
            ));
        }
        by_list.entry(card.id_list.clone()).or_default().push(line);
    }
    writeln!(out, "\nThe board:")?;
    for list in lists.iter().filter(|l| !l.closed) {
        let cards = by_list.remove(&list.id).unwrap_or_default();
        writeln!(out, "  {} ({})", list.name, cards.len())?;
        for c in cards {
            writeln!(out, "    - {c}")?;
        }
    }
    Ok(())
}

/// What the team sees outside Trello: the private note on the customer's
/// ticket, the ticket's link on the card and the comment on the order.
fn print_writeback(
    out: &mut dyn Write,
    world: &World,
    freshdesk: &FakeFreshdesk,
    ticket: u64,
) -> anyhow::Result<()> {
    for note in freshdesk.notes_of(ticket) {
        let text = note["body_text"].as_str().unwrap_or_default();
        let private = note["private"].as_bool().unwrap_or(false);
        writeln!(
            out,
            "\nIn Freshdesk, ticket #{ticket} of Camille Martin got a {} note:\n{}",
            if private { "private" } else { "PUBLIC" },
            indent(text)
        )?;
    }
    let link = format!("/a/tickets/{ticket}");
    for card in world.trello.cards() {
        for c in world.trello.comments(&card.id) {
            if c.contains(&link) {
                writeln!(
                    out,
                    "
On the Trello card « {} », the ticket is linked:\n{}",
                    card.name,
                    indent(&c)
                )?;
            }
        }
    }
    if let Some(order) = demo_shop()
        .orders
        .iter()
        .find(|o| o.increment_id == "100001")
    {
        for c in world.magento.comments_of(order.entity_id) {
            writeln!(
                out,
                "\nIn Magento, order 100001's history (customer not notified: {}):\n{}",
                c["is_customer_notified"] == 0,
                indent(c["comment"].as_str().unwrap_or_default())
            )?;
        }
    }
    writeln!(
        out,
        "E-mails Freshdesk would have sent to a customer: {}",
        freshdesk.notifications().len()
    )?;
    Ok(())
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}
