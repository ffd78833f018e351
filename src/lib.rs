//! colisync watches a Magento 2 shop's orders and La Poste parcels and files
//! one Trello card per shipping delay, delivery delay or tracking anomaly.
//!
//! The modules follow the pipeline (ARCHITECTURE.md):
//! config → calendar → sources/tracking (pull) → rules (judge) → plan →
//! board (apply), with state (sled) as memory and daemon/cli as the shell.

pub mod bench;
pub mod board;
pub mod calendar;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod domain;
pub mod fakes;
pub mod http;
pub mod plan;
pub mod rules;
pub mod secret;
pub mod sources;
pub mod state;
pub mod tracking;
pub mod writeback;
