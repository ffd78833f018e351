//! Parcel tracking: La Poste's Suivi v2 client and the normalisation of its
//! event codes into one [`TrackingStatus`](crate::domain::TrackingStatus).

pub mod laposte;
pub mod status;
