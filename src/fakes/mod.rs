//! In-process fakes of Trello, Magento 2 and La Poste Suivi v2, served on
//! 127.0.0.1, faithful to the public documentation (API-NOTES.md). Used by
//! the tests and by `colisync demo`.

pub mod laposte;
pub mod magento;
pub mod sample;
pub mod trello;
