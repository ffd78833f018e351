//! `colisync demo`: the whole pipeline against the in-process fakes and the
//! sample shop, with no account and no network. It shows what a lead would
//! see over a day and a half: the first pass filing one card per problem, a
//! second pass writing nothing, then a day later a lead's move respected, a
//! shipped order and a delivered parcel resolved.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use chrono::Duration;

use colisync::domain::{OrderState, Shipment, Track, TrackingEvent};
use colisync::pass::{Engine, Stop};
use colisync::state::State;
use colisync_testkit::sample::{demo_shop, reference_now};
use colisync_testkit::world::World;

use super::commands::{print_report, runtime};

pub(crate) fn demo(out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(run(out))
}

async fn run(out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let shop = demo_shop();
    let world = World::start(&shop, Some((100, std::time::Duration::from_secs(10))))
        .await
        .context("starting the fake services")?;
    let dir = tempfile::Builder::new()
        .prefix("colisync-demo-")
        .tempdir()
        .context("creating a state directory")?;
    let config = world.config(dir.path());
    let tz = config.calendar.timezone;
    let state = State::open(dir.path())?;
    let mut engine = Engine::new(config, state)?;
    let stop = Stop::default();
    let now = reference_now();

    writeln!(
        out,
        "colisync demo: fake Magento, La Poste and Trello on 127.0.0.1, nothing leaves this machine."
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
        .find(|c| c.name.contains("Retour expéditeur"))
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
    let report = engine.run_pass(tomorrow, &stop, false).await;
    print_report(out, &report)?;
    print_board(out, &world)?;

    let ok = report.is_success();
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
