//! Every event Switchboard journals, as one enum: what the websocket delivers (and replays)
//! under a journal id, and what the engine writes to the journal.
//!
//! On the wire an event is `{"type": "offer.created", "data": {...}}` inside a frame (see
//! [`crate::frame`]); in the journal its type and data are stored apart. [`Event::kind`] and
//! [`Event::data`] write those two parts, [`Event::parse`] reads them back. Variants that
//! share a shape (`offer.rejected` and `offer.expired`, the two alerts) share a data type.

use serde::{Deserialize, Serialize};

use crate::thread::{ChatEntry, InboundMessage, Note, OutboundMessage, TransferEntry};
use crate::time::Time;
use crate::vocabulary::{
    AlertKind, ConversationStatus, DeclineReason, DeliveryStatus, Presence, RescindReason,
};

/// An event's data did not read as its type says.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// No event has this type.
    #[error("unknown event type {0:?}")]
    UnknownKind(String),
    /// The data does not match the type.
    #[error("{kind} data: {error}")]
    Data {
        /// The event type.
        kind: String,
        /// What did not match.
        error: serde_json::Error,
    },
}

macro_rules! events {
    ($( $(#[$doc:meta])* $variant:ident($data:ty) = $kind:literal, )*) => {
        /// One journaled event.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Event {
            $( $(#[$doc])* $variant($data), )*
        }

        impl Event {
            /// Every event type, as the wire names it.
            pub const KINDS: &'static [&'static str] = &[$($kind),*];

            /// The event's type, as the wire names it.
            pub fn kind(&self) -> &'static str {
                match self {
                    $( Self::$variant(_) => $kind, )*
                }
            }

            /// Reads an event of type `kind` from its data.
            pub fn parse(kind: &str, data: &str) -> Result<Self, EventError> {
                let wrong = |error| EventError::Data { kind: kind.to_owned(), error };
                match kind {
                    $( $kind => serde_json::from_str(data).map(Self::$variant).map_err(wrong), )*
                    _ => Err(EventError::UnknownKind(kind.to_owned())),
                }
            }

            /// Reads an event of type `kind` from its data as a JSON value.
            pub fn from_value(kind: &str, data: serde_json::Value) -> Result<Self, EventError> {
                let wrong = |error| EventError::Data { kind: kind.to_owned(), error };
                match kind {
                    $( $kind => serde_json::from_value(data).map(Self::$variant).map_err(wrong), )*
                    _ => Err(EventError::UnknownKind(kind.to_owned())),
                }
            }
        }

        impl Serialize for EventData<'_> {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                match self.0 {
                    $( Event::$variant(data) => data.serialize(serializer), )*
                }
            }
        }
    };
}

events! {
    /// A customer's first text opened a conversation, or an agent started one.
    ConversationCreated(ConversationCreated) = "conversation.created",
    /// The customer wrote.
    MessageReceived(MessageReceived) = "message.received",
    /// An agent replied or started the conversation, or Switchboard answered HELP.
    MessageSent(MessageSent) = "message.sent",
    /// An outbound text moved on its way (never backwards).
    MessageStatus(MessageStatus) = "message.status",
    /// An internal note.
    NoteAdded(NoteAdded) = "note.added",
    /// A conversation was offered to an agent.
    OfferCreated(OfferCreated) = "offer.created",
    /// The agent declined the offer.
    OfferRejected(OfferEnded) = "offer.rejected",
    /// Nobody answered the offer in time.
    OfferExpired(OfferEnded) = "offer.expired",
    /// The offer was taken back before an answer.
    OfferRescinded(OfferRescinded) = "offer.rescinded",
    /// An agent owns the conversation now.
    ConversationAssigned(ConversationAssigned) = "conversation.assigned",
    /// Something about the conversation changed.
    ConversationUpdated(ConversationUpdated) = "conversation.updated",
    /// An agent marked the customer's messages read.
    ConversationRead(ConversationRead) = "conversation.read",
    /// The conversation was completed (or closed by compliance).
    ConversationClosed(ConversationClosed) = "conversation.closed",
    /// A warm transfer's target did not take it; the owner keeps it.
    TransferDeclined(TransferDeclined) = "transfer.declined",
    /// An alert crossed its threshold.
    AlertRaised(Alert) = "alert.raised",
    /// An alert no longer applies.
    AlertCleared(Alert) = "alert.cleared",
    /// An agent's presence or queue logins changed.
    AgentUpdated(AgentUpdated) = "agent.updated",
    /// Internal chat between two agents.
    ChatMessage(ChatMessage) = "chat.message",
    /// A campaign's bulk send started, moved on, paused, resumed, was cancelled or finished.
    CampaignSendUpdated(CampaignSendUpdated) = "campaign_send.updated",
}

/// An event's data alone, serialisable (what the journal stores beside the type).
#[derive(Debug, Clone, Copy)]
pub struct EventData<'a>(pub &'a Event);

impl Event {
    /// The event's data, to serialise.
    pub fn data(&self) -> EventData<'_> {
        EventData(self)
    }

    /// The conversation the event concerns.
    pub fn conversation_id(&self) -> Option<&str> {
        Some(match self {
            Self::ConversationCreated(e) => &e.conversation_id,
            Self::MessageReceived(e) => &e.conversation_id,
            Self::MessageSent(e) => &e.conversation_id,
            Self::MessageStatus(e) => &e.conversation_id,
            Self::NoteAdded(e) => &e.conversation_id,
            Self::OfferCreated(e) => &e.conversation_id,
            Self::OfferRejected(e) | Self::OfferExpired(e) => &e.conversation_id,
            Self::OfferRescinded(e) => &e.conversation_id,
            Self::ConversationAssigned(e) => &e.conversation_id,
            Self::ConversationUpdated(e) => &e.conversation_id,
            Self::ConversationRead(e) => &e.conversation_id,
            Self::ConversationClosed(e) => &e.conversation_id,
            Self::TransferDeclined(e) => &e.conversation_id,
            Self::AlertRaised(e) | Self::AlertCleared(e) => &e.conversation_id,
            Self::AgentUpdated(_) | Self::ChatMessage(_) | Self::CampaignSendUpdated(_) => {
                return None;
            }
        })
    }

    /// The queue the event concerns: whose team may see it.
    pub fn queue_id(&self) -> Option<&str> {
        Some(match self {
            Self::ConversationCreated(e) => &e.queue_id,
            Self::MessageReceived(e) => &e.queue_id,
            Self::MessageSent(e) => &e.queue_id,
            Self::MessageStatus(e) => return e.queue_id.as_deref(),
            Self::NoteAdded(e) => &e.queue_id,
            Self::OfferCreated(e) => &e.queue_id,
            Self::OfferRejected(e) | Self::OfferExpired(e) => &e.queue_id,
            Self::OfferRescinded(e) => &e.queue_id,
            Self::ConversationAssigned(e) => &e.queue_id,
            Self::ConversationUpdated(e) => &e.queue_id,
            Self::ConversationRead(e) => &e.queue_id,
            Self::ConversationClosed(e) => &e.queue_id,
            Self::TransferDeclined(e) => &e.queue_id,
            Self::AlertRaised(e) | Self::AlertCleared(e) => &e.queue_id,
            Self::CampaignSendUpdated(e) => &e.queue_id,
            Self::AgentUpdated(_) | Self::ChatMessage(_) => return None,
        })
    }

    /// The agents the event names: the offered agent, the one acting, the one whose presence
    /// changed, a transfer's target and owner, the two sides of a chat.
    pub fn agents(&self) -> Vec<&str> {
        let mut agents: Vec<&str> = match self {
            Self::OfferCreated(e) => vec![&e.agent_id],
            Self::OfferRejected(e) | Self::OfferExpired(e) => vec![&e.agent_id],
            Self::OfferRescinded(e) => vec![&e.agent_id],
            Self::ConversationAssigned(e) => vec![&e.agent_id],
            Self::ConversationRead(e) => vec![&e.agent_id],
            Self::ConversationClosed(ConversationClosed {
                by: Closing::Agent { agent_id },
                ..
            }) => vec![agent_id],
            Self::ConversationUpdated(e) => match &e.change {
                Update::Subscription { agent_id, .. } | Update::Disposition { agent_id, .. } => {
                    vec![agent_id]
                }
                _ => Vec::new(),
            },
            Self::TransferDeclined(e) => std::iter::once(e.agent_id.as_str())
                .chain(e.from_agent_id.as_deref())
                .collect(),
            Self::AgentUpdated(e) => vec![&e.agent_id],
            Self::ChatMessage(e) => vec![&e.from_agent_id, &e.to_agent_id],
            _ => Vec::new(),
        };
        agents.dedup();
        agents
    }
}

/// `campaign_send.updated`: a bulk send's state and progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CampaignSendUpdated {
    /// The send.
    pub send_id: String,
    /// Its campaign.
    pub campaign_id: String,
    /// The campaign's queue for replies (whose team's supervisors see the event).
    pub queue_id: String,
    /// `running`, `paused`, `cancelled` or `done`.
    pub state: String,
    /// Rows given.
    pub total: u32,
    /// Rows refused before sending.
    pub refused: u32,
    /// Texts sent.
    pub sent: u32,
    /// Rows not sent because the customer opted out meanwhile.
    pub opted_out: u32,
    /// Rows that could not be sent.
    pub failed: u32,
    /// Rows not sent because the send was cancelled.
    pub cancelled: u32,
    /// Rows still to send.
    pub pending: u32,
    /// When the next text may go out, if one waits for its recipient's quiet hours to end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_at: Option<Time>,
}

/// `conversation.created`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationCreated {
    /// The conversation.
    pub conversation_id: String,
    /// Its queue.
    pub queue_id: String,
    /// The business number texted (or texting).
    pub number_id: String,
    /// The number's campaign.
    pub campaign: String,
    /// Started by an agent.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub outbound: bool,
    /// Opened by this bulk send of its campaign (the customer has not written yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign_send_id: Option<String>,
}

/// `message.received`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageReceived {
    /// The conversation.
    pub conversation_id: String,
    /// Its queue.
    pub queue_id: String,
    /// Its owner, if any.
    pub owner: Option<String>,
    /// The text, as the thread keeps it.
    pub message: InboundMessage,
}

/// `message.sent`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageSent {
    /// The conversation.
    pub conversation_id: String,
    /// Its queue.
    pub queue_id: String,
    /// The text, as the thread keeps it (`status: outbox`).
    pub message: OutboundMessage,
}

/// `message.status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageStatus {
    /// The conversation.
    pub conversation_id: String,
    /// Its queue (absent when the conversation was not at hand).
    pub queue_id: Option<String>,
    /// The outbound entry's id.
    pub message_id: String,
    /// Where it is now.
    pub status: DeliveryStatus,
    /// The provider's id of the message.
    pub provider_message_id: Option<String>,
    /// Why it failed (`21610`, `30003`, `recipient_opted_out`, `provider_unavailable`, ...).
    pub error_code: Option<String>,
    /// The failure in words.
    pub error_message: Option<String>,
    /// When the status was set.
    pub status_at: Time,
}

/// `note.added`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoteAdded {
    /// The conversation.
    pub conversation_id: String,
    /// Its queue.
    pub queue_id: String,
    /// The note, as the thread keeps it.
    pub note: Note,
}

/// `offer.created`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OfferCreated {
    /// The offer.
    pub offer_id: String,
    /// The conversation.
    pub conversation_id: String,
    /// Its queue.
    pub queue_id: String,
    /// The agent offered it.
    pub agent_id: String,
    /// When the offer times out.
    pub expires_at: Time,
    /// Why it went to this agent, in one line (`longest_idle among 3 of 12 ready agents with
    /// spanish>=3`); `GET /v1/conversations/{id}/routing` has the whole decision.
    #[serde(default)]
    pub reason: String,
}

/// `offer.rejected` and `offer.expired`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OfferEnded {
    /// The offer.
    pub offer_id: String,
    /// The conversation.
    pub conversation_id: String,
    /// Its queue.
    pub queue_id: String,
    /// The agent it was offered to.
    pub agent_id: String,
}

/// `offer.rescinded`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OfferRescinded {
    /// The offer.
    pub offer_id: String,
    /// The conversation.
    pub conversation_id: String,
    /// Its queue.
    pub queue_id: String,
    /// The agent it was offered to.
    pub agent_id: String,
    /// Why it was taken back.
    pub reason: RescindReason,
}

/// `conversation.assigned`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationAssigned {
    /// The conversation.
    pub conversation_id: String,
    /// Its queue.
    pub queue_id: String,
    /// Its owner now.
    pub agent_id: String,
    /// How it came to own it.
    #[serde(flatten)]
    pub how: Assignment,
}

/// How an agent came to own a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Assignment {
    /// It accepted an offer (also a transfer's).
    Offer {
        /// The offer accepted.
        offer_id: String,
    },
    /// It claimed a queued or public conversation (`claimed: true`).
    Claimed {
        /// Always `true`.
        claimed: bool,
    },
    /// It started the conversation (`outbound: true`).
    Outbound {
        /// Always `true`.
        outbound: bool,
    },
}

/// `conversation.updated`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationUpdated {
    /// The conversation.
    pub conversation_id: String,
    /// Its queue (after the change).
    pub queue_id: String,
    /// What changed.
    #[serde(flatten)]
    pub change: Update,
}

/// What changed in a `conversation.updated`: exactly one of these. Read by trying the variants
/// in order, so those sharing a field name (`agent_id`, `status`) come with the field that
/// tells them apart (`subscribed`, `disposition`, `until`, `woken`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Update {
    /// A teammate subscribed to it or unsubscribed.
    Subscription {
        /// The teammate.
        agent_id: String,
        /// Whether it is subscribed now.
        subscribed: bool,
        /// Every subscriber now.
        subscribers: Vec<String>,
    },
    /// A disposition was recorded.
    Disposition {
        /// Its code.
        disposition: String,
        /// Who recorded it.
        agent_id: String,
    },
    /// It was transferred (the thread's transfer entry).
    Transferred {
        /// The entry.
        transferred: TransferEntry,
    },
    /// Saved for later (`status: snoozed`).
    Snoozed {
        /// `snoozed`.
        status: ConversationStatus,
        /// When it is served again.
        until: Time,
    },
    /// Its snooze ended: it waits in its queue again (`status: queued`).
    Woken {
        /// `queued`.
        status: ConversationStatus,
        /// Always `true`.
        woken: bool,
    },
    /// Its public minutes passed: the owner's teammates may take it.
    Public {
        /// Always `true`.
        public: bool,
    },
    /// Its own priority within the queue changed.
    Priority {
        /// 0 to 100.
        priority: u8,
    },
    /// Its queue's escalation moved it to another queue (`queue_id` now), keeping its place
    /// in time.
    Overflowed {
        /// The queue it left.
        overflowed_from: String,
    },
    /// The skills it needs of the agent offered it changed (its queue adds its own).
    Skills {
        /// Each skill with its least level.
        required_skills: Vec<RequiredSkill>,
    },
}

/// A skill a conversation needs, at a least level (1 to 5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RequiredSkill {
    /// The skill.
    pub skill: String,
    /// The least level.
    pub min_level: u8,
}

/// `conversation.read`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationRead {
    /// The conversation.
    pub conversation_id: String,
    /// Its queue.
    pub queue_id: String,
    /// Who read.
    pub agent_id: String,
    /// Customer messages still unread.
    pub unread: u32,
}

/// `conversation.closed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationClosed {
    /// The conversation.
    pub conversation_id: String,
    /// Its queue.
    pub queue_id: String,
    /// Who or what closed it.
    #[serde(flatten)]
    pub by: Closing,
}

/// Who or what closed a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Closing {
    /// Its owner completed it.
    Agent {
        /// The owner.
        agent_id: String,
    },
    /// Compliance closed it.
    Compliance {
        /// Why.
        reason: CloseReason,
    },
}

/// Why compliance closed a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseReason {
    /// The customer texted STOP.
    OptedOut,
}

/// `transfer.declined`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransferDeclined {
    /// The conversation.
    pub conversation_id: String,
    /// Its queue.
    pub queue_id: String,
    /// The target that did not take it.
    pub agent_id: String,
    /// The owner, who keeps it.
    pub from_agent_id: Option<String>,
    /// Why.
    pub reason: DeclineReason,
}

/// `alert.raised` and `alert.cleared`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// The conversation.
    pub conversation_id: String,
    /// Its queue.
    pub queue_id: String,
    /// Its owner, if any.
    pub owner: Option<String>,
    /// Which alert.
    pub alert: AlertKind,
}

/// `agent.updated`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentUpdated {
    /// The agent.
    pub agent_id: String,
    /// Its presence now.
    pub presence: Presence,
    /// The queues it is logged into now.
    pub logins: Vec<String>,
    /// Why it is away: `missed_offers` when the engine set it away after the queue's
    /// `missed_offers_before_away` offers timed out in a row, or the reason the agent gave
    /// (one of its teams' `away_reasons`); `null` when not away or no reason was given.
    pub reason: Option<String>,
}

/// `chat.message`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Who wrote.
    pub from_agent_id: String,
    /// To whom.
    pub to_agent_id: String,
    /// The chat entry.
    pub message: ChatEntry,
}
