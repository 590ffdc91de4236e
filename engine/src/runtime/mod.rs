//! The actor runtime: thin actix actors around the pure routing and conversation logic.
//!
//! - [`QueueActor`](queue_actor) holds a [`QueueCore`](crate::routing::QueueCore);
//! - [`AgentActor`](agent_actor) holds an [`AgentCore`](crate::routing::AgentCore);
//! - [`ConversationActor`](conversation_actor) holds a
//!   [`Conversation`](crate::conversation::Conversation) and is its only writer: every change
//!   is committed to the store (with its events) before it is acknowledged or acted on.
//!
//! Actors talk by one-way messages, all declared in `messages`; the only awaited sends are
//! from the [`Engine`] handle (called by HTTP handlers), never between actors, so no cycle of
//! waiting can form. The [`Engine`] facade is split by idea into sibling modules (registry,
//! recovery, send gate, inbound, transfers, conversation commands, thread, reconfigure).
//! Conversation actors run on shards — threads chosen by conversation id (`shards`) — while
//! queues and agents share the engine's thread.

mod actor_services;
mod agent_actor;
mod agent_gauges;
mod campaign_labels;
mod campaign_sending;
mod clock;
mod config_cache;
mod conversation_actor;
mod conversation_commands;
mod conversation_events;
mod conversation_routing;
mod conversation_texts;
mod conversation_work;
mod directory_loading;
mod durable;
mod engine;
mod inbound;
mod messages;
mod open_conversations;
mod queue_actor;
mod reconfigure;
mod recovery;
mod registry;
mod routing_history;
mod send_gate;
mod shards;
mod statistics;
mod thread;
mod transfers;
mod types;

pub use agent_gauges::ENGINE_REASONS as ENGINE_AWAY_REASONS;
pub use campaign_sending::{RecipientRow, SendCommand, SendTemplate};
pub use clock::Clock;
pub use engine::{
    AgentSnapshot, Engine, EngineConfig, EngineError, InboundAck, InboundMessage, OutboundStarted,
    OutgoingText, QueueSnapshot, TargetRefusal,
};
pub use messages::TransferTarget;
pub use statistics::READ_BATCH;
