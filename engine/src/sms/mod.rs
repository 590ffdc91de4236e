//! The SMS channel's pure parts: how texts are counted in segments, and how Twilio signs
//! its webhooks.

pub mod keywords;
pub mod segments;
pub mod twilio_signature;
