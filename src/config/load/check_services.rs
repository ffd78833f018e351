//! Pass 2, continued: `[laposte]`, `[trello]` and `[rules.*]`.

use super::*;

impl Checker<'_> {
    // --- [laposte] --------------------------------------------------------

    pub(super) fn laposte(&mut self, raw: &RawLaPoste) -> Option<LaPosteConfig> {
        let base_url = self.url_or_default(
            "laposte.base_url",
            &raw.base_url,
            defaults::LAPOSTE_BASE_URL,
        );
        let api_key = self.required_secret(&RawSecret {
            table: "laposte",
            name: "api_key",
            inline: &raw.api_key,
            file: &raw.api_key_file,
            env: &raw.api_key_env,
        });
        let rps = self.int(
            "laposte.requests_per_second",
            &raw.requests_per_second,
            defaults::LAPOSTE_RPS as i64,
            1,
            1000,
        );
        let timeout = self.int(
            "laposte.timeout_secs",
            &raw.timeout_secs,
            defaults::LAPOSTE_TIMEOUT_SECS as i64,
            1,
            3600,
        );
        Some(LaPosteConfig {
            base_url: base_url?,
            api_key: api_key?,
            requests_per_second: rps? as u32,
            timeout: Duration::from_secs(timeout? as u64),
        })
    }

    // --- [trello] ---------------------------------------------------------

    pub(super) fn trello(&mut self, raw: &RawTrello) -> Option<TrelloConfig> {
        let base_url =
            self.url_or_default("trello.base_url", &raw.base_url, defaults::TRELLO_BASE_URL);
        let key = self.required_secret(&RawSecret {
            table: "trello",
            name: "key",
            inline: &raw.key,
            file: &raw.key_file,
            env: &raw.key_env,
        });
        let token = self.required_secret(&RawSecret {
            table: "trello",
            name: "token",
            inline: &raw.token,
            file: &raw.token_file,
            env: &raw.token_env,
        });
        let board = match &raw.board {
            None => {
                self.err(
                    "trello.board",
                    None,
                    "missing: the board id (24 hex characters) or short link (8 characters, \
                     from https://trello.com/b/<short link>/...)",
                );
                None
            }
            Some(s) if is_board_ref(s.get_ref()) => Some(s.get_ref().clone()),
            Some(s) => {
                self.err(
                    "trello.board",
                    Some(s.span()),
                    format!(
                        "{:?} is neither a board id (24 hex characters) nor a short link \
                         (8 letters or digits, from https://trello.com/b/<short link>/...)",
                        s.get_ref()
                    ),
                );
                None
            }
        };
        let resolved_list = self.list_name(
            "trello.resolved_list",
            &raw.resolved_list,
            defaults::RESOLVED_LIST,
        );
        let rate_limit = self.int(
            "trello.rate_limit",
            &raw.rate_limit,
            defaults::TRELLO_RATE_LIMIT as i64,
            1,
            10_000,
        );
        let window = self.int(
            "trello.rate_window_secs",
            &raw.rate_window_secs,
            defaults::TRELLO_RATE_WINDOW_SECS as i64,
            1,
            3600,
        );
        let timeout = self.int(
            "trello.timeout_secs",
            &raw.timeout_secs,
            defaults::TRELLO_TIMEOUT_SECS as i64,
            1,
            3600,
        );
        Some(TrelloConfig {
            base_url: base_url?,
            key: key?,
            token: token?,
            board: board?,
            resolved_list: resolved_list?,
            rate_limit: rate_limit? as u32,
            rate_window: Duration::from_secs(window? as u64),
            timeout: Duration::from_secs(timeout? as u64),
        })
    }

    // --- [rules.*] --------------------------------------------------------

    pub(super) fn rules(&mut self, r: &RawRules) -> Option<RulesConfig> {
        let d = RulesConfig::seed_defaults();
        let shipping_compatible = self.rule(
            "shipping_compatible",
            &d.shipping_compatible,
            r.shipping_compatible.view(),
        );
        let shipping_original = self.rule(
            "shipping_original",
            &d.shipping_original,
            r.shipping_original.view(),
        );
        let delivery_letter = self.rule(
            "delivery_letter",
            &d.delivery_letter,
            r.delivery_letter.view(),
        );
        let delivery_colissimo = self.rule(
            "delivery_colissimo",
            &d.delivery_colissimo,
            r.delivery_colissimo.view(),
        );
        let delivery_chronopost = self.rule(
            "delivery_chronopost",
            &d.delivery_chronopost,
            r.delivery_chronopost.view(),
        );
        let delivery_other = self.rule_other(&d.delivery_other, &r.delivery_other);
        let tracking_not_found = self.rule(
            "tracking_not_found",
            &d.tracking_not_found,
            r.tracking_not_found.view(),
        );
        let tracking_stuck =
            self.rule("tracking_stuck", &d.tracking_stuck, r.tracking_stuck.view());
        let tracking_problem = self.rule(
            "tracking_problem",
            &d.tracking_problem,
            r.tracking_problem.view(),
        );
        let return_to_sender = self.rule(
            "return_to_sender",
            &d.return_to_sender,
            RuleView {
                enabled: r.return_to_sender.enabled,
                list: &r.return_to_sender.list,
                critical_factor: &None,
                threshold: None,
            },
        );
        let return_window = self.return_window(&d, &r.return_to_sender);
        let pickup = self.rule(
            "pickup",
            &d.pickup,
            RuleView {
                enabled: r.pickup.enabled,
                list: &r.pickup.list,
                critical_factor: &None,
                threshold: Some(("business_days", &r.pickup.business_days)),
            },
        );
        let pickup_keep = self.pickup_keep(&d, &r.pickup);
        let with_estimate = |rc: Option<RuleConfig>, flag: Option<bool>| {
            rc.map(|rc| RuleConfig {
                estimate: flag.unwrap_or(rc.estimate),
                ..rc
            })
        };
        let delivery_letter = with_estimate(delivery_letter, r.delivery_letter.estimate);
        let delivery_colissimo = with_estimate(delivery_colissimo, r.delivery_colissimo.estimate);
        let delivery_chronopost =
            with_estimate(delivery_chronopost, r.delivery_chronopost.estimate);
        let delivery_other = with_estimate(delivery_other, r.delivery_other.estimate);
        Some(RulesConfig {
            shipping_compatible: shipping_compatible?,
            shipping_original: shipping_original?,
            delivery_letter: delivery_letter?,
            delivery_colissimo: delivery_colissimo?,
            delivery_chronopost: delivery_chronopost?,
            delivery_other: delivery_other?,
            tracking_not_found: tracking_not_found?,
            tracking_stuck: tracking_stuck?,
            tracking_problem: tracking_problem?,
            return_to_sender: return_to_sender?,
            pickup: pickup?,
            pickup_keep: pickup_keep?,
            return_window: return_window?,
            // `[cases]` sets its list (`Checker::check`).
            cases: d.cases.clone(),
        })
    }

    fn return_window(&mut self, d: &RulesConfig, raw: &RawRuleReturn) -> Option<ReturnWindow> {
        let dw = d.return_window;
        let min = self.int(
            "rules.return_to_sender.min_days",
            &raw.min_days,
            i64::from(dw.min_days),
            0,
            365,
        );
        let days = self.int(
            "rules.return_to_sender.days",
            &raw.days,
            i64::from(dw.days),
            1,
            365,
        );
        let (min, days) = (min? as u32, days? as u32);
        if min > days {
            self.err(
                "rules.return_to_sender.min_days",
                raw.min_days.as_ref().map(|s| s.span()),
                format!(
                    "{min} is more than rules.return_to_sender.days ({days}): a return comes back \
                     between min_days and days after it starts"
                ),
            );
            return None;
        }
        Some(ReturnWindow {
            min_days: min,
            days,
        })
    }

    fn pickup_keep(&mut self, d: &RulesConfig, raw: &RawRulePickup) -> Option<PickupKeep> {
        let dk = d.pickup_keep;
        let keep = self.int(
            "rules.pickup.keep_days",
            &raw.keep_days,
            i64::from(dk.keep_days),
            1,
            60,
        );
        let chrono = self.int(
            "rules.pickup.keep_days_chronopost",
            &raw.keep_days_chronopost,
            i64::from(dk.keep_days_chronopost),
            1,
            60,
        );
        Some(PickupKeep {
            keep_days: keep? as u32,
            keep_days_chronopost: chrono? as u32,
        })
    }

    /// `[rules.delivery_other]`: colisync has no tracking for these
    /// carriers, so no threshold is the seeds' to give. The rule is on once
    /// the admin writes `days` (unless `enabled = false`); `enabled = true`
    /// without `days` is refused rather than guessed.
    pub(super) fn rule_other(
        &mut self,
        default: &RuleConfig,
        raw: &RawDeliveryDays,
    ) -> Option<RuleConfig> {
        let mut rc = self.rule("delivery_other", default, raw.view())?;
        let has_days = raw.days.is_some();
        rc.enabled = raw.enabled.unwrap_or(has_days);
        if rc.enabled && !has_days {
            self.err(
                "rules.delivery_other.enabled",
                None,
                "delivery_other has no default threshold: set rules.delivery_other.days \
                 (days since shipment before a parcel of another carrier counts as late)",
            );
            return None;
        }
        Some(rc)
    }

    pub(super) fn rule(
        &mut self,
        name: &str,
        default: &RuleConfig,
        v: RuleView<'_>,
    ) -> Option<RuleConfig> {
        let list = self.list_name(&format!("rules.{name}.list"), v.list, &default.list);
        let critical_factor = match v.critical_factor {
            None => Some(default.critical_factor),
            Some(f) if f.get_ref().is_finite() && *f.get_ref() >= 1.0 => Some(*f.get_ref()),
            Some(f) => {
                self.err(
                    format!("rules.{name}.critical_factor"),
                    Some(f.span()),
                    format!(
                        "{} is not a valid factor: it must be at least 1 (2.0 = critical at twice the threshold)",
                        f.get_ref()
                    ),
                );
                None
            }
        };
        let threshold = match v.threshold {
            None => Some(default.threshold),
            Some((unit, n)) => self
                .int(
                    &format!("rules.{name}.{unit}"),
                    n,
                    default.threshold as i64,
                    1,
                    100_000,
                )
                .map(|n| n as u32),
        };
        Some(RuleConfig {
            enabled: v.enabled.unwrap_or(default.enabled),
            list: list?,
            threshold: threshold?,
            critical_factor: critical_factor?,
            estimate: default.estimate,
        })
    }

    /// The resolved list must not be an intake list: the daemon moves cards
    /// only while they sit in an intake list, so a shared name would make it
    /// move resolved cards back and forth.
    pub(super) fn resolved_list_distinct(
        &mut self,
        raw: &RawTrello,
        t: &TrelloConfig,
        r: &RulesConfig,
    ) {
        for (name, rule) in r.iter() {
            if rule.list == t.resolved_list {
                self.err(
                    "trello.resolved_list",
                    raw.resolved_list.as_ref().map(|s| s.span()),
                    format!(
                        "{:?} is also the list of rules.{name}: the resolved list must differ from every rule's list",
                        t.resolved_list
                    ),
                );
                return;
            }
        }
    }
}
