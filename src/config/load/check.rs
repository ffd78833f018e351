//! Pass 2 of loading: the checks serde cannot express, with spans, every
//! problem collected; here the checker itself and `[daemon]`, `[calendar]`,
//! `[magento]`.

use super::*;

pub(super) struct Checker<'a> {
    pub(super) text: &'a str,
    pub(super) env: &'a dyn Fn(&str) -> Option<String>,
    /// Where bare `_file` names are found (an absolute path replaces it).
    pub(super) credentials: PathBuf,
    pub(super) problems: Vec<Problem>,
    pub(super) warnings: Vec<Problem>,
    pub(super) inline_secrets: Vec<String>,
}

impl Checker<'_> {
    pub(super) fn problem(
        &self,
        key: impl Into<String>,
        span: Option<Range<usize>>,
        message: impl Into<String>,
    ) -> Problem {
        let (line, column) = match span {
            Some(r) => {
                let (l, c) = line_col(self.text, r.start);
                (Some(l), Some(c))
            }
            None => (None, None),
        };
        Problem {
            line,
            column,
            key: key.into(),
            message: message.into(),
        }
    }

    pub(super) fn err(
        &mut self,
        key: impl Into<String>,
        span: Option<Range<usize>>,
        message: impl Into<String>,
    ) {
        let p = self.problem(key, span, message);
        self.problems.push(p);
    }

    pub(super) fn warn(
        &mut self,
        key: impl Into<String>,
        span: Option<Range<usize>>,
        message: impl Into<String>,
    ) {
        let p = self.problem(key, span, message);
        self.warnings.push(p);
    }

    /// Builds the config; `None` if something required could not be built
    /// (the problems say why). Even then every other key is checked.
    pub(super) fn check(&mut self, raw: RawConfig) -> Option<Config> {
        let calendar = self.calendar(&raw.calendar);
        let tz = calendar
            .as_ref()
            .map_or_else(defaults::timezone, |c| c.timezone);
        let daemon = self.daemon(&raw.daemon, tz);
        let magento = self.magento(&raw.magento);
        let carriers = CarriersConfig {
            letter: self.globs("carriers.letter", &raw.carriers.letter, defaults::LETTER),
            colissimo: self.globs(
                "carriers.colissimo",
                &raw.carriers.colissimo,
                defaults::COLISSIMO,
            ),
            chronopost: self.globs(
                "carriers.chronopost",
                &raw.carriers.chronopost,
                defaults::CHRONOPOST,
            ),
        };
        let laposte = self.laposte(&raw.laposte);
        let trello = self.trello(&raw.trello);
        let rules = self.rules(&raw.rules);
        if let (Some(t), Some(r)) = (&trello, &rules) {
            self.resolved_list_distinct(&raw.trello, t, r);
        }
        let freshdesk = raw.freshdesk.as_ref().map(|f| self.freshdesk(f));
        let cases = self.cases(&raw.cases, trello.as_ref());
        let rules = match (rules, &cases) {
            (Some(r), Some(c)) => Some(RulesConfig {
                cases: RuleConfig {
                    list: c.list.clone(),
                    ..r.cases
                },
                ..r
            }),
            (r, _) => r,
        };
        Some(Config {
            daemon: daemon?,
            calendar: calendar?,
            magento: magento?,
            carriers,
            laposte: laposte?,
            trello: trello?,
            rules: rules?,
            freshdesk: match freshdesk {
                None => None,
                Some(f) => Some(f?),
            },
            cases: cases?,
        })
    }

    // --- [daemon] ---------------------------------------------------------

    pub(super) fn daemon(&mut self, raw: &RawDaemon, tz: Tz) -> Option<DaemonConfig> {
        let (text, span) = match &raw.schedule {
            Some(s) => (s.get_ref().clone(), Some(s.span())),
            None => (defaults::SCHEDULE.to_owned(), None),
        };
        let schedule = match parse_schedule(&text, tz) {
            Ok(s) => Some(s),
            Err(msg) => {
                self.err("daemon.schedule", span, msg);
                None
            }
        };
        let state_dir = match &raw.state_dir {
            Some(s) if s.get_ref().trim().is_empty() => {
                self.err("daemon.state_dir", Some(s.span()), "must not be empty");
                PathBuf::new()
            }
            Some(s) => PathBuf::from(s.get_ref()),
            None => PathBuf::from(defaults::STATE_DIR),
        };
        let listen = match &raw.listen {
            None => None,
            Some(s) => match SocketAddr::from_str(s.get_ref()) {
                Ok(a) if a.ip().is_loopback() => Some(a),
                Ok(a) => {
                    self.warn(
                        "daemon.listen",
                        Some(s.span()),
                        format!(
                            "{a} is not a loopback address: /healthz and /metrics need no \
                             login, so anyone who can reach it reads them; prefer \
                             127.0.0.1 behind a proxy, or firewall the port"
                        ),
                    );
                    Some(a)
                }
                Err(_) => {
                    self.err(
                        "daemon.listen",
                        Some(s.span()),
                        format!(
                            "{:?} is not an address and port, e.g. \"127.0.0.1:9187\"",
                            s.get_ref()
                        ),
                    );
                    None
                }
            },
        };
        let log_format = match &raw.log_format {
            None => defaults::LOG_FORMAT,
            Some(s) => LogFormat::parse(s.get_ref()).unwrap_or_else(|| {
                self.err(
                    "daemon.log_format",
                    Some(s.span()),
                    format!(
                        "{:?} is not a log format: use \"text\" or \"json\"",
                        s.get_ref()
                    ),
                );
                defaults::LOG_FORMAT
            }),
        };
        Some(DaemonConfig {
            schedule: schedule?,
            schedule_text: text,
            state_dir,
            listen,
            log_format,
        })
    }

    // --- [calendar] -------------------------------------------------------

    pub(super) fn calendar(&mut self, raw: &RawCalendar) -> Option<CalendarConfig> {
        let timezone = match &raw.timezone {
            None => Some(defaults::timezone()),
            Some(s) => match Tz::from_str(s.get_ref()) {
                Ok(tz) => Some(tz),
                Err(_) => {
                    self.err(
                        "calendar.timezone",
                        Some(s.span()),
                        format!(
                            "unknown timezone {:?}: use an IANA name such as \"Europe/Paris\"",
                            s.get_ref()
                        ),
                    );
                    None
                }
            },
        };
        let cutoff = match &raw.cutoff {
            None => parse_hhmm(defaults::CUTOFF),
            Some(s) => {
                let t = parse_hhmm(s.get_ref());
                if t.is_none() {
                    self.err(
                        "calendar.cutoff",
                        Some(s.span()),
                        format!(
                            "{:?} is not a time HH:MM (24 h), e.g. \"16:00\"",
                            s.get_ref()
                        ),
                    );
                }
                t
            }
        };
        let closed = self.dates("calendar.extra_closed_days", &raw.extra_closed_days);
        let open = self.dates("calendar.extra_open_days", &raw.extra_open_days);
        // A day both closed and re-opened is a contradiction the admin must
        // resolve; the calendar would silently pick "closed".
        if let Some(list) = &raw.extra_open_days {
            let closed_set: BTreeSet<NaiveDate> = closed.iter().copied().collect();
            for (i, (v, d)) in list.iter().zip(open_dates_aligned(list)).enumerate() {
                if let Some(d) = d
                    && closed_set.contains(&d)
                {
                    self.err(
                        format!("calendar.extra_open_days[{i}]"),
                        Some(v.span()),
                        format!("{d} is also in calendar.extra_closed_days: keep it in one list"),
                    );
                }
            }
        }
        Some(CalendarConfig {
            timezone: timezone?,
            cutoff: cutoff?,
            extra_closed_days: closed,
            extra_open_days: open,
        })
    }

    pub(super) fn dates(
        &mut self,
        key: &str,
        raw: &Option<Vec<Spanned<toml::Value>>>,
    ) -> Vec<NaiveDate> {
        let mut out = Vec::new();
        for (i, v) in raw.iter().flatten().enumerate() {
            match value_as_date(v.get_ref()) {
                Some(d) => out.push(d),
                None => self.err(
                    format!("{key}[{i}]"),
                    Some(v.span()),
                    format!(
                        "{} is not a date \"YYYY-MM-DD\"",
                        describe_value(v.get_ref())
                    ),
                ),
            }
        }
        out
    }

    // --- [magento] --------------------------------------------------------

    pub(super) fn magento(&mut self, raw: &RawMagento) -> Option<MagentoConfig> {
        let base_url = self.required_url("magento.base_url", &raw.base_url);
        let admin_url = match (&raw.admin_url, &base_url) {
            (Some(s), _) => self.url("magento.admin_url", s),
            (None, Some(base)) => join_path(base, "admin"),
            (None, None) => None,
        };
        let auth = self.magento_auth(raw);
        let lookback_days = self.int(
            "magento.lookback_days",
            &raw.lookback_days,
            defaults::LOOKBACK_DAYS as i64,
            1,
            3650,
        );
        let page_size = match &raw.page_size {
            Some(v) if *v.get_ref() > i64::from(MAGENTO_MAX_PAGE_SIZE) => {
                self.err(
                    "magento.page_size",
                    Some(v.span()),
                    format!(
                        "{} is more than {MAGENTO_MAX_PAGE_SIZE}: Magento 2.4.7 and later, once \
                         \"Web API Limits\" are on (Stores > Configuration > Services), refuse \
                         any page larger than their \"Maximum Page Size\", {MAGENTO_MAX_PAGE_SIZE} \
                         by default, and every pull would fail; use {MAGENTO_MAX_PAGE_SIZE} or less",
                        v.get_ref()
                    ),
                );
                None
            }
            _ => self.int(
                "magento.page_size",
                &raw.page_size,
                defaults::PAGE_SIZE as i64,
                1,
                i64::from(MAGENTO_MAX_PAGE_SIZE),
            ),
        };
        let overlap = self.int(
            "magento.overlap_secs",
            &raw.overlap_secs,
            defaults::OVERLAP_SECS as i64,
            0,
            86_400,
        );
        let timeout = self.int(
            "magento.timeout_secs",
            &raw.timeout_secs,
            defaults::MAGENTO_TIMEOUT_SECS as i64,
            1,
            3600,
        );
        let original_skus = self.globs(
            "magento.original_skus",
            &raw.original_skus,
            defaults::ORIGINAL_SKUS,
        );
        let validated_statuses = match &raw.validated_statuses {
            None => defaults::VALIDATED_STATUSES
                .iter()
                .map(|s| s.to_string())
                .collect(),
            Some(list) => {
                if list.is_empty() {
                    self.err(
                        "magento.validated_statuses",
                        None,
                        "must name at least one status (e.g. \"processing\")",
                    );
                }
                let mut out = Vec::new();
                for (i, s) in list.iter().enumerate() {
                    if s.get_ref().trim().is_empty() {
                        self.err(
                            format!("magento.validated_statuses[{i}]"),
                            Some(s.span()),
                            "must not be empty",
                        );
                    } else {
                        out.push(s.get_ref().trim().to_owned());
                    }
                }
                out
            }
        };
        Some(MagentoConfig {
            base_url: base_url?,
            auth: auth?,
            admin_url: admin_url?,
            lookback_days: lookback_days? as u32,
            original_skus,
            validated_statuses,
            page_size: page_size? as u32,
            overlap: Duration::from_secs(overlap? as u64),
            timeout: Duration::from_secs(timeout? as u64),
            order_notes: raw.order_notes.unwrap_or(defaults::ORDER_NOTES),
        })
    }

    pub(super) fn magento_auth(&mut self, raw: &RawMagento) -> Option<MagentoAuth> {
        let token = RawSecret {
            table: "magento",
            name: "token",
            inline: &raw.token,
            file: &raw.token_file,
            env: &raw.token_env,
        };
        let oauth = [
            RawSecret {
                table: "magento",
                name: "consumer_key",
                inline: &raw.consumer_key,
                file: &raw.consumer_key_file,
                env: &raw.consumer_key_env,
            },
            RawSecret {
                table: "magento",
                name: "consumer_secret",
                inline: &raw.consumer_secret,
                file: &raw.consumer_secret_file,
                env: &raw.consumer_secret_env,
            },
            RawSecret {
                table: "magento",
                name: "access_token",
                inline: &raw.access_token,
                file: &raw.access_token_file,
                env: &raw.access_token_env,
            },
            RawSecret {
                table: "magento",
                name: "access_token_secret",
                inline: &raw.access_token_secret,
                file: &raw.access_token_secret_file,
                env: &raw.access_token_secret_env,
            },
        ];
        let oauth_given: Vec<bool> = oauth.iter().map(RawSecret::given).collect();
        let any_oauth = oauth_given.iter().any(|g| *g);
        if token.given() && any_oauth {
            self.err(
                "magento.token",
                token.first_span(),
                "give either the integration token or the four OAuth 1.0a values, not both",
            );
            return None;
        }
        if token.given() {
            return self.secret(&token).map(MagentoAuth::Bearer);
        }
        if !any_oauth {
            self.err(
                "magento.token",
                None,
                "missing secret: set token (or token_file / token_env), or the four OAuth 1.0a \
                 values consumer_key, consumer_secret, access_token, access_token_secret",
            );
            return None;
        }
        let mut values = Vec::new();
        for (s, given) in oauth.iter().zip(oauth_given) {
            if given {
                values.push(self.secret(s));
            } else {
                self.err(
                    format!("magento.{}", s.name),
                    None,
                    format!(
                        "missing secret: OAuth 1.0a needs all four of consumer_key, \
                         consumer_secret, access_token, access_token_secret (set {0}, {0}_file or {0}_env)",
                        s.name
                    ),
                );
                values.push(None);
            }
        }
        let mut it = values.into_iter();
        let (ck, cs, at, ats) = (it.next()??, it.next()??, it.next()??, it.next()??);
        Some(MagentoAuth::OAuth1 {
            consumer_key: ck,
            consumer_secret: cs,
            access_token: at,
            access_token_secret: ats,
        })
    }
}
