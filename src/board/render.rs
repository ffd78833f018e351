//! Card rendering: a finding (with its order and parcel) → the card colisync
//! wants on the board. Pure: no clock, no I/O.
//!
//! Sits between judge (which produces [`Finding`]s) and plan (which compares
//! what it renders with what the state says is on the board). Two promises
//! make "a pass with nothing new writes nothing" work:
//!
//! - **Deterministic**: the output depends only on the arguments, and not on
//!   anything that moves between passes (no `now`, no poll time, no elapsed
//!   hours): an unchanged problem renders byte-identically and has the same
//!   [`fingerprint`]. A day passing changes only the day counts and, when
//!   it crosses the line, the severity.
//! - **Within Trello's limits**: title and description are at most
//!   [`TEXT_LIMIT`] characters; a huge order's item list is cut visibly, and the marker
//!   line (the key, for adoption) always stays last.
//!
//! Everything that comes from outside (names, SKUs, event labels) is
//! escaped for Markdown and kept on one line, so that no customer name can
//! forge a marker line or a link.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sha2::{Digest, Sha256};
use url::Url;

use super::{CardContent, LabelSpec, TEXT_LIMIT, marker_line};
use crate::domain::{Carrier, Order, Parcel, ProductKind, RuleId, Severity, can_track};
use crate::fr::{self, LABEL_COMPATIBLE, LABEL_ORIGINAL, card as words};
use crate::rules::{Delay, Finding};

/// Longest piece of outside text shown as is (a name, a label, a SKU).
const FIELD_LIMIT: usize = 200;

/// What rendering needs besides the finding: where the Magento admin is and
/// which timezone the team reads dates in.
#[derive(Debug, Clone)]
pub struct RenderContext {
    /// `magento.admin_url`, e.g. `https://shop.example.fr/admin`.
    pub(crate) admin_url: Url,
    /// `calendar.timezone` (Europe/Paris).
    pub(crate) tz: Tz,
}

impl RenderContext {
    pub fn new(admin_url: Url, tz: Tz) -> Self {
        RenderContext { admin_url, tz }
    }
}

/// The card for `finding`. `parcel` is the parcel a delivery-phase finding
/// is about (its key part matches), `None` in the shipping phase.
pub fn render(
    finding: &Finding,
    order: &Order,
    parcel: Option<&Parcel>,
    ctx: &RenderContext,
) -> CardContent {
    CardContent {
        title: truncate_chars(&title(finding, parcel), TEXT_LIMIT),
        description: description(finding, order, parcel, ctx),
        labels: labels(finding, parcel),
        // A due date helps triage where there is a deadline that was
        // missed; an incident has none. A rule that knows when the team
        // must have acted (a return's expected arrival, a pickup's return
        // day) sets its own.
        due: finding.due.or(match finding.delay {
            Delay::None => None,
            _ => finding.deadline,
        }),
    }
}

/// SHA-256 (hex) of a canonical, length-prefixed serialization of the card:
/// what the state stores to know whether a card needs an update.
pub(crate) fn fingerprint(card: &CardContent) -> String {
    let mut h = Sha256::new();
    let mut field = |name: &str, value: &str| {
        h.update(name.as_bytes());
        h.update((value.len() as u64).to_be_bytes());
        h.update(value.as_bytes());
    };
    field("v", "colisync-card-1");
    field("title", &card.title);
    field("description", &card.description);
    for l in &card.labels {
        field("label.name", &l.name);
        field("label.color", &l.color);
    }
    let due = card
        .due
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default();
    field("due", &due);
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// `{admin_url}/sales/order/view/order_id/{entity_id}/`
pub(crate) fn admin_order_url(admin_url: &Url, entity_id: u64) -> String {
    format!(
        "{}/sales/order/view/order_id/{entity_id}/",
        admin_url.as_str().trim_end_matches('/')
    )
}

fn carrier_of(finding: &Finding, parcel: Option<&Parcel>) -> Option<Carrier> {
    finding.carrier.or(parcel.map(|p| p.carrier))
}

/// `Cmd 100023 · Retard d'expédition · compatible · 3 j ouvrés`. Hour-based
/// anomalies show their nature, not an hour count that would change the
/// card every hour.
fn title(f: &Finding, parcel: Option<&Parcel>) -> String {
    let order = words::title_order(&one_line(f.key.increment_id()));
    let case = f.rule.case_fr().to_owned();
    let carrier = carrier_of(f, parcel)
        .unwrap_or(Carrier::Other)
        .label_fr()
        .to_owned();
    let parts: Vec<String> = match f.rule {
        RuleId::ShippingCompatible | RuleId::ShippingOriginal => {
            let n = match f.delay {
                Delay::BusinessDays(n) | Delay::Days(n) => n,
                _ => 0,
            };
            vec![
                order,
                case,
                f.product.label_fr().to_owned(),
                fr::business_days(n),
            ]
        }
        RuleId::DeliveryLetter
        | RuleId::DeliveryColissimo
        | RuleId::DeliveryChronopost
        | RuleId::DeliveryOther => match f.delay {
            Delay::Days(n) | Delay::BusinessDays(n) => {
                vec![order, case, carrier, words::title_days(n)]
            }
            _ => vec![order, case, carrier],
        },
        RuleId::TrackingNotFound => vec![order, case, carrier, words::TITLE_NOT_FOUND.into()],
        RuleId::TrackingStuck => vec![order, case, carrier, words::TITLE_STUCK.into()],
        RuleId::TrackingProblem => vec![order, case, carrier, words::TITLE_INCIDENT.into()],
        RuleId::ReturnToSender => match &f.detail {
            Some(stage) => vec![order, case, carrier, stage.clone()],
            None => vec![order, case, carrier],
        },
        RuleId::LostParcel | RuleId::AddressChange => {
            let mut parts = vec![order, case];
            parts.extend(f.detail.clone());
            if f.rule == RuleId::LostParcel {
                parts.push(carrier);
            }
            parts
        }
        RuleId::Pickup => match f.delay {
            Delay::BusinessDays(n) => vec![order, case, carrier, fr::business_days(n)],
            _ => vec![order, case, carrier],
        },
    };
    parts.join(words::TITLE_SEPARATOR)
}

/// The names of every label [`render`] can put on a card: on a card found
/// on the board, these are colisync's, every other label is a lead's.
pub(crate) fn own_label_names() -> std::collections::BTreeSet<String> {
    [
        Carrier::Letter,
        Carrier::Colissimo,
        Carrier::Chronopost,
        Carrier::Other,
        Carrier::Foreign,
    ]
    .into_iter()
    .map(|c| c.label_fr().to_owned())
    .chain([LABEL_COMPATIBLE.to_owned(), LABEL_ORIGINAL.to_owned()])
    .chain([
        Severity::Late.label_fr().to_owned(),
        Severity::Critical.label_fr().to_owned(),
    ])
    .collect()
}

fn labels(f: &Finding, parcel: Option<&Parcel>) -> Vec<LabelSpec> {
    let label = |name: &str, color: &str| LabelSpec {
        name: name.to_owned(),
        color: color.to_owned(),
    };
    let mut out = Vec::with_capacity(3);
    if let Some(c) = carrier_of(f, parcel) {
        let color = match c {
            Carrier::Letter => "sky",
            Carrier::Colissimo => "yellow",
            Carrier::Chronopost => "blue",
            Carrier::Other | Carrier::Foreign => "black",
        };
        out.push(label(c.label_fr(), color));
    }
    out.push(match f.product {
        ProductKind::Compatible => label(LABEL_COMPATIBLE, "green"),
        ProductKind::Original => label(LABEL_ORIGINAL, "purple"),
    });
    out.push(match f.severity {
        Severity::Late => label(Severity::Late.label_fr(), "orange"),
        Severity::Critical => label(Severity::Critical.label_fr(), "red"),
    });
    out
}

fn description(f: &Finding, order: &Order, parcel: Option<&Parcel>, ctx: &RenderContext) -> String {
    let dt = |t: DateTime<Utc>| fr::datetime(t, ctx.tz);
    let mut head = String::with_capacity(1024);
    let mut line = |s: String| {
        head.push_str(&s);
        head.push('\n');
    };

    let name = order.customer_name();
    let email = &order.customer.email;
    line(format!(
        "{}{}{}",
        words::CUSTOMER,
        if name.is_empty() {
            words::NO_NAME.to_owned()
        } else {
            md(&name)
        },
        if email.is_empty() {
            String::new()
        } else {
            format!("{}{}", words::EMAIL_SEPARATOR, md(email))
        }
    ));
    let mut cmd = format!(
        "{}[{}]({}){}{}",
        words::ORDER,
        md(&order.increment_id),
        admin_order_url(&ctx.admin_url, order.entity_id),
        words::PLACED_ON,
        dt(order.created_at)
    );
    if let Some(v) = f.validated_on {
        cmd.push_str(words::VALIDATED_ON);
        cmd.push_str(&fr::date(v));
    }
    line(cmd);
    if let Some(p) = parcel {
        line(format!(
            "{}{}{}{}",
            words::SHIPMENT,
            p.carrier.label_fr(),
            words::SHIPPED_ON,
            dt(p.shipped_at)
        ));
        if p.tracking_number.is_empty() {
            line(format!("{}{}", words::TRACKING, words::NO_TRACKING_NUMBER));
        } else {
            let number = md(&p.tracking_number);
            let shown = match crate::domain::tracking_url(p.carrier, &p.tracking_number) {
                Some(u) => format!("[{number}]({u})"),
                None => number,
            };
            line(format!("{}{shown}", words::TRACKING));
            let last = match p.last_event() {
                Some(e) => words::last_event(&md(&e.code), &md(&e.label), &dt(e.at)),
                None if p.tracking.is_some() => words::UNKNOWN_TO_CARRIER.to_owned(),
                None if p.carrier == Carrier::Foreign => words::ON_CARRIER_SITE.to_owned(),
                // Never sent to La Poste: no answer will ever come.
                None if !can_track(&p.tracking_number) => words::CANNOT_TRACK.to_owned(),
                None => words::NOT_ASKED_YET.to_owned(),
            };
            line(format!("{}{last}", words::LAST_EVENT));
            for l in carrier_info::lines(p, ctx.tz) {
                line(l);
            }
        }
    } else if let Some(method) = order.shipping_method.as_deref() {
        let carrier = f.carrier.map(|c| format!(" ({})", c.label_fr()));
        line(format!(
            "{}{}{}",
            words::SHIPPING_METHOD,
            md(method),
            carrier.unwrap_or_default()
        ));
    }
    if let Some(d) = f.deadline {
        let what = match f.delay {
            Delay::None => words::SINCE,
            _ => words::LATE_SINCE,
        };
        line(format!("{what} : {}", dt(d)));
    }
    line(format!("{}{}", words::SEVERITY, f.severity.label_fr()));

    let mut tail = String::with_capacity(2048);
    tail.push_str(words::FACTS);
    for fact in &f.facts {
        tail.push_str("- ");
        tail.push_str(&md_n(fact, 4 * FIELD_LIMIT));
        tail.push('\n');
    }
    tail.push_str(&words::procedure_heading(f.rule.as_str()));
    tail.push_str(&f.procedure);
    tail.push_str("\n\n");
    let marker = marker_line(&f.key);

    // Items fill what the limit leaves, cut visibly if they do not fit.
    let items_head = words::ITEMS;
    let fixed = head.chars().count()
        + items_head.chars().count()
        + tail.chars().count()
        + marker.chars().count();
    let mut items = String::from(items_head);
    let reserve = 80; // room for the "… et N autres articles" line
    let mut budget = TEXT_LIMIT.saturating_sub(fixed + reserve);
    for (i, item) in order.items.iter().enumerate() {
        let l = format!(
            "- {} × {} ({})\n",
            qty(item.qty),
            md(&item.name),
            md(&item.sku)
        );
        let n = l.chars().count();
        if n > budget {
            items.push_str(&words::more_items(order.items.len() - i));
            break;
        }
        budget -= n;
        items.push_str(&l);
    }
    if order.items.is_empty() {
        items.push_str(words::NO_ITEMS);
    }

    let mut body = head;
    body.push_str(&items);
    body.push_str(&tail);
    let room = TEXT_LIMIT.saturating_sub(marker.chars().count() + 3);
    if body.chars().count() > room {
        // Only absurd facts can get here; the marker must survive.
        body = truncate_chars(&body, room);
        body.push_str("\n\n");
    }
    body.push_str(&marker);
    body
}

/// `2`, `1.5`
fn qty(q: f64) -> String {
    if q.fract() == 0.0 && q.abs() < 1e15 {
        format!("{}", q as i64)
    } else {
        format!("{q}")
    }
}

/// Outside text as one inert Markdown line: control characters become
/// spaces, Markdown punctuation is backslash-escaped, length is capped.
fn md(s: &str) -> String {
    md_n(s, FIELD_LIMIT)
}

fn md_n(s: &str, limit: usize) -> String {
    let s = truncate_chars(&one_line(s), limit);
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|' | '~'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

/// At most `max` characters, the cut marked with `…`.
fn truncate_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

mod carrier_info;

#[cfg(test)]
mod tests;
