//! End-to-end passes against the three fakes where La Poste answers what
//! its Swagger SUIVI allows besides 200/104: a 105 for one number of a
//! batch, and a refused key in either of its recorded shapes.

use crate::common_sync;

use colisync::domain::TrackingStatus;
use colisync::http::RetryPolicy;
use colisync::pass::Engine;
use colisync::secret::Secret;
use colisync::state::State;
use colisync_testkit::laposte::UnauthorizedShape;
use colisync_testkit::sample::demo_shop;
use colisync_testkit::world::{LAPOSTE_KEY, World};
use common_sync::*;

/// The sample's `tracking_not_found` parcel: shipped Mon 18 May 08:00
/// (Paris), 26 h before `reference_now()`.
const NUMBER_105: &str = "6A20260518007";

fn status_of(engine: &Engine, number: &str) -> Option<TrackingStatus> {
    engine
        .state()
        .parcels()
        .expect("parcels")
        .into_iter()
        .find(|r| r.parcel.tracking_number == number)
        .and_then(|r| r.parcel.status())
}

/// One number of the batch answers returnCode 105, the others 200 (or
/// 104): the pass succeeds, the 105 is a parcel the carrier does not know,
/// `tracking_not_found` once 24 h have passed since its shipment, and the
/// others of the same request are judged as usual.
#[tokio::test]
async fn a_105_for_one_number_leaves_the_pass_and_the_batch_whole() {
    let world = World::start(&demo_shop(), None).await.expect("fakes");
    world.laposte.set_return_code(NUMBER_105, 105);
    let dir = tempfile::tempdir().expect("dir");
    let mut engine = engine(&world, dir.path());

    // Mon 18 May 20:00: 12 h after the shipment.
    let r = ok_pass(&mut engine, at_hours(-14)).await;
    let asked = world.laposte.requested_ids();
    assert_eq!(asked.len(), 1, "one request: {asked:?}");
    assert!(
        asked[0].len() > 1 && asked[0].iter().any(|n| n == NUMBER_105),
        "{asked:?}"
    );
    assert_eq!(r.parcels_polled, asked[0].len());
    assert_eq!(
        status_of(&engine, NUMBER_105),
        Some(TrackingStatus::Unknown)
    );
    assert_eq!(
        r.findings.get("tracking_not_found"),
        None,
        "{:?}",
        r.findings
    );
    // The others of that request: judged as usual.
    assert_eq!(
        status_of(&engine, "6A20260512012"),
        Some(TrackingStatus::Delivered)
    );
    assert_eq!(
        status_of(&engine, "6A20260513009"),
        Some(TrackingStatus::Problem)
    );
    assert_eq!(
        r.findings.get("tracking_problem"),
        Some(&1),
        "{:?}",
        r.findings
    );
    assert!(
        !titles(&world).iter().any(|t| t.starts_with("Cmd 100007")),
        "{:?}",
        titles(&world)
    );

    // Tue 19 May 10:00: 26 h after the shipment.
    let r = ok_pass(&mut engine, at_hours(0)).await;
    assert_eq!(
        r.findings.get("tracking_not_found"),
        Some(&1),
        "{:?}",
        r.findings
    );
    let card = world
        .trello
        .cards()
        .into_iter()
        .find(|c| c.name.starts_with("Cmd 100007"))
        .expect("a card for the 105 number");
    assert!(card.name.contains("introuvable"), "{}", card.name);
    assert_no_duplicate(&world);
}

/// A refused key, in the gateway's shape or in the returnCode shape: the
/// pass fails with one error naming La Poste and `laposte.api_key`, La
/// Poste gets one request although the parcels fill two batches, and
/// neither key appears anywhere in the report.
#[tokio::test]
async fn a_refused_key_in_either_shape_fails_the_pass_once() {
    // Five more Colissimo parcels: thirteen numbers, two batches.
    let mut shop = demo_shop();
    let model = shop
        .orders
        .iter()
        .find(|o| o.increment_id == "100005")
        .cloned()
        .expect("the sample's Colissimo order");
    for i in 0..5_u64 {
        let mut o = model.clone();
        o.entity_id = 900 + i;
        o.increment_id = format!("10090{i}");
        for s in &mut o.shipments {
            s.entity_id = 9000 + i;
            for t in &mut s.tracks {
                t.number = format!("6A2026051190{i}");
            }
        }
        shop.orders.push(o);
    }
    let wrong = "wrong-okapi-5ecret-key";
    for shape in [UnauthorizedShape::Gateway, UnauthorizedShape::ReturnCode] {
        let world = World::start(&shop, None).await.expect("fakes");
        world.laposte.set_unauthorized_shape(shape);
        let dir = tempfile::tempdir().expect("dir");
        let mut config = world.config(dir.path());
        config.laposte.api_key = Secret::new(wrong);
        let state = State::open(dir.path()).expect("state opens");
        let mut engine = Engine::with_retry(config, state, RetryPolicy::fast()).expect("engine");
        let r = pass(&mut engine, at_hours(0)).await;
        assert!(!r.is_success(), "{shape:?}");
        let errors = r.all_errors();
        let laposte: Vec<&String> = errors.iter().filter(|e| e.contains("La Poste")).collect();
        assert_eq!(laposte.len(), 1, "{shape:?}: {errors:#?}");
        assert!(
            laposte[0].contains("laposte.api_key") && laposte[0].contains("refused the API key"),
            "{shape:?}: {}",
            laposte[0]
        );
        assert_eq!(errors.len(), 1, "{shape:?}: {errors:#?}");
        assert_eq!(r.parcels_polled, 0);
        assert_eq!(world.laposte.unauthorized(), 1, "{shape:?}");
        assert_eq!(world.laposte.request_log().len(), 1, "{shape:?}");
        let text = format!("{r:?} {errors:?}");
        assert!(
            !text.contains(wrong) && !text.contains("5ecret") && !text.contains(LAPOSTE_KEY),
            "{shape:?}: a key in the report"
        );
    }
}
