//! Switchboard's engine: the domain of SMS contact-center routing, independent of HTTP.
//!
//! - [`domain`]: parsed values and configuration resources;
//! - [`store`]: persistence, with Redis and in-memory implementations;
//! - [`catalog`]: typed configuration over a store;
//! - [`routing`]: the pure routing policy (waiting order, agent choice).

pub mod catalog;
pub mod domain;
pub mod routing;
pub mod store;
