//! The conversation actor's work commands: completion, notes, dispositions, snooze,
//! transfers and directed offers, claims, subscriptions, priority, reading — each applied to
//! a copy and committed before it is answered.

use super::messages::*;
use actix::{ActorFutureExt, AtomicResponse, Context, Handler};
use serde_json::{Value, json};

use super::conversation_actor::*;
use super::engine::EngineError;
use crate::conversation::{Conversation, ConversationError};
use crate::domain::AgentId;

impl Handler<Complete> for ConversationActor {
    type Result = AtomicResponse<Self, Result<(), EngineError>>;

    fn handle(&mut self, msg: Complete, _: &mut Context<Self>) -> Self::Result {
        self.last_active = tokio::time::Instant::now();
        let Some(mut next) = self.conversation.clone() else {
            let id = self.id.to_string();
            return AtomicResponse::new(Box::pin(actix::fut::ready(Err(EngineError::NotFound {
                kind: "conversation",
                id,
            }))));
        };
        let followups = match next.complete(&msg.agent, msg.disposition_required, self.engine.now())
        {
            Ok(f) => f,
            Err(e) => {
                return AtomicResponse::new(Box::pin(actix::fut::ready(Err(
                    EngineError::Conversation(e),
                ))));
            }
        };
        let data = json!({"conversation_id": self.id, "agent_id": msg.agent});
        let change = Change {
            counters: None,
            next,
            message: None,
            provider_message_id: None,
            events: vec![("conversation.closed", data)],
            followups,
        };
        AtomicResponse::new(Box::pin(
            self.commit(change).map(|result, _, _| result.map(|_| ())),
        ))
    }
}

impl Handler<GetConversation> for ConversationActor {
    type Result = Option<Conversation>;

    fn handle(&mut self, _: GetConversation, _: &mut Context<Self>) -> Self::Result {
        self.last_active = tokio::time::Instant::now();
        self.conversation.clone()
    }
}

impl Handler<SetPriority> for ConversationActor {
    type Result = AtomicResponse<Self, Result<Option<Value>, EngineError>>;

    fn handle(&mut self, msg: SetPriority, _: &mut Context<Self>) -> Self::Result {
        self.last_active = tokio::time::Instant::now();
        AtomicResponse::new(self.transition(move |c, _| {
            if let Some(agent) = &msg.by
                && c.owner.as_ref() != Some(agent)
            {
                return Err(ConversationError::NotOwner(agent.clone()));
            }
            let followups = c.set_priority(msg.priority)?;
            let event = (
                "conversation.updated",
                json!({"conversation_id": c.id, "priority": msg.priority}),
            );
            Ok((followups, vec![event], None))
        }))
    }
}

impl Handler<MarkRead> for ConversationActor {
    type Result = AtomicResponse<Self, Result<Option<Value>, EngineError>>;

    fn handle(&mut self, msg: MarkRead, _: &mut Context<Self>) -> Self::Result {
        self.last_active = tokio::time::Instant::now();
        AtomicResponse::new(self.transition(move |c, _| {
            c.mark_read(msg.through);
            let event = (
                "conversation.read",
                json!({"conversation_id": c.id, "agent_id": msg.agent, "unread": c.unread()}),
            );
            Ok((Vec::new(), vec![event], None))
        }))
    }
}

impl Handler<AddNote> for ConversationActor {
    type Result = AtomicResponse<Self, Result<Option<Value>, EngineError>>;

    fn handle(&mut self, msg: AddNote, _: &mut Context<Self>) -> Self::Result {
        self.last_active = tokio::time::Instant::now();
        AtomicResponse::new(self.transition(move |c, now| {
            if !c.is_open() {
                return Err(ConversationError::Closed);
            }
            let entry = json!({
                "id": ulid::Ulid::new().to_string().to_lowercase(),
                "direction": "note",
                "body": msg.body,
                "agent_id": msg.agent,
                "at": now,
            });
            let event = (
                "note.added",
                json!({"conversation_id": c.id, "note": entry}),
            );
            Ok((Vec::new(), vec![event], Some(entry)))
        }))
    }
}

impl Handler<AddDisposition> for ConversationActor {
    type Result = AtomicResponse<Self, Result<Option<Value>, EngineError>>;

    fn handle(&mut self, msg: AddDisposition, _: &mut Context<Self>) -> Self::Result {
        self.last_active = tokio::time::Instant::now();
        AtomicResponse::new(self.transition(move |c, _| {
            let event = ("conversation.updated", json!({"conversation_id": c.id, "disposition": msg.entry.code, "agent_id": msg.entry.agent}));
            c.add_disposition(msg.entry)?;
            Ok((Vec::new(), vec![event], None))
        }))
    }
}

impl Handler<Snooze> for ConversationActor {
    type Result = AtomicResponse<Self, Result<Option<Value>, EngineError>>;

    fn handle(&mut self, msg: Snooze, _: &mut Context<Self>) -> Self::Result {
        self.last_active = tokio::time::Instant::now();
        AtomicResponse::new(self.transition(move |c, now| {
            let followups = c.snooze(&msg.agent, msg.until, now)?;
            let event = (
                "conversation.updated",
                json!({"conversation_id": c.id, "status": "snoozed", "until": msg.until}),
            );
            Ok((followups, vec![event], None))
        }))
    }
}

impl Handler<Transfer> for ConversationActor {
    type Result = AtomicResponse<Self, Result<Option<Value>, EngineError>>;

    fn handle(&mut self, msg: Transfer, _: &mut Context<Self>) -> Self::Result {
        self.last_active = tokio::time::Instant::now();
        AtomicResponse::new(self.transition(move |c, now| {
            let (followups, target) = match &msg.target {
                TransferTarget::Agent(target) if msg.warm => (
                    c.transfer_warm(&msg.agent, target, now)?,
                    json!({"agent_id": target, "warm": true}),
                ),
                TransferTarget::Agent(target) => (
                    c.transfer_to_agent(&msg.agent, target, now)?,
                    json!({"agent_id": target}),
                ),
                TransferTarget::Queue(queue) => (
                    c.transfer_to_queue(&msg.agent, queue.clone(), now)?,
                    json!({"queue_id": queue}),
                ),
                TransferTarget::AgentInQueue(target, queue) => (
                    c.transfer_to_queue_via(&msg.agent, queue.clone(), Some(target), now)?,
                    json!({"agent_id": target, "queue_id": queue}),
                ),
            };
            let (entry, event) =
                transfer_entry(c, Some(&msg.agent), msg.by.as_ref(), target, msg.note, now);
            Ok((followups, vec![event], Some(entry)))
        }))
    }
}

/// A transfer's thread entry (`from` the owner, `by` a supervisor doing it) and the
/// `conversation.updated` event that carries it.
fn transfer_entry(
    c: &Conversation,
    from: Option<&AgentId>,
    by: Option<&AgentId>,
    to: Value,
    note: Option<String>,
    now: i64,
) -> (Value, (&'static str, Value)) {
    let entry = json!({
        "id": ulid::Ulid::new().to_string().to_lowercase(),
        "direction": "system",
        "kind": "transfer",
        "from_agent_id": from,
        "by_agent_id": by,
        "to": to,
        "note": note,
        "at": now,
    });
    let event = json!({"conversation_id": c.id, "transferred": entry});
    (entry, ("conversation.updated", event))
}

impl Handler<OfferTo> for ConversationActor {
    type Result = AtomicResponse<Self, Result<Option<Value>, EngineError>>;

    fn handle(&mut self, msg: OfferTo, _: &mut Context<Self>) -> Self::Result {
        self.last_active = tokio::time::Instant::now();
        AtomicResponse::new(self.transition(move |c, now| {
            let followups = c.offer_to(&msg.agent, now)?;
            let target = json!({"agent_id": msg.agent});
            let (entry, event) = transfer_entry(c, None, Some(&msg.by), target, msg.note, now);
            Ok((followups, vec![event], Some(entry)))
        }))
    }
}

impl Handler<Subscribe> for ConversationActor {
    type Result = AtomicResponse<Self, Result<Option<Value>, EngineError>>;

    fn handle(&mut self, msg: Subscribe, _: &mut Context<Self>) -> Self::Result {
        self.last_active = tokio::time::Instant::now();
        AtomicResponse::new(self.transition(move |c, _| {
            let changed = c.subscribe(&msg.agent, msg.on)?;
            let events = if changed {
                vec![(
                    "conversation.updated",
                    json!({"conversation_id": c.id, "agent_id": msg.agent, "subscribed": msg.on, "subscribers": c.subscribers}),
                )]
            } else {
                Vec::new()
            };
            Ok((Vec::new(), events, None))
        }))
    }
}

impl Handler<Claim> for ConversationActor {
    type Result = AtomicResponse<Self, Result<Option<Value>, EngineError>>;

    fn handle(&mut self, msg: Claim, _: &mut Context<Self>) -> Self::Result {
        self.last_active = tokio::time::Instant::now();
        AtomicResponse::new(self.transition(move |c, _| {
            let claimable = c.status == crate::conversation::ConversationStatus::Queued || c.public;
            if !claimable {
                return Err(match &c.owner {
                    Some(owner) => ConversationError::AlreadyOwned(owner.clone()),
                    None => ConversationError::NotOwned,
                });
            }
            let followups = c.assign(&msg.agent)?;
            let event = (
                "conversation.assigned",
                json!({"conversation_id": c.id, "agent_id": msg.agent, "claimed": true}),
            );
            Ok((followups, vec![event], None))
        }))
    }
}
