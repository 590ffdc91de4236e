//! `switchboard-load`: plays the whole world around a running Switchboard — customers texting
//! through the real webhook at an open-loop rate, agents working real desktops over the
//! websocket, and the SMS provider taking texts and calling back — then says how fast it was
//! and whether anything was lost, duplicated or misrouted. See `docs/loadtest.md`.
//!
//! It speaks only the public wire protocol (REST, websocket, Twilio's webhooks and API),
//! using the `protocol` crate's types for the websocket.

pub mod admin;
pub mod agents;
pub mod customers;
pub mod measure;
pub mod observer;
pub mod offer_clock;
pub mod provider;
pub mod records;
pub mod report;
pub mod run;
pub mod scenario;
pub mod signature;
pub mod verdict;

/// Every verdict a run can fail with (thresholds may name them: `lost==0`).
pub const VERDICT_CHECKS: &[&str] = &[
    "lost",
    "duplicated",
    "reply_lost",
    "reply_duplicated",
    "reply_out_of_order",
    "sent_after_stop",
    "offered_twice_at_once",
    "owned_by_two",
    "over_capacity",
    "never_offered",
    "observer_missed_events",
    "verdicts_incomplete",
];
