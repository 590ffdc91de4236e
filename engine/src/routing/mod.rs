//! The routing policy: pure, synchronous decisions with no actors, clocks or I/O.
//!
//! - [`WaitingLine`]: a queue's waiting conversations in serving order (priority, then
//!   waiting since), O(log n) to add, remove and find the head;
//! - [`AgentRoster`]: the agents of one queue who could take an offer now, indexed for each
//!   strategy;
//! - [`pick_agents`]: which agent(s) get the next offer, honouring declines;
//! - [`oldest_across_queues`]: which of an agent's queues serves it next;
//! - [`skills`]: what agents have and conversations need, and how a queue relaxes it as the
//!   customer waits; `skill_lines` splits a line by it so that routing by skill stays
//!   O(log n);
//! - [`trace`]: why each offer went where it went;
//! - [`QueueCore`] and [`AgentCore`]: one queue's and one agent's state, exchanging the
//!   [`protocol`] messages; the actors are mailboxes around them, and a simulation test runs
//!   them under random message interleavings.
//!
//! Times are plain milliseconds since the Unix epoch ([`Millis`]) handed in by the caller,
//! so every decision is reproducible in a test.

mod agent_core;
mod ended_offers;
mod explain;
mod policy;
pub mod protocol;
mod queue_core;
mod roster;
#[cfg(test)]
mod simulation;
mod skill_lines;
pub mod skills;
pub mod trace;
mod waiting;

pub use agent_core::{AgentCore, AgentError};
pub use policy::{oldest_across_queues, pick_agents, strategy_order};
pub use queue_core::{AnswerError, QueueCore, QueueSettings};
pub use roster::{AgentRoster, RosterEntry};
pub use skill_lines::Placement;
pub use waiting::{WaitKey, WaitingLine};

/// Milliseconds since the Unix epoch.
pub type Millis = i64;

/// A conversation's place in priority, higher served first: its queue's priority in the high
/// byte (so an agent of several queues serves the higher-priority queue first), the
/// conversation's own priority in the low byte (so a raised conversation goes ahead within its
/// queue). Waiting since orders conversations of equal priority.
pub type LinePriority = u16;

/// The line priority of a conversation of a queue with `queue_priority` and its own
/// `conversation_priority`.
pub fn line_priority(queue_priority: u8, conversation_priority: u8) -> LinePriority {
    (LinePriority::from(queue_priority) << 8) | LinePriority::from(conversation_priority)
}
