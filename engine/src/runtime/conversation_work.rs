//! The conversation actor's work commands: completion, notes, dispositions, snooze,
//! transfers and directed offers, claims, subscriptions, priority, reading — each applied to
//! a copy and committed before it is answered.

use super::messages::*;
use ::protocol::event::{Assignment, Closing, Event, Update};
use ::protocol::thread::{ThreadEntry, TransferTarget as TransferredTo};
use ::protocol::vocabulary::ConversationStatus;
use actix::{ActorFutureExt, AtomicResponse, Context, Handler};

use super::conversation_events as wire;

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
        let followups =
            match next.complete(&msg.agent, msg.disposition_required, self.services.now()) {
                Ok(f) => f,
                Err(e) => {
                    return AtomicResponse::new(Box::pin(actix::fut::ready(Err(
                        EngineError::Conversation(e),
                    ))));
                }
            };
        let by = Closing::Agent {
            agent_id: msg.agent.to_string(),
        };
        let change = Change {
            counters: None,
            events: vec![wire::closed(&next, by)],
            next,
            message: None,
            provider_message_id: None,
            routing: None,
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
    type Result = AtomicResponse<Self, Result<Option<ThreadEntry>, EngineError>>;

    fn handle(&mut self, msg: SetPriority, _: &mut Context<Self>) -> Self::Result {
        self.last_active = tokio::time::Instant::now();
        AtomicResponse::new(self.transition(move |c, _| {
            if let Some(agent) = &msg.by
                && c.owner().as_ref() != Some(agent)
            {
                return Err(ConversationError::NotOwner(agent.clone()));
            }
            let followups = c.set_priority(msg.priority)?;
            let event = wire::updated(
                c,
                Update::Priority {
                    priority: msg.priority,
                },
            );
            Ok((followups, vec![event], None))
        }))
    }
}

impl Handler<SetRequiredSkills> for ConversationActor {
    type Result = AtomicResponse<Self, Result<Option<ThreadEntry>, EngineError>>;

    fn handle(&mut self, msg: SetRequiredSkills, _: &mut Context<Self>) -> Self::Result {
        self.last_active = tokio::time::Instant::now();
        AtomicResponse::new(self.transition(move |c, _| {
            if let Some(agent) = &msg.by
                && c.owner().as_ref() != Some(agent)
            {
                return Err(ConversationError::NotOwner(agent.clone()));
            }
            let followups = c.set_required_skills(msg.skills)?;
            let event = wire::updated(
                c,
                Update::Skills {
                    required_skills: super::routing_history::required_skills(
                        &crate::domain::skills::to_requirement(c.required_skills()),
                    ),
                },
            );
            Ok((followups, vec![event], None))
        }))
    }
}

impl Handler<MarkRead> for ConversationActor {
    type Result = AtomicResponse<Self, Result<Option<ThreadEntry>, EngineError>>;

    fn handle(&mut self, msg: MarkRead, _: &mut Context<Self>) -> Self::Result {
        self.last_active = tokio::time::Instant::now();
        AtomicResponse::new(self.transition(move |c, _| {
            c.mark_read(msg.through);
            let event = wire::read(c, &msg.agent);
            Ok((Vec::new(), vec![event], None))
        }))
    }
}

impl Handler<AddNote> for ConversationActor {
    type Result = AtomicResponse<Self, Result<Option<ThreadEntry>, EngineError>>;

    fn handle(&mut self, msg: AddNote, _: &mut Context<Self>) -> Self::Result {
        self.last_active = tokio::time::Instant::now();
        AtomicResponse::new(self.transition(move |c, now| {
            if !c.is_open() {
                return Err(ConversationError::Closed);
            }
            let note = wire::note_entry(&msg.agent, msg.body, now);
            let event = wire::note_added(c, note.clone());
            Ok((Vec::new(), vec![event], Some(ThreadEntry::Note(note))))
        }))
    }
}

impl Handler<AddDisposition> for ConversationActor {
    type Result = AtomicResponse<Self, Result<Option<ThreadEntry>, EngineError>>;

    fn handle(&mut self, msg: AddDisposition, _: &mut Context<Self>) -> Self::Result {
        self.last_active = tokio::time::Instant::now();
        AtomicResponse::new(self.transition(move |c, _| {
            let change = Update::Disposition {
                disposition: msg.entry.code.to_string(),
                agent_id: msg.entry.agent.to_string(),
            };
            let event = wire::updated(c, change);
            c.add_disposition(msg.entry)?;
            Ok((Vec::new(), vec![event], None))
        }))
    }
}

impl Handler<Snooze> for ConversationActor {
    type Result = AtomicResponse<Self, Result<Option<ThreadEntry>, EngineError>>;

    fn handle(&mut self, msg: Snooze, _: &mut Context<Self>) -> Self::Result {
        self.last_active = tokio::time::Instant::now();
        AtomicResponse::new(self.transition(move |c, now| {
            let followups = c.snooze(&msg.agent, msg.until, now)?;
            let change = Update::Snoozed {
                status: ConversationStatus::Snoozed,
                until: ::protocol::time::from_millis(msg.until),
            };
            let event = wire::updated(c, change);
            Ok((followups, vec![event], None))
        }))
    }
}

impl Handler<Transfer> for ConversationActor {
    type Result = AtomicResponse<Self, Result<Option<ThreadEntry>, EngineError>>;

    fn handle(&mut self, msg: Transfer, _: &mut Context<Self>) -> Self::Result {
        self.last_active = tokio::time::Instant::now();
        AtomicResponse::new(self.transition(move |c, now| {
            let (followups, target) = match &msg.target {
                TransferTarget::Agent(target) if msg.warm => (
                    c.transfer_warm(&msg.agent, target, now)?,
                    TransferredTo {
                        agent_id: Some(target.to_string()),
                        queue_id: None,
                        warm: true,
                    },
                ),
                TransferTarget::Agent(target) => (
                    c.transfer_to_agent(&msg.agent, target, now)?,
                    TransferredTo {
                        agent_id: Some(target.to_string()),
                        ..TransferredTo::default()
                    },
                ),
                TransferTarget::Queue(queue) => (
                    c.transfer_to_queue(&msg.agent, queue.clone(), now)?,
                    TransferredTo {
                        queue_id: Some(queue.to_string()),
                        ..TransferredTo::default()
                    },
                ),
                TransferTarget::AgentInQueue(target, queue) => (
                    c.transfer_to_queue_via(&msg.agent, queue.clone(), Some(target), now)?,
                    TransferredTo {
                        agent_id: Some(target.to_string()),
                        queue_id: Some(queue.to_string()),
                        warm: false,
                    },
                ),
            };
            let (events, entry) =
                transferred(c, Some(&msg.agent), msg.by.as_ref(), target, msg.note, now);
            Ok((followups, events, entry))
        }))
    }
}

/// A transfer's thread entry (`from` the owner, `by` a supervisor doing it) and the
/// `conversation.updated` event that carries it.
fn transferred(
    c: &Conversation,
    from: Option<&AgentId>,
    by: Option<&AgentId>,
    to: TransferredTo,
    note: Option<String>,
    now: i64,
) -> (Vec<Event>, Option<ThreadEntry>) {
    let entry = wire::transfer_entry(from, by, to, note, now);
    let event = wire::updated(
        c,
        Update::Transferred {
            transferred: entry.clone(),
        },
    );
    (vec![event], Some(ThreadEntry::Transfer(entry)))
}

impl Handler<OfferTo> for ConversationActor {
    type Result = AtomicResponse<Self, Result<Option<ThreadEntry>, EngineError>>;

    fn handle(&mut self, msg: OfferTo, _: &mut Context<Self>) -> Self::Result {
        self.last_active = tokio::time::Instant::now();
        AtomicResponse::new(self.transition(move |c, now| {
            let followups = c.offer_to(&msg.agent, now)?;
            let target = TransferredTo {
                agent_id: Some(msg.agent.to_string()),
                ..TransferredTo::default()
            };
            let (events, entry) = transferred(c, None, Some(&msg.by), target, msg.note, now);
            Ok((followups, events, entry))
        }))
    }
}

impl Handler<Subscribe> for ConversationActor {
    type Result = AtomicResponse<Self, Result<Option<ThreadEntry>, EngineError>>;

    fn handle(&mut self, msg: Subscribe, _: &mut Context<Self>) -> Self::Result {
        self.last_active = tokio::time::Instant::now();
        AtomicResponse::new(self.transition(move |c, _| {
            let changed = c.subscribe(&msg.agent, msg.on)?;
            let events = if changed {
                let change = Update::Subscription {
                    agent_id: msg.agent.to_string(),
                    subscribed: msg.on,
                    subscribers: c.subscribers().iter().map(ToString::to_string).collect(),
                };
                vec![wire::updated(c, change)]
            } else {
                Vec::new()
            };
            Ok((Vec::new(), events, None))
        }))
    }
}

impl Handler<Claim> for ConversationActor {
    type Result = AtomicResponse<Self, Result<Option<ThreadEntry>, EngineError>>;

    fn handle(&mut self, msg: Claim, _: &mut Context<Self>) -> Self::Result {
        self.last_active = tokio::time::Instant::now();
        AtomicResponse::new(self.transition(move |c, _| {
            let claimable =
                c.status() == crate::conversation::ConversationStatus::Queued || c.public();
            if !claimable {
                return Err(match c.owner() {
                    Some(owner) => ConversationError::AlreadyOwned(owner.clone()),
                    None => ConversationError::NotOwned,
                });
            }
            let followups = c.assign(&msg.agent)?;
            let event = wire::assigned(c, &msg.agent, Assignment::Claimed { claimed: true });
            Ok((followups, vec![event], None))
        }))
    }
}
