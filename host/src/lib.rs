//! The Switchboard host: loads sandboxed connector components and routes what they report into
//! one customer store.
//!
//! The path of a webhook reads like the design: [`runtime`] runs the connector, [`model`] is
//! what it returns, [`identity`] decides who the contact is, [`store`] keeps it.
#![deny(missing_docs)]

pub mod auth;
pub mod client;
pub mod config;
pub mod console;
pub mod desk;
pub mod geocoding;
pub mod http;
pub mod identity;
pub mod metrics;
pub mod model;
pub mod poller;
pub mod recorded;
pub mod registry;
pub mod reports;
pub mod router;
pub mod runtime;
pub mod server;
pub mod sla;
pub mod store;
