//! A conversation's thread entries — customer texts, agents' replies, notes and system
//! entries — and the internal chat's entries, as the REST API and the events carry them.
//!
//! Every entry names what it is with a fixed word (`direction`, and `kind` for system
//! entries); the Rust types hold that word as a one-value marker, so an entry reads into
//! exactly one type and an event's `message` is known to be inbound or outbound.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::time::Time;
use crate::vocabulary::{DeliveryStatus, Encoding};

/// A unit type serialised as one fixed word: the tag of a self-describing entry.
macro_rules! marker {
    ($(#[$doc:meta])* $name:ident = $word:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            #[doc = concat!("`", $word, "`")]
            #[default]
            #[serde(rename = $word)]
            $name,
        }

        // Written by hand: the derive cannot see a rename passed through a macro.
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$word]))
                    .into()
            }
        }

        impl ToSchema for $name {}
    };
}

marker!(
    /// `direction` of a customer's text.
    Inbound = "inbound"
);
marker!(
    /// `direction` of a text to the customer.
    Outbound = "outbound"
);
marker!(
    /// `direction` of an internal note.
    NoteDirection = "note"
);
marker!(
    /// `direction` of an entry Switchboard wrote.
    System = "system"
);
marker!(
    /// `kind` of a transfer's system entry.
    TransferKind = "transfer"
);
marker!(
    /// `kind` of the system entry written when the customer opted out.
    OptedOutKind = "opted_out"
);

/// One entry of a conversation's thread.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum ThreadEntry {
    /// The customer wrote.
    Inbound(InboundMessage),
    /// An agent (or Switchboard) wrote to the customer.
    Outbound(OutboundMessage),
    /// An internal note.
    Note(Note),
    /// A transfer.
    Transfer(TransferEntry),
    /// The customer opted out.
    OptedOut(OptOutEntry),
}

impl ThreadEntry {
    /// The entry's id.
    pub fn id(&self) -> &str {
        match self {
            Self::Inbound(m) => &m.id,
            Self::Outbound(m) => &m.id,
            Self::Note(n) => &n.id,
            Self::Transfer(t) => &t.id,
            Self::OptedOut(o) => &o.id,
        }
    }
}

/// A customer's text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct InboundMessage {
    /// Its id.
    pub id: String,
    /// Always `inbound`.
    pub direction: Inbound,
    /// The text (empty for a picture alone).
    pub body: String,
    /// How it was encoded.
    pub encoding: Encoding,
    /// SMS segments it cost.
    pub segments: u32,
    /// Pictures (MMS).
    pub media_urls: Vec<String>,
    /// The provider's id of the message.
    pub provider_message_id: Option<String>,
    /// When it arrived.
    pub at: Time,
}

/// A text to the customer, with how far its delivery has come.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OutboundMessage {
    /// Its id (the delivery's `message_id`).
    pub id: String,
    /// Always `outbound`.
    pub direction: Outbound,
    /// The text.
    pub body: String,
    /// How it is encoded.
    pub encoding: Encoding,
    /// SMS segments it costs.
    pub segments: u32,
    /// Pictures (MMS).
    pub media_urls: Vec<String>,
    /// The template it was written from.
    pub template_id: Option<String>,
    /// The agent who wrote it; absent for Switchboard's own (a HELP answer).
    pub agent_id: Option<String>,
    /// Whether Switchboard wrote it.
    pub automatic: bool,
    /// Where it is: `outbox` when written, then as its delivery goes.
    pub status: DeliveryStatus,
    /// When it was written.
    pub at: Time,
    /// Hand-overs to the provider so far (thread reads only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts: Option<u32>,
    /// The provider that took it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// The provider's id of the message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_message_id: Option<String>,
    /// Why it failed (`21610`, `recipient_opted_out`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// The failure in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// When `status` was last set (thread reads only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_at: Option<Time>,
}

/// An internal note (also a warm transfer's consult).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Note {
    /// Its id.
    pub id: String,
    /// Always `note`.
    pub direction: NoteDirection,
    /// The note.
    pub body: String,
    /// Who wrote it.
    pub agent_id: String,
    /// When.
    pub at: Time,
}

/// Where a conversation was transferred.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TransferTarget {
    /// To this agent (in `queue_id` when set: offered to it first there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    /// To this queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_id: Option<String>,
    /// A warm transfer: the owner keeps it until the target accepts.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub warm: bool,
}

/// A transfer (or a supervisor's directed offer), as the thread keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TransferEntry {
    /// Its id.
    pub id: String,
    /// Always `system`.
    pub direction: System,
    /// Always `transfer`.
    pub kind: TransferKind,
    /// The owner it came from (absent for a supervisor's offer of a queued conversation).
    pub from_agent_id: Option<String>,
    /// The supervisor who did it for the owner.
    pub by_agent_id: Option<String>,
    /// Where it went.
    pub to: TransferTarget,
    /// The note for the target.
    pub note: Option<String>,
    /// When.
    pub at: Time,
}

/// The entry written when the customer opted out (STOP) and the conversation closed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OptOutEntry {
    /// Its id.
    pub id: String,
    /// Always `system`.
    pub direction: System,
    /// Always `opted_out`.
    pub kind: OptedOutKind,
    /// What happened, in words.
    pub body: String,
    /// When.
    pub at: Time,
}

/// One message of the internal chat between two agents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ChatEntry {
    /// Its id.
    pub id: String,
    /// Who wrote it.
    pub from_agent_id: String,
    /// To whom.
    pub to_agent_id: String,
    /// The text.
    pub body: String,
    /// When.
    pub at: Time,
}
