//! What an admin operates colisync with, around the pipeline rather than in
//! it: the Prometheus metrics ([`metrics`]), the log formats ([`logging`]),
//! the online check of the credentials ([`online`], `check-config
//! --online`) and the generated man pages and completions of the package
//! ([`assets`]).

pub mod logging;
pub mod metrics;
pub mod online;
