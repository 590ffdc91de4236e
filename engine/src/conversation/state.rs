//! A conversation's state and its transitions (handing it on is in `transfers`).
//!
//! - `waiting_since` is when the customer's oldest unanswered message arrived: set by the
//!   first customer message after an agent's reply, cleared by the next agent reply, never
//!   moved by re-queueing. The queue orders by it.
//! - An owned conversation whose customer has waited `public_minutes` becomes public: back in
//!   its queue with its original `waiting_since`, claimable by the team, while the owner keeps
//!   it until someone else takes it (then the old owner becomes a subscriber). A reply from an
//!   owner or subscriber first makes it private again.
//! - Snoozed conversations hold no agent slot and wait in no queue until their time (or a
//!   customer message) wakes them, for the same agent first.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::{AlertKind, AlertThresholds};
use crate::domain::skills::SkillRequirement;
use crate::domain::{AgentId, ConversationId, Name, NumberId, PhoneNumber, QueueId, Slug};
use crate::routing::Millis;

pub use ::protocol::vocabulary::ConversationStatus;

/// One recorded outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DispositionEntry {
    /// The disposition code.
    pub code: Slug,
    /// The agent's note.
    pub note: Option<String>,
    /// Who recorded it.
    pub agent: AgentId,
    /// When.
    pub at: Millis,
}

/// The durable timers a conversation arms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimerKind {
    /// The customer has waited `public_minutes`: make it public.
    PublicMinutes,
    /// The snooze is over: serve it again.
    WakeUp,
    /// Unclaimed too long: raise the alert.
    AlertUnclaimed,
    /// The customer of an owned conversation waits too long for a reply: raise the alert.
    AlertAwaitingReply,
}

/// What a transition asks of the rest of the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Followup {
    /// Put the conversation in its queue with this `waiting_since` (and priority).
    Enqueue {
        /// The queue.
        queue: QueueId,
        /// Its place.
        waiting_since: Millis,
    },
    /// Take it out of its queue and rescind its offers.
    Withdraw {
        /// The queue.
        queue: QueueId,
    },
    /// Offer it straight to this agent (a transfer): no login to the queue needed. Warm, the
    /// owner keeps it until the target accepts; cold, it waits in the queue if the target
    /// cannot take it, declines or lets the offer expire.
    OfferDirect {
        /// The target agent.
        agent: AgentId,
        /// The queue that makes the offer.
        queue: QueueId,
        /// Its place in that queue.
        waiting_since: Millis,
        /// Whether the owner keeps it meanwhile.
        warm: bool,
        /// Who handed it over (cold): not offered it back while a colleague could take it.
        sender: Option<AgentId>,
    },
    /// Offer it to this agent before the queue (a wake-up goes to its owner first).
    OfferFirstTo {
        /// The agent.
        agent: AgentId,
        /// The queue it falls back to.
        queue: QueueId,
        /// Its place there.
        waiting_since: Millis,
    },
    /// The agent no longer holds it (a slot frees).
    ReleaseFrom {
        /// The agent.
        agent: AgentId,
    },
    /// Tell these agents (owner and subscribers) that the customer wrote.
    Notify {
        /// Owner first, then subscribers.
        agents: Vec<AgentId>,
    },
    /// Arm a durable timer (replacing one of the same kind).
    Arm {
        /// Which.
        kind: TimerKind,
        /// When.
        at: Millis,
    },
    /// Disarm a timer of this kind, if armed.
    Disarm {
        /// Which.
        kind: TimerKind,
    },
    /// An alert was raised (or cleared).
    Alert {
        /// Which.
        kind: AlertKind,
        /// Raised, or cleared.
        raised: bool,
    },
}

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConversationError {
    /// The conversation is closed.
    #[error("the conversation is closed")]
    Closed,
    /// Only the owner (or a subscriber, for replies) may do this.
    #[error("agent {0} does not own this conversation")]
    NotOwner(AgentId),
    /// Someone else owns it and it is not public: it cannot be claimed.
    #[error("the conversation is owned by {0}")]
    AlreadyOwned(AgentId),
    /// Completing needs a disposition first.
    #[error("a disposition is required before completing")]
    DispositionRequired,
    /// The snooze time is not in the future.
    #[error("snooze time must be in the future")]
    SnoozeInPast,
    /// A transfer names the conversation's own owner as its target.
    #[error("a conversation cannot be transferred to its own owner")]
    TransferToSelf,
    /// The command needs an owner (snooze, transfer, complete) and nobody owns it.
    #[error("nobody owns the conversation; this needs its owner")]
    NotOwned,
}

/// What a conversation opens with: who wrote to which number, and where it is served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opening {
    /// The new conversation's id.
    pub id: ConversationId,
    /// The customer.
    pub customer: PhoneNumber,
    /// The business number.
    pub number_id: NumberId,
    /// The number's campaign.
    pub campaign: Name,
    /// The number's queue.
    pub queue_id: QueueId,
    /// The queue's priority.
    pub priority: u8,
    /// The queue's public minutes.
    pub public_minutes: u32,
    /// The skills it needs of its own (its number's, the keywords of the first text).
    pub required_skills: Vec<SkillRequirement>,
}

/// One conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    /// Its id.
    pub(super) id: ConversationId,
    /// The customer's number.
    pub(super) customer: PhoneNumber,
    /// The business number texted.
    pub(super) number_id: NumberId,
    /// The number's campaign when the conversation opened.
    pub(super) campaign: Name,
    /// The queue serving it.
    pub(super) queue_id: QueueId,
    /// Its queue's priority when it opened (agents of several queues serve the higher first).
    pub(super) priority: u8,
    /// Its own priority within the queue, 0 (default) to 100: raised, it goes ahead of the
    /// conversations of its queue that waited longer.
    #[serde(default)]
    pub(super) conversation_priority: u8,
    /// The queue's public minutes (0: never), as of the customer's last message.
    #[serde(default = "default_public_minutes")]
    pub(super) public_minutes: u32,
    /// The queue's alert thresholds, as of the customer's last message.
    #[serde(default)]
    pub(super) alert_thresholds: AlertThresholds,
    /// A warm transfer waiting for its target to accept.
    #[serde(default)]
    pub(super) pending_transfer: Option<AgentId>,
    /// Alerts raised and not cleared.
    #[serde(default)]
    pub(super) alerts: std::collections::BTreeSet<AlertKind>,
    /// Where it is.
    pub(super) status: ConversationStatus,
    /// Its owner.
    pub(super) owner: Option<AgentId>,
    /// Agents who replied or were owners before; they see its messages.
    pub(super) subscribers: BTreeSet<AgentId>,
    /// Owned but back in the queue after public minutes.
    pub(super) public: bool,
    /// When the customer's oldest unanswered message arrived.
    pub(super) waiting_since: Option<Millis>,
    /// When a snooze ends.
    pub(super) snoozed_until: Option<Millis>,
    /// Recorded outcomes.
    pub(super) dispositions: Vec<DispositionEntry>,
    /// When it opened.
    pub(super) created_at: Millis,
    /// When it closed.
    pub(super) closed_at: Option<Millis>,
    /// The customer's last message.
    pub(super) last_customer_at: Option<Millis>,
    /// The last agent reply.
    pub(super) last_agent_at: Option<Millis>,
    /// The newest customer or agent message, for conversation lists.
    #[serde(default)]
    pub(super) last_message: Option<LastMessage>,
    /// Customer messages received.
    #[serde(default)]
    pub(super) inbound_count: u32,
    /// Customer messages an agent has read (a reply reads them all).
    #[serde(default)]
    pub(super) read_count: u32,
    /// Agent texts sent.
    #[serde(default)]
    pub(super) outbound_count: u32,
    /// What it has passed through, for statistics and reports.
    #[serde(default)]
    pub(super) milestones: super::milestones::Milestones,
    /// Offers out and not yet answered, as the journal knows them (see `open_offers`).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub(super) open_offers: super::OpenOffers,
    /// The skills it needs of its own (see `skills`); its queue adds its own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) required_skills: Vec<SkillRequirement>,
    /// Queues it must not overflow to (see `skills`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) no_overflow_to: Vec<QueueId>,
    /// The bulk send of its campaign that opened it, before the customer wrote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) campaign_send: Option<String>,
}

/// Reading a conversation: its state changes only through its transitions (the methods
/// above and in `alerts` and `transfers`), which keep its invariants.
impl Conversation {
    /// Its id.
    pub fn id(&self) -> &ConversationId {
        &self.id
    }

    /// The customer's number.
    pub fn customer(&self) -> &PhoneNumber {
        &self.customer
    }

    /// The business number texted.
    pub fn number_id(&self) -> &NumberId {
        &self.number_id
    }

    /// The number's campaign when the conversation opened.
    pub fn campaign(&self) -> &Name {
        &self.campaign
    }

    /// The queue serving it.
    pub fn queue_id(&self) -> &QueueId {
        &self.queue_id
    }

    /// Its queue's priority when it opened (agents of several queues serve the higher first).
    pub fn priority(&self) -> u8 {
        self.priority
    }

    /// Its own priority within the queue, 0 (default) to 100: raised, it goes ahead of the
    /// conversations of its queue that waited longer.
    pub fn conversation_priority(&self) -> u8 {
        self.conversation_priority
    }

    /// The queue's public minutes (0: never), as of the customer's last message.
    pub fn public_minutes(&self) -> u32 {
        self.public_minutes
    }

    /// The queue's alert thresholds, as of the customer's last message.
    pub fn alert_thresholds(&self) -> AlertThresholds {
        self.alert_thresholds
    }

    /// A warm transfer waiting for its target to accept.
    pub fn pending_transfer(&self) -> &Option<AgentId> {
        &self.pending_transfer
    }

    /// Alerts raised and not cleared.
    pub fn alerts(&self) -> &std::collections::BTreeSet<AlertKind> {
        &self.alerts
    }

    /// Where it is.
    pub fn status(&self) -> ConversationStatus {
        self.status
    }

    /// Its owner.
    pub fn owner(&self) -> &Option<AgentId> {
        &self.owner
    }

    /// Agents who replied or were owners before; they see its messages.
    pub fn subscribers(&self) -> &BTreeSet<AgentId> {
        &self.subscribers
    }

    /// Owned but back in the queue after public minutes.
    pub fn public(&self) -> bool {
        self.public
    }

    /// When the customer's oldest unanswered message arrived.
    pub fn waiting_since(&self) -> Option<Millis> {
        self.waiting_since
    }

    /// When a snooze ends.
    pub fn snoozed_until(&self) -> Option<Millis> {
        self.snoozed_until
    }

    /// Recorded outcomes.
    pub fn dispositions(&self) -> &Vec<DispositionEntry> {
        &self.dispositions
    }

    /// When it opened.
    pub fn created_at(&self) -> Millis {
        self.created_at
    }

    /// When it closed.
    pub fn closed_at(&self) -> Option<Millis> {
        self.closed_at
    }

    /// The customer's last message.
    pub fn last_customer_at(&self) -> Option<Millis> {
        self.last_customer_at
    }

    /// The last agent reply.
    pub fn last_agent_at(&self) -> Option<Millis> {
        self.last_agent_at
    }

    /// The newest customer or agent message, for conversation lists.
    pub fn last_message(&self) -> &Option<LastMessage> {
        &self.last_message
    }

    /// Customer messages received.
    pub fn inbound_count(&self) -> u32 {
        self.inbound_count
    }

    /// Customer messages an agent has read (a reply reads them all).
    pub fn read_count(&self) -> u32 {
        self.read_count
    }
}

/// Which way a message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// From the customer.
    Inbound,
    /// To the customer.
    Outbound,
}

/// The newest message of a conversation, as lists show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastMessage {
    /// Which way it went.
    pub direction: Direction,
    /// Its first [`PREVIEW_CHARS`] characters.
    pub preview: String,
    /// When.
    pub at: Millis,
}

/// How much of a message a list shows.
pub const PREVIEW_CHARS: usize = 160;

fn default_public_minutes() -> u32 {
    20
}

impl Conversation {
    /// A new conversation opened by a customer message at `at`.
    pub fn open(opening: Opening, at: Millis) -> (Self, Vec<Followup>) {
        let Opening {
            id,
            customer,
            number_id,
            campaign,
            queue_id,
            priority,
            public_minutes,
            required_skills,
        } = opening;
        let conversation = Self {
            id,
            customer,
            number_id,
            campaign,
            queue_id: queue_id.clone(),
            priority,
            conversation_priority: 0,
            public_minutes,
            alert_thresholds: AlertThresholds::default(),
            pending_transfer: None,
            alerts: std::collections::BTreeSet::new(),
            status: ConversationStatus::Queued,
            owner: None,
            subscribers: BTreeSet::new(),
            public: false,
            waiting_since: Some(at),
            snoozed_until: None,
            dispositions: Vec::new(),
            created_at: at,
            closed_at: None,
            last_customer_at: Some(at),
            last_agent_at: None,
            last_message: None,
            inbound_count: 0,
            read_count: 0,
            outbound_count: 0,
            milestones: super::milestones::Milestones::default(),
            open_offers: super::OpenOffers::default(),
            required_skills,
            no_overflow_to: Vec::new(),
            campaign_send: None,
        };
        (
            conversation,
            vec![Followup::Enqueue {
                queue: queue_id,
                waiting_since: at,
            }],
        )
    }

    /// A new conversation an agent starts by texting the customer (outbound): owned by the
    /// agent from the start, nobody waiting, in no queue.
    pub fn open_outbound(opening: Opening, agent: &AgentId, at: Millis) -> Self {
        let (mut conversation, _enqueue) = Self::open(opening, at);
        conversation.status = ConversationStatus::Owned;
        conversation.owner = Some(agent.clone());
        conversation.waiting_since = None;
        conversation.last_customer_at = None;
        conversation.last_agent_at = Some(at);
        conversation
    }

    /// A new conversation a campaign's bulk send opens by texting the customer: in the
    /// campaign's queue, owned by nobody and waiting for nobody until the customer writes
    /// back (then it is queued and routed like any inbound text).
    pub fn open_for_campaign(opening: Opening, send: &str, at: Millis) -> Self {
        let (mut conversation, _enqueue) = Self::open(opening, at);
        conversation.waiting_since = None;
        conversation.last_customer_at = None;
        conversation.campaign_send = Some(send.to_owned());
        conversation
    }

    /// The bulk send that opened it, if one did.
    pub fn campaign_send(&self) -> Option<&str> {
        self.campaign_send.as_deref()
    }

    /// Records a message for lists: the preview, and the unread count (a customer message
    /// adds one; an agent's message reads everything before it).
    pub fn record_message(&mut self, direction: Direction, body: &str, at: Millis) {
        match direction {
            Direction::Inbound => self.inbound_count += 1,
            Direction::Outbound => {
                self.read_count = self.inbound_count;
                self.outbound_count += 1;
            }
        }
        self.last_message = Some(LastMessage {
            direction,
            preview: body.chars().take(PREVIEW_CHARS).collect(),
            at,
        });
    }

    /// Agent texts sent.
    pub fn outbound_count(&self) -> u32 {
        self.outbound_count
    }

    /// What it has passed through (first text, acceptances, first response).
    pub fn milestones(&self) -> &super::milestones::Milestones {
        &self.milestones
    }

    /// Marks customer messages read: all of them, or the first `through` (never fewer than
    /// already read). Returns whether anything changed.
    pub fn mark_read(&mut self, through: Option<u32>) -> bool {
        let target = through
            .unwrap_or(self.inbound_count)
            .min(self.inbound_count)
            .max(self.read_count);
        let changed = target != self.read_count;
        self.read_count = target;
        changed
    }

    /// Customer messages no agent has read.
    pub fn unread(&self) -> u32 {
        self.inbound_count.saturating_sub(self.read_count)
    }

    /// When anything last happened, for ordering lists: the newest message, or opening or
    /// closing.
    pub fn activity_at(&self) -> Millis {
        let message = self.last_message.as_ref().map_or(0, |m| m.at);
        message
            .max(self.created_at)
            .max(self.closed_at.unwrap_or(0))
    }

    /// Whether the conversation is open.
    pub fn is_open(&self) -> bool {
        self.status != ConversationStatus::Closed
    }

    /// Owner first, then subscribers.
    fn watchers(&self) -> Vec<AgentId> {
        self.owner
            .iter()
            .cloned()
            .chain(
                self.subscribers
                    .iter()
                    .filter(|s| Some(*s) != self.owner.as_ref())
                    .cloned(),
            )
            .collect()
    }

    /// Takes the queue's alert thresholds as they are now (each customer message and start
    /// brings the current ones).
    pub fn use_alert_thresholds(&mut self, thresholds: AlertThresholds) {
        self.alert_thresholds = thresholds;
    }

    /// Takes its own priority as the sender set it, before the message's follow-ups are
    /// worked out (so a new conversation enters the line with it).
    pub fn take_priority(&mut self, priority: u8) {
        self.conversation_priority = priority;
    }

    /// Its place in priority in the waiting line: the queue's, then its own.
    pub fn line_priority(&self) -> crate::routing::LinePriority {
        crate::routing::line_priority(self.priority, self.conversation_priority)
    }

    /// Sets its own priority; a waiting conversation takes its new place in line at once
    /// (keeping its waiting since).
    pub fn set_priority(&mut self, priority: u8) -> Result<Vec<Followup>, ConversationError> {
        if !self.is_open() {
            return Err(ConversationError::Closed);
        }
        self.conversation_priority = priority;
        let waiting = self.status == ConversationStatus::Queued || self.public;
        Ok(match (waiting, self.waiting_since) {
            (true, Some(since)) => vec![Followup::Enqueue {
                queue: self.queue_id.clone(),
                waiting_since: since,
            }],
            _ => Vec::new(),
        })
    }

    /// The customer wrote at `at`. `public_minutes` is the queue's setting (0: never).
    pub fn customer_message(
        &mut self,
        at: Millis,
        public_minutes: u32,
    ) -> Result<Vec<Followup>, ConversationError> {
        if !self.is_open() {
            return Err(ConversationError::Closed);
        }
        self.last_customer_at = Some(at);
        self.public_minutes = public_minutes;
        let since = *self.waiting_since.get_or_insert(at);
        let mut out = Vec::new();
        match self.status {
            ConversationStatus::Queued => out.push(Followup::Enqueue {
                queue: self.queue_id.clone(),
                waiting_since: since,
            }),
            ConversationStatus::Owned => {
                out.push(Followup::Notify {
                    agents: self.watchers(),
                });
                if public_minutes > 0 && !self.public {
                    out.push(Followup::Arm {
                        kind: TimerKind::PublicMinutes,
                        at: since + i64::from(public_minutes) * 60_000,
                    });
                }
            }
            ConversationStatus::Snoozed => {
                // A customer message wakes a snoozed conversation early.
                out.extend(self.wake(at));
                out.push(Followup::Disarm {
                    kind: TimerKind::WakeUp,
                });
            }
            ConversationStatus::Closed => unreachable!("checked above"),
        }
        Ok(out)
    }

    /// An agent replied at `at`. Owners and subscribers may; the sender becomes a subscriber.
    pub fn agent_reply(
        &mut self,
        agent: &AgentId,
        at: Millis,
    ) -> Result<Vec<Followup>, ConversationError> {
        if !self.is_open() {
            return Err(ConversationError::Closed);
        }
        if self.owner.as_ref() != Some(agent) && !self.subscribers.contains(agent) {
            return Err(ConversationError::NotOwner(agent.clone()));
        }
        self.last_agent_at = Some(at);
        self.waiting_since = None;
        // Whoever replies follows the conversation from then on (the owner does anyway).
        if self.owner.as_ref() != Some(agent) {
            self.subscribers.insert(agent.clone());
        }
        let mut out = vec![Followup::Disarm {
            kind: TimerKind::PublicMinutes,
        }];
        if self.public {
            // Answered in time after all: private again, out of the queue.
            self.public = false;
            out.push(Followup::Withdraw {
                queue: self.queue_id.clone(),
            });
        }
        Ok(out)
    }

    /// An agent took the conversation (accepted an offer, or claimed it). A public
    /// conversation taken by someone else leaves its old owner as a subscriber.
    pub fn assign(&mut self, agent: &AgentId) -> Result<Vec<Followup>, ConversationError> {
        if !self.is_open() {
            return Err(ConversationError::Closed);
        }
        let mut out = Vec::new();
        match (&self.owner, self.status) {
            (Some(owner), ConversationStatus::Owned) if owner == agent => {
                if self.public {
                    self.public = false;
                    out.push(Followup::Withdraw {
                        queue: self.queue_id.clone(),
                    });
                }
                return Ok(out);
            }
            (Some(owner), ConversationStatus::Owned)
                if !self.public && self.pending_transfer.as_ref() != Some(agent) =>
            {
                return Err(ConversationError::AlreadyOwned(owner.clone()));
            }
            (Some(owner), ConversationStatus::Owned) => {
                let previous = owner.clone();
                self.subscribers.insert(previous.clone());
                out.push(Followup::ReleaseFrom { agent: previous });
            }
            _ => {}
        }
        out.push(Followup::Withdraw {
            queue: self.queue_id.clone(),
        });
        // The customer may be waiting already: the new owner's public minutes run from then.
        match self.waiting_since {
            Some(since) if self.public_minutes > 0 => out.push(Followup::Arm {
                kind: TimerKind::PublicMinutes,
                at: since + i64::from(self.public_minutes) * 60_000,
            }),
            _ => out.push(Followup::Disarm {
                kind: TimerKind::PublicMinutes,
            }),
        }
        self.owner = Some(agent.clone());
        self.pending_transfer = None;
        // With an owner, a later trip through the line may overflow anywhere again.
        self.no_overflow_to.clear();
        self.subscribers.remove(agent);
        self.status = ConversationStatus::Owned;
        self.public = false;
        self.snoozed_until = None;
        Ok(out)
    }

    /// The public-minutes timer fired at `at`: an owned conversation whose customer still
    /// waits goes back to its queue, keeping its place and its owner.
    pub fn public_minutes_due(&mut self, at: Millis) -> Vec<Followup> {
        let public_minutes = self.public_minutes;
        match (self.status, self.waiting_since) {
            (ConversationStatus::Owned, Some(since))
                if !self.public
                    && public_minutes > 0
                    && at >= since + i64::from(public_minutes) * 60_000 =>
            {
                self.public = true;
                vec![Followup::Enqueue {
                    queue: self.queue_id.clone(),
                    waiting_since: since,
                }]
            }
            _ => Vec::new(),
        }
    }

    /// The owner saves it for later, until `until`.
    pub fn snooze(
        &mut self,
        agent: &AgentId,
        until: Millis,
        now: Millis,
    ) -> Result<Vec<Followup>, ConversationError> {
        self.require_owner(agent)?;
        if until <= now {
            return Err(ConversationError::SnoozeInPast);
        }
        let cancelled = self.cancel_pending_transfer();
        let mut out = vec![
            Followup::ReleaseFrom {
                agent: agent.clone(),
            },
            Followup::Disarm {
                kind: TimerKind::PublicMinutes,
            },
        ];
        if self.public {
            self.public = false;
            out.push(Followup::Withdraw {
                queue: self.queue_id.clone(),
            });
        }
        out.extend(cancelled);
        self.status = ConversationStatus::Snoozed;
        self.snoozed_until = Some(until);
        out.push(Followup::Arm {
            kind: TimerKind::WakeUp,
            at: until,
        });
        Ok(out)
    }

    /// The snooze ended (its time, or a customer message): serve it again, to its owner first.
    pub fn wake(&mut self, at: Millis) -> Vec<Followup> {
        if self.status != ConversationStatus::Snoozed {
            return Vec::new();
        }
        self.status = ConversationStatus::Queued;
        self.snoozed_until = None;
        let waiting_since = self.waiting_since.unwrap_or(at);
        match self.owner.take() {
            Some(agent) => {
                self.subscribers.insert(agent.clone());
                vec![Followup::OfferFirstTo {
                    agent,
                    queue: self.queue_id.clone(),
                    waiting_since,
                }]
            }
            None => vec![Followup::Enqueue {
                queue: self.queue_id.clone(),
                waiting_since,
            }],
        }
    }

    /// Records a disposition: the outcome is said by who worked it, the owner or a
    /// subscriber (a former owner or someone who replied).
    pub fn add_disposition(&mut self, entry: DispositionEntry) -> Result<(), ConversationError> {
        if !self.is_open() {
            return Err(ConversationError::Closed);
        }
        if self.owner.as_ref() != Some(&entry.agent) && !self.subscribers.contains(&entry.agent) {
            return Err(ConversationError::NotOwner(entry.agent));
        }
        self.dispositions.push(entry);
        Ok(())
    }

    /// The owner completes it; `disposition_required` is the queue's setting.
    pub fn complete(
        &mut self,
        agent: &AgentId,
        disposition_required: bool,
        at: Millis,
    ) -> Result<Vec<Followup>, ConversationError> {
        self.require_owner(agent)?;
        if disposition_required && self.dispositions.is_empty() {
            return Err(ConversationError::DispositionRequired);
        }
        let cancelled = self.cancel_pending_transfer();
        let mut out = vec![
            Followup::ReleaseFrom {
                agent: agent.clone(),
            },
            Followup::Disarm {
                kind: TimerKind::PublicMinutes,
            },
        ];
        if self.public {
            out.push(Followup::Withdraw {
                queue: self.queue_id.clone(),
            });
        }
        out.extend(cancelled);
        self.status = ConversationStatus::Closed;
        self.public = false;
        self.closed_at = Some(at);
        Ok(out)
    }

    /// Closes it because the customer opted out (STOP), whoever holds it: the owner's slot
    /// frees, it leaves its queue (its offers rescinded), and no timer fires for it again.
    pub fn close_opted_out(&mut self, at: Millis) -> Result<Vec<Followup>, ConversationError> {
        if !self.is_open() {
            return Err(ConversationError::Closed);
        }
        let mut out = self.cancel_pending_transfer();
        if let (ConversationStatus::Owned, Some(owner)) = (self.status, &self.owner) {
            out.push(Followup::ReleaseFrom {
                agent: owner.clone(),
            });
        }
        if self.status == ConversationStatus::Queued || self.public {
            out.push(Followup::Withdraw {
                queue: self.queue_id.clone(),
            });
        }
        out.push(Followup::Disarm {
            kind: TimerKind::PublicMinutes,
        });
        out.push(Followup::Disarm {
            kind: TimerKind::WakeUp,
        });
        self.status = ConversationStatus::Closed;
        self.public = false;
        self.waiting_since = None;
        self.snoozed_until = None;
        self.closed_at = Some(at);
        Ok(out)
    }

    pub(super) fn require_owner(&self, agent: &AgentId) -> Result<(), ConversationError> {
        if !self.is_open() {
            return Err(ConversationError::Closed);
        }
        if self.status != ConversationStatus::Owned {
            return Err(ConversationError::NotOwned);
        }
        if self.owner.as_ref() != Some(agent) {
            return Err(ConversationError::NotOwner(agent.clone()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Millis = 60_000;

    fn ag(name: &str) -> AgentId {
        AgentId::parse(name).unwrap()
    }

    fn q() -> QueueId {
        QueueId::parse("q1").unwrap()
    }

    fn opening() -> Opening {
        Opening {
            id: ConversationId::parse("cv1").unwrap(),
            customer: PhoneNumber::parse("from", "+15550001111").unwrap(),
            number_id: NumberId::parse("n1").unwrap(),
            campaign: Name::parse("campaign", "Spring").unwrap(),
            queue_id: q(),
            priority: 0,
            public_minutes: 20,
            required_skills: Vec::new(),
        }
    }

    fn opened(at: Millis) -> Conversation {
        Conversation::open(opening(), at).0
    }

    fn owned_by(agent: &str, at: Millis) -> Conversation {
        let mut c = opened(at);
        c.assign(&ag(agent)).unwrap();
        c
    }

    #[test]
    fn first_message_opens_a_queued_conversation_waiting_since_then() {
        let (c, out) = Conversation::open(opening(), 1_000);
        assert_eq!(c.status, ConversationStatus::Queued);
        assert_eq!(c.waiting_since, Some(1_000));
        assert_eq!(
            out,
            vec![Followup::Enqueue {
                queue: q(),
                waiting_since: 1_000
            }]
        );
    }

    #[test]
    fn later_customer_messages_keep_the_oldest_unanswered_time() {
        let mut c = opened(1_000);
        let out = c.customer_message(5_000, 20).unwrap();
        assert_eq!(c.waiting_since, Some(1_000));
        assert_eq!(
            out,
            vec![Followup::Enqueue {
                queue: q(),
                waiting_since: 1_000
            }]
        );
    }

    #[test]
    fn owned_conversation_notifies_watchers_and_arms_public_minutes() {
        let mut c = owned_by("a", 1_000);
        c.agent_reply(&ag("a"), 2_000).unwrap();
        c.subscribers.insert(ag("b"));
        let out = c.customer_message(10_000, 20).unwrap();
        assert_eq!(c.waiting_since, Some(10_000));
        assert_eq!(
            out,
            vec![
                Followup::Notify {
                    agents: vec![ag("a"), ag("b")]
                },
                Followup::Arm {
                    kind: TimerKind::PublicMinutes,
                    at: 10_000 + 20 * MIN
                },
            ]
        );
    }

    #[test]
    fn reply_clears_waiting_and_only_watchers_may_reply() {
        let mut c = owned_by("a", 1_000);
        assert_eq!(
            c.agent_reply(&ag("b"), 2_000),
            Err(ConversationError::NotOwner(ag("b")))
        );
        c.agent_reply(&ag("a"), 2_000).unwrap();
        assert_eq!(c.waiting_since, None);
    }

    #[test]
    fn public_minutes_requeue_with_original_waiting_since_and_owner_kept() {
        let mut c = owned_by("a", 1_000);
        assert!(
            c.public_minutes_due(1_000 + 19 * MIN).is_empty(),
            "not yet due"
        );
        let out = c.public_minutes_due(1_000 + 20 * MIN);
        assert!(c.public);
        assert_eq!(c.owner, Some(ag("a")));
        assert_eq!(
            out,
            vec![Followup::Enqueue {
                queue: q(),
                waiting_since: 1_000
            }]
        );
        // Fired again (a duplicate timer) it does nothing.
        assert!(c.public_minutes_due(1_000 + 21 * MIN).is_empty());
    }

    #[test]
    fn public_minutes_never_fire_when_turned_off_or_answered() {
        let mut c = owned_by("a", 1_000);
        c.public_minutes = 0;
        assert!(c.public_minutes_due(1_000 + 99 * MIN).is_empty());
        c.public_minutes = 20;
        c.agent_reply(&ag("a"), 2_000).unwrap();
        assert!(c.public_minutes_due(1_000 + 99 * MIN).is_empty());
    }

    #[test]
    fn owner_reply_makes_a_public_conversation_private_again() {
        let mut c = owned_by("a", 1_000);
        c.public_minutes_due(1_000 + 20 * MIN);
        let out = c.agent_reply(&ag("a"), 1_000 + 21 * MIN).unwrap();
        assert!(!c.public);
        assert!(out.contains(&Followup::Withdraw { queue: q() }));
    }

    #[test]
    fn taking_a_public_conversation_makes_the_old_owner_a_subscriber() {
        let mut c = owned_by("a", 1_000);
        assert_eq!(
            c.assign(&ag("b")),
            Err(ConversationError::AlreadyOwned(ag("a")))
        );
        c.public_minutes_due(1_000 + 20 * MIN);
        let out = c.assign(&ag("b")).unwrap();
        assert_eq!(c.owner, Some(ag("b")));
        assert!(c.subscribers.contains(&ag("a")));
        assert!(out.contains(&Followup::ReleaseFrom { agent: ag("a") }));
        assert!(out.contains(&Followup::Withdraw { queue: q() }));
        // The old owner may still reply (as a subscriber).
        c.agent_reply(&ag("a"), 1_000 + 22 * MIN).unwrap();
    }

    #[test]
    fn snooze_frees_the_slot_and_wakes_to_the_same_agent_first() {
        let mut c = owned_by("a", 1_000);
        assert_eq!(
            c.snooze(&ag("a"), 500, 1_000),
            Err(ConversationError::SnoozeInPast)
        );
        assert_eq!(
            c.snooze(&ag("b"), 9_000, 1_000),
            Err(ConversationError::NotOwner(ag("b")))
        );
        let out = c.snooze(&ag("a"), 9_000, 1_000).unwrap();
        assert_eq!(c.status, ConversationStatus::Snoozed);
        assert!(out.contains(&Followup::ReleaseFrom { agent: ag("a") }));
        assert!(out.contains(&Followup::Arm {
            kind: TimerKind::WakeUp,
            at: 9_000
        }));
        let out = c.wake(9_000);
        assert_eq!(c.status, ConversationStatus::Queued);
        assert_eq!(
            out,
            vec![Followup::OfferFirstTo {
                agent: ag("a"),
                queue: q(),
                waiting_since: 1_000
            }]
        );
    }

    #[test]
    fn customer_message_wakes_a_snoozed_conversation_early() {
        let mut c = owned_by("a", 1_000);
        c.agent_reply(&ag("a"), 2_000).unwrap();
        c.snooze(&ag("a"), 90_000, 3_000).unwrap();
        let out = c.customer_message(4_000, 20).unwrap();
        assert_eq!(c.status, ConversationStatus::Queued);
        assert_eq!(
            out,
            vec![
                Followup::OfferFirstTo {
                    agent: ag("a"),
                    queue: q(),
                    waiting_since: 4_000
                },
                Followup::Disarm {
                    kind: TimerKind::WakeUp
                },
            ]
        );
    }

    #[test]
    fn completion_requires_a_disposition_where_the_queue_says_so() {
        let mut c = owned_by("a", 1_000);
        let by = |agent: &str| DispositionEntry {
            code: Slug::parse("code", "sale").unwrap(),
            note: None,
            agent: ag(agent),
            at: 1_500,
        };
        assert_eq!(
            c.add_disposition(by("b")),
            Err(ConversationError::NotOwner(ag("b"))),
            "only who worked it says the outcome"
        );
        assert_eq!(
            c.complete(&ag("a"), true, 2_000),
            Err(ConversationError::DispositionRequired)
        );
        c.add_disposition(DispositionEntry {
            code: Slug::parse("code", "sale").unwrap(),
            note: Some("booked".into()),
            agent: ag("a"),
            at: 2_000,
        })
        .unwrap();
        c.add_disposition(DispositionEntry {
            code: Slug::parse("code", "callback").unwrap(),
            note: None,
            agent: ag("a"),
            at: 2_100,
        })
        .unwrap();
        let out = c.complete(&ag("a"), true, 3_000).unwrap();
        assert_eq!(c.status, ConversationStatus::Closed);
        assert!(out.contains(&Followup::ReleaseFrom { agent: ag("a") }));
        assert_eq!(
            c.customer_message(4_000, 20),
            Err(ConversationError::Closed)
        );
        assert_eq!(
            c.complete(&ag("a"), true, 5_000),
            Err(ConversationError::Closed)
        );
    }

    #[test]
    fn completion_without_required_disposition_is_allowed_when_optional() {
        let mut c = owned_by("a", 1_000);
        assert!(c.complete(&ag("a"), false, 2_000).is_ok());
    }

    #[test]
    fn only_the_owner_completes() {
        let mut c = owned_by("a", 1_000);
        assert_eq!(
            c.complete(&ag("b"), false, 2_000),
            Err(ConversationError::NotOwner(ag("b")))
        );
        let mut queued = opened(1_000);
        assert_eq!(
            queued.complete(&ag("a"), false, 2_000),
            Err(ConversationError::NotOwned)
        );
    }

    #[test]
    fn cold_transfer_to_an_agent_offers_it_straight_to_them_and_keeps_the_place() {
        let mut c = owned_by("a", 1_000);
        assert_eq!(
            c.transfer_to_agent(&ag("b"), &ag("c"), 2_000),
            Err(ConversationError::NotOwner(ag("b")))
        );
        assert_eq!(
            c.transfer_to_agent(&ag("a"), &ag("a"), 2_000),
            Err(ConversationError::TransferToSelf)
        );
        let out = c.transfer_to_agent(&ag("a"), &ag("b"), 2_000).unwrap();
        assert_eq!(c.status, ConversationStatus::Queued);
        assert_eq!(c.owner, None);
        assert!(c.subscribers.contains(&ag("a")));
        assert!(out.contains(&Followup::ReleaseFrom { agent: ag("a") }));
        assert!(out.contains(&Followup::OfferDirect {
            agent: ag("b"),
            queue: q(),
            waiting_since: 1_000,
            warm: false,
            sender: Some(ag("a")),
        }));
    }

    #[test]
    fn warm_transfer_keeps_the_owner_until_the_target_accepts() {
        let mut c = owned_by("a", 1_000);
        assert_eq!(
            c.transfer_warm(&ag("a"), &ag("a"), 2_000),
            Err(ConversationError::TransferToSelf)
        );
        let out = c.transfer_warm(&ag("a"), &ag("b"), 2_000).unwrap();
        assert_eq!(c.owner, Some(ag("a")));
        assert_eq!(c.pending_transfer, Some(ag("b")));
        assert!(out.contains(&Followup::OfferDirect {
            agent: ag("b"),
            queue: q(),
            waiting_since: 1_000,
            warm: true,
            sender: None,
        }));
        assert!(c.transfer_declined(&ag("b")));
        assert_eq!(c.pending_transfer, None);
        assert_eq!(c.owner, Some(ag("a")));
    }

    #[test]
    fn transfer_to_a_queue_moves_it_with_its_waiting_since() {
        let mut c = owned_by("a", 1_000);
        let other = QueueId::parse("q2").unwrap();
        let out = c.transfer_to_queue(&ag("a"), other.clone(), 5_000).unwrap();
        assert_eq!(c.queue_id, other);
        assert!(out.contains(&Followup::Enqueue {
            queue: other.clone(),
            waiting_since: 1_000
        }));
        // Answered before the transfer: it waits from the transfer.
        let mut answered = owned_by("a", 1_000);
        answered.agent_reply(&ag("a"), 2_000).unwrap();
        let out = answered
            .transfer_to_queue(&ag("a"), other.clone(), 5_000)
            .unwrap();
        assert!(out.contains(&Followup::Enqueue {
            queue: other,
            waiting_since: 5_000
        }));
    }

    #[test]
    fn conversation_round_trips_through_json() {
        let c = owned_by("a", 1_000);
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<Conversation>(&json).unwrap(), c);
    }

    #[test]
    fn an_outbound_conversation_is_owned_and_nobody_waits() {
        let ann = AgentId::parse("ann").unwrap();
        let (queued, _) = Conversation::open(opening(), 10);
        let mut c = Conversation::open_outbound(opening(), &ann, 10);
        assert_eq!(c.status, ConversationStatus::Owned);
        assert_eq!(c.owner, Some(ann));
        assert_eq!(c.waiting_since, None);
        assert_eq!(c.last_agent_at, Some(10));
        assert_eq!(c.id, queued.id);
        // No alert is due: the customer waits for nothing.
        c.reconcile_alerts();
        assert!(c.alerts.is_empty());
    }

    #[test]
    fn an_opt_out_closes_it_wherever_it_is() {
        let mut queued = opened(1_000);
        let out = queued.close_opted_out(2_000).unwrap();
        assert_eq!(queued.status, ConversationStatus::Closed);
        assert!(out.contains(&Followup::Withdraw {
            queue: queued.queue_id.clone()
        }));
        assert_eq!(
            queued.close_opted_out(3_000),
            Err(ConversationError::Closed)
        );

        let mut owned = owned_by("a", 1_000);
        let out = owned.close_opted_out(2_000).unwrap();
        assert!(out.contains(&Followup::ReleaseFrom { agent: ag("a") }));
        assert!(!out.iter().any(|f| matches!(f, Followup::Withdraw { .. })));
        assert_eq!(owned.closed_at, Some(2_000));
        assert_eq!(owned.waiting_since, None);
    }
}
