//! A sample shop: orders and parcels positioned around a fixed instant so
//! that every seed rule fires once (and its neighbours on the other side of
//! each boundary do not). Used by `colisync demo`, the end-to-end tests and
//! the sync benchmark.
//!
//! The reference instant is Tuesday 19 May 2026, 10:00 in Paris: the week
//! after Ascension (14 May), so that holidays take part in the counting.

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Europe::Paris;

use colisync::domain::{
    Customer, Item, Order, OrderState, Shipment, StatusChange, Track, TrackingEvent,
};

/// One parcel as the La Poste fake should report it.
#[derive(Debug, Clone)]
pub struct SampleParcel {
    pub number: String,
    /// La Poste's product label ("Colissimo", "Chronopost", "Lettre suivie").
    pub product: String,
    /// Newest first. Empty: the carrier does not know the number (104).
    pub events: Vec<TrackingEvent>,
    pub is_final: bool,
    /// The pickup point La Poste names (`contextData.removalPoint`: name,
    /// type), if any.
    pub removal_point: Option<(String, String)>,
}

/// A whole shop: what the Magento fake serves and what the La Poste fake
/// knows.
#[derive(Debug, Clone, Default)]
pub struct SampleShop {
    pub orders: Vec<Order>,
    pub parcels: Vec<SampleParcel>,
}

/// The instant the sample shop is built around.
pub fn reference_now() -> DateTime<Utc> {
    paris(2026, 5, 19, 10, 0)
}

/// A Paris wall-clock time as an instant (the sample never uses DST gaps).
fn paris(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Paris
        .with_ymd_and_hms(y, m, d, h, min, 0)
        .single()
        .expect("sample times avoid DST changes")
        .with_timezone(&Utc)
}

struct OrderSpec<'a> {
    n: u32,
    name: (&'a str, &'a str),
    skus: &'a [(&'a str, &'a str)],
    method: &'a str,
    state: OrderState,
    status: &'a str,
    validated: Option<DateTime<Utc>>,
    shipped: Option<(DateTime<Utc>, &'a str, &'a str)>,
}

fn order(spec: OrderSpec<'_>) -> Order {
    let created = spec
        .validated
        .unwrap_or_else(|| reference_now() - chrono::Duration::hours(30))
        - chrono::Duration::minutes(7);
    let entity_id = u64::from(spec.n);
    let shipments = spec
        .shipped
        .map(|(at, number, carrier_code)| {
            vec![Shipment {
                entity_id: 5000 + entity_id,
                created_at: at,
                tracks: if number.is_empty() {
                    Vec::new()
                } else {
                    vec![Track {
                        number: number.to_owned(),
                        carrier_code: carrier_code.to_owned(),
                        title: carrier_code.to_owned(),
                        created_at: at,
                    }]
                },
            }]
        })
        .unwrap_or_default();
    let updated = shipments
        .first()
        .map(|s| s.created_at)
        .or(spec.validated)
        .unwrap_or(created);
    Order {
        entity_id,
        increment_id: format!("{}", 100_000 + spec.n),
        state: spec.state,
        status: spec.status.to_owned(),
        customer: Customer {
            firstname: spec.name.0.to_owned(),
            lastname: spec.name.1.to_owned(),
            email: format!(
                "{}.{}@example.fr",
                spec.name.0.to_lowercase(),
                spec.name.1.to_lowercase()
            ),
        },
        items: spec
            .skus
            .iter()
            .map(|(sku, name)| Item {
                sku: (*sku).to_owned(),
                name: (*name).to_owned(),
                qty: 1.0,
                qty_to_ship: None,
            })
            .collect(),
        shipping_method: Some(spec.method.to_owned()),
        created_at: created,
        updated_at: updated,
        invoices: spec.validated.into_iter().collect(),
        status_history: spec
            .validated
            .map(|at| StatusChange {
                status: "processing".into(),
                at,
            })
            .into_iter()
            .collect(),
        shipments,
    }
}

fn ev(code: &str, label: &str, at: DateTime<Utc>) -> TrackingEvent {
    TrackingEvent {
        code: code.to_owned(),
        label: label.to_owned(),
        at,
    }
}

const COMPAT: &[(&str, &str)] = &[("CMP-HP303XL-BK", "Cartouche compatible HP 303 XL noir")];
const PARTIAL: &[(&str, &str)] = &[
    ("CMP-EPS-T2991", "Cartouche compatible Epson 29 XL noir"),
    ("ORI-EPS-T2992", "Cartouche Epson 29 XL cyan d'origine"),
];
const MIXED: &[(&str, &str)] = &[
    ("CMP-CAN-PG545", "Cartouche compatible Canon PG-545"),
    ("ORI-CAN-CL546", "Cartouche Canon CL-546 couleur d'origine"),
];

/// The demo shop: every rule fires once, and the orders next to each
/// boundary stay quiet. See each entry's comment for what it shows.
pub fn demo_shop() -> SampleShop {
    use OrderState::*;
    let p = paris;
    let mut orders = Vec::new();
    let mut parcels = Vec::new();
    let mut add = |spec: OrderSpec<'_>, parcel: Option<SampleParcel>| {
        orders.push(order(spec));
        parcels.extend(parcel);
    };
    // shipping_compatible: validated Mon 18 May 10:00, before the cutoff;
    // due that day; one business day has passed on Tue 19.
    add(
        OrderSpec {
            n: 1,
            name: ("Camille", "Martin"),
            skus: COMPAT,
            method: "colissimo_homecl",
            state: Processing,
            status: "processing",
            validated: Some(p(2026, 5, 18, 10, 0)),
            shipped: None,
        },
        None,
    );
    // Quiet: validated Mon 18 May 16:01, after the cutoff: due Tue 19.
    add(
        OrderSpec {
            n: 2,
            name: ("Louis", "Bernard"),
            skus: COMPAT,
            method: "colissimo_homecl",
            state: Processing,
            status: "processing",
            validated: Some(p(2026, 5, 18, 16, 1)),
            shipped: None,
        },
        None,
    );
    // shipping_original, on a partial shipment: validated Wed 29 April, its
    // compatible cartridge left Mon 4 May (delivered the next day), its
    // original one still waits: 11 business days by 19 May. The card names
    // the waiting item (quantities set below).
    let at = p(2026, 5, 4, 15, 0);
    add(
        OrderSpec {
            n: 3,
            name: ("Chloé", "Dubois"),
            skus: PARTIAL,
            method: "colissimo_homecl",
            state: Processing,
            status: "processing",
            validated: Some(p(2026, 4, 29, 11, 0)),
            shipped: Some((at, "6A20260504003", "colissimo")),
        },
        Some(SampleParcel {
            number: "6A20260504003".into(),
            product: "Colissimo".into(),
            events: vec![
                ev("DI1", "Votre colis est livré.", p(2026, 5, 5, 12, 10)),
                ev(
                    "PC1",
                    "Votre colis a été pris en charge par La Poste.",
                    p(2026, 5, 4, 18, 0),
                ),
            ],
            is_final: true,
            removal_point: None,
        }),
    );
    // Quiet: mixed order (follows the original rule), validated Thu 30 April:
    // exactly 10 business days on 19 May, not more.
    add(
        OrderSpec {
            n: 4,
            name: ("Hugo", "Thomas"),
            skus: MIXED,
            method: "colissimo_homecl",
            state: Processing,
            status: "processing",
            validated: Some(p(2026, 4, 30, 9, 30)),
            shipped: None,
        },
        None,
    );
    // delivery_colissimo: shipped Mon 11 May, still in transit (8 days).
    let at = p(2026, 5, 11, 14, 0);
    add(
        OrderSpec {
            n: 5,
            name: ("Léa", "Robert"),
            skus: COMPAT,
            method: "colissimo_homecl",
            state: Complete,
            status: "complete",
            validated: Some(p(2026, 5, 11, 9, 0)),
            shipped: Some((at, "6A20260511001", "colissimo")),
        },
        Some(SampleParcel {
            number: "6A20260511001".into(),
            product: "Colissimo".into(),
            events: vec![
                ev(
                    "ET1",
                    "Votre colis est en cours d'acheminement.",
                    p(2026, 5, 18, 6, 12),
                ),
                ev(
                    "PC1",
                    "Votre colis a été pris en charge par La Poste.",
                    p(2026, 5, 11, 18, 40),
                ),
                ev("DR1", "Votre colis est prêt à être expédié.", at),
            ],
            is_final: false,
            removal_point: None,
        }),
    );
    // delivery_chronopost: shipped Fri 15 May, 24 h guarantee ended Mon 18.
    let at = p(2026, 5, 15, 15, 0);
    add(
        OrderSpec {
            n: 6,
            name: ("Jules", "Richard"),
            skus: COMPAT,
            method: "chronopost_chrono13",
            state: Complete,
            status: "complete",
            validated: Some(p(2026, 5, 15, 9, 0)),
            shipped: Some((at, "XY202605150FR", "chronopost")),
        },
        Some(SampleParcel {
            number: "XY202605150FR".into(),
            product: "Chronopost".into(),
            events: vec![
                ev("ET2", "Colis en transit.", p(2026, 5, 15, 22, 5)),
                ev("PC1", "Colis pris en charge.", p(2026, 5, 15, 18, 0)),
            ],
            is_final: false,
            removal_point: None,
        }),
    );
    // tracking_not_found: shipped Mon 18 May 08:00, the number still unknown
    // 26 h later.
    let at = p(2026, 5, 18, 8, 0);
    add(
        OrderSpec {
            n: 7,
            name: ("Manon", "Petit"),
            skus: COMPAT,
            method: "colissimo_homecl",
            state: Complete,
            status: "complete",
            validated: Some(p(2026, 5, 15, 11, 0)),
            shipped: Some((at, "6A20260518007", "colissimo")),
        },
        Some(SampleParcel {
            number: "6A20260518007".into(),
            product: "Colissimo".into(),
            events: Vec::new(),
            is_final: false,
            removal_point: None,
        }),
    );
    // tracking_stuck: last scan Fri 15 May 18:00, in transit since (64 h).
    let at = p(2026, 5, 15, 10, 0);
    add(
        OrderSpec {
            n: 8,
            name: ("Gabriel", "Durand"),
            skus: COMPAT,
            method: "colissimo_homecl",
            state: Complete,
            status: "complete",
            validated: Some(p(2026, 5, 15, 8, 0)),
            shipped: Some((at, "6A20260515008", "colissimo")),
        },
        Some(SampleParcel {
            number: "6A20260515008".into(),
            product: "Colissimo".into(),
            events: vec![
                ev(
                    "PC1",
                    "Votre colis a été pris en charge par La Poste.",
                    p(2026, 5, 15, 18, 0),
                ),
                ev("DR1", "Votre colis est prêt à être expédié.", at),
            ],
            is_final: false,
            removal_point: None,
        }),
    );
    // tracking_problem: undeliverable (ND1) yesterday.
    let at = p(2026, 5, 13, 10, 0);
    add(
        OrderSpec {
            n: 9,
            name: ("Inès", "Leroy"),
            skus: COMPAT,
            method: "colissimo_homecl",
            state: Complete,
            status: "complete",
            validated: Some(p(2026, 5, 12, 15, 0)),
            shipped: Some((at, "6A20260513009", "colissimo")),
        },
        Some(SampleParcel {
            number: "6A20260513009".into(),
            product: "Colissimo".into(),
            events: vec![
                ev(
                    "ND1",
                    "Votre colis ne peut pas être livré : adresse incomplète.",
                    p(2026, 5, 18, 11, 20),
                ),
                ev(
                    "MD2",
                    "Votre colis est en cours de livraison.",
                    p(2026, 5, 18, 8, 5),
                ),
                ev(
                    "PC1",
                    "Votre colis a été pris en charge par La Poste.",
                    p(2026, 5, 13, 18, 0),
                ),
            ],
            is_final: false,
            removal_point: None,
        }),
    );
    // return_to_sender: returning after a failed delivery, then a transit
    // scan: once returning, stays returning.
    let at = p(2026, 5, 6, 10, 0);
    add(
        OrderSpec {
            n: 10,
            name: ("Adam", "Moreau"),
            skus: COMPAT,
            method: "chronopost_chrono13",
            state: Complete,
            status: "complete",
            validated: Some(p(2026, 5, 6, 8, 0)),
            shipped: Some((at, "XY202605060FR", "chronopost")),
        },
        Some(SampleParcel {
            number: "XY202605060FR".into(),
            product: "Chronopost".into(),
            events: vec![
                ev("ET3", "Colis en transit.", p(2026, 5, 12, 4, 0)),
                ev(
                    "RE1",
                    "Colis en retour vers l'expéditeur.",
                    p(2026, 5, 11, 9, 0),
                ),
                ev(
                    "ND1",
                    "Destinataire absent, colis non livrable.",
                    p(2026, 5, 7, 10, 0),
                ),
            ],
            is_final: false,
            removal_point: None,
        }),
    );
    // delivery_letter: envoi simple shipped Tue 5 May (14 days).
    add(
        OrderSpec {
            n: 11,
            name: ("Emma", "Simon"),
            skus: COMPAT,
            method: "flatrate_flatrate",
            state: Complete,
            status: "complete",
            validated: Some(p(2026, 5, 5, 9, 0)),
            shipped: Some((p(2026, 5, 5, 15, 0), "", "custom")),
        },
        None,
    );
    // Quiet: delivered Colissimo.
    let at = p(2026, 5, 12, 10, 0);
    add(
        OrderSpec {
            n: 12,
            name: ("Nathan", "Laurent"),
            skus: COMPAT,
            method: "colissimo_homecl",
            state: Complete,
            status: "complete",
            validated: Some(p(2026, 5, 12, 8, 0)),
            shipped: Some((at, "6A20260512012", "colissimo")),
        },
        Some(SampleParcel {
            number: "6A20260512012".into(),
            product: "Colissimo".into(),
            events: vec![
                ev("DI1", "Votre colis est livré.", p(2026, 5, 13, 11, 0)),
                ev(
                    "PC1",
                    "Votre colis a été pris en charge par La Poste.",
                    p(2026, 5, 12, 18, 0),
                ),
            ],
            is_final: true,
            removal_point: None,
        }),
    );
    // Quiet: waiting at a pickup point for 3 days is not stuck.
    let at = p(2026, 5, 13, 9, 0);
    add(
        OrderSpec {
            n: 13,
            name: ("Sarah", "Michel"),
            skus: COMPAT,
            method: "colissimo_pickup",
            state: Complete,
            status: "complete",
            validated: Some(p(2026, 5, 12, 17, 0)),
            shipped: Some((at, "6A20260513013", "colissimo")),
        },
        Some(SampleParcel {
            number: "6A20260513013".into(),
            product: "Colissimo".into(),
            events: vec![
                ev(
                    "AG1",
                    "Votre colis est disponible dans votre point de retrait.",
                    p(2026, 5, 16, 9, 30),
                ),
                ev(
                    "PC1",
                    "Votre colis a été pris en charge par La Poste.",
                    p(2026, 5, 13, 18, 0),
                ),
            ],
            is_final: false,
            removal_point: None,
        }),
    );
    // Quiet: a lettre suivie (an envoi simple with a La Poste number)
    // shipped Tue 5 May, delivered Thu 7: 14 days, but La Poste says it
    // arrived, so no 10-day letter card.
    let at = p(2026, 5, 5, 15, 0);
    add(
        OrderSpec {
            n: 17,
            name: ("Zoé", "Fournier"),
            skus: COMPAT,
            method: "flatrate_flatrate",
            state: Complete,
            status: "complete",
            validated: Some(p(2026, 5, 5, 9, 0)),
            shipped: Some((at, "1L20260505017", "Lettre suivie")),
        },
        Some(SampleParcel {
            number: "1L20260505017".into(),
            product: "Lettre suivie".into(),
            events: vec![
                ev(
                    "DI1",
                    "Votre courrier a été distribué.",
                    p(2026, 5, 7, 11, 0),
                ),
                ev(
                    "PC1",
                    "Votre courrier a été pris en charge par La Poste.",
                    p(2026, 5, 5, 18, 0),
                ),
            ],
            is_final: true,
            removal_point: None,
        }),
    );
    // Quiet: a DPD parcel shipped Thu 7 May. La Poste does not track DPD:
    // never asked, never « introuvable »; `delivery_other` is off by default.
    add(
        OrderSpec {
            n: 18,
            name: ("Lucas", "Girard"),
            skus: COMPAT,
            method: "dpdfrpredict_dpdfrpredict",
            state: Complete,
            status: "complete",
            validated: Some(p(2026, 5, 6, 15, 0)),
            shipped: Some((p(2026, 5, 7, 11, 0), "25012345678901", "DPD Predict")),
        },
        None,
    );
    // Quiet: cancelled, on hold and awaiting payment orders fire nothing.
    for (n, state, status) in [
        (14, Canceled, "canceled"),
        (15, Holded, "holded"),
        (16, PendingPayment, "pending_payment"),
    ] {
        let validated = (state != PendingPayment).then(|| p(2026, 5, 4, 10, 0));
        add(
            OrderSpec {
                n,
                name: ("Alice", "Garcia"),
                skus: COMPAT,
                method: "colissimo_homecl",
                state,
                status,
                validated,
                shipped: None,
            },
            None,
        );
    }
    // Order 100003 is partly shipped: its compatible cartridge left, its
    // original one waits.
    if let Some(o) = orders.iter_mut().find(|o| o.entity_id == 3) {
        for item in &mut o.items {
            let original = item.sku.starts_with("ORI-");
            item.qty_to_ship = Some(if original { item.qty } else { 0.0 });
        }
    }
    SampleShop { orders, parcels }
}

/// The demo shop with the two-stage procedures after its orders (same
/// numbers and cards for the others): order 100019's parcel waiting at a
/// pickup point and order 100020's Colissimo parcel on its way back. What
/// `colisync demo` runs against; the end-to-end tests keep [`demo_shop`],
/// whose La Poste numbers fit one batch of 10 and whose card counts they
/// assert.
pub fn demo_shop_with_stages() -> SampleShop {
    use OrderState::*;
    let p = paris;
    let mut shop = demo_shop();
    let (mut orders, mut parcels) = (Vec::new(), Vec::new());
    fn add(
        orders: &mut Vec<Order>,
        parcels: &mut Vec<SampleParcel>,
        spec: OrderSpec<'_>,
        parcel: Option<SampleParcel>,
    ) {
        orders.push(order(spec));
        parcels.extend(parcel);
    }
    // pickup (« À retirer »): a Colissimo parcel waiting at a pickup point
    // since Thu 7 May: 6 business days by Tue 19 May (8 and 14 May are
    // holidays), more than 5. La Poste keeps it 10 of its ouvrables (Mon to
    // Sat): back to the sender around Thu 21 May, 2 ouvrables away, so the
    // card is critical. The demo has it collected the next day.
    let at = p(2026, 5, 5, 14, 0);
    add(
        &mut orders,
        &mut parcels,
        OrderSpec {
            n: 19,
            name: ("Rose", "Lambert"),
            skus: COMPAT,
            method: "colissimo_pr",
            state: Complete,
            status: "complete",
            validated: Some(p(2026, 5, 5, 9, 0)),
            shipped: Some((at, "6A20260505019", "colissimo")),
        },
        Some(SampleParcel {
            number: "6A20260505019".into(),
            product: "Colissimo".into(),
            events: vec![
                ev(
                    "AG1",
                    "Votre colis est disponible dans votre point de retrait.",
                    p(2026, 5, 7, 9, 30),
                ),
                ev(
                    "PC1",
                    "Votre colis a été pris en charge par La Poste.",
                    p(2026, 5, 5, 18, 0),
                ),
            ],
            is_final: false,
            removal_point: Some(("TABAC DE LA GARE".into(), "A2P".into())),
        }),
    );
    // return_to_sender in two stages, on a Colissimo parcel: returning
    // since Thu 7 May (RE1), expected back between 17 and 27 May (due the
    // end of S+20). The demo has it back at the shop (DI2) the next day.
    let at = p(2026, 5, 4, 14, 0);
    add(
        &mut orders,
        &mut parcels,
        OrderSpec {
            n: 20,
            name: ("Paul", "Lefebvre"),
            skus: COMPAT,
            method: "colissimo_homecl",
            state: Complete,
            status: "complete",
            validated: Some(p(2026, 5, 4, 9, 0)),
            shipped: Some((at, "6A20260504020", "colissimo")),
        },
        Some(SampleParcel {
            number: "6A20260504020".into(),
            product: "Colissimo".into(),
            events: return_events(),
            is_final: false,
            removal_point: None,
        }),
    );
    shop.orders.extend(orders);
    shop.parcels.extend(parcels);
    shop
}

/// Order 100020's parcel on its way back to the shop, newest first.
pub fn return_events() -> Vec<TrackingEvent> {
    vec![
        ev(
            "ET1",
            "Votre colis est en cours d'acheminement.",
            paris(2026, 5, 9, 6, 40),
        ),
        ev(
            "RE1",
            "Votre colis est retourné à l'expéditeur.",
            paris(2026, 5, 7, 15, 10),
        ),
        ev(
            "ND1",
            "Votre colis ne peut pas être livré : destinataire inconnu à l'adresse.",
            paris(2026, 5, 6, 11, 0),
        ),
        ev(
            "PC1",
            "Votre colis a été pris en charge par La Poste.",
            paris(2026, 5, 4, 18, 0),
        ),
    ]
}

/// `n` compatible orders validated long before [`reference_now`] and never
/// shipped: each files one `shipping_compatible` card. For the sync
/// benchmark and the throughput test.
pub fn late_orders(n: u32) -> SampleShop {
    let names = [
        ("Camille", "Martin"),
        ("Louis", "Bernard"),
        ("Chloé", "Dubois"),
        ("Hugo", "Thomas"),
    ];
    let orders = (0..n)
        .map(|i| {
            let day = 4 + (i % 8); // validated between Mon 4 and Mon 11 May
            order(OrderSpec {
                n: 1000 + i,
                name: names[(i as usize) % names.len()],
                skus: COMPAT,
                method: "colissimo_homecl",
                state: OrderState::Processing,
                status: "processing",
                validated: Some(paris(2026, 5, day, 9 + i % 7, (i * 7) % 60)),
                shipped: None,
            })
        })
        .collect();
    SampleShop {
        orders,
        parcels: Vec::new(),
    }
}

/// A shop of `total` orders within `lookback_days`, of which `open` still
/// have work: the whole-pass benchmarks' shop. Of the open ones, one in
/// twenty is a compatible order never shipped (one `shipping_compatible`
/// card each, so that the board has cards to read), the rest Colissimo
/// parcels shipped the day before [`reference_now`] and in transit (judged
/// every pass, no card). The other `total − open` were shipped 2 to 81
/// days before and delivered (La Poste's final `DI1`): nothing to judge.
pub fn sized_shop(total: u32, open: u32) -> SampleShop {
    let open = open.min(total);
    let late = open / 20;
    let now = reference_now();
    let mut orders = Vec::with_capacity(total as usize);
    let mut parcels = Vec::with_capacity(total as usize);
    for i in 0..total {
        let n = 1 + i;
        if i < late {
            orders.push(order(OrderSpec {
                n,
                name: ("Camille", "Martin"),
                skus: COMPAT,
                method: "colissimo_homecl",
                state: OrderState::Processing,
                status: "processing",
                validated: Some(paris(2026, 5, 4 + i % 8, 9 + i % 7, (i * 7) % 60)),
                shipped: None,
            }));
            continue;
        }
        let in_transit = i < open;
        let shipped = if in_transit {
            now - chrono::Duration::hours(20) + chrono::Duration::minutes(i64::from(i % 600))
        } else {
            now - chrono::Duration::days(2 + i64::from(i % 80))
                - chrono::Duration::minutes(i64::from(i % 600))
        };
        let number = format!("6A{:011}", n);
        orders.push(order(OrderSpec {
            n,
            name: ("Léa", "Robert"),
            skus: COMPAT,
            method: "colissimo_homecl",
            state: OrderState::Complete,
            status: "complete",
            validated: Some(shipped - chrono::Duration::hours(5)),
            shipped: Some((shipped, &number, "colissimo")),
        }));
        let taken = shipped + chrono::Duration::hours(4);
        let mut events = vec![ev(
            "PC1",
            "Votre colis a été pris en charge par La Poste.",
            taken,
        )];
        if !in_transit {
            events.insert(
                0,
                ev(
                    "DI1",
                    "Votre colis est livré.",
                    taken + chrono::Duration::hours(20),
                ),
            );
        }
        parcels.push(SampleParcel {
            number,
            product: "Colissimo".into(),
            events,
            is_final: !in_transit,
            removal_point: None,
        });
    }
    SampleShop { orders, parcels }
}

/// The demo's lost parcel (« livré mais pas reçu »): order 100030, a
/// Colissimo parcel shipped Mon 11 May and delivered Wed 13 May (not the
/// 14th: Ascension). Not part of [`demo_shop`] (a quiet order there would
/// change nothing but every count): the demo adds it when the customer
/// calls, and `colisync case 100030 perdu` opens the case.
pub fn lost_parcel_order() -> (Order, SampleParcel) {
    let p = paris;
    let at = p(2026, 5, 11, 14, 0);
    let o = order(OrderSpec {
        n: 30,
        name: ("Inès", "Lefèvre"),
        skus: COMPAT,
        method: "colissimo_homecl",
        state: OrderState::Complete,
        status: "complete",
        validated: Some(p(2026, 5, 11, 9, 0)),
        shipped: Some((at, "6A20260511030", "colissimo")),
    });
    let parcel = SampleParcel {
        number: "6A20260511030".into(),
        product: "Colissimo".into(),
        events: vec![
            ev("DI1", "Votre colis est livré.", p(2026, 5, 13, 11, 0)),
            ev(
                "PC1",
                "Votre colis a été pris en charge par La Poste.",
                p(2026, 5, 11, 18, 0),
            ),
        ],
        is_final: true,
        removal_point: None,
    };
    (o, parcel)
}
