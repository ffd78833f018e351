//! The delivery phase, per parcel (seed 000 §2, §3, §5 and seed 004):
//! return, incident, not found, late delivery per carrier, stuck, in
//! docs/rules.md's priority order.

use super::*;

impl<'a> Judge<'a> {
    // ----- Delivery phase (seed 000 §2, §3, §5; seed 004) -----

    /// The first parcel rule that fires, in docs/rules.md's priority order:
    /// return_to_sender, tracking_problem, tracking_not_found, delivery_*,
    /// tracking_stuck. With a trace, every rule is still evaluated and
    /// traced, so that `explain` shows what the winner shadowed.
    pub(super) fn parcel(&self, p: &Parcel, t: &mut Tracer) -> Option<Fire> {
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
        let steps: [ParcelRule<'a>; 5] = [
            Self::return_to_sender,
            Self::tracking_problem,
            Self::tracking_not_found,
            Self::delivery,
            Self::tracking_stuck,
        ];
        self.first_of(&steps, p, t)
    }

    /// The first of `steps` that fires. With a trace, every rule is still
    /// evaluated and traced, so that `explain` shows what the winner
    /// shadowed.
    pub(super) fn first_of(
        &self,
        steps: &[ParcelRule<'a>],
        p: &Parcel,
        t: &mut Tracer,
    ) -> Option<Fire> {
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

    pub(super) fn delivery(&self, p: &Parcel, t: &mut Tracer) -> Option<Fire> {
        match p.carrier {
            Carrier::Colissimo => self.delivery_days(p, RuleId::DeliveryColissimo, t),
            Carrier::Chronopost => self.delivery_chronopost(p, t),
            Carrier::Letter => self.delivery_days(p, RuleId::DeliveryLetter, t),
            Carrier::Other | Carrier::Foreign => self.delivery_days(p, RuleId::DeliveryOther, t),
        }
    }

    pub(super) fn status_fact(&self, p: &Parcel) -> String {
        use facts::TrackingFact as F;
        let at = p
            .last_event()
            .map(|e| self.fmt_dt(e.at))
            .unwrap_or_default();
        facts::tracking(match (&p.tracking, p.last_event()) {
            (_, Some(e)) => F::LastEvent {
                code: &e.code,
                label: &e.label,
                at: &at,
            },
            (Some(_), None) => F::NotKnownYet,
            (None, None) if p.tracking_number.is_empty() => F::NoNumber,
            (None, None) if p.carrier == Carrier::Foreign => F::Foreign,
            (None, None) if !can_track(&p.tracking_number) => F::CannotTrack,
            (None, None) => F::NotAskedYet,
        })
    }

    /// Letter and Colissimo: strictly more than `threshold` Paris calendar
    /// days between the shipment's date and today.
    pub(super) fn delivery_days(&self, p: &Parcel, rule: RuleId, t: &mut Tracer) -> Option<Fire> {
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
        let mut facts = vec![facts::not_delivered_days(
            &self.fmt_dt(p.shipped_at),
            p.carrier.label_fr(),
            &fr::date(self.today),
            days,
            th,
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
        })
    }

    /// Not delivered by the end of the `threshold`-th business day after
    /// the shipment's local day.
    pub(super) fn delivery_chronopost(&self, p: &Parcel, t: &mut Tracer) -> Option<Fire> {
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
            facts::chronopost_guarantee(&self.fmt_dt(p.shipped_at), &fr::date(due)),
            facts::chronopost_not_delivered(&fr::date(self.today), days),
            self.status_fact(p),
        ];
        Some(Fire {
            rule,
            severity,
            delay: Delay::Days(days),
            deadline: Some(self.cal.end_of_day(due)),
            facts,
        })
    }

    pub(super) fn return_to_sender(&self, p: &Parcel, t: &mut Tracer) -> Option<Fire> {
        let rule = RuleId::ReturnToSender;
        let rc = self.enabled(rule, t)?;
        let status = p.status();
        let fired = status == Some(TrackingStatus::ReturnToSender);
        t.note(Some(rule), fired, || {
            format!(
                "tracking status {}: {}",
                status_en(status),
                if fired {
                    "returning to the shop"
                } else {
                    "not returning"
                }
            )
        });
        if !fired {
            return None;
        }
        // The first event that started the return (events are newest first).
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
        let mut facts = Vec::with_capacity(2);
        if let Some(at) = since {
            facts.push(facts::returning_since(&self.fmt_dt(at)));
        }
        facts.push(self.status_fact(p));
        Some(Fire {
            rule,
            severity: severity(0, rc),
            delay: Delay::None,
            deadline: since,
            facts,
        })
    }

    pub(super) fn tracking_problem(&self, p: &Parcel, t: &mut Tracer) -> Option<Fire> {
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
            facts: vec![facts::INCIDENT.to_owned(), self.status_fact(p)],
        })
    }

    pub(super) fn tracking_not_found(&self, p: &Parcel, t: &mut Tracer) -> Option<Fire> {
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
            facts::shipped_without_number(&self.fmt_dt(p.shipped_at), p.carrier.label_fr())
        } else if bad_number {
            facts::shipped_with_bad_number(
                &self.fmt_dt(p.shipped_at),
                p.carrier.label_fr(),
                &p.tracking_number,
            )
        } else {
            facts::never_scanned(
                &self.fmt_dt(p.shipped_at),
                &self.fmt_dt(deadline),
                rc.threshold,
            )
        };
        Some(Fire {
            rule,
            severity: severity(hours, rc),
            delay: Delay::Hours(hours),
            deadline: Some(deadline),
            facts: vec![first, self.status_fact(p)],
        })
    }

    pub(super) fn tracking_stuck(&self, p: &Parcel, t: &mut Tracer) -> Option<Fire> {
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
                facts::no_new_event(&self.fmt_dt(last.at), rc.threshold, &self.fmt_dt(deadline)),
                self.status_fact(p),
            ],
        })
    }
}
