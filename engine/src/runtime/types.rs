//! The engine's public types: its settings, its errors, and what its calls take and answer.

use super::agent_actor::AgentView;
use super::queue_actor::QueueView;
use crate::catalog::CatalogError;
use crate::conversation::ConversationError;
use crate::domain::{AgentId, ConversationId, NumberId, PhoneNumber};
use crate::routing::AgentError;
use crate::store::StoreError;

/// Settings of the routing engine.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// How often due durable timers (public minutes, wake-ups) are looked for.
    pub timer_poll: std::time::Duration,
    /// How long a conversation actor may sit idle before it is stopped (its state stays in
    /// the store), so that a million stored conversations are not a million live actors.
    pub passivate_after: std::time::Duration,
    /// How outbound texts leave.
    pub outbox: crate::outbox::OutboxConfig,
    /// How many threads run conversation actors, each with its own store connection. One
    /// runs them on the engine's own thread — the default, and what tests on paused tokio
    /// time need (other threads do not see a paused clock); the server runs one per core.
    pub conversation_threads: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            timer_poll: std::time::Duration::from_secs(1),
            passivate_after: std::time::Duration::from_secs(600),
            outbox: crate::outbox::OutboxConfig::default(),
            conversation_threads: 1,
        }
    }
}

/// Why an engine call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// No business number has this phone number.
    #[error("no business number {0} is configured")]
    UnknownNumber(String),
    /// A resource does not exist.
    #[error("{kind} {id} not found")]
    NotFound {
        /// Its kind.
        kind: &'static str,
        /// Its id.
        id: String,
    },
    /// The offer was answered, expired or rescinded already.
    #[error("offer {0} is no longer pending ({reason})", reason = .1.as_str())]
    StaleOffer(String, crate::routing::protocol::StaleReason),
    /// The offer was made to another agent.
    #[error("offer {0} was made to another agent")]
    NotYourOffer(String),
    /// The conversation refused the command.
    #[error(transparent)]
    Conversation(#[from] ConversationError),
    /// The agent refused the command.
    #[error(transparent)]
    Agent(#[from] AgentError),
    /// Configuration could not be read.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The customer opted out (STOP) of the number's texts: nothing is sent until START.
    #[error("the customer opted out (STOP) of texts from number {0}; they must text START first")]
    RecipientOptedOut(NumberId),
    /// The customer already has an open conversation with the number.
    #[error("conversation {0} with this customer and number is open already")]
    AlreadyOpen(ConversationId),
    /// A transfer's target agent cannot take a conversation of this queue at all.
    #[error("agent {agent} cannot be given this conversation: {}", reason.message())]
    InvalidTransferTarget {
        /// The target.
        agent: AgentId,
        /// Why.
        reason: TargetRefusal,
    },
    /// A transfer's target agent cannot take a conversation now.
    #[error("agent {agent} cannot take a conversation now: {}", reason.message())]
    AgentUnavailable {
        /// The target.
        agent: AgentId,
        /// Why.
        reason: TargetRefusal,
    },
    /// An outbound start names no number or campaign, and the agent has no default.
    #[error(
        "name the business number (`number`) or `campaign` to text from: this agent has no `default_campaign`"
    )]
    SendingNumberRequired,
    /// A campaign without numbers cannot send.
    #[error("campaign {0} has no numbers to text from: give numbers its name as their campaign")]
    CampaignWithoutNumbers(String),
    /// The bulk send was cancelled or is done: it cannot change any more.
    #[error("send {send} is {state}: it cannot change any more")]
    SendFinished {
        /// The send.
        send: String,
        /// `cancelled` or `done`.
        state: &'static str,
    },
    /// The engine is shutting down.
    #[error("the routing engine is not running")]
    Stopped,
}

/// Why a transfer's target agent was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetRefusal {
    /// The target is the owner.
    Owner,
    /// The target is in none of the teams of the conversation's queue.
    NotInTeam,
    /// The target is offline.
    Offline,
    /// The target is away.
    Away,
    /// The target holds as many conversations as its capacity allows.
    AtCapacity,
}

impl TargetRefusal {
    /// The reason as the wire names it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::NotInTeam => "not_in_team",
            Self::Offline => "offline",
            Self::Away => "away",
            Self::AtCapacity => "at_capacity",
        }
    }

    fn message(self) -> &'static str {
        match self {
            Self::Owner => "it is the conversation's owner",
            Self::NotInTeam => "it is not in the team of the conversation's queue",
            Self::Offline => "it is offline",
            Self::Away => "it is away",
            Self::AtCapacity => "it is at capacity",
        }
    }
}

/// An outbound conversation started.
#[derive(Debug, Clone)]
pub struct OutboundStarted {
    /// The new conversation.
    pub conversation_id: ConversationId,
    /// Its first message (in the outbox).
    pub message: ::protocol::thread::OutboundMessage,
}

/// A customer's message as a provider delivered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundMessage {
    /// The customer.
    pub from: PhoneNumber,
    /// The business number texted.
    pub to: PhoneNumber,
    /// The text.
    pub body: String,
    /// Attached media (MMS).
    pub media_urls: Vec<String>,
    /// The provider's id, for deduplicating retries.
    pub provider_message_id: Option<String>,
    /// The conversation's own priority (0 to 100), when the sender sets one: it opens with
    /// it, or an open one takes it.
    pub priority: Option<u8>,
}

/// An agent's text to a customer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutgoingText {
    /// The text.
    pub body: String,
    /// Media to attach (MMS).
    pub media_urls: Vec<String>,
    /// The template it was rendered from.
    pub template_id: Option<String>,
}

impl From<&str> for OutgoingText {
    fn from(body: &str) -> Self {
        Self::from(body.to_owned())
    }
}

impl From<String> for OutgoingText {
    fn from(body: String) -> Self {
        Self {
            body,
            ..Self::default()
        }
    }
}

/// The answer to an inbound message: stored (or a duplicate of one stored before).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundAck {
    /// The conversation it joined or opened.
    pub conversation_id: ConversationId,
    /// Whether it repeated a provider message id already stored (and was dropped).
    pub duplicate: bool,
}

/// An agent's routing state.
pub type AgentSnapshot = AgentView;
/// A queue's routing state.
pub type QueueSnapshot = QueueView;
