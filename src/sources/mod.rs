//! Where orders come from: the Magento 2 REST client and its OAuth 1.0a
//! request signing.

pub mod magento;
pub mod oauth1;
