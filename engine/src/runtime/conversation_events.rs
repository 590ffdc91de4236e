//! What a conversation writes on the wire: its thread entries and its events, built from
//! its state as typed values of the [`protocol`](::protocol) crate. The actor's handlers
//! say what happened; this module says how that reads, so every event names its
//! conversation and its queue (after the change) the same way.

use ::protocol::event::*;
use ::protocol::thread::*;
use ::protocol::time::from_millis;
use ::protocol::vocabulary::{DeclineReason, DeliveryStatus};

use super::types::{InboundMessage as Incoming, OutgoingText};
use crate::conversation::Conversation;
use crate::domain::AgentId;
use crate::routing::protocol::{OfferEnd, OfferId};

/// A new thread entry id.
fn entry_id() -> String {
    ulid::Ulid::generate().to_string().to_lowercase()
}

/// The thread entry of a customer's text.
pub(super) fn inbound_entry(message: &Incoming, at: i64) -> InboundMessage {
    let cost = crate::sms::segments::count(&message.body);
    InboundMessage {
        id: entry_id(),
        direction: Inbound::Inbound,
        body: message.body.clone(),
        encoding: cost.encoding,
        segments: cost.segments as u32,
        media_urls: message.media_urls.clone(),
        provider_message_id: message.provider_message_id.clone(),
        at: from_millis(at),
    }
}

/// The thread entry of a text to the customer (`agent` is `None` for Switchboard's own, such
/// as a HELP answer). Its commit also puts it in the outbox; the thread shows the delivery
/// record's status over the `outbox` written here.
pub(super) fn outbound_entry(
    agent: Option<&AgentId>,
    text: &OutgoingText,
    at: i64,
) -> OutboundMessage {
    let cost = crate::sms::segments::count(&text.body);
    OutboundMessage {
        id: entry_id(),
        direction: Outbound::Outbound,
        body: text.body.clone(),
        encoding: cost.encoding,
        segments: cost.segments as u32,
        media_urls: text.media_urls.clone(),
        template_id: text.template_id.clone(),
        agent_id: agent.map(ToString::to_string),
        automatic: agent.is_none(),
        status: DeliveryStatus::Outbox,
        at: from_millis(at),
        attempts: None,
        provider: None,
        provider_message_id: None,
        error_code: None,
        error_message: None,
        status_at: None,
    }
}

/// The thread entry of an internal note.
pub(super) fn note_entry(agent: &AgentId, body: String, at: i64) -> Note {
    Note {
        id: entry_id(),
        direction: NoteDirection::NoteDirection,
        body,
        agent_id: agent.to_string(),
        at: from_millis(at),
    }
}

/// The thread entry of a transfer (`from` the owner, `by` a supervisor doing it).
pub(super) fn transfer_entry(
    from: Option<&AgentId>,
    by: Option<&AgentId>,
    to: TransferTarget,
    note: Option<String>,
    at: i64,
) -> TransferEntry {
    TransferEntry {
        id: entry_id(),
        direction: System::System,
        kind: TransferKind::TransferKind,
        from_agent_id: from.map(ToString::to_string),
        by_agent_id: by.map(ToString::to_string),
        to,
        note,
        at: from_millis(at),
    }
}

/// The thread entry written when the customer opted out.
pub(super) fn opt_out_entry(at: i64) -> OptOutEntry {
    OptOutEntry {
        id: entry_id(),
        direction: System::System,
        kind: OptedOutKind::OptedOutKind,
        body: "The customer opted out (STOP). Nothing more can be sent until they text START."
            .into(),
        at: from_millis(at),
    }
}

fn ids(c: &Conversation) -> (String, String) {
    (c.id().to_string(), c.queue_id().to_string())
}

/// `conversation.created`.
pub(super) fn created(c: &Conversation, outbound: bool) -> Event {
    let (conversation_id, queue_id) = ids(c);
    Event::ConversationCreated(ConversationCreated {
        conversation_id,
        queue_id,
        number_id: c.number_id().to_string(),
        campaign: c.campaign().to_string(),
        outbound,
        campaign_send_id: c.campaign_send().map(str::to_owned),
    })
}

/// `message.received`.
pub(super) fn received(c: &Conversation, message: InboundMessage) -> Event {
    let (conversation_id, queue_id) = ids(c);
    Event::MessageReceived(MessageReceived {
        conversation_id,
        queue_id,
        owner: c.owner().as_ref().map(ToString::to_string),
        message,
    })
}

/// `message.sent`.
pub(super) fn sent(c: &Conversation, message: OutboundMessage) -> Event {
    let (conversation_id, queue_id) = ids(c);
    Event::MessageSent(MessageSent {
        conversation_id,
        queue_id,
        message,
    })
}

/// `note.added`.
pub(super) fn note_added(c: &Conversation, note: Note) -> Event {
    let (conversation_id, queue_id) = ids(c);
    Event::NoteAdded(NoteAdded {
        conversation_id,
        queue_id,
        note,
    })
}

/// `offer.created`.
pub(super) fn offer_created(
    c: &Conversation,
    offer: &OfferId,
    agent: &AgentId,
    expires_at: i64,
    reason: String,
) -> Event {
    let (conversation_id, queue_id) = ids(c);
    Event::OfferCreated(OfferCreated {
        offer_id: offer.to_string(),
        conversation_id,
        queue_id,
        agent_id: agent.to_string(),
        expires_at: from_millis(expires_at),
        reason,
    })
}

/// `offer.rejected`, `offer.expired` or `offer.rescinded`.
pub(super) fn offer_ended(
    c: &Conversation,
    offer: &OfferId,
    agent: &AgentId,
    end: OfferEnd,
) -> Event {
    let (conversation_id, queue_id) = ids(c);
    let ended = OfferEnded {
        offer_id: offer.to_string(),
        conversation_id,
        queue_id,
        agent_id: agent.to_string(),
    };
    match end {
        OfferEnd::Rejected => Event::OfferRejected(ended),
        OfferEnd::Expired => Event::OfferExpired(ended),
        OfferEnd::Rescinded(reason) => Event::OfferRescinded(OfferRescinded {
            offer_id: ended.offer_id,
            conversation_id: ended.conversation_id,
            queue_id: ended.queue_id,
            agent_id: ended.agent_id,
            reason,
        }),
    }
}

/// `offer.rescinded` (reason `restarted`) for each offer the journal left open when the
/// previous process stopped.
pub(super) fn offers_ended_by_restart(
    c: &Conversation,
    offers: &crate::conversation::OpenOffers,
) -> Vec<Event> {
    offers
        .iter()
        .map(|(offer, agent)| {
            let (conversation_id, queue_id) = ids(c);
            Event::OfferRescinded(OfferRescinded {
                offer_id: offer.clone(),
                conversation_id,
                queue_id,
                agent_id: agent.to_string(),
                reason: ::protocol::vocabulary::RescindReason::Restarted,
            })
        })
        .collect()
}

/// Why a warm transfer's target did not take it, from how its offer ended.
pub(super) fn decline_reason(end: OfferEnd) -> DeclineReason {
    use ::protocol::vocabulary::RescindReason::*;
    match end {
        OfferEnd::Rejected => DeclineReason::Rejected,
        OfferEnd::Expired => DeclineReason::Expired,
        OfferEnd::Rescinded(AgentAway) => DeclineReason::AgentAway,
        OfferEnd::Rescinded(AgentOffline) => DeclineReason::AgentOffline,
        OfferEnd::Rescinded(Taken | Withdrawn | Restarted) => DeclineReason::Unavailable,
    }
}

/// `transfer.declined`: `agent`, the target, did not take it; the owner keeps it.
pub(super) fn transfer_declined(c: &Conversation, agent: &AgentId, reason: DeclineReason) -> Event {
    let (conversation_id, queue_id) = ids(c);
    Event::TransferDeclined(TransferDeclined {
        conversation_id,
        queue_id,
        agent_id: agent.to_string(),
        from_agent_id: c.owner().as_ref().map(ToString::to_string),
        reason,
    })
}

/// `conversation.assigned`.
pub(super) fn assigned(c: &Conversation, agent: &AgentId, how: Assignment) -> Event {
    let (conversation_id, queue_id) = ids(c);
    Event::ConversationAssigned(ConversationAssigned {
        conversation_id,
        queue_id,
        agent_id: agent.to_string(),
        how,
    })
}

/// `conversation.updated`.
pub(super) fn updated(c: &Conversation, change: Update) -> Event {
    let (conversation_id, queue_id) = ids(c);
    Event::ConversationUpdated(ConversationUpdated {
        conversation_id,
        queue_id,
        change,
    })
}

/// `conversation.read`.
pub(super) fn read(c: &Conversation, agent: &AgentId) -> Event {
    let (conversation_id, queue_id) = ids(c);
    Event::ConversationRead(ConversationRead {
        conversation_id,
        queue_id,
        agent_id: agent.to_string(),
        unread: c.unread(),
    })
}

/// `conversation.closed`.
pub(super) fn closed(c: &Conversation, by: Closing) -> Event {
    let (conversation_id, queue_id) = ids(c);
    Event::ConversationClosed(ConversationClosed {
        conversation_id,
        queue_id,
        by,
    })
}
