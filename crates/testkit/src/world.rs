//! The three fakes started together around a sample shop, with a
//! [`Config`] pointing at them: what `colisync demo`, the end-to-end tests
//! and the sync benchmark run against.

use std::path::Path;
use std::time::Duration;

use crate::laposte::FakeLaPoste;
use crate::magento::{FakeMagento, FakeMagentoAuth};
use crate::sample::SampleShop;
use crate::trello::{FakeTrello, FakeTrelloOptions};
use colisync::config::{
    CalendarConfig, CarriersConfig, CasesConfig, Config, DaemonConfig, LaPosteConfig, MagentoAuth,
    MagentoConfig, RulesConfig,
};
use colisync::secret::Secret;

/// The fakes' secrets (tests check that none of them leaks).
pub const MAGENTO_TOKEN: &str = "demo-magento-integration-token";
pub const LAPOSTE_KEY: &str = "demo-laposte-okapi-key";

/// Fake Magento, La Poste and Trello on 127.0.0.1, seeded with a shop.
pub struct World {
    pub magento: FakeMagento,
    pub laposte: FakeLaPoste,
    pub trello: FakeTrello,
}

impl World {
    /// Starts the fakes; `trello_rate` is the board's rate limit (`None`
    /// to switch it off).
    pub async fn start(
        shop: &SampleShop,
        trello_rate: Option<(u32, Duration)>,
    ) -> std::io::Result<World> {
        let magento = FakeMagento::start(FakeMagentoAuth::Bearer(MAGENTO_TOKEN.to_owned())).await?;
        let laposte = FakeLaPoste::start(LAPOSTE_KEY).await?;
        let trello = FakeTrello::try_start(FakeTrelloOptions {
            rate_limit: trello_rate,
            ..FakeTrelloOptions::default()
        })
        .await?;
        let world = World {
            magento,
            laposte,
            trello,
        };
        world.seed(shop);
        Ok(world)
    }

    /// Adds (or replaces) the shop's orders and parcels.
    pub(crate) fn seed(&self, shop: &SampleShop) {
        self.magento.insert_orders(&shop.orders);
        for p in &shop.parcels {
            if p.events.is_empty() {
                self.laposte.unknown(&p.number);
            } else {
                self.laposte
                    .set_parcel(&p.number, &p.product, p.events.clone(), p.is_final);
            }
            if let Some((name, kind)) = &p.removal_point {
                self.laposte.set_removal_point(&p.number, name, kind);
            }
        }
    }

    /// A configuration for these fakes, with the state in `state_dir` and
    /// the seed rules.
    pub fn config(&self, state_dir: &Path) -> Config {
        let pats = |globs: &[&str]| {
            globs
                .iter()
                .filter_map(|g| glob::Pattern::new(g).ok())
                .collect::<Vec<_>>()
        };
        let magento_url = self.magento.base_url();
        let admin_url = magento_url
            .join("admin")
            .unwrap_or_else(|_| magento_url.clone());
        Config {
            daemon: DaemonConfig {
                schedule: "0 */15 7-20 * * Mon-Sat"
                    .parse()
                    .expect("the demo schedule is a valid cron expression"),
                schedule_text: "0 */15 7-20 * * Mon-Sat".to_owned(),
                state_dir: state_dir.to_owned(),
                listen: None,
                log_format: Default::default(),
            },
            calendar: CalendarConfig {
                timezone: chrono_tz::Europe::Paris,
                cutoff: chrono::NaiveTime::from_hms_opt(16, 0, 0).unwrap_or_default(),
                extra_closed_days: Vec::new(),
                extra_open_days: Vec::new(),
            },
            magento: MagentoConfig {
                base_url: magento_url,
                auth: MagentoAuth::Bearer(Secret::new(MAGENTO_TOKEN)),
                admin_url,
                lookback_days: 90,
                original_skus: pats(&["ORI-*"]),
                validated_statuses: vec!["processing".into(), "complete".into()],
                page_size: 100,
                overlap: Duration::from_secs(120),
                timeout: Duration::from_secs(10),
                order_notes: false,
            },
            carriers: CarriersConfig {
                letter: pats(&["flatrate_*"]),
                colissimo: pats(&["colissimo_*"]),
                chronopost: pats(&["chronopost_*"]),
            },
            laposte: LaPosteConfig {
                base_url: self.laposte.base_url(),
                api_key: Secret::new(LAPOSTE_KEY),
                requests_per_second: 50,
                timeout: Duration::from_secs(10),
            },
            trello: self.trello.config(),
            rules: RulesConfig::seed_defaults(),
            freshdesk: None,
            cases: CasesConfig {
                inbox_dir: inbox_dir(state_dir),
                ..CasesConfig::seed_defaults()
            },
        }
    }

    /// The same setup as an admin's TOML file, for tests that run the
    /// binary. `daemon_extra` and `magento_extra` are lines added to those
    /// tables (e.g. `schedule = "..."`).
    pub fn config_toml(&self, state_dir: &Path, daemon_extra: &str, magento_extra: &str) -> String {
        let trello = self.trello.config();
        let url = |u: url::Url| u.as_str().trim_end_matches('/').to_owned();
        format!(
            r#"[daemon]
state_dir = "{state}"
{daemon_extra}

[magento]
base_url = "{magento}"
token = "{MAGENTO_TOKEN}"
{magento_extra}

[laposte]
base_url = "{laposte}"
api_key = "{LAPOSTE_KEY}"

[trello]
base_url = "{trello_url}"
key = "{key}"
token = "{token}"
board = "{board}"

[cases]
inbox_dir = "{inbox}"
"#,
            inbox = inbox_dir(state_dir).display(),
            state = state_dir.display(),
            magento = url(self.magento.base_url()),
            laposte = url(self.laposte.base_url()),
            trello_url = url(self.trello.base_url()),
            key = trello.key.expose(),
            token = trello.token.expose(),
            board = trello.board,
        )
    }
}

/// Where the world's `colisync case` requests go: next to the state
/// directory (never inside it: the daemon's directory is its own, 0700).
pub fn inbox_dir(state_dir: &Path) -> std::path::PathBuf {
    let mut name = state_dir.as_os_str().to_owned();
    name.push("-inbox");
    name.into()
}
