//! colisync's integration tests, one module per concern, linked into one
//! test binary so that `cargo test` links the library once. The end-to-end
//! tests run the real pipeline against the in-process fakes on 127.0.0.1.

mod common;
mod common_sync;

mod cli;
mod cli_pipeline;
mod config;
mod config_cases;
mod config_freshdesk;
mod config_procedures;
mod daemon;
mod freshdesk_contract;
mod http_client;
mod key_roundtrip;
mod laposte_contract;
mod layering;
mod magento_contract;
mod magento_notes;
mod metrics;
mod online;
mod package;
mod plan_apply;
mod plan_rules;
mod secrets;
mod state_index;
mod state_migration;
mod state_open;
mod state_poll;
mod state_store;
mod sync_cases;
mod sync_crash;
mod sync_dry_run;
mod sync_evidence;
mod sync_faults;
mod sync_laposte;
mod sync_leads;
mod sync_odd_keys;
mod sync_outage;
mod sync_paging;
mod sync_pass;
mod sync_procedures;
mod sync_resolve;
mod sync_shipments;
mod sync_throughput;
mod sync_undecodable;
mod sync_writeback;
mod systemd_unit;
mod trello_contract;
