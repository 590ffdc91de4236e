//! Black-box tests of the HTTP API: the real application on port 0 against a real Redis.

mod auth;
mod compliance;
mod conversations;
mod crud;
mod desk;
mod directory;
mod health;
mod idempotency;
mod inbound;
mod live;
mod metrics;
mod outbound;
mod outbox_restart;
mod persistence;
mod readiness;
mod reports;
mod routing_faults;
mod sending;
mod sms;
mod stats;
mod transfers;
mod twilio;
mod validation;
mod visibility;
mod volley;
mod work;
