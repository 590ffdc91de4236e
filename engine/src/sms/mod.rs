//! The SMS channel: how texts are counted in segments, which keywords carriers require, how
//! Twilio signs its webhooks, and the providers texts leave through.

pub mod keywords;
pub mod provider;
pub mod segments;
pub mod twilio_signature;
