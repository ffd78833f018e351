//! Every French text colisync writes, in one place: the procedures the
//! cards show (`procedures.rs`), the facts under « Constat » (`facts.rs`), the
//! card's headings and phrases (`card.rs`), French dates and quantities (`dates.rs`),
//! the names of carriers, product kinds, severities and cases, the default
//! list names and Trello's cut note (`labels.rs`), the public holidays'
//! names (`holidays.rs`), the pass's reasons and the comments' signature
//! (`pass.rs`), the texts of the rules that depend on a stage or a trigger
//! (pickup, a return's stages, the carrier's estimate) and the card lines
//! of the carrier's extra facts (`stages.rs`), the words of the notes left in
//! Magento and Freshdesk and of the card's ticket links (`notes.rs`).
//! `colisync advise`'s sentences are in `advice.rs`.
//!
//! Pure words, used by every stage that writes for the team (rules, the
//! renderer, the planner, the pass). It imports only the shared vocabulary
//! (`crate::domain`) and, for the procedures' numbers, the rules'
//! configuration: the texts follow the settings so that a card never
//! contradicts the rule that filed it.
//!
//! The names of domain values (`Carrier::label_fr`, `RuleId::case_fr`, ...)
//! are written here as inherent methods of those types, so that the domain
//! holds no French and its callers keep one spelling. A new group of texts
//! (say, the pass's comments) is one more file here: `mod <group>;` below
//! and `pub use` of what it offers, or `pub mod <group>;` for a namespace.

pub(crate) mod advice;
pub mod card;
pub mod cases;
mod dates;
pub mod facts;
mod holidays;
mod labels;
pub mod notes;
pub mod pass;
mod procedures;
pub(crate) mod stages;

pub use dates::{
    business_days, date, date_en, datetime, datetime_en, datetime_seconds, quantity, weekday_name,
};
pub use labels::{
    LABEL_CASE_ADDRESS, LABEL_CASE_LOST, LABEL_COMPATIBLE, LABEL_ORIGINAL, LIST_CASES,
    LIST_DELIVERY, LIST_RESOLVED, LIST_RETURN, LIST_SHIPPING, LIST_TRACKING, trello_cut_note,
};
pub use procedures::procedure;
