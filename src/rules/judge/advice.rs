//! `advise`: what each procedure says for one order today, for an agent
//! answering a customer (delay, address change, lost parcel, return), with
//! the dates computed. Pure, like the rules: the same calendar, settings
//! and `now` as [`Judge`], and the same readings (docs/rules.md); it files
//! nothing and needs no state. `colisync advise` prints it after the pass's
//! pull (`pass::explain`). The sentences are in [`crate::fr::advice`].
//!
//! The lost-parcel steps and their readings are [`super::lost`]'s, shared
//! with the checklist of a lost-parcel case card.

use chrono::{Days, NaiveDate};

use super::Judge;
use super::lost::StepWhen;
use super::returns::{ReturnStage, stage_of};
use crate::domain::tracking_url;
use crate::domain::{Carrier, Order, Parcel, ProductKind, RuleId, TrackingStatus, parcels_of};
use crate::fr::{self, advice as a, stages};

/// One procedure's advice: a heading and its lines, in French.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdviceSection {
    pub title: &'static str,
    pub lines: Vec<String>,
}

fn plus(d: NaiveDate, n: u32) -> NaiveDate {
    d.checked_add_days(Days::new(u64::from(n))).unwrap_or(d)
}

impl<'a> Judge<'a> {
    /// The five procedures' advice for `order` now, in the seeds' order.
    pub fn advise(&self, order: &Order, parcels: &[Parcel]) -> Vec<AdviceSection> {
        let section = |title, lines| AdviceSection { title, lines };
        if !order.is_open() {
            return vec![section(a::SHIPPING, vec![a::closed(order.state.as_str())])];
        }
        let derived;
        let parcels = if parcels.is_empty() {
            derived = parcels_of(order, self.classifier);
            &derived[..]
        } else {
            parcels
        };
        vec![
            section(a::SHIPPING, self.advise_shipping(order, parcels)),
            section(a::DELIVERY, self.advise_delivery(parcels)),
            section(a::ADDRESS, self.advise_address(order, parcels)),
            section(a::LOST, self.advise_lost(parcels)),
            section(a::RETURN, self.advise_return(parcels)),
        ]
    }

    pub(super) fn validated(&self, order: &Order) -> Option<chrono::DateTime<chrono::Utc>> {
        if order.awaits_payment() {
            return None;
        }
        order.validated_at(&self.classifier.validated_statuses)
    }

    fn advise_shipping(&self, order: &Order, parcels: &[Parcel]) -> Vec<String> {
        let Some(validated) = self.validated(order) else {
            return vec![a::NOT_VALIDATED.to_owned()];
        };
        if order.is_fully_shipped() {
            let first = parcels.iter().map(|p| p.shipped_at).min();
            return first
                .map(|s| vec![a::shipped_on(&fr::date(self.cal.local_date(s)))])
                .unwrap_or_default();
        }
        match self.classifier.order_kind(order) {
            ProductKind::Compatible => {
                let rc = &self.cfg.shipping_compatible;
                let due = self.cal.due_ship_day(validated);
                let passed = self.cal.business_days_between(due, self.today);
                let late = self.today > due && passed >= i64::from(rc.threshold);
                let before_cutoff = due == self.cal.local_date(validated);
                vec![
                    a::compatible_due(
                        &self.fmt_dt(validated),
                        before_cutoff,
                        &self.cutoff,
                        &fr::date(due),
                    ),
                    if late {
                        a::shipping_late(passed)
                    } else {
                        a::SHIPPING_IN_TIME.to_owned()
                    },
                ]
            }
            ProductKind::Original => {
                let rc = &self.cfg.shipping_original;
                let day = self.cal.local_date(validated);
                let passed = self.cal.business_days_between(day, self.today);
                vec![if passed > i64::from(rc.threshold) {
                    a::original_late(passed, rc.threshold)
                } else {
                    a::original_in_time(passed, rc.threshold)
                }]
            }
        }
    }

    fn advise_delivery(&self, parcels: &[Parcel]) -> Vec<String> {
        if parcels.is_empty() {
            return vec![a::NO_PARCEL.to_owned()];
        }
        let mut out = Vec::new();
        for p in parcels {
            out.push(a::parcel_head(p.carrier.label_fr(), &p.tracking_number));
            out.extend(self.advise_parcel(p));
            out.extend(self.advise_anomaly(p));
            if let Some(day) = p.tracking.as_ref().and_then(|s| s.info.estimated_on)
                && p.status() != Some(TrackingStatus::Delivered)
            {
                out.push(a::estimate(p.carrier.label_fr(), &fr::date(day)));
            }
            if let Some(url) = tracking_url(p.carrier, &p.tracking_number) {
                out.push(a::tracking_link(&url));
            }
        }
        out
    }

    /// A tracking anomaly, as the card of the parcel says it (the parcel
    /// rules in their priority order: a delay that outranks « bloqué » is
    /// said by [`Self::advise_parcel`] already): seed 004 ① and ②, and
    /// §2's « Si le suivi présente une erreur : remontée sur freshdesk ».
    fn advise_anomaly(&self, p: &Parcel) -> Vec<String> {
        let mut quiet = super::Tracer {
            lines: None,
            subject: String::new(),
        };
        let Some(fire) = self.parcel(p, &mut quiet) else {
            return Vec::new();
        };
        let what = match fire.rule {
            RuleId::TrackingProblem => fr::card::TITLE_INCIDENT,
            RuleId::TrackingNotFound => fr::card::TITLE_NOT_FOUND,
            RuleId::TrackingStuck => fr::card::TITLE_STUCK,
            _ => return Vec::new(),
        };
        let mut out = vec![a::anomaly(what)];
        out.extend(fire.facts);
        out.push(self.procedures[fire.rule as usize].clone());
        out
    }

    fn advise_parcel(&self, p: &Parcel) -> Vec<String> {
        let snap = p.tracking.as_ref();
        match p.status() {
            Some(TrackingStatus::Delivered) => {
                let at = p.last_event().map(|e| e.at).unwrap_or(p.shipped_at);
                return vec![a::delivered_on(&self.fmt_dt(at))];
            }
            Some(TrackingStatus::ReturnToSender) => return vec![a::see_return()],
            Some(TrackingStatus::AwaitingPickup) => {
                if let Some(since) = snap.and_then(|s| super::pickup::waiting_since(&s.events)) {
                    let day = self.cal.local_date(since.at);
                    let keep = match p.carrier {
                        Carrier::Chronopost => self.cfg.pickup_keep.keep_days_chronopost,
                        _ => self.cfg.pickup_keep.keep_days,
                    };
                    let back = super::pickup::add_ouvrables(day, keep);
                    let point =
                        stages::pickup_where(snap.and_then(|s| s.info.removal_point.as_ref()));
                    return vec![a::at_pickup(
                        &point,
                        &self.fmt_dt(since.at),
                        &fr::date(back),
                    )];
                }
            }
            _ => {}
        }
        let shipped = self.cal.local_date(p.shipped_at);
        let rule = match p.carrier {
            Carrier::Colissimo => RuleId::DeliveryColissimo,
            Carrier::Chronopost => RuleId::DeliveryChronopost,
            Carrier::Letter => RuleId::DeliveryLetter,
            Carrier::Other | Carrier::Foreign => RuleId::DeliveryOther,
        };
        let rc = rule.config(self.cfg);
        if !rc.enabled {
            return vec![a::NO_DELAY_CONFIGURED.to_owned()];
        }
        let procedure = || self.procedures[rule as usize].clone();
        if p.carrier == Carrier::Chronopost {
            let due = self.cal.add_business_days(shipped, rc.threshold);
            if self.today > due {
                return vec![
                    a::chronopost_late(&fr::date(shipped), &fr::date(due)),
                    procedure(),
                ];
            }
            return vec![a::chronopost_in_time(&fr::date(shipped), &fr::date(due))];
        }
        let days = (self.today - shipped).num_days();
        if days > i64::from(rc.threshold) {
            return vec![
                a::delivery_late(days, &fr::date(shipped), rc.threshold),
                procedure(),
            ];
        }
        vec![a::delivery_in_time(
            days,
            &fr::date(shipped),
            p.carrier.label_fr(),
            rc.threshold,
            &fr::date(plus(shipped, rc.threshold)),
        )]
    }

    /// The next shipping moment still ahead for an order validated at
    /// `validated`: the day it is due to ship if that day's cutoff has not
    /// passed, else the next business day whose cutoff is ahead of now.
    pub(super) fn next_shipping_day(&self, validated: chrono::DateTime<chrono::Utc>) -> NaiveDate {
        let due = self.cal.due_ship_day(validated);
        let cutoff = self.cal.cutoff();
        let mut day = due.max(self.today);
        while !self.cal.is_business_day(day) || self.cal.local_instant(day, cutoff) <= self.now {
            day = self.cal.next_business_day(day);
        }
        day
    }

    pub(super) fn advise_address(&self, order: &Order, parcels: &[Parcel]) -> Vec<String> {
        let Some(validated) = self.validated(order) else {
            return vec![a::ADDRESS_NOT_VALIDATED.to_owned()];
        };
        let mut out = Vec::new();
        if !order.is_fully_shipped() {
            let day = self.next_shipping_day(validated);
            out.push(a::address_validated(&self.cutoff, &fr::date(day)));
        }
        for p in parcels {
            if p.carrier == Carrier::Letter && p.tracking_number.is_empty() {
                out.push(a::ADDRESS_LETTER.to_owned());
                continue;
            }
            out.push(a::address_shipped(p.carrier.label_fr()));
            if let Some(url) = tracking_url(p.carrier, &p.tracking_number) {
                out.push(a::tracking_link(&url));
            }
        }
        out
    }

    /// `[à faire maintenant]` once `day` has come, `[à partir du …]` before.
    fn step(&self, day: NaiveDate, text: &str) -> String {
        if day <= self.today {
            a::step_now(text)
        } else {
            a::step_from(&fr::date(day), text)
        }
    }

    fn advise_lost(&self, parcels: &[Parcel]) -> Vec<String> {
        if parcels.is_empty() {
            return vec![a::NO_PARCEL.to_owned()];
        }
        let mut out = Vec::new();
        for p in parcels {
            out.push(a::parcel_head(p.carrier.label_fr(), &p.tracking_number));
            match p.carrier {
                Carrier::Other | Carrier::Foreign => {
                    out.push(a::OTHER_LOST.to_owned());
                    continue;
                }
                // A letter is never scanned « livré »; a parcel must be.
                Carrier::Colissimo | Carrier::Chronopost
                    if p.status() != Some(TrackingStatus::Delivered) =>
                {
                    out.push(a::LOST_NOT_DELIVERED.to_owned());
                    continue;
                }
                _ => {}
            }
            for s in self.lost_steps(p) {
                match s.when {
                    StepWhen::Until(until) => {
                        if self.today <= until {
                            out.push(a::step_until(&fr::date(until), s.text));
                        }
                    }
                    StepWhen::From(day) => out.push(self.step(day, s.text)),
                    StepWhen::Now => out.push(a::step_now(s.text)),
                    StepWhen::Then => out.push(a::step_then(s.text)),
                }
            }
        }
        out
    }

    fn advise_return(&self, parcels: &[Parcel]) -> Vec<String> {
        let mut out = Vec::new();
        for p in parcels {
            let Some((stage, back_at)) = stage_of(p) else {
                continue;
            };
            out.push(a::parcel_head(p.carrier.label_fr(), &p.tracking_number));
            match stage {
                ReturnStage::Returning => {
                    let since = p.tracking.as_ref().and_then(|s| {
                        s.events
                            .iter()
                            .rev()
                            .find(|e| {
                                crate::tracking::status::status_of_code(&e.code)
                                    == TrackingStatus::ReturnToSender
                            })
                            .map(|e| e.at)
                    });
                    if let Some(s) = since {
                        let w = self.cfg.return_window;
                        let start = self.cal.local_date(s);
                        out.push(a::returning(
                            &self.fmt_dt(s),
                            &fr::date(plus(start, w.min_days)),
                            &fr::date(plus(start, w.days)),
                        ));
                    }
                }
                ReturnStage::Back => {
                    out.push(a::back(back_at.map(|t| self.fmt_dt(t)).as_deref()));
                }
            }
        }
        if out.is_empty() {
            out.push(a::NO_RETURN.to_owned());
        }
        out
    }
}
