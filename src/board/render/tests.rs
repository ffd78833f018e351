//! Rendering tests: one exact card (what the team reads), determinism, a
//! day passing, Trello's limits and hostile outside text.

use chrono::{DateTime, TimeZone, Utc};

use super::*;
use crate::board::parse_marker;
use crate::config::RulesConfig;
use crate::domain::ProblemKey;
use crate::domain::calendar::Calendar;
use crate::domain::*;
use crate::rules::Judge;
use crate::tracking::status::normalise;

fn paris(y: i32, m: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    chrono_tz::Europe::Paris
        .with_ymd_and_hms(y, m, d, h, mi, 0)
        .single()
        .unwrap()
        .with_timezone(&Utc)
}

fn ctx() -> RenderContext {
    RenderContext::new(
        Url::parse("https://shop.example.fr/admin/").unwrap(),
        chrono_tz::Europe::Paris,
    )
}

fn order() -> Order {
    Order {
        entity_id: 4242,
        increment_id: "100023".into(),
        state: OrderState::Processing,
        status: "processing".into(),
        customer: Customer {
            firstname: "Jeanne".into(),
            lastname: "Dupont".into(),
            email: "jeanne.dupont@example.fr".into(),
        },
        items: vec![
            Item {
                sku: "CMP-HP301XL".into(),
                name: "Cartouche compatible HP 301 XL noir".into(),
                qty: 2.0,
                qty_to_ship: None,
            },
            Item {
                sku: "CMP-HP301C".into(),
                name: "Cartouche compatible HP 301 couleur".into(),
                qty: 1.0,
                qty_to_ship: None,
            },
        ],
        shipping_method: Some("colissimo_homecl".into()),
        created_at: paris(2026, 5, 4, 9, 12),
        updated_at: paris(2026, 5, 4, 10, 0),
        invoices: vec![paris(2026, 5, 4, 10, 0)],
        status_history: vec![],
        shipments: vec![],
    }
}

/// The order shipped in Colissimo on Mon 4 May 2026 18:00, last event
/// `code` at `last`.
fn shipped_order(code: &str, last: DateTime<Utc>) -> (Order, Parcel) {
    let mut o = order();
    o.state = OrderState::Complete;
    o.shipments = vec![Shipment {
        entity_id: 9,
        created_at: paris(2026, 5, 4, 18, 0),
        tracks: vec![Track {
            number: "6A12345678901".into(),
            carrier_code: "custom".into(),
            title: "Colissimo".into(),
            created_at: paris(2026, 5, 4, 18, 0),
        }],
    }];
    let mut p = parcels_of(&o, &Classifier::seed_defaults()).remove(0);
    let events = vec![TrackingEvent {
        code: code.into(),
        label: "Votre colis est en cours d'acheminement".into(),
        at: last,
    }];
    p.tracking = Some(TrackingSnapshot {
        fetched_at: last,
        status: normalise(&events),
        events,
        is_final: false,
        product: Some("Colissimo".into()),
    });
    (o, p)
}

fn card_at(o: &Order, p: Option<&Parcel>, now: DateTime<Utc>) -> CardContent {
    let cal = Calendar::france();
    let cfg = RulesConfig::seed_defaults();
    let cl = Classifier::seed_defaults();
    let parcels: Vec<Parcel> = p.into_iter().cloned().collect();
    let findings = Judge::new(&cal, &cfg, &cl, now).findings(o, &parcels);
    assert_eq!(findings.len(), 1, "{findings:#?}");
    render(&findings[0], o, p, &ctx())
}

#[test]
fn shipping_card_exact() {
    let card = card_at(&order(), None, paris(2026, 5, 7, 11, 0));
    assert_eq!(
        card.title,
        "Cmd 100023 · Retard d'expédition · compatible · 3 j ouvrés"
    );
    let want = "\
**Client** : Jeanne Dupont — jeanne.dupont@example.fr
**Commande** : [100023](https://shop.example.fr/admin/sales/order/view/order_id/4242/) · passée le lun. 4 mai 2026 à 09:12 · validée le lun. 4 mai 2026
**Mode de livraison** : colissimo\\_homecl (Colissimo)
**En retard depuis** : mar. 5 mai 2026 à 00:00
**Gravité** : Critique

**Articles**
- 2 × Cartouche compatible HP 301 XL noir (CMP-HP301XL)
- 1 × Cartouche compatible HP 301 couleur (CMP-HP301C)

**Constat**
- Commande validée le lun. 4 mai 2026 à 10:00 (jour ouvré, avant 16:00) : expédition due le lun. 4 mai 2026.
- Toujours pas expédiée le jeu. 7 mai 2026 : 3 j ouvrés depuis le jour d'expédition prévu (seuil 1 j ouvré).

**Procédure** (règle `shipping_compatible`)
Cartouches compatibles : expédition le jour même pour une commande validée avant 16:00, le jour ouvré suivant au-delà (jours ouvrés : hors week-ends et jours fériés).
- La commande a subi un délai d'expédition : le cas est remonté ici (rubrique « Retard d'expédition ») ; clôturez le ticket client.
- Ne vous avancez jamais sur un délai d'expédition. Si le client insiste, référez-vous à un Lead.

`colisync-key: order/100023`";
    assert_eq!(card.description, want);
    assert_eq!(
        card.labels,
        vec![
            LabelSpec {
                name: "Colissimo".into(),
                color: "yellow".into()
            },
            LabelSpec {
                name: "Compatible".into(),
                color: "green".into()
            },
            LabelSpec {
                name: "Critique".into(),
                color: "red".into()
            },
        ]
    );
    assert_eq!(card.due, Some(paris(2026, 5, 5, 0, 0)));
    assert_eq!(
        parse_marker(&card.description),
        Some(ProblemKey::Order {
            increment_id: "100023".into()
        })
    );
}

#[test]
fn delivery_card_title_links_and_labels() {
    let (o, p) = shipped_order("ET1", paris(2026, 5, 12, 8, 0));
    let card = card_at(&o, Some(&p), paris(2026, 5, 13, 9, 0));
    assert_eq!(
        card.title,
        "Cmd 100023 · Retard de livraison · Colissimo · 9 j"
    );
    assert!(card.description.contains(
        "**Suivi** : [6A12345678901](https://www.laposte.fr/outils/suivre-vos-envois?code=6A12345678901)"
    ));
    assert!(card.description.contains(
        "**Dernier événement** : ET1 « Votre colis est en cours d'acheminement » le mar. 12 mai 2026 à 08:00"
    ));
    assert!(
        card.description
            .contains("**Expédition** : Colissimo · expédié le lun. 4 mai 2026 à 18:00")
    );
    assert!(
        card.description
            .ends_with("`colisync-key: parcel/100023/6A12345678901`")
    );
    let names: Vec<_> = card.labels.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["Colissimo", "Compatible", "En retard"]);
    assert_eq!(
        tracking_url(Carrier::Chronopost, "XY123456789FR").as_deref(),
        Some("https://www.chronopost.fr/tracking-no-cms/suivi-page?listeNumerosLT=XY123456789FR")
    );
    assert_eq!(tracking_url(Carrier::Other, "X"), None);

    // Return to sender: no delay in the title, no due date.
    let (mut o, p) = shipped_order("RE1", paris(2026, 5, 8, 9, 0));
    o.increment_id = "100040".into();
    let mut p = p;
    p.order_increment_id = "100040".into();
    let card = card_at(&o, Some(&p), paris(2026, 5, 9, 9, 0));
    assert_eq!(card.title, "Cmd 100040 · Retour expéditeur · Colissimo");
    assert_eq!(card.due, None);
    assert!(
        card.description
            .contains("**Depuis** : ven. 8 mai 2026 à 09:00")
    );
}

#[test]
fn a_number_la_poste_cannot_track_is_not_shown_as_waiting_for_a_poll() {
    // Such a number is never sent to La Poste (tracking::laposte::can_track):
    // "not asked yet" would have the lead wait for an answer that never
    // comes, next to a fact saying the number must be fixed.
    let (mut o, _) = shipped_order("ET1", paris(2026, 5, 4, 18, 0));
    o.shipments[0].tracks[0].number = "6A-1234-5678".into();
    let p = parcels_of(&o, &Classifier::seed_defaults()).remove(0);
    assert!(p.tracking.is_none());
    let card = card_at(&o, Some(&p), paris(2026, 5, 6, 9, 0));
    assert!(
        card.description
            .contains("**Dernier événement** : La Poste ne peut pas suivre ce numéro"),
        "{}",
        card.description
    );
    assert!(!card.description.contains("pas encore interrogé"));
}

#[test]
fn deterministic_within_a_day_and_across_hours() {
    // Shipping: morning and evening of the same day render the same bytes.
    let o = order();
    let a = card_at(&o, None, paris(2026, 5, 7, 7, 0));
    let b = card_at(&o, None, paris(2026, 5, 7, 20, 45));
    assert_eq!(a, b);
    assert_eq!(fingerprint(&a), fingerprint(&b));
    assert_eq!(fingerprint(&a).len(), 64);
    // Stuck 50 h and 70 h: same card (no hour counts shown).
    let (o, p) = shipped_order("ET1", paris(2026, 5, 5, 8, 0));
    let a = card_at(&o, Some(&p), paris(2026, 5, 7, 10, 0));
    let b = card_at(&o, Some(&p), paris(2026, 5, 8, 6, 0));
    assert!(a.title.ends_with("· bloqué"), "{}", a.title);
    assert_eq!(a, b);
}

#[test]
fn a_day_passing_changes_only_the_counts() {
    let (o, p) = shipped_order("ET1", paris(2026, 5, 12, 8, 0));
    let d9 = card_at(&o, Some(&p), paris(2026, 5, 13, 9, 0));
    let d10 = card_at(&o, Some(&p), paris(2026, 5, 14, 9, 0));
    assert_eq!(
        d10.title,
        "Cmd 100023 · Retard de livraison · Colissimo · 10 j"
    );
    assert_eq!(d9.labels, d10.labels);
    assert_eq!(d9.due, d10.due);
    assert_ne!(fingerprint(&d9), fingerprint(&d10));
    let changed: Vec<(&str, &str)> = d9
        .description
        .lines()
        .zip(d10.description.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(
        changed,
        vec![(
            "- Expédié le lun. 4 mai 2026 à 18:00 (Colissimo), non livré le mer. 13 mai 2026 : 9 j depuis l'expédition (plus de 7 j).",
            "- Expédié le lun. 4 mai 2026 à 18:00 (Colissimo), non livré le jeu. 14 mai 2026 : 10 j depuis l'expédition (plus de 7 j)."
        )]
    );
    // Crossing 2 × 7 days turns the card critical: label and line change.
    let d14 = card_at(&o, Some(&p), paris(2026, 5, 18, 9, 0));
    assert_eq!(
        d14.labels[2],
        LabelSpec {
            name: "Critique".into(),
            color: "red".into()
        }
    );
    assert!(d14.description.contains("**Gravité** : Critique"));
}

#[test]
fn huge_orders_fit_trello_and_keep_the_marker() {
    let mut o = order();
    o.items = (0..5000)
        .map(|i| Item {
            sku: format!("CMP-{i}"),
            name: "Cartouche compatible très longue ".repeat(20),
            qty: 1.0,
            qty_to_ship: None,
        })
        .collect();
    let card = card_at(&o, None, paris(2026, 5, 7, 11, 0));
    assert!(card.description.chars().count() <= TEXT_LIMIT);
    assert!(card.title.chars().count() <= TEXT_LIMIT);
    assert!(
        card.description
            .contains("autres articles (voir la commande dans Magento)")
    );
    assert!(card.description.ends_with("`colisync-key: order/100023`"));
}

#[test]
fn outside_text_cannot_forge_markup_or_markers() {
    let mut o = order();
    o.customer.lastname = "Dupont\n\n`colisync-key: order/999`\n[x](http://evil)".into();
    o.items[0].name = "**gras** # titre".into();
    let card = card_at(&o, None, paris(2026, 5, 7, 11, 0));
    assert_eq!(
        parse_marker(&card.description),
        Some(ProblemKey::Order {
            increment_id: "100023".into()
        })
    );
    assert!(
        card.description.starts_with(
            "**Client** : Jeanne Dupont  \\`colisync-key: order/999\\` \\[x\\](http://evil) — "
        ),
        "{}",
        card.description
    );
    assert!(
        card.description
            .contains("- 2 × \\*\\*gras\\*\\* \\# titre (CMP-HP301XL)")
    );
    assert_eq!(
        card.description
            .lines()
            .filter(|l| l.contains("colisync-key"))
            .count(),
        2
    );
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        /// Whatever the order and its tracking: judge does not panic, each
        /// finding's card is within Trello's limits, deterministic, and
        /// carries its key on the last line.
        #[test]
        fn every_card_is_well_formed(
            validated_min in 0i64..60 * 24 * 60,
            ship_after_min in proptest::option::of(0i64..5 * 24 * 60),
            codes in proptest::collection::vec(
                prop_oneof![Just("DR1"), Just("PC1"), Just("ET1"), Just("MD2"),
                            Just("AG1"), Just("ND1"), Just("RE1"), Just("DI1"), Just("ZZ9")],
                0..6),
            method in prop_oneof![Just("colissimo_x"), Just("chronopost_x"),
                                  Just("flatrate_x"), Just("other_x")],
            name in ".{0,300}",
            original in any::<bool>(),
        ) {
            let now = paris(2026, 5, 20, 10, 0);
            let validated = now - chrono::Duration::minutes(validated_min);
            let mut o = order();
            o.customer.lastname = name;
            o.invoices = vec![validated];
            o.shipping_method = Some(method.into());
            if original {
                o.items[0].sku = "ORI-1".into();
            }
            let mut parcels = Vec::new();
            if let Some(after) = ship_after_min {
                let shipped = (validated + chrono::Duration::minutes(after)).min(now);
                o.state = OrderState::Complete;
                o.shipments = vec![Shipment {
                    entity_id: 5,
                    created_at: shipped,
                    tracks: vec![Track {
                        number: "6A1".into(),
                        carrier_code: "custom".into(),
                        title: String::new(),
                        created_at: shipped,
                    }],
                }];
                parcels = parcels_of(&o, &Classifier::seed_defaults());
                let events: Vec<TrackingEvent> = codes
                    .iter()
                    .enumerate()
                    .map(|(i, c)| TrackingEvent {
                        code: (*c).into(),
                        label: "x".into(),
                        at: (shipped + chrono::Duration::hours(10 * (codes.len() - i) as i64)).min(now),
                    })
                    .collect();
                for p in &mut parcels {
                    p.tracking = Some(TrackingSnapshot {
                        fetched_at: now,
                        status: normalise(&events),
                        events: events.clone(),
                        is_final: false,
                        product: None,
                    });
                }
            }
            let cal = Calendar::france();
            let cfg = RulesConfig::seed_defaults();
            let cl = Classifier::seed_defaults();
            let j = crate::rules::judge(&o, &parcels, &cal, &cfg, &cl, now);
            prop_assert!(j.findings.len() <= 1);
            prop_assert!(!j.trace.is_empty());
            for f in &j.findings {
                let p = parcels.iter().find(|p| matches!(&f.key,
                    ProblemKey::Parcel { parcel, .. } if *parcel == p.key_part()));
                let card = render(f, &o, p, &ctx());
                prop_assert!(card.title.chars().count() <= TEXT_LIMIT);
                prop_assert!(card.description.chars().count() <= TEXT_LIMIT);
                prop_assert!(card.description.ends_with(&crate::board::marker_line(&f.key)));
                prop_assert_eq!(parse_marker(&card.description), Some(f.key.clone()));
                prop_assert_eq!(fingerprint(&card), fingerprint(&render(f, &o, p, &ctx())));
            }
        }
    }
}
