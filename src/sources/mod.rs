//! Where orders come from: the Magento 2 REST client.

pub mod magento;
