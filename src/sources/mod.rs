//! Where orders come from: the Magento 2 REST client and its OAuth 1.0a
//! request signing; and the Freshdesk client, where the customer's tickets
//! are read and noted.

pub mod freshdesk;
pub mod magento;
pub mod oauth1;
