//! `judge`: one order, its parcels, the calendar, the rule settings and
//! `now` → the findings, and a trace of every rule's reasoning.
//!
//! How the seeds are read (docs/rules.md, and where they disagree):
//!
//! - Seed 000 §1 says « jours ouvrables » but adds « hors week-ends et jours
//!   fériés »: business days are Monday to Friday minus holidays (the
//!   calendar's), not the legal Monday-to-Saturday « ouvrables ».
//! - `shipping_compatible`: the seed ships the same day before 16:00, « le
//!   lendemain » after; DESIGN reads « lendemain » as the next *business*
//!   day, and a validation at 16:00 sharp is after the cutoff (« avant
//!   16h00 »). Late once `threshold` (1) business days have passed since
//!   the due ship day, i.e. the morning after it was missed.
//! - `shipping_original`: « Plus de 10 jours ouvrables »: late when strictly
//!   more than `threshold` business days have passed since the validation
//!   day (exactly 10 is still « dans les délais »).
//! - `delivery_letter` / `delivery_colissimo`: « supérieure à 10 jours », « ne
//!   dépasse pas 7 jours »: strictly more than `threshold` Paris calendar
//!   days between the shipment's date and today.
//! - `delivery_chronopost`: the seed's « 24 heures » is Chronopost's
//!   next-business-day guarantee: late once the end of the `threshold`-th
//!   business day after the shipment's local day has passed (shipped Friday,
//!   still on time all Monday).
//! - `tracking_not_found` (seed 004 ①, « au bout de 24h »): ≥ `threshold`
//!   elapsed hours since shipment and the carrier does not know the number,
//!   or knows only the label announcement (DR1). A Colissimo or Chronopost
//!   shipment with no number at all in Magento is the same anomaly: nobody
//!   can follow it, and so is a number La Poste cannot track (not 11-15
//!   letters and digits: never sent to it, never answered). A tracked
//!   parcel never polled yet has no snapshot: no verdict from any rule,
//!   dates included (it may be delivered already).
//! - `tracking_stuck` (seed 004 ②, « entre 24h et 48h »): ≥ `threshold`
//!   elapsed hours since the last event while in transit or out for
//!   delivery. Awaiting pickup is the customer's move, not the carrier's.
//! - An order is shipped when every physical item has left (Magento's
//!   `qty_shipped` against `qty_ordered`, virtual items ignored), not when
//!   its first shipment exists: until then the shipping rules watch what
//!   still waits (its kind decides the rule: an original cartridge still
//!   awaited keeps the original rule), and the card names those items.
//!   The parcels of the shipped part are judged meanwhile.
//! - A letter without a La Poste number (envoi simple) is not tracked:
//!   only `delivery_letter` applies. A lettre suivie (a letter with a
//!   number La Poste accepts) is polled: delivered means no card, a return
//!   or an incident fires like for a parcel, and not delivered after the
//!   letter's 10 days is `delivery_letter`. « Introuvable » (24 h) and
//!   « bloqué » (48 h) are not applied to it: La Poste scans a letter at
//!   deposit and delivery, not at every hub, so both would fire on letters
//!   that are on time.
//! - A parcel of a carrier outside La Poste's group (DPD, GLS, ...: the
//!   Suivi API knows holders 1, 3 and 4 only) is never polled and never
//!   « introuvable »; only `delivery_other` applies, off unless the admin
//!   sets its `days`.
//! - Severity: `critical` once the rule's own measure reaches
//!   `critical_factor × threshold` (for Chronopost: not delivered by the end
//!   of the ⌈factor × threshold⌉-th business day). Fact rules (problem,
//!   return) are `late`.
//! - Facts never state an elapsed hour count: cards must render identically
//!   from one pass to the next, so they give instants; day counts change
//!   once a day, which is the change a card should show.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::{Delay, Finding};
use crate::config::{RuleConfig, RulesConfig};
use crate::domain::calendar::Calendar;
use crate::domain::{
    Carrier, Classifier, Order, Parcel, ProblemKey, ProductKind, RuleId, Severity, TrackingStatus,
    can_track, parcels_of,
};
use crate::fr::{self, facts, procedure};

mod advice;
mod cases;
mod estimate;
mod lost;
mod parcel;
mod pickup;
mod returns;
mod shipping;

pub use advice::AdviceSection;
pub use cases::case_parcel;
pub use lost::{ChecklistStep, LostStep, StepWhen, case_due};
#[cfg(test)]
pub(crate) use pickup::{add_ouvrables, ouvrables_between};
pub use returns::{ReturnStage, stage_of};

/// One step of the reasoning, fired or not, for `colisync explain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceLine {
    /// `None` for the order-level gates (cancelled, not validated, ...).
    pub(crate) rule: Option<RuleId>,
    /// `order 100023` or `parcel 6A12345678901`.
    pub(crate) subject: String,
    pub fired: bool,
    /// Plain English, starting with the rule name.
    pub(crate) text: String,
}

impl std::fmt::Display for TraceLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}] {}", self.subject, self.text)
    }
}

/// What `judge` concluded about one order.
#[derive(Debug, Clone, PartialEq)]
pub struct Judgement {
    pub findings: Vec<Finding>,
    pub trace: Vec<TraceLine>,
}

/// Collects trace lines when asked to; the texts are built lazily so that
/// the per-pass hot path ([`Judge::findings`]) formats nothing.
struct Tracer {
    lines: Option<Vec<TraceLine>>,
    subject: String,
}

impl Tracer {
    fn on(&self) -> bool {
        self.lines.is_some()
    }

    fn note(&mut self, rule: Option<RuleId>, fired: bool, text: impl FnOnce() -> String) {
        if let Some(lines) = &mut self.lines {
            let text = text();
            let text = match rule {
                Some(r) => format!("{r}: {text}"),
                None => text,
            };
            lines.push(TraceLine {
                rule,
                subject: self.subject.clone(),
                fired,
                text,
            });
        }
    }

    fn subject(&mut self, s: impl FnOnce() -> String) {
        if self.on() {
            self.subject = s();
        }
    }
}

/// A rule that fired, before it becomes a [`Finding`].
struct Fire {
    rule: RuleId,
    severity: Severity,
    delay: Delay,
    deadline: Option<DateTime<Utc>>,
    facts: Vec<String>,
    /// Due date, title detail and procedure when a rule sets its own.
    extra: Extra,
}

/// What the newer rules (pickup, the return's stages, the carrier's
/// estimate) set beyond the common fields; empty for the others.
#[derive(Default)]
struct Extra {
    due: Option<DateTime<Utc>>,
    detail: Option<String>,
    procedure: Option<String>,
    /// A return's stage, and what the planner comments when the card
    /// reaches it.
    stage: Option<ReturnStage>,
    stage_note: Option<String>,
}

/// One parcel rule, for the priority list in [`Judge::parcel`].
type ParcelRule<'a> = fn(&Judge<'a>, &Parcel, &mut Tracer) -> Option<Fire>;

/// The rules set up for one pass: calendar, settings, classifier and `now`
/// fixed once, then applied to every open order.
#[derive(Debug, Clone)]
pub struct Judge<'a> {
    cal: &'a Calendar,
    cfg: &'a RulesConfig,
    classifier: &'a Classifier,
    now: DateTime<Utc>,
    /// `now`'s local date, computed once.
    today: NaiveDate,
    /// `HH:MM`, for facts and procedures.
    cutoff: String,
    /// Each rule's procedure text, formatted once per pass (indexed by
    /// `RuleId as usize`): a finding clones it instead of formatting ~1 KB.
    procedures: Vec<String>,
}

/// Judges one order with its trace. For a whole pass, build a [`Judge`]
/// once and call [`Judge::findings`] (no trace) per order.
pub fn judge(
    order: &Order,
    parcels: &[Parcel],
    cal: &Calendar,
    cfg: &RulesConfig,
    classifier: &Classifier,
    now: DateTime<Utc>,
) -> Judgement {
    Judge::new(cal, cfg, classifier, now).judge(order, parcels)
}

fn critical_at(rc: &RuleConfig) -> f64 {
    rc.critical_factor * f64::from(rc.threshold)
}

/// `critical` once `measure` reaches `critical_factor × threshold`. A zero
/// threshold has no meaningful multiple: such a rule stays `late`.
fn severity(measure: i64, rc: &RuleConfig) -> Severity {
    if rc.threshold > 0 && measure as f64 >= critical_at(rc) {
        Severity::Critical
    } else {
        Severity::Late
    }
}

fn plural(n: i64, one: &'static str, many: &'static str) -> &'static str {
    if n.abs() == 1 { one } else { many }
}

impl<'a> Judge<'a> {
    pub fn new(
        cal: &'a Calendar,
        cfg: &'a RulesConfig,
        classifier: &'a Classifier,
        now: DateTime<Utc>,
    ) -> Self {
        let cutoff = cal.cutoff().format("%H:%M").to_string();
        let procedures = RuleId::ALL
            .iter()
            .map(|r| (*r as usize, procedure(*r, r.config(cfg).threshold, &cutoff)))
            .fold(vec![String::new(); RuleId::ALL.len()], |mut v, (i, p)| {
                v[i] = p;
                v
            });
        Judge {
            cal,
            cfg,
            classifier,
            now,
            today: cal.local_date(now),
            cutoff,
            procedures,
        }
    }

    /// Findings and the full trace (for `explain` and tests).
    pub fn judge(&self, order: &Order, parcels: &[Parcel]) -> Judgement {
        let mut tracer = Tracer {
            lines: Some(Vec::new()),
            subject: String::new(),
        };
        let findings = self.run(order, parcels, &mut tracer);
        Judgement {
            findings,
            trace: tracer.lines.unwrap_or_default(),
        }
    }

    /// Findings only: what every pass calls for every open order.
    pub fn findings(&self, order: &Order, parcels: &[Parcel]) -> Vec<Finding> {
        let mut tracer = Tracer {
            lines: None,
            subject: String::new(),
        };
        self.run(order, parcels, &mut tracer)
    }

    fn run(&self, order: &Order, parcels: &[Parcel], t: &mut Tracer) -> Vec<Finding> {
        t.subject(|| format!("order {}", order.increment_id));
        if !order.is_open() {
            t.note(None, false, || {
                format!(
                    "order is {} (status {}): cancelled, closed and on-hold orders fire nothing",
                    order.state.as_str(),
                    order.status
                )
            });
            return Vec::new();
        }
        if order.awaits_payment() {
            t.note(None, false, || {
                format!(
                    "order is {} (status {}): not validated, fires nothing",
                    order.state.as_str(),
                    order.status
                )
            });
            return Vec::new();
        }
        let Some(validated) = order.validated_at(&self.classifier.validated_statuses) else {
            t.note(None, false, || {
                format!(
                    "order is {} (status {}) with no invoice and no validated status in its history: not validated, fires nothing",
                    order.state.as_str(),
                    order.status
                )
            });
            return Vec::new();
        };
        let kind = self.classifier.order_kind(order);
        t.note(None, false, || {
            format!(
                "validated {} ({} order)",
                fr::datetime_en(validated, self.cal.timezone()),
                kind.as_str()
            )
        });

        let mut findings = Vec::new();
        if order.is_fully_shipped() {
            t.note(None, false, || {
                format!(
                    "shipped ({} shipment(s)): shipping rules do not apply",
                    order.shipments.len()
                )
            });
            if !order.has_shipments() {
                // Magento says everything left but no shipment reached us
                // (list calls may omit them): no parcel to judge either.
                t.note(None, false, || {
                    "order is complete but no shipment is known: shipping rules skipped".into()
                });
                return findings;
            }
        } else {
            findings.extend(self.shipping(order, validated, t));
            if !order.has_shipments() {
                return findings;
            }
        }

        let derived;
        let parcels = if parcels.is_empty() {
            // The caller gave no parcels: judge the shipments as they are,
            // without tracking (date rules still hold).
            derived = parcels_of(order, self.classifier);
            &derived[..]
        } else {
            parcels
        };
        for parcel in parcels {
            t.subject(|| format!("parcel {}", parcel.key_part()));
            if let Some(f) = self.parcel(parcel, t) {
                let key = ProblemKey::Parcel {
                    increment_id: order.increment_id.clone(),
                    parcel: parcel.key_part(),
                };
                findings.push(self.finding(
                    f,
                    key,
                    kind,
                    Some(parcel.carrier),
                    Some(parcel.tracking_number.clone()),
                    Some(validated),
                    Some(parcel.shipped_at),
                ));
            }
        }
        findings
    }

    /// The shipping phase (seed 000 §1) of an order not wholly shipped. A
    /// partly shipped order is judged on what still waits: its compatible
    /// cartridges left, its original one did not, so the original rule
    /// applies, and the card names the items still waiting.
    fn shipping(&self, order: &Order, validated: DateTime<Utc>, t: &mut Tracer) -> Option<Finding> {
        let partly = order.has_shipments();
        let kind = self.classifier.waiting_kind(order);
        if partly {
            t.note(None, false, || {
                format!(
                    "partly shipped ({} shipment(s)); still waiting: {} ({} items): shipping rules watch them",
                    order.shipments.len(),
                    order
                        .items_waiting()
                        .map(|i| i.sku.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    kind.as_str()
                )
            });
        }
        let fire = match kind {
            ProductKind::Compatible => {
                t.note(Some(RuleId::ShippingOriginal), false, || {
                    "not applicable: no original item".into()
                });
                self.shipping_compatible(validated, partly, t)
            }
            ProductKind::Original => {
                t.note(Some(RuleId::ShippingCompatible), false, || {
                    "not applicable: the order has original items, the original rule applies".into()
                });
                self.shipping_original(validated, partly, t)
            }
        };
        let mut f = fire?;
        if partly {
            let waiting: Vec<String> = order
                .items_waiting()
                .map(|i| {
                    let qty = i.qty_to_ship.unwrap_or(i.qty);
                    format!("{} ({}) × {}", i.name, i.sku, fr::quantity(qty))
                })
                .collect();
            f.facts
                .push(facts::partly_shipped(order.shipments.len(), &waiting));
        }
        let key = ProblemKey::Order {
            increment_id: order.increment_id.clone(),
        };
        // The carrier the customer chose, for the card's label: a late
        // Chronopost order is triaged first.
        let carrier = order
            .shipping_method
            .as_deref()
            .and_then(|m| self.classifier.carrier_of_method(m));
        Some(self.finding(f, key, kind, carrier, None, Some(validated), None))
    }

    #[allow(clippy::too_many_arguments)]
    fn finding(
        &self,
        f: Fire,
        key: ProblemKey,
        product: ProductKind,
        carrier: Option<Carrier>,
        tracking_number: Option<String>,
        validated: Option<DateTime<Utc>>,
        shipped: Option<DateTime<Utc>>,
    ) -> Finding {
        Finding {
            rule: f.rule,
            key,
            severity: f.severity,
            list: f.rule.config(self.cfg).list.clone(),
            delay: f.delay,
            deadline: f.deadline,
            product,
            carrier,
            tracking_number: tracking_number.filter(|n| !n.is_empty()),
            facts: f.facts,
            procedure: f.extra.procedure.unwrap_or_else(|| {
                self.procedures
                    .get(f.rule as usize)
                    .cloned()
                    .unwrap_or_else(|| {
                        procedure(f.rule, f.rule.config(self.cfg).threshold, &self.cutoff)
                    })
            }),
            validated_on: validated.map(|v| self.cal.local_date(v)),
            shipped_on: shipped.map(|s| self.cal.local_date(s)),
            due: f.extra.due,
            detail: f.extra.detail,
            stage: f.extra.stage,
            stage_note: f.extra.stage_note,
        }
    }

    /// The rule's config if enabled; traces "disabled" otherwise.
    fn enabled(&self, rule: RuleId, t: &mut Tracer) -> Option<&'a RuleConfig> {
        let rc = rule.config(self.cfg);
        if rc.enabled {
            Some(rc)
        } else {
            t.note(Some(rule), false, || "disabled in config".into());
            None
        }
    }

    fn fmt_dt(&self, at: DateTime<Utc>) -> String {
        fr::datetime(at, self.cal.timezone())
    }
}

fn status_en(s: Option<TrackingStatus>) -> &'static str {
    s.map(TrackingStatus::as_str).unwrap_or("not polled yet")
}
