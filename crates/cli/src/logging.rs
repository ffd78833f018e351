//! Where log lines go and how they look: the outermost shell, set up once
//! by the binary before anything runs.
//!
//! Logs go to stderr. `text` is `key=value` events for a person; under
//! systemd (`JOURNAL_STREAM` set) they lose their timestamp and colours,
//! since the journal stamps every line itself. `json` is one JSON object a
//! line for a log shipper; every event of a daemon pass carries the pass's
//! id (the `pass` span, see `colisync::ops::logging::pass_span`) and each pass ends with one
//! summary event (`pass done`), both set in the library's
//! `colisync::ops::logging`. The level comes from `COLISYNC_LOG`, else
//! `RUST_LOG`, else `info`.

/// `--log-format`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// `key=value` lines (no timestamp under the journal).
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Installs the global subscriber. Calling it twice is harmless (the second
/// call does nothing).
pub fn init(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("COLISYNC_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => {
            let _ = builder
                .json()
                .with_current_span(true)
                .with_span_list(false)
                .try_init();
        }
        LogFormat::Text => {
            // Colours only for a person at a terminal, never in the journal.
            let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
            let builder = builder.with_ansi(ansi);
            if under_journal() {
                let _ = builder.without_time().try_init();
            } else {
                let _ = builder.try_init();
            }
        }
    }
}

/// systemd sets `JOURNAL_STREAM` for a service whose stderr is the journal
/// (systemd.exec(5), "Environment variables in spawned processes").
fn under_journal() -> bool {
    std::env::var_os("JOURNAL_STREAM").is_some_and(|v| !v.is_empty())
}
