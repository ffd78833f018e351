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

mod estimate;
mod pickup;
mod returns;

pub use pickup::{add_ouvrables, ouvrables_between};
pub use returns::{ReturnStage, stage_of};

use super::{Delay, Finding, ProblemKey, RuleId, Severity, fr, procedure};
use crate::calendar::Calendar;
use crate::config::{RuleConfig, RulesConfig};
use crate::domain::can_track;
use crate::domain::{Carrier, Classifier, Order, Parcel, ProductKind, TrackingStatus, parcels_of};

/// One step of the reasoning, fired or not, for `colisync explain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceLine {
    /// `None` for the order-level gates (cancelled, not validated, ...).
    pub rule: Option<RuleId>,
    /// `order 100023` or `parcel 6A12345678901`.
    pub subject: String,
    pub fired: bool,
    /// Plain English, starting with the rule name.
    pub text: String,
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
            .map(|r| (*r as usize, procedure(*r, cfg, &cutoff)))
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

    pub fn now(&self) -> DateTime<Utc> {
        self.now
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
            f.facts.push(format!(
                "Expédition partielle : {} ; toujours en attente : {}.",
                match order.shipments.len() {
                    1 => "un envoi est parti".to_owned(),
                    n => format!("{n} envois sont partis"),
                },
                waiting.join(", ")
            ));
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
                    .unwrap_or_else(|| procedure(f.rule, self.cfg, &self.cutoff))
            }),
            validated_on: validated.map(|v| self.cal.local_date(v)),
            shipped_on: shipped.map(|s| self.cal.local_date(s)),
            due: f.extra.due,
            detail: f.extra.detail,
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

    // ----- Shipping phase (seed 000 §1) -----

    fn shipping_compatible(
        &self,
        validated: DateTime<Utc>,
        partly: bool,
        t: &mut Tracer,
    ) -> Option<Fire> {
        let rule = RuleId::ShippingCompatible;
        let rc = self.enabled(rule, t)?;
        let due = self.cal.due_ship_day(validated);
        let passed = self.cal.business_days_between(due, self.today);
        let th = i64::from(rc.threshold);
        let late = self.today > due && passed >= th;
        let before_cutoff = due == self.cal.local_date(validated);
        t.note(Some(rule), late, || {
            format!(
                "validated {} ({}), due to ship {}; {} business {} passed since, threshold {}: {}",
                fr::datetime_en(validated, self.cal.timezone()),
                if before_cutoff {
                    format!("a business day, before the {} cutoff", self.cutoff)
                } else {
                    format!("after the {} cutoff or not a business day", self.cutoff)
                },
                fr::date_en(due),
                passed.max(0),
                plural(passed, "day has", "days have"),
                th,
                if late { "late" } else { "not late" }
            )
        });
        if !late {
            return None;
        }
        let from = if th == 0 {
            due.succ_opt().unwrap_or(due)
        } else {
            self.cal.add_business_days(due, rc.threshold)
        };
        let facts = vec![
            format!(
                "Commande validée le {} ({}) : expédition due le {}.",
                self.fmt_dt(validated),
                if before_cutoff {
                    format!("jour ouvré, avant {}", self.cutoff)
                } else {
                    format!("après {} ou jour non ouvré", self.cutoff)
                },
                fr::date(due)
            ),
            format!(
                "Toujours pas {} le {} : {} depuis le jour d'expédition prévu (seuil {}).",
                not_shipped(partly),
                fr::date(self.today),
                fr::business_days(passed),
                fr::business_days(th)
            ),
        ];
        Some(Fire {
            rule,
            severity: severity(passed, rc),
            delay: Delay::BusinessDays(passed),
            deadline: Some(self.cal.start_of_day(from)),
            facts,
            extra: Extra::default(),
        })
    }

    fn shipping_original(
        &self,
        validated: DateTime<Utc>,
        partly: bool,
        t: &mut Tracer,
    ) -> Option<Fire> {
        let rule = RuleId::ShippingOriginal;
        let rc = self.enabled(rule, t)?;
        let day = self.cal.local_date(validated);
        let passed = self.cal.business_days_between(day, self.today);
        let th = i64::from(rc.threshold);
        let late = passed > th;
        t.note(Some(rule), late, || {
            format!(
                "{} business {} after validation on {}, threshold {}: {}",
                passed,
                plural(passed, "day", "days"),
                fr::date_en(day),
                th,
                if late { "late" } else { "not late" }
            )
        });
        if !late {
            return None;
        }
        let from = self
            .cal
            .add_business_days(day, rc.threshold.saturating_add(1));
        let facts = vec![
            format!(
                "Commande de cartouches d'origine validée le {}.",
                self.fmt_dt(validated)
            ),
            format!(
                "Toujours pas {} le {} : {} depuis la validation (plus de {}).",
                not_shipped(partly),
                fr::date(self.today),
                fr::business_days(passed),
                fr::business_days(th)
            ),
        ];
        Some(Fire {
            rule,
            severity: severity(passed, rc),
            delay: Delay::BusinessDays(passed),
            deadline: Some(self.cal.start_of_day(from)),
            facts,
            extra: Extra::default(),
        })
    }

    // ----- Delivery phase (seed 000 §2, §3, §5; seed 004) -----

    /// The first parcel rule that fires, in docs/rules.md's priority order:
    /// return_to_sender, tracking_problem, tracking_not_found, delivery_*,
    /// tracking_stuck. With a trace, every rule is still evaluated and
    /// traced, so that `explain` shows what the winner shadowed.
    fn parcel(&self, p: &Parcel, t: &mut Tracer) -> Option<Fire> {
        if p.status() == Some(TrackingStatus::Delivered) {
            t.note(None, false, || match p.last_event() {
                Some(e) => format!(
                    "delivered {}: no rule applies",
                    fr::datetime_en(e.at, self.cal.timezone())
                ),
                None => "delivered: no rule applies".into(),
            });
            return None;
        }
        if p.carrier == Carrier::Foreign {
            // Never sent to La Poste (it tracks only its own group's
            // parcels): no snapshot will come, nothing is « introuvable ».
            t.note(None, false, || {
                "carrier outside La Poste's group: not tracked, only delivery_other applies".into()
            });
            return self.delivery_days(p, RuleId::DeliveryOther, t);
        }
        if p.carrier == Carrier::Letter && !p.laposte_tracks() {
            t.note(None, false, || {
                "letter (envoi simple) without a La Poste number: not tracked, only delivery_letter applies"
                    .into()
            });
            return self.delivery_days(p, RuleId::DeliveryLetter, t);
        }
        if p.tracking.is_none() && p.laposte_tracks() {
            // Until La Poste has answered once, the parcel may as well be
            // delivered or returning: a date-only verdict would file a false
            // delay (then rewrite it). A La Poste outage shows as a failed
            // pass instead; the parcel is judged at its first answer. A
            // number La Poste cannot track is never sent to it: waiting for
            // its answer would hide the parcel from every rule for good, so
            // it is judged at once (tracking_not_found names it).
            t.note(None, false, || {
                "tracking not asked yet: no verdict until La Poste has answered once".into()
            });
            return None;
        }
        if p.carrier == Carrier::Letter {
            // A lettre suivie: La Poste scans it far less than a parcel (a
            // deposit, a delivery), so neither « introuvable » after 24 h
            // nor « bloqué » after 48 h says anything of it. Its return and
            // its incidents are facts; its delay is the letter's 10 days.
            let steps: [ParcelRule<'a>; 3] = [
                Self::return_to_sender,
                Self::tracking_problem,
                Self::delivery,
            ];
            return self.first_of(&steps, p, t);
        }
        let steps: [ParcelRule<'a>; 6] = [
            Self::return_to_sender,
            Self::tracking_problem,
            Self::tracking_not_found,
            Self::pickup,
            Self::delivery,
            Self::tracking_stuck,
        ];
        self.first_of(&steps, p, t)
    }

    /// The first of `steps` that fires. With a trace, every rule is still
    /// evaluated and traced, so that `explain` shows what the winner
    /// shadowed.
    fn first_of(&self, steps: &[ParcelRule<'a>], p: &Parcel, t: &mut Tracer) -> Option<Fire> {
        let mut winner: Option<Fire> = None;
        for step in steps {
            let fired = step(self, p, t);
            match (&winner, fired) {
                (None, Some(f)) => {
                    winner = Some(f);
                    if !t.on() {
                        break;
                    }
                }
                (Some(w), Some(f)) => t.note(Some(f.rule), false, || {
                    format!("would fire, but {} takes priority", w.rule)
                }),
                _ => {}
            }
        }
        winner
    }

    fn delivery(&self, p: &Parcel, t: &mut Tracer) -> Option<Fire> {
        let seed = match p.carrier {
            Carrier::Colissimo => self.delivery_days(p, RuleId::DeliveryColissimo, t),
            Carrier::Chronopost => self.delivery_chronopost(p, t),
            Carrier::Letter => self.delivery_days(p, RuleId::DeliveryLetter, t),
            Carrier::Other | Carrier::Foreign => self.delivery_days(p, RuleId::DeliveryOther, t),
        };
        seed.or_else(|| self.delivery_by_estimate(p, t))
    }

    fn status_fact(&self, p: &Parcel) -> String {
        match (&p.tracking, p.last_event()) {
            (_, Some(e)) => format!(
                "Dernier événement : {} « {} » le {}.",
                e.code,
                e.label,
                self.fmt_dt(e.at)
            ),
            (Some(_), None) => "Le transporteur ne connaît pas encore ce numéro.".into(),
            (None, None) if p.tracking_number.is_empty() => "Envoi sans numéro de suivi.".into(),
            (None, None) if p.carrier == Carrier::Foreign => {
                "Transporteur hors La Poste : son suivi se consulte sur le site du transporteur."
                    .into()
            }
            (None, None) if !can_track(&p.tracking_number) => {
                "La Poste ne peut pas suivre ce numéro.".into()
            }
            (None, None) => "Suivi pas encore interrogé.".into(),
        }
    }

    /// Letter and Colissimo: strictly more than `threshold` Paris calendar
    /// days between the shipment's date and today.
    fn delivery_days(&self, p: &Parcel, rule: RuleId, t: &mut Tracer) -> Option<Fire> {
        let rc = self.enabled(rule, t)?;
        let day = self.cal.local_date(p.shipped_at);
        let days = (self.today - day).num_days();
        let th = i64::from(rc.threshold);
        let late = days > th;
        t.note(Some(rule), late, || {
            format!(
                "shipped {}, {} {} ago, not delivered, threshold more than {}: {}",
                fr::date_en(day),
                days,
                plural(days, "day", "days"),
                th,
                if late { "late" } else { "not late" }
            )
        });
        if !late {
            return None;
        }
        let from = day
            .checked_add_days(chrono::Days::new(u64::from(rc.threshold) + 1))
            .unwrap_or(day);
        let mut facts = vec![format!(
            "Expédié le {} ({}), non livré le {} : {} j depuis l'expédition (plus de {} j).",
            self.fmt_dt(p.shipped_at),
            p.carrier.label_fr(),
            fr::date(self.today),
            days,
            th
        )];
        if rule != RuleId::DeliveryLetter || p.tracking.is_some() {
            facts.push(self.status_fact(p));
        }
        Some(Fire {
            rule,
            severity: severity(days, rc),
            delay: Delay::Days(days),
            deadline: Some(self.cal.start_of_day(from)),
            facts,
            extra: Extra::default(),
        })
    }

    /// Not delivered by the end of the `threshold`-th business day after
    /// the shipment's local day.
    fn delivery_chronopost(&self, p: &Parcel, t: &mut Tracer) -> Option<Fire> {
        let rule = RuleId::DeliveryChronopost;
        let rc = self.enabled(rule, t)?;
        let day = self.cal.local_date(p.shipped_at);
        let due = self.cal.add_business_days(day, rc.threshold);
        let late = self.today > due;
        t.note(Some(rule), late, || {
            format!(
                "shipped {}, guaranteed by the end of {}, not delivered on {}: {}",
                fr::date_en(day),
                fr::date_en(due),
                fr::date_en(self.today),
                if late { "late" } else { "not late" }
            )
        });
        if !late {
            return None;
        }
        let critical_n = critical_at(rc).ceil().max(0.0) as u32;
        let critical_due = self.cal.add_business_days(day, critical_n);
        let severity = if rc.threshold > 0 && self.today > critical_due {
            Severity::Critical
        } else {
            Severity::Late
        };
        let days = (self.today - day).num_days();
        let facts = vec![
            format!(
                "Expédié le {} en Chronopost : livraison garantie avant la fin du {}.",
                self.fmt_dt(p.shipped_at),
                fr::date(due)
            ),
            format!(
                "Non livré le {} ({} j depuis l'expédition).",
                fr::date(self.today),
                days
            ),
            self.status_fact(p),
        ];
        Some(Fire {
            rule,
            severity,
            delay: Delay::Days(days),
            deadline: Some(self.cal.end_of_day(due)),
            facts,
            extra: Extra::default(),
        })
    }

    fn tracking_problem(&self, p: &Parcel, t: &mut Tracer) -> Option<Fire> {
        let rule = RuleId::TrackingProblem;
        let rc = self.enabled(rule, t)?;
        let status = p.status();
        let fired = matches!(
            status,
            Some(TrackingStatus::Problem | TrackingStatus::DeliveryFailed)
        );
        t.note(Some(rule), fired, || {
            format!(
                "tracking status {}: {}",
                status_en(status),
                if fired {
                    "the carrier reports a problem"
                } else {
                    "no problem reported"
                }
            )
        });
        if !fired {
            return None;
        }
        Some(Fire {
            rule,
            severity: severity(0, rc),
            delay: Delay::None,
            deadline: p.last_event().map(|e| e.at),
            facts: vec![
                "Le transporteur signale un incident sur le colis.".into(),
                self.status_fact(p),
            ],
            extra: Extra::default(),
        })
    }

    fn tracking_not_found(&self, p: &Parcel, t: &mut Tracer) -> Option<Fire> {
        let rule = RuleId::TrackingNotFound;
        let rc = self.enabled(rule, t)?;
        let no_number = p.tracking_number.is_empty();
        // A number La Poste cannot track (not 11-15 letters and digits: a
        // typo, a dash) is never sent to it: nobody can follow the parcel,
        // the same anomaly as no number at all.
        let bad_number = !no_number && p.tracking.is_none() && !can_track(&p.tracking_number);
        if (no_number || bad_number) && matches!(p.carrier, Carrier::Other | Carrier::Foreign) {
            t.note(Some(rule), false, || {
                "no La Poste tracking number, carrier not tracked by La Poste: not applicable"
                    .into()
            });
            return None;
        }
        let status = p.status();
        let unscanned = no_number
            || bad_number
            || matches!(
                status,
                Some(TrackingStatus::Unknown | TrackingStatus::InfoReceived)
            );
        let elapsed = self.now - p.shipped_at;
        let threshold = Duration::hours(i64::from(rc.threshold));
        let fired = unscanned && elapsed >= threshold;
        t.note(Some(rule), fired, || {
            format!(
                "{}, shipped {} ({} h ago), threshold {} h: {}",
                if no_number {
                    "no tracking number".to_owned()
                } else if bad_number {
                    format!(
                        "tracking number {:?} cannot be tracked by La Poste",
                        p.tracking_number
                    )
                } else {
                    format!("tracking status {}", status_en(status))
                },
                fr::datetime_en(p.shipped_at, self.cal.timezone()),
                elapsed.num_hours(),
                rc.threshold,
                if fired {
                    "not found"
                } else if unscanned {
                    "too early"
                } else {
                    "scanned"
                }
            )
        });
        if !fired {
            return None;
        }
        let hours = elapsed.num_hours();
        let deadline = p.shipped_at + threshold;
        let first = if no_number {
            format!(
                "Expédié le {} en {} sans numéro de suivi dans Magento.",
                self.fmt_dt(p.shipped_at),
                p.carrier.label_fr()
            )
        } else if bad_number {
            format!(
                "Expédié le {} en {} avec le numéro de suivi « {} », que La Poste ne peut pas suivre \
                 (11 à 15 lettres et chiffres attendus) : à corriger dans Magento.",
                self.fmt_dt(p.shipped_at),
                p.carrier.label_fr(),
                p.tracking_number
            )
        } else {
            format!(
                "Expédié le {} ; le {}, toujours aucune prise en charge par le transporteur (seuil {} h).",
                self.fmt_dt(p.shipped_at),
                self.fmt_dt(deadline),
                rc.threshold
            )
        };
        Some(Fire {
            rule,
            severity: severity(hours, rc),
            delay: Delay::Hours(hours),
            deadline: Some(deadline),
            facts: vec![first, self.status_fact(p)],
            extra: Extra::default(),
        })
    }

    fn tracking_stuck(&self, p: &Parcel, t: &mut Tracer) -> Option<Fire> {
        let rule = RuleId::TrackingStuck;
        let rc = self.enabled(rule, t)?;
        let status = p.status();
        let moving = matches!(
            status,
            Some(TrackingStatus::InTransit | TrackingStatus::OutForDelivery)
        );
        let Some(last) = p.last_event().filter(|_| moving) else {
            t.note(Some(rule), false, || {
                format!(
                    "tracking status {}: only parcels in transit or out for delivery can be stuck",
                    status_en(status)
                )
            });
            return None;
        };
        let quiet = self.now - last.at;
        let threshold = Duration::hours(i64::from(rc.threshold));
        let fired = quiet >= threshold;
        t.note(Some(rule), fired, || {
            format!(
                "tracking status {}, last event {} {} ({} h ago), threshold {} h: {}",
                status_en(status),
                last.code,
                fr::datetime_en(last.at, self.cal.timezone()),
                quiet.num_hours(),
                rc.threshold,
                if fired { "stuck" } else { "moving" }
            )
        });
        if !fired {
            return None;
        }
        let hours = quiet.num_hours();
        let deadline = last.at + threshold;
        Some(Fire {
            rule,
            severity: severity(hours, rc),
            delay: Delay::Hours(hours),
            deadline: Some(deadline),
            facts: vec![
                format!(
                    "Aucun nouvel événement de suivi depuis le {} (seuil {} h, atteint le {}).",
                    self.fmt_dt(last.at),
                    rc.threshold,
                    self.fmt_dt(deadline)
                ),
                self.status_fact(p),
            ],
            extra: Extra::default(),
        })
    }
}

/// « expédiée », or « entièrement expédiée » once part of the order left.
fn not_shipped(partly: bool) -> &'static str {
    if partly {
        "entièrement expédiée"
    } else {
        "expédiée"
    }
}

fn status_en(s: Option<TrackingStatus>) -> &'static str {
    s.map(TrackingStatus::as_str).unwrap_or("not polled yet")
}
