//! Switchboard's engine: the domain of SMS contact-center routing, independent of HTTP.
//!
//! - [`domain`]: parsed values and configuration resources;
//! - [`store`]: persistence, with Redis and in-memory implementations;
//! - [`catalog`]: typed configuration over a store;
//! - [`chat`]: internal chat between agents;
//! - [`contacts`]: customers' contact cards;
//! - [`conversation`]: a conversation's state and transitions;
//! - [`routing`]: the pure routing policy (waiting order, agent choice);
//! - [`directory`]: every conversation in memory, for lists, search and contact history;
//! - [`feed`]: the event journal followed for live readers, with each event's audience;
//! - [`sms`]: SMS text rules (segments, keywords, signatures) and the providers;
//! - [`outbox`]: outbound texts on their way to the providers;
//! - [`runtime`]: the actors around it, and the [`runtime::Engine`] handle the API calls.

pub mod campaign_sends;
pub mod catalog;
pub mod chat;
pub mod contacts;
pub mod conversation;
pub mod directory;
pub mod domain;
mod fast_hash;
pub mod feed;
pub mod metrics;
pub mod outbox;
mod process_metrics;
pub mod routing;
pub mod runtime;
pub mod sms;
pub mod stats;
pub mod store;
