//! The closed sets of words the wire uses: presences, roles, conversation and delivery
//! statuses, alert kinds, and why offers and transfers end. The engine decides with these
//! same types, so a word cannot be spelled one way in the code and another on the wire.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Whether an agent takes offers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    /// Logged off: no offers.
    #[default]
    Offline,
    /// Takes offers from the queues it is logged into.
    Available,
    /// At the desk but taking no offers (set by the agent, or after missed offers).
    Away,
}

/// What an agent's token may do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AgentRole {
    /// Works conversations of its teams' queues.
    #[default]
    Agent,
    /// Sees and acts on its teams' queues and agents.
    Supervisor,
}

/// Who a websocket session or REST caller is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CallerRole {
    /// The operator's admin token.
    Admin,
    /// An agent's token.
    Agent,
    /// A supervisor's token.
    Supervisor,
}

impl From<AgentRole> for CallerRole {
    fn from(role: AgentRole) -> Self {
        match role {
            AgentRole::Agent => Self::Agent,
            AgentRole::Supervisor => Self::Supervisor,
        }
    }
}

/// Where a conversation is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConversationStatus {
    /// Waiting in its queue (or being offered) for an owner.
    Queued,
    /// An agent owns it.
    Owned,
    /// Saved for later by its owner until `snoozed_until`.
    Snoozed,
    /// Completed; a later text opens a new conversation.
    Closed,
}

/// Which alert.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// Waiting in the queue, unclaimed, too long.
    Unclaimed,
    /// Owned, and the customer has waited too long for a reply.
    AwaitingReply,
}

/// How a text is encoded for SMS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    /// The GSM 7-bit default alphabet (with its extension table).
    Gsm7,
    /// UCS-2 (UTF-16 code units).
    Ucs2,
}

/// Where an outbound text is. Statuses only move forward ([`DeliveryStatus::rank`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Durable in Switchboard, waiting for its turn (or for a retry).
    Outbox,
    /// Being handed to the provider now.
    Sending,
    /// The provider accepted it.
    Queued,
    /// The provider passed it to the carrier: one checkmark.
    Sent,
    /// The carrier delivered it: two checkmarks.
    Delivered,
    /// The carrier could not deliver it.
    Undelivered,
    /// It never left: refused by the provider, opted out, or out of retries.
    Failed,
}

impl DeliveryStatus {
    /// How far along the way it is; a report may only raise it.
    pub fn rank(self) -> u8 {
        match self {
            Self::Outbox => 0,
            Self::Sending => 1,
            Self::Queued => 2,
            Self::Sent => 3,
            Self::Delivered | Self::Undelivered | Self::Failed => 4,
        }
    }

    /// This status, or `floor` when that is further along.
    pub fn at_least(self, floor: Self) -> Self {
        if self.rank() < floor.rank() {
            floor
        } else {
            self
        }
    }

    /// Whether nothing more will happen to it.
    pub fn is_final(self) -> bool {
        self.rank() == 4
    }

    /// Its wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Outbox => "outbox",
            Self::Sending => "sending",
            Self::Queued => "queued",
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Undelivered => "undelivered",
            Self::Failed => "failed",
        }
    }
}

/// Why an offer was taken back before an answer (`offer.rescinded`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RescindReason {
    /// Another agent took the conversation (a broadcast offer accepted elsewhere).
    Taken,
    /// The conversation left the line (claimed, closed, snoozed, answered, opted out).
    Withdrawn,
    /// The agent went away.
    AgentAway,
    /// The agent went offline.
    AgentOffline,
    /// The server restarted while it was out: offers do not outlive the process that made
    /// them, so the conversation is offered afresh (to the same agent, if it is still first).
    Restarted,
}

impl RescindReason {
    /// The reason as the wire names it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Taken => "taken",
            Self::Withdrawn => "withdrawn",
            Self::AgentAway => "agent_away",
            Self::AgentOffline => "agent_offline",
            Self::Restarted => "restarted",
        }
    }
}

/// Why a warm transfer's target did not take it (`transfer.declined`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeclineReason {
    /// The target rejected the offer.
    Rejected,
    /// The target let the offer expire.
    Expired,
    /// The target went away while it was offered.
    AgentAway,
    /// The target went offline while it was offered.
    AgentOffline,
    /// The target could no longer take it (presence or capacity changed before the offer).
    Unavailable,
}

/// What a member's websocket follows of what it may see (`?follow=` on `GET /v1/ws`, echoed
/// in `hello`). The admin always receives everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Follow {
    /// Everything its teams may see: every conversation of its teams' queues, and (for a
    /// supervisor) its teams' offers and presence. A wallboard, a supervisor's desk.
    #[default]
    Team,
    /// Only its own work: events naming it (its offers, its presence, chat to it) and the
    /// events of conversations it owns or is subscribed to, with the queues' numbers. An
    /// agent's desktop at scale: with 25 agents a team, about one twenty-fifth of the frames.
    Own,
}
