//! The messages queues and agents exchange, and the effects their decisions ask for.
//!
//! Queues and agents are separate units of consistency (actors in production, plain values
//! in the simulation test); they coordinate only through these one-way messages, each
//! carrying what the receiver needs, so that neither ever waits on the other.
//!
//! Capacity belongs to the agent: a queue proposes an offer by asking the agent to
//! [`ToAgent::Reserve`] a slot, and only a grant turns it into an offer. When an agent frees a
//! slot it asks each of its queues for its oldest eligible conversation
//! ([`ToQueue::Peek`]) and pulls from the oldest ([`ToQueue::Pull`]) — this is what keeps
//! longest-wait-first true across queues.

use std::fmt;

use std::sync::Arc;

use super::skills::{Needs, Skills};
use super::trace::{RoutingTrace, Unready};
use super::{Millis, RosterEntry, WaitKey};
use crate::domain::{AgentId, ConversationId, QueueId};

/// Identifies one offer: the queue that made it and a sequence number unique within it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OfferId {
    /// The queue that made the offer.
    pub queue: QueueId,
    /// Its sequence number in that queue.
    pub seq: u64,
}

impl fmt::Display for OfferId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "of_{}_{}-{}", self.queue, self.seq, self.tag())
    }
}

impl OfferId {
    /// The id's unguessable part: a keyed hash of queue and sequence, with a key drawn at
    /// start (offers do not outlive the process: recovery makes them again). Without it,
    /// `of_<queue>_1` could be guessed and its existence probed.
    pub fn tag(&self) -> String {
        use std::hash::BuildHasher;
        static KEY: std::sync::LazyLock<std::collections::hash_map::RandomState> =
            std::sync::LazyLock::new(std::collections::hash_map::RandomState::new);
        format!("{:016x}", KEY.hash_one((self.queue.as_str(), self.seq)))
    }

    /// Reads `of_<queue>_<seq>-<tag>` (queue ids may hold `_`), refusing a wrong tag.
    pub fn parse(text: &str) -> Option<Self> {
        let (head, last) = text.strip_prefix("of_")?.rsplit_once('_')?;
        let (seq, tag) = last.split_once('-')?;
        let id = Self {
            queue: QueueId::parse(head).ok()?,
            seq: seq.parse().ok()?,
        };
        (id.tag() == tag).then_some(id)
    }
}

/// How an offer was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Answer {
    /// The agent took it.
    Accept,
    /// The agent declined it.
    Reject,
    /// Nobody answered in time.
    Timeout,
}

/// An agent's state as a queue needs it: `Ok` when the agent could take an offer from that
/// queue now, `Err` with the reason when not (away, offline, logged out, full, busy
/// pulling); and its skills. `version` grows with every change, so a queue ignores news
/// older than what it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentNews {
    /// The agent.
    pub agent: AgentId,
    /// Grows with every change of the agent.
    pub version: u64,
    /// Eligible with this load, or why not.
    pub eligible: Result<RosterEntry, Unready>,
    /// The agent's skills.
    pub skills: Skills,
}

/// How a conversation put in line should be served, beyond the queue's strategy.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum EnqueueHint {
    /// As the strategy says.
    #[default]
    None,
    /// To this agent first, if the agent can take it now (a snoozed conversation waking up
    /// goes back to its owner); otherwise as usual.
    OfferFirstTo(AgentId),
    /// Never to this agent while another could take it (a public conversation is for the
    /// owner's colleagues: the owner has it already).
    NotTo(AgentId),
    /// Straight to this agent (a transfer to a teammate): the queue asks the agent for a slot
    /// at once, whether or not the agent is logged into the queue (presence and capacity
    /// still apply). Cold (`warm: false`), a refusal, reject or timeout puts it in line, where
    /// `sender` is skipped while anyone else could take it. Warm, the owner keeps it until the
    /// target accepts; a refusal, reject or timeout ends the transfer (the conversation
    /// returns to the line only if it was waiting there as a public conversation).
    Direct {
        /// The target.
        agent: AgentId,
        /// Whether the owner keeps it until the target accepts.
        warm: bool,
        /// Who transferred it (not offered it back first).
        sender: Option<AgentId>,
    },
}

pub use ::protocol::vocabulary::RescindReason;

/// How an offer ended without an assignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OfferEnd {
    /// The agent declined it.
    Rejected,
    /// Nobody answered in time.
    Expired,
    /// Taken back before an answer.
    Rescinded(RescindReason),
}

impl OfferEnd {
    /// Whether this ends a transfer directed to the offer's agent (the agent said no, did not
    /// answer, or left); a conversation taken or withdrawn ends it otherwise.
    pub fn declines_transfer(self) -> bool {
        !matches!(
            self,
            Self::Rescinded(RescindReason::Taken | RescindReason::Withdrawn)
        )
    }
}

/// Why an answer to an offer found it no longer pending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StaleReason {
    /// Nobody answered it in time.
    Expired,
    /// It was accepted already (by this agent, or another took the conversation).
    Taken,
    /// It was rejected already.
    Rejected,
    /// It was taken back (the conversation left the line, or the agent went away).
    Rescinded,
    /// It was made to another agent.
    NotYours,
    /// This queue made no such offer, or made it too long ago to remember.
    Unknown,
}

impl StaleReason {
    /// The reason as the wire names it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Expired => "expired",
            Self::Taken => "taken",
            Self::Rejected => "rejected",
            Self::Rescinded => "rescinded",
            Self::NotYours => "not_yours",
            Self::Unknown => "unknown",
        }
    }
}

/// Messages to a queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToQueue {
    /// Put a conversation in line (new, or back after reject, timeout, public minutes,
    /// transfer or wake-up — always with its original `waiting_since`).
    Enqueue {
        /// The conversation.
        conversation: ConversationId,
        /// Its line priority (the queue's, then its own).
        priority: super::LinePriority,
        /// When the customer's oldest unanswered message arrived.
        waiting_since: Millis,
        /// The skills it needs (the queue adds its own), and where it overflowed from.
        needs: Needs,
        /// Whom to offer it to first, or not at all.
        hint: EnqueueHint,
    },
    /// Take a conversation out of line and rescind its offers (claimed elsewhere, closed,
    /// opted out, snoozed).
    Withdraw {
        /// The conversation.
        conversation: ConversationId,
    },
    /// An agent's state changed.
    AgentChanged(AgentNews),
    /// The agent left `available` with this offer pending: take it back and serve the
    /// conversation elsewhere.
    Rescind {
        /// The offer.
        offer: OfferId,
        /// The agent it was made to.
        agent: AgentId,
        /// Away or offline.
        reason: RescindReason,
    },
    /// An agent's answer to [`ToAgent::Reserve`].
    Reserved {
        /// The offer the slot was asked for.
        offer: OfferId,
        /// Whether the slot is reserved.
        granted: bool,
        /// The agent's state after answering.
        news: AgentNews,
    },
    /// An offer was answered (by the agent, or by its timer).
    Answered {
        /// The offer.
        offer: OfferId,
        /// The agent answering (must be the offer's agent).
        agent: AgentId,
        /// Accept, reject or timeout.
        answer: Answer,
    },
    /// An agent with a free slot asks for this queue's oldest conversation it could take.
    Peek {
        /// The agent.
        agent: AgentId,
        /// The agent's pull round, echoed back.
        round: u64,
        /// The agent's skills (only conversations they meet count).
        skills: Skills,
    },
    /// An agent asks this queue to offer it its oldest eligible conversation now.
    Pull {
        /// The agent.
        agent: AgentId,
        /// The agent's pull round, echoed back in the reservation.
        round: u64,
        /// The agent's skills.
        skills: Skills,
    },
}

/// Messages to an agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToAgent {
    /// A queue asks for a slot for an offer.
    Reserve {
        /// The offer to be.
        offer: OfferId,
        /// The conversation.
        conversation: ConversationId,
        /// The pull round this answers, when the agent asked for it.
        round: Option<u64>,
        /// A transfer straight to this agent: granted without a login to the queue.
        directed: bool,
    },
    /// An offer ended without an assignment (rejected, timed out, rescinded, or a slot that
    /// was granted for a conversation gone meanwhile): the slot is free again.
    Release {
        /// The offer.
        offer: OfferId,
        /// When it timed out: the queue's missed-offer limit (offers missed in a row before
        /// the agent is set away; 0 never). `None` for any other end.
        missed: Option<u32>,
    },
    /// The offer was accepted: its slot now holds an owned conversation.
    Assigned {
        /// The offer.
        offer: OfferId,
    },
    /// A queue's answer to [`ToQueue::Peek`].
    Oldest {
        /// The queue.
        queue: QueueId,
        /// The pull round.
        round: u64,
        /// Its oldest conversation the agent could take, if any.
        head: Option<WaitKey>,
    },
    /// A queue's answer to [`ToQueue::Pull`] when it had nothing left to offer.
    PullEmpty {
        /// The pull round.
        round: u64,
    },
}

/// What happened, for the conversation, the event stream and the desktops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Happened {
    /// An offer was made to an agent.
    OfferCreated {
        /// The offer.
        offer: OfferId,
        /// The conversation.
        conversation: ConversationId,
        /// The agent.
        agent: AgentId,
        /// When it times out.
        expires_at: Millis,
        /// Why it went to this agent.
        trace: Arc<RoutingTrace>,
    },
    /// An offer ended without an assignment.
    OfferEnded {
        /// The offer.
        offer: OfferId,
        /// The conversation.
        conversation: ConversationId,
        /// The agent.
        agent: AgentId,
        /// How.
        end: OfferEnd,
    },
    /// The conversation's owner is now this agent.
    Assigned {
        /// The conversation.
        conversation: ConversationId,
        /// The new owner.
        agent: AgentId,
        /// The accepted offer.
        offer: OfferId,
    },
    /// The conversation waited long enough for its queue's overflow step: it leaves the
    /// queue for another, keeping its `waiting_since`.
    Overflowed {
        /// The conversation.
        conversation: ConversationId,
        /// The queue it leaves.
        from: QueueId,
        /// The queue it goes to.
        to: QueueId,
    },
    /// The agent missed too many offers in a row and was set away.
    AgentSetAway {
        /// The agent.
        agent: AgentId,
    },
    /// A transfer straight to an agent could not be offered (the agent was no longer
    /// available or had no free slot when asked).
    DirectRefused {
        /// The conversation.
        conversation: ConversationId,
        /// The agent.
        agent: AgentId,
        /// Whether the owner kept it (warm); cold ones wait in line.
        warm: bool,
    },
}

/// What a decision asks the caller to do: messages to send, timers to arm, what happened.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Effects {
    /// Messages to queues.
    pub to_queues: Vec<(QueueId, ToQueue)>,
    /// Messages to agents.
    pub to_agents: Vec<(AgentId, ToAgent)>,
    /// Offer timers: at this time, answer the offer with [`Answer::Timeout`]. A timer for an
    /// offer no longer pending is ignored when it fires, so none needs cancelling.
    pub timers: Vec<(Millis, OfferId)>,
    /// Facts to record and publish.
    pub happened: Vec<Happened>,
}
