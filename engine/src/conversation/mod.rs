//! Conversations: one thread between a customer and a business number, from first text to
//! completion. [`Conversation`] holds the state and decides every transition, purely: each
//! command returns what must follow ([`Followup`]) for the queue, the agent and the timers.

mod alerts;
#[cfg(test)]
mod fixtures;
mod milestones;
mod open_offers;
mod skills;
mod state;
mod transfers;

pub use alerts::{AlertKind, AlertThresholds};
pub use milestones::{Milestones, Observation, advance};
pub use open_offers::OpenOffers;

pub use state::{
    Conversation, ConversationError, ConversationStatus, Direction, DispositionEntry, Followup,
    LastMessage, Opening, PREVIEW_CHARS, TimerKind,
};
