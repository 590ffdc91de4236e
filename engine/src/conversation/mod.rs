//! Conversations: one thread between a customer and a business number, from first text to
//! completion. [`Conversation`] holds the state and decides every transition, purely: each
//! command returns what must follow ([`Followup`]) for the queue, the agent and the timers.

mod state;

pub use state::{
    Conversation, ConversationError, ConversationStatus, DispositionEntry, Followup, Opening,
    TimerKind,
};
