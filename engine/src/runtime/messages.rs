//! The messages the actors exchange, in one place: what each actor is asked to do or told
//! (commands imperative, notifications past tense) and what it answers. The routing
//! protocol's own messages (`ToQueue`, `ToAgent`) are pure data in `routing::protocol`; the
//! ones here are their actix envelopes and the commands of the engine's facade.

use std::collections::BTreeSet;

use ::protocol::thread::{OutboundMessage, ThreadEntry};
use actix::Message;

use super::agent_actor::AgentView;
use super::engine::{EngineError, InboundAck, InboundMessage};
use super::queue_actor::QueueView;
use crate::conversation::{AlertThresholds, Conversation};
use crate::domain::{AgentId, ConversationId, Name, NumberId, Presence, QueueId};
use crate::routing::protocol::{Answer, Happened, OfferId, ToAgent, ToQueue};
use crate::routing::{AgentError, AnswerError, QueueSettings};

// --- To an agent ---

/// A protocol message for the agent.
#[derive(Message)]
#[rtype(result = "()")]
pub struct AgentMail(pub ToAgent);

/// Sets the agent's presence.
#[derive(Message)]
#[rtype(result = "AgentView")]
pub struct SetPresence(pub Presence, pub Option<String>);

/// The agent's teams changed (its gauges move to the new ones).
#[derive(Message)]
#[rtype(result = "()")]
pub struct SetTeams(pub Vec<String>);

/// Replaces the queues the agent is logged into.
#[derive(Message)]
#[rtype(result = "AgentView")]
pub struct SetLogins(pub BTreeSet<QueueId>);

/// The agent's capacity changed: a higher one offers more at once; a lower one offers
/// nothing new until the load is under it, and takes nothing away.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SetCapacity(pub u16);

/// The agent's skills changed: its queues route by the new ones from their next decision.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SetSkills(pub crate::routing::skills::Skills);

/// The agent no longer holds a conversation (completed, snoozed, transferred, taken).
#[derive(Message)]
#[rtype(result = "()")]
pub struct ReleaseConversation(pub ConversationId);

/// The agent takes a conversation without an offer (a claim); refused at capacity.
#[derive(Message)]
#[rtype(result = "Result<(), AgentError>")]
pub struct TakeConversation(pub ConversationId);

/// Restores an owned conversation after a restart (no capacity check, no announcement).
#[derive(Message)]
#[rtype(result = "()")]
pub struct RestoreOwned(pub ConversationId);

/// Ends, in the journal, the offers of a conversation the previous process left open
/// (recovery, before the conversation is offered again).
#[derive(Message)]
#[rtype(result = "()")]
pub struct EndOffersOfPreviousProcess;

/// Asks for the agent's observable state.
#[derive(Message)]
#[rtype(result = "AgentView")]
pub struct GetAgentView;

// --- To a queue ---

/// A protocol message for the queue.
#[derive(Message)]
#[rtype(result = "()")]
pub struct QueueMail(pub ToQueue);

/// An agent answers one of this queue's offers; the reply says whether it counted.
#[derive(Message)]
#[rtype(result = "Result<(), AnswerError>")]
pub struct AnswerOffer {
    /// The offer.
    pub offer: OfferId,
    /// Who answers.
    pub agent: AgentId,
    /// Accept or reject.
    pub answer: Answer,
}

/// The queue's settings changed: they apply from the next decision.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Configure(pub QueueSettings);

/// Asks for the queue's observable state.
#[derive(Message)]
#[rtype(result = "QueueView")]
pub struct GetQueueView;

/// Which campaign a conversation about to be enqueued belongs to (for the beacon).
#[derive(Message)]
#[rtype(result = "()")]
pub struct TagCampaign {
    /// The conversation.
    pub conversation: crate::domain::ConversationId,
    /// Its campaign.
    pub campaign: String,
}

// --- To a conversation: routing ---

/// Where an inbound message goes, resolved by the engine from the business number.
#[derive(Debug, Clone)]
pub struct Routing {
    /// The business number.
    pub number_id: NumberId,
    /// Its campaign.
    pub campaign: Name,
    /// Its queue.
    pub queue_id: QueueId,
    /// The queue's priority.
    pub priority: u8,
    /// The queue's public minutes.
    pub public_minutes: u32,
    /// The queue's alert thresholds.
    pub alerts: AlertThresholds,
    /// The skills the number's conversations need.
    pub required_skills: Vec<crate::domain::skills::SkillRequirement>,
    /// The queue's keyword rules, for a conversation's first text.
    pub keyword_skills: Vec<crate::domain::skills::KeywordSkill>,
}

impl Routing {
    /// How a conversation `id` with `customer` opens here, its first text `first_text`
    /// (empty when Switchboard texts first).
    pub fn opening(
        &self,
        id: ConversationId,
        customer: crate::domain::PhoneNumber,
        first_text: &str,
    ) -> crate::conversation::Opening {
        crate::conversation::Opening {
            id,
            customer,
            number_id: self.number_id.clone(),
            campaign: self.campaign.clone(),
            queue_id: self.queue_id.clone(),
            priority: self.priority,
            public_minutes: self.public_minutes,
            required_skills: self.skills_for(first_text),
        }
    }

    /// The skills a conversation opened by `first_text` needs of its own: the number's, and
    /// those its words ask for.
    pub fn skills_for(&self, first_text: &str) -> Vec<crate::domain::skills::SkillRequirement> {
        crate::domain::skills::merge_requirements(self.required_skills.iter().cloned().chain(
            crate::domain::skills::keyword_requirements(&self.keyword_skills, first_text),
        ))
    }
}

/// A customer's message for this conversation, if the customer's open conversation with
/// the number is as `guard` says (checked by the commit).
#[derive(Message, Clone)]
#[rtype(result = "Result<CustomerMessageOutcome, EngineError>")]
pub struct CustomerMessage {
    /// The message.
    pub message: InboundMessage,
    /// Where it goes.
    pub routing: Routing,
    /// [`OpenGuard::Claim`] for a conversation this text opens, [`OpenGuard::Holds`] for the
    /// one the engine believes open.
    pub guard: crate::store::OpenGuard,
}

/// What became of a customer's message sent to a conversation.
#[derive(Debug)]
pub enum CustomerMessageOutcome {
    /// Stored in this conversation (or a duplicate of one that was).
    Stored(InboundAck),
    /// Not this conversation's: the customer's open conversation with the number is this
    /// one (none when `None`). Nothing was stored.
    Elsewhere(Option<ConversationId>),
}

/// Something the routing did to this conversation.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Routed(pub Happened);

/// A durable timer of this conversation came due.
#[derive(Message)]
#[rtype(result = "()")]
pub struct TimerDue {
    /// `public_minutes` or `wake_up`.
    pub kind: String,
}

// --- To a conversation: texts ---

/// An agent replies to the customer.
#[derive(Message, Clone)]
#[rtype(result = "Result<Option<ThreadEntry>, EngineError>")]
pub struct Reply {
    /// Who replies.
    pub agent: AgentId,
    /// The text, media and template.
    pub text: super::engine::OutgoingText,
}

/// An agent starts the conversation by texting the customer (outbound).
#[derive(Message, Clone)]
#[rtype(result = "Result<OutboundMessage, EngineError>")]
pub struct StartOutbound {
    /// Where it belongs.
    pub routing: Routing,
    /// The customer.
    pub customer: crate::domain::PhoneNumber,
    /// The agent, who owns it from the start.
    pub agent: AgentId,
    /// The first text.
    pub text: super::engine::OutgoingText,
}

/// A campaign's bulk send texts the customer: into the customer's open conversation with
/// the number, or opening one in the campaign's queue (owned by nobody, waiting for nobody).
/// `dedupe` makes it exactly once: a second commit with it stores nothing.
#[derive(Message, Clone)]
#[rtype(result = "Result<CampaignTextOutcome, EngineError>")]
pub struct CampaignText {
    /// Where a new conversation belongs (the campaign's queue).
    pub routing: Routing,
    /// The customer.
    pub customer: crate::domain::PhoneNumber,
    /// The text.
    pub text: super::engine::OutgoingText,
    /// The send.
    pub send: String,
    /// The row's own id: `campaign:<send>:<row>`.
    pub dedupe: String,
}

/// What a campaign text came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CampaignTextOutcome {
    /// Stored (and in the outbox): the message's id.
    Sent(String),
    /// Stored before (the send resumed after a crash): nothing new.
    AlreadySent,
}

/// Switchboard answers the customer itself (a HELP answer): an outbound text by no agent,
/// which changes nothing of the routing (the customer still waits for an agent).
#[derive(Message, Clone)]
#[rtype(result = "Result<Option<ThreadEntry>, EngineError>")]
pub struct AutomaticText(pub super::engine::OutgoingText);

/// The customer opted out (STOP): the conversation closes with a system entry.
#[derive(Message, Clone)]
#[rtype(result = "Result<Option<ThreadEntry>, EngineError>")]
pub struct CloseOptedOut;

// --- To a conversation: work ---

/// The owner completes the conversation.
#[derive(Message, Clone)]
#[rtype(result = "Result<(), EngineError>")]
pub struct Complete {
    /// Who completes.
    pub agent: AgentId,
    /// Whether the queue requires a disposition.
    pub disposition_required: bool,
}

/// Asks for the conversation's state (`None` when it does not exist).
#[derive(Message, Clone)]
#[rtype(result = "Option<Conversation>")]
pub struct GetConversation;

/// The conversation's own priority changes.
#[derive(Message, Clone)]
#[rtype(result = "Result<Option<ThreadEntry>, EngineError>")]
pub struct SetPriority {
    /// 0 to 100.
    pub priority: u8,
    /// The owner setting it; `None` for a supervisor or the admin.
    pub by: Option<AgentId>,
}

/// Replaces the skills a conversation needs of its own.
#[derive(Message, Clone)]
#[rtype(result = "Result<Option<ThreadEntry>, EngineError>")]
pub struct SetRequiredSkills {
    /// The skills.
    pub skills: Vec<crate::domain::skills::SkillRequirement>,
    /// The owner setting them; `None` for a supervisor or the admin.
    pub by: Option<AgentId>,
}

/// An agent marks the customer's messages read: all, or the first `through`.
#[derive(Message, Clone)]
#[rtype(result = "Result<Option<ThreadEntry>, EngineError>")]
pub struct MarkRead {
    /// Who read.
    pub agent: AgentId,
    /// How many customer messages, counted from the first; `None` for all.
    pub through: Option<u32>,
}

/// An agent adds an internal note: kept in the thread, never sent to the customer.
#[derive(Message, Clone)]
#[rtype(result = "Result<Option<ThreadEntry>, EngineError>")]
pub struct AddNote {
    /// Who writes it.
    pub agent: AgentId,
    /// The text.
    pub body: String,
}

/// An agent records a disposition.
#[derive(Message, Clone)]
#[rtype(result = "Result<Option<ThreadEntry>, EngineError>")]
pub struct AddDisposition {
    /// The entry.
    pub entry: crate::conversation::DispositionEntry,
}

/// The owner saves the conversation for later.
#[derive(Message, Clone)]
#[rtype(result = "Result<Option<ThreadEntry>, EngineError>")]
pub struct Snooze {
    /// The owner.
    pub agent: AgentId,
    /// Until when.
    pub until: i64,
}

/// Where a transfer goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferTarget {
    /// To an agent (offered to them first, then their queue serves it).
    Agent(AgentId),
    /// To another queue.
    Queue(crate::domain::QueueId),
    /// To another queue, offered first to this agent there.
    AgentInQueue(AgentId, crate::domain::QueueId),
}

/// The owner transfers the conversation, cold.
#[derive(Message, Clone)]
#[rtype(result = "Result<Option<ThreadEntry>, EngineError>")]
pub struct Transfer {
    /// The owner.
    pub agent: AgentId,
    /// Where to.
    pub target: TransferTarget,
    /// Warm: the owner keeps it until the target agent accepts (agents only).
    pub warm: bool,
    /// A note for the target, kept in the thread.
    pub note: Option<String>,
    /// The supervisor doing it for the owner, if not the owner.
    pub by: Option<AgentId>,
}

/// A supervisor offers a waiting conversation straight to an agent.
#[derive(Message, Clone)]
#[rtype(result = "Result<Option<ThreadEntry>, EngineError>")]
pub struct OfferTo {
    /// The agent.
    pub agent: AgentId,
    /// The supervisor.
    pub by: AgentId,
    /// A note for the agent, kept in the thread.
    pub note: Option<String>,
}

/// A teammate subscribes to the conversation, or unsubscribes.
#[derive(Message, Clone)]
#[rtype(result = "Result<Option<ThreadEntry>, EngineError>")]
pub struct Subscribe {
    /// The teammate.
    pub agent: AgentId,
    /// Subscribe (`true`) or unsubscribe.
    pub on: bool,
}

/// An agent takes the conversation without an offer (it already holds the slot).
#[derive(Message, Clone)]
#[rtype(result = "Result<Option<ThreadEntry>, EngineError>")]
pub struct Claim {
    /// The agent.
    pub agent: AgentId,
}
