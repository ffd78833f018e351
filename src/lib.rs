//! colisync watches a Magento 2 shop's orders and La Poste parcels and files
//! one Trello card per shipping delay, delivery delay or tracking anomaly.
//!
//! The modules follow the pipeline (ARCHITECTURE.md):
//! config → calendar → sources/tracking (pull) → rules (judge) → plan →
//! board (apply), with state (sled) as memory and daemon as the shell. The
//! command line (crates/cli) and the fakes (crates/testkit) are crates of
//! their own that use this one; this library names neither.

// pub(crate) by default: what only this crate uses is not `pub`, so rustc
// reports it when it falls out of use.
#![deny(unreachable_pub)]

pub mod board;
pub mod config;
pub mod daemon;
pub mod domain;
pub mod fr;
pub mod http;
pub mod limiter;
pub mod metrics;
pub mod ops;
pub mod pass;
pub mod plan;
pub mod rules;
pub mod secret;
pub mod sources;
pub mod state;
pub mod tracking;
pub mod writeback;
