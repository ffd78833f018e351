//! `colisync check-config --online`: after the offline checks, each
//! service is tried with the real credentials, read only, and the admin is
//! told in plain words what works and what to fix before the first pass.
//!
//! It sits beside the pipeline and uses the same clients as a pass (so it
//! sees what a pass would see), but only their reads: it writes nothing to
//! Trello, Magento, La Poste or the state. Every line goes through the
//! configuration's scrubber before it is printed, so a secret an upstream
//! echoed back never reaches the terminal.
//!
//! Freshdesk (when `[freshdesk]` is there): the key through the key's own
//! agent (`GET /api/v2/agents/me`, the cheapest authenticated read), the
//! escalation group among the account's groups (`GET /api/v2/groups`, every
//! page), the order-number field among the ticket fields, and the plan's
//! budget as the answers' `X-RateLimit-*` headers tell it.
//!
//! What Magento says is taken as it says it: a refused token and an
//! integration whose API resources lack an endpoint both answer 401 with
//! "The consumer isn't authorized to access %resources." naming the
//! resource (Magento's `Webapi\ErrorProcessor` maps both
//! `AuthenticationException` and `AuthorizationException` to 401), so the
//! check reads orders alone first, then a few days of orders with their
//! shipments and invoices: a refusal of the second alone is the ACL.

use std::collections::BTreeMap;
use std::io::Write;

use chrono::{DateTime, Utc};

use crate::board::render;
use crate::board::trello::{TrelloClient, TrelloError};
use crate::config::GroupRef;
use crate::config::{Config, MagentoAuth};
use crate::domain::Classifier;
use crate::http::RetryPolicy;
use crate::secret::Scrubber;
use crate::sources::freshdesk::{FreshdeskClient, FreshdeskError, find_group};
use crate::sources::magento::{MagentoClient, MagentoError};
use crate::tracking::laposte::{LaPosteClient, TrackError};

/// How far back the shipping methods of recent orders are read.
const RECENT_DAYS: i64 = 7;
/// A well-formed number La Poste will not know: the harmless lookup.
const PROBE_NUMBER: &str = "6A00000000000";

/// How one check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Works.
    Ok,
    /// Works, but the admin should know (a list to be created, a shipping
    /// method without a carrier).
    Note,
    /// A pass cannot work until this is fixed.
    Fail,
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub service: &'static str,
    pub verdict: Verdict,
    pub message: String,
}

/// Every check, in the order they ran.
#[derive(Debug, Default)]
pub struct Report {
    pub checks: Vec<Check>,
}

impl Report {
    fn push(&mut self, service: &'static str, verdict: Verdict, message: impl Into<String>) {
        self.checks.push(Check {
            service,
            verdict,
            message: message.into(),
        });
    }

    /// Whether everything a pass needs works.
    pub fn passes(&self) -> bool {
        self.checks.iter().all(|c| c.verdict != Verdict::Fail)
    }

    /// The report as printed, every line scrubbed of the secrets.
    pub fn write(&self, out: &mut dyn Write, scrubber: &Scrubber) -> std::io::Result<()> {
        writeln!(out, "online checks:")?;
        for c in &self.checks {
            let tag = match c.verdict {
                Verdict::Ok => "ok  ",
                Verdict::Note => "note",
                Verdict::Fail => "FAIL",
            };
            let line = format!("  {tag} {:<9} {}", c.service, c.message);
            writeln!(out, "{}", scrubber.scrub(&line))?;
        }
        let failed = self
            .checks
            .iter()
            .filter(|c| c.verdict == Verdict::Fail)
            .count();
        if failed == 0 {
            writeln!(out, "everything a pass needs works")?;
        } else {
            writeln!(out, "{failed} problem(s) to fix before a pass can work")?;
        }
        Ok(())
    }
}

/// Runs every check against the configured services.
pub async fn check(config: &Config, now: DateTime<Utc>) -> Report {
    check_with_retry(config, now, RetryPolicy::default()).await
}

/// [`check`] with another retry policy (tests use short delays).
pub async fn check_with_retry(config: &Config, now: DateTime<Utc>, retry: RetryPolicy) -> Report {
    let mut report = Report::default();
    trello(config, retry.clone(), &mut report).await;
    magento(config, now, retry.clone(), &mut report).await;
    laposte(config, now, retry.clone(), &mut report).await;
    freshdesk(config, retry, &mut report).await;
    report
}

async fn trello(config: &Config, retry: RetryPolicy, report: &mut Report) {
    const S: &str = "trello";
    let client = match TrelloClient::with_retry(&config.trello, retry) {
        Ok(c) => c,
        Err(e) => return report.push(S, Verdict::Fail, format!("cannot build the client: {e}")),
    };
    let board = &config.trello.board;
    match client.board_id().await {
        Ok(id) => {
            report.push(S, Verdict::Ok, "key and token accepted");
            report.push(S, Verdict::Ok, format!("board {board} found (id {id})"));
        }
        Err(TrelloError::Unauthorized { message, .. }) => {
            let what = if message.contains("invalid key") {
                "the API key (trello.key) is not valid: copy it again from the Power-Up's API key page"
            } else if message.contains("invalid token") {
                "the token (trello.token) is not valid, expired or revoked: authorize again and store the new token"
            } else {
                "the key and token were refused"
            };
            return report.push(S, Verdict::Fail, format!("{what} (Trello said: {message})"));
        }
        Err(TrelloError::NotFound { .. }) | Err(TrelloError::BadRequest { .. }) => {
            return report.push(
                S,
                Verdict::Fail,
                format!(
                    "board {board} not found: check trello.board (its id or the short link in the board's URL) and that the token's member can see it"
                ),
            );
        }
        Err(e) => return report.push(S, Verdict::Fail, format!("cannot reach Trello: {e}")),
    }
    match client.lists().await {
        Ok(lists) => {
            let mut wanted: Vec<String> = config
                .rules
                .iter()
                .filter(|(_, r)| r.enabled)
                .map(|(_, r)| r.list.clone())
                .collect();
            wanted.push(config.trello.resolved_list.clone());
            wanted.sort();
            wanted.dedup();
            for name in wanted {
                if lists.iter().any(|l| l.name == name) {
                    report.push(S, Verdict::Ok, format!("list « {name} » present"));
                } else {
                    report.push(
                        S,
                        Verdict::Note,
                        format!("list « {name} » missing: the first pass creates it"),
                    );
                }
            }
        }
        Err(e) => report.push(
            S,
            Verdict::Fail,
            format!("cannot read the board's lists: {e}"),
        ),
    }
    match client.labels().await {
        Ok(labels) => {
            let missing: Vec<String> = render::own_label_names()
                .into_iter()
                .filter(|n| !labels.iter().any(|l| &l.name == n))
                .collect();
            if missing.is_empty() {
                report.push(S, Verdict::Ok, "labels present");
            } else {
                report.push(
                    S,
                    Verdict::Note,
                    format!("labels to be created on first use: {}", missing.join(", ")),
                );
            }
        }
        Err(e) => report.push(
            S,
            Verdict::Fail,
            format!("cannot read the board's labels: {e}"),
        ),
    }
    // Trello only tells a token's read/write scope at `GET /1/tokens/{token}`,
    // which would put the token in a URL: colisync never does. A read-only
    // token shows at the first write, as a 401 in the pass's report.
    report.push(
        S,
        Verdict::Note,
        "write scope not checked (it would take the token in a URL); a read-only token fails the first write with 401",
    );
}

fn magento_refusal(status: u16, message: &str, auth: &MagentoAuth) -> String {
    let creds = match auth {
        MagentoAuth::Bearer(_) => "the integration token (magento.token)",
        MagentoAuth::OAuth1 { .. } => "the four OAuth 1.0a values",
    };
    if status == 403 {
        format!("Magento (or a proxy in front of it) forbids reading orders (HTTP 403): {message}")
    } else {
        format!(
            "Magento refused to let these credentials read orders (HTTP {status}): {message}. Magento answers alike a wrong token and an integration without that API resource: check {creds}, then the integration's API resources (Sales > Operations > Orders, Shipments, Invoices) and that it is active"
        )
    }
}

async fn magento(config: &Config, now: DateTime<Utc>, retry: RetryPolicy, report: &mut Report) {
    const S: &str = "magento";
    let client = match MagentoClient::new(&config.magento) {
        Ok(c) => c.with_retry(retry),
        Err(e) => return report.push(S, Verdict::Fail, format!("cannot build the client: {e}")),
    };
    let auth = match config.magento.auth {
        MagentoAuth::Bearer(_) => "integration token",
        MagentoAuth::OAuth1 { .. } => "OAuth 1.0a signature",
    };
    // Orders alone: reachability, the auth mode, the orders ACL.
    match client.order_by_increment_id("colisync-check").await {
        Ok(_) => {
            report.push(
                S,
                Verdict::Ok,
                format!("{} reachable", config.magento.base_url),
            );
            report.push(S, Verdict::Ok, format!("{auth} accepted, orders readable"));
        }
        Err(MagentoError::Unauthorized { status, message }) => {
            return report.push(
                S,
                Verdict::Fail,
                magento_refusal(status, &message, &config.magento.auth),
            );
        }
        Err(e) => return report.push(S, Verdict::Fail, format!("cannot read orders: {e}")),
    }
    // Recent orders with their shipments and invoices, as a pass reads them.
    let since = now - chrono::Duration::days(RECENT_DAYS);
    let pulled = match client.orders_updated_since(since).await {
        Ok(p) => p,
        Err(MagentoError::Unauthorized { status, message }) => {
            return report.push(
                S,
                Verdict::Fail,
                format!(
                    "orders are readable but not their shipments or invoices (HTTP {status}): {message}. Give the integration the API resources Sales > Operations > Shipments and Invoices"
                ),
            );
        }
        Err(e) => {
            return report.push(
                S,
                Verdict::Fail,
                format!("cannot read the last {RECENT_DAYS} days of orders: {e}"),
            );
        }
    };
    if config.magento.order_notes {
        // The comment endpoint cannot be probed without writing one.
        report.push(
            S,
            Verdict::Note,
            "order_notes: adding an order comment is not tried (it would write one); a refusal shows at the first note",
        );
    }
    report.push(
        S,
        Verdict::Ok,
        format!(
            "{} order(s) updated in the last {RECENT_DAYS} days read with their shipments and invoices",
            pulled.orders.len()
        ),
    );
    let classifier = Classifier::new(&config.magento, &config.carriers);
    let mut methods: BTreeMap<String, usize> = BTreeMap::new();
    for o in &pulled.orders {
        if let Some(m) = &o.shipping_method {
            *methods.entry(m.clone()).or_default() += 1;
        }
    }
    for (method, n) in methods {
        match classifier.carrier_of_method(&method) {
            Some(c) => report.push(
                S,
                Verdict::Ok,
                format!("shipping method {method} ({n} order(s)) -> {}", c.as_str()),
            ),
            None => report.push(
                S,
                Verdict::Note,
                format!(
                    "shipping method {method} ({n} order(s)) matches no [carriers] glob: its parcels are judged by their track's carrier, else as another carrier's; add it to [carriers] if it is La Poste's"
                ),
            ),
        }
    }
}

async fn laposte(config: &Config, now: DateTime<Utc>, retry: RetryPolicy, report: &mut Report) {
    const S: &str = "la poste";
    let client = match LaPosteClient::new(&config.laposte) {
        Ok(c) => c.with_retry(retry),
        Err(e) => return report.push(S, Verdict::Fail, format!("cannot build the client: {e}")),
    };
    let answer = client.track(&[PROBE_NUMBER.to_owned()], now).await;
    match answer.into_iter().next().map(|(_, r)| r) {
        Some(Err(TrackError::Unauthorized { message })) => report.push(
            S,
            Verdict::Fail,
            format!(
                "the API key (laposte.api_key) was refused (401: {message}): check the key of the Suivi application on the developer portal"
            ),
        ),
        Some(Ok(_))
        | Some(Err(
            TrackError::Other { .. } | TrackError::BadNumber { .. } | TrackError::Missing,
        )) => report.push(S, Verdict::Ok, "API key accepted (one lookup of an unknown number)"),
        Some(Err(e)) => report.push(S, Verdict::Fail, format!("the lookup failed: {e}")),
        None => report.push(S, Verdict::Fail, "the lookup gave no answer"),
    }
}

async fn freshdesk(config: &Config, retry: RetryPolicy, report: &mut Report) {
    const S: &str = "freshdesk";
    let Some(cfg) = &config.freshdesk else {
        return;
    };
    let client = match FreshdeskClient::new(cfg) {
        Ok(c) => c.with_retry(retry),
        Err(e) => return report.push(S, Verdict::Fail, format!("cannot build the client: {e}")),
    };
    match client.agent_me().await {
        Ok(agent) => {
            let name = agent
                .contact
                .as_ref()
                .and_then(|c| c.name.clone())
                .unwrap_or_else(|| format!("id {}", agent.id));
            report.push(S, Verdict::Ok, format!("API key accepted (agent {name})"));
            if let Some(scope) = agent.ticket_scope.filter(|s| *s != 1) {
                report.push(
                    S,
                    Verdict::Note,
                    format!(
                        "the key's agent does not have global ticket access (ticket_scope {scope}): customers' tickets outside its groups get no note"
                    ),
                );
            }
        }
        Err(FreshdeskError::Unauthorized { code, .. }) => {
            return report.push(
                S,
                Verdict::Fail,
                format!(
                    "the API key (freshdesk.api_key) was refused (HTTP 401, {code}): copy it again from the agent's Profile settings > View API key"
                ),
            );
        }
        Err(e) => {
            return report.push(
                S,
                Verdict::Fail,
                format!("cannot reach Freshdesk at {}: {e}", cfg.base_url),
            );
        }
    }
    if let Some(wanted) = &cfg.escalation_group {
        match client.groups().await {
            Ok(groups) => match find_group(&groups, wanted) {
                Some(g) => report.push(
                    S,
                    Verdict::Ok,
                    format!("escalation group « {} » found (id {})", g.name, g.id),
                ),
                None => {
                    let names: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
                    let what = match wanted {
                        GroupRef::Id(id) => format!("no group has id {id}"),
                        GroupRef::Name(n) => format!("no group is named {n:?}"),
                    };
                    report.push(
                        S,
                        Verdict::Fail,
                        format!(
                            "freshdesk.escalation_group: {what} (the account's groups: {})",
                            if names.is_empty() {
                                "none".to_owned()
                            } else {
                                names.join(", ")
                            }
                        ),
                    );
                }
            },
            Err(e) => report.push(S, Verdict::Fail, format!("cannot list the groups: {e}")),
        }
    }
    if let Some(field) = &cfg.order_number_field {
        match client.ticket_fields().await {
            Ok(fields) if fields.iter().any(|f| f.name == *field) => {
                report.push(S, Verdict::Ok, format!("ticket field {field} found"));
            }
            Ok(fields) => report.push(
                S,
                Verdict::Fail,
                format!(
                    "freshdesk.order_number_field: no ticket field is named {field:?} (custom fields: {})",
                    fields
                        .iter()
                        .filter(|f| f.name.starts_with("cf_"))
                        .map(|f| f.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
            Err(e) => report.push(
                S,
                Verdict::Fail,
                format!("cannot list the ticket fields: {e}"),
            ),
        }
    }
    let budget = client.rate_budget();
    if let Some(total) = budget.total {
        let mine = u64::from(cfg.requests_per_minute);
        let (verdict, advice) = if mine * 5 > total * 4 {
            (
                Verdict::Note,
                ": keep freshdesk.requests_per_minute below 80 % of it",
            )
        } else {
            (Verdict::Ok, "")
        };
        report.push(
            S,
            verdict,
            format!(
                "the plan allows {total} requests a minute ({} left now); requests_per_minute = {mine}{advice}",
                budget
                    .remaining
                    .map_or_else(|| "?".to_owned(), |r| r.to_string())
            ),
        );
    }
}
