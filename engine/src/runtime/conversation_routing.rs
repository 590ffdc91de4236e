//! The conversation actor's routing side: customer messages (opening or joining the
//! conversation), what the queues did to it (offers made, ended, accepted) and its durable
//! timers coming due.

use super::messages::*;
use ::protocol::event::{Assignment, Update};
use ::protocol::thread::ThreadEntry;
use ::protocol::vocabulary::{ConversationStatus, DeclineReason};
use actix::{
    ActorContext, ActorFutureExt, AsyncContext, AtomicResponse, Context, Handler, WrapFuture,
};

use super::conversation_events as wire;

use super::conversation_actor::*;
use super::engine::{EngineError, InboundAck};
use super::messages::ReleaseConversation;
use crate::conversation::{AlertKind, Conversation, Direction, Followup, TimerKind};
use crate::domain::{ConversationId, QueueId};
use crate::metrics::metrics;
use crate::routing::protocol::Happened;
use crate::store::{CommitOutcome, CounterBump};

impl Handler<CustomerMessage> for ConversationActor {
    type Result = AtomicResponse<Self, Result<CustomerMessageOutcome, EngineError>>;

    fn handle(&mut self, msg: CustomerMessage, _: &mut Context<Self>) -> Self::Result {
        self.last_active = tokio::time::Instant::now();
        let at = self.services.now();
        let record = wire::inbound_entry(&msg.message, at);
        let (mut next, followups, mut events) = match self.conversation.clone() {
            Some(mut conversation) if conversation.is_open() => {
                let followups = match conversation.customer_message(at, msg.routing.public_minutes)
                {
                    Ok(f) => f,
                    Err(e) => {
                        return AtomicResponse::new(Box::pin(actix::fut::ready(Err(
                            EngineError::Conversation(e),
                        ))));
                    }
                };
                (conversation, followups, Vec::new())
            }
            _ => {
                let (conversation, followups) = Conversation::open(
                    msg.routing.opening(
                        self.id.clone(),
                        msg.message.from.clone(),
                        &msg.message.body,
                    ),
                    at,
                );
                let created = wire::created(&conversation, false);
                (conversation, followups, vec![created])
            }
        };
        next.use_alert_thresholds(msg.routing.alerts);
        if let Some(priority) = msg.message.priority {
            // Before its followups go out: a new conversation enters the line at this priority.
            next.take_priority(priority);
        }
        next.record_message(Direction::Inbound, &msg.message.body, at);
        events.push(wire::received(&next, record.clone()));
        let id = self.id.clone();
        let change = Change {
            counters: None,
            next,
            message: Some(ThreadEntry::Inbound(record)),
            provider_message_id: msg.message.provider_message_id.clone(),
            routing: None,
            events,
            followups,
        };
        let commit = self.commit_guarded(change, msg.guard);
        AtomicResponse::new(Box::pin(commit.map(move |outcome, actor, ctx| {
            let outcome = outcome?;
            if actor.conversation.is_none() {
                // A claim that stored nothing (lost to another conversation, or a retry of a
                // message stored before) leaves a conversation that never was: nothing will
                // ask for it again.
                actor
                    .services
                    .forget_conversation(&actor.id, &ctx.address());
                ctx.stop();
            }
            let parse = |stored: Option<String>| stored.and_then(|s| ConversationId::parse(s).ok());
            Ok(match outcome {
                CommitOutcome::Taken { holder } => CustomerMessageOutcome::Elsewhere(parse(holder)),
                // The provider's retry is answered like the message it repeats.
                CommitOutcome::Duplicate { original } => {
                    CustomerMessageOutcome::Stored(InboundAck {
                        conversation_id: parse(original).unwrap_or(id),
                        duplicate: true,
                    })
                }
                CommitOutcome::Stored { .. } => {
                    metrics().messages.with_label_values(&["inbound"]).inc();
                    CustomerMessageOutcome::Stored(InboundAck {
                        conversation_id: id,
                        duplicate: false,
                    })
                }
            })
        })))
    }
}

impl Handler<Routed> for ConversationActor {
    type Result = AtomicResponse<Self, ()>;

    fn handle(&mut self, Routed(happened): Routed, _: &mut Context<Self>) -> Self::Result {
        self.last_active = tokio::time::Instant::now();
        let done = || AtomicResponse::new(Box::pin(actix::fut::ready(())));
        if let Happened::Overflowed { from, to, .. } = &happened {
            return self.overflow(from.clone(), to.clone());
        }
        let Some(current) = self.conversation.clone() else {
            return done();
        };
        let mut next = current;
        let mut extra = Vec::new();
        let mut routing = None;
        let (event, followups) = match &happened {
            Happened::OfferCreated {
                offer,
                agent,
                expires_at,
                trace,
                ..
            } => {
                next.mark_offered(self.services.now());
                next.offer_opened(&offer.to_string(), agent);
                let decision = super::routing_history::decision(offer, agent, trace);
                routing =
                    Some(serde_json::to_string(&decision).expect("routing decisions serialise"));
                (
                    wire::offer_created(&next, offer, agent, *expires_at, decision.reason),
                    Vec::new(),
                )
            }
            Happened::OfferEnded {
                offer, agent, end, ..
            } => {
                next.offer_closed(&offer.to_string());
                if end.declines_transfer() && next.transfer_declined(agent) {
                    // A warm transfer's target said no (or left): the owner keeps it.
                    extra.push(wire::transfer_declined(
                        &next,
                        agent,
                        wire::decline_reason(*end),
                    ));
                }
                (wire::offer_ended(&next, offer, agent, *end), Vec::new())
            }
            Happened::DirectRefused { agent, warm, .. } => {
                if !*warm || !next.transfer_declined(agent) {
                    // A cold transfer waits in line: nothing to record here.
                    return done();
                }
                (
                    wire::transfer_declined(&next, agent, DeclineReason::Unavailable),
                    Vec::new(),
                )
            }
            Happened::Assigned { agent, offer, .. } => match next.assign(agent) {
                Ok(followups) => {
                    next.offer_closed(&offer.to_string());
                    let how = Assignment::Offer {
                        offer_id: offer.to_string(),
                    };
                    (wire::assigned(&next, agent, how), followups)
                }
                Err(e) => {
                    // Closed meanwhile (say the customer opted out): give the slot back.
                    tracing::info!(conversation_id = %self.id, error = %e, "accepted offer no longer applies");
                    self.services
                        .send_to_agent(agent, ReleaseConversation(self.id.clone()));
                    return done();
                }
            },
            Happened::AgentSetAway { .. } | Happened::Overflowed { .. } => return done(),
        };
        let counters =
            super::queue_actor::offer_outcome(&happened).map(|(queue, outcome)| CounterBump {
                scope: super::queue_actor::figures_scope(queue),
                day: super::queue_actor::utc_day(self.services.now()),
                // The day's total (today's figures) and the minute's (window statistics).
                fields: vec![
                    outcome.to_owned(),
                    crate::stats::offer_minutes::minute_field(outcome, self.services.now()),
                ],
            });
        let change = Change {
            counters,
            next,
            message: None,
            provider_message_id: None,
            routing,
            events: std::iter::once(event).chain(extra).collect(),
            followups,
        };
        let id = self.id.clone();
        // An offer that ended (or was accepted) needs no late `offer.created` any more.
        match &happened {
            Happened::OfferEnded { offer, .. } | Happened::Assigned { offer, .. } => {
                self.unrecorded_offers.remove(&offer.to_string());
            }
            _ => {}
        }
        let created = match &happened {
            Happened::OfferCreated { offer, .. } => Some(offer.to_string()),
            _ => None,
        };
        AtomicResponse::new(Box::pin(self.commit(change).map(
            move |result, actor, ctx| {
                if let Err(e) = result {
                    tracing::error!(conversation_id = %id, error = %e, "could not record a routing change");
                    if let (Some(offer), EngineError::Store(store)) = (created, &e)
                        && store.is_unavailable()
                    {
                        actor.unrecorded_offers.insert(offer, happened);
                        actor.record_unrecorded_offers(ctx);
                    }
                }
            },
        )))
    }
}

impl ConversationActor {
    /// Its queue's overflow step came: once the target queue runs, the conversation moves
    /// there (or, no longer waiting in `from`, stays where it is; see
    /// [`Conversation::overflow`]). A target that cannot be started (the store failing)
    /// keeps it in its queue, never to overflow there.
    fn overflow(&mut self, from: QueueId, to: QueueId) -> AtomicResponse<Self, ()> {
        let services = self.services.clone();
        let target = to.clone();
        let id = self.id.clone();
        let started = async move { services.ensure_queue(&target).await }.into_actor(self);
        AtomicResponse::new(Box::pin(started.then(move |started, actor, _| {
            let ready = match started {
                Ok(()) => true,
                Err(e) => {
                    tracing::warn!(conversation_id = %actor.id, queue_id = %to, error = %e, "overflow queue not started; the conversation stays");
                    false
                }
            };
            actor
                .transition(move |c, _| {
                    let (moved, followups) = if ready {
                        c.overflow(&from, &to)
                    } else {
                        (false, c.stay_instead_of_overflow(&to))
                    };
                    let events = if moved {
                        vec![wire::updated(
                            c,
                            Update::Overflowed {
                                overflowed_from: from.to_string(),
                            },
                        )]
                    } else {
                        Vec::new()
                    };
                    Ok((followups, events, None))
                })
                .map(move |result, _, _| {
                    if let Err(e) = result {
                        tracing::warn!(conversation_id = %id, error = %e, "overflow could not be applied");
                    }
                })
        })))
    }
}

impl Handler<EndOffersOfPreviousProcess> for ConversationActor {
    type Result = AtomicResponse<Self, ()>;

    fn handle(&mut self, _: EndOffersOfPreviousProcess, _: &mut Context<Self>) -> Self::Result {
        let Some(mut next) = self.conversation.clone() else {
            return AtomicResponse::new(Box::pin(actix::fut::ready(())));
        };
        let ended = next.close_every_offer();
        if ended.is_empty() {
            return AtomicResponse::new(Box::pin(actix::fut::ready(())));
        }
        let now = self.services.now();
        let counters = CounterBump {
            scope: super::queue_actor::figures_scope(next.queue_id()),
            day: super::queue_actor::utc_day(now),
            fields: ended
                .iter()
                .flat_map(|_| {
                    [
                        "rescinded".to_owned(),
                        crate::stats::offer_minutes::minute_field("rescinded", now),
                    ]
                })
                .collect(),
        };
        let change = Change {
            counters: Some(counters),
            events: wire::offers_ended_by_restart(&next, &ended),
            next,
            message: None,
            provider_message_id: None,
            routing: None,
            followups: Vec::new(),
        };
        let id = self.id.clone();
        AtomicResponse::new(Box::pin(self.commit(change).map(move |result, _, _| {
            if let Err(e) = result {
                tracing::error!(conversation_id = %id, error = %e, "could not end the previous process's offers");
            }
        })))
    }
}

impl Handler<TimerDue> for ConversationActor {
    type Result = AtomicResponse<Self, ()>;

    fn handle(&mut self, msg: TimerDue, _: &mut Context<Self>) -> Self::Result {
        self.last_active = tokio::time::Instant::now();
        let id = self.id.clone();
        let response = self.transition(move |c, now| {
            let (kind, followups) = match msg.kind.as_str() {
                "public_minutes" => (TimerKind::PublicMinutes, c.public_minutes_due(now)),
                "wake_up" => (TimerKind::WakeUp, c.wake(now)),
                "alert_unclaimed" => (
                    TimerKind::AlertUnclaimed,
                    c.alert_due(AlertKind::Unclaimed, now),
                ),
                "alert_awaiting_reply" => (
                    TimerKind::AlertAwaitingReply,
                    c.alert_due(AlertKind::AwaitingReply, now),
                ),
                _ => return Ok((Vec::new(), Vec::new(), None)),
            };
            let event = match kind {
                TimerKind::PublicMinutes if c.public() => {
                    Some(wire::updated(c, Update::Public { public: true }))
                }
                TimerKind::WakeUp if !followups.is_empty() => Some(wire::updated(
                    c,
                    Update::Woken {
                        status: ConversationStatus::Queued,
                        woken: true,
                    },
                )),
                _ => None,
            };
            let mut followups = followups;
            // Fired: disarm it, so the sweeper does not fire it again.
            followups.push(Followup::Disarm { kind });
            Ok((followups, event.into_iter().collect(), None))
        });
        AtomicResponse::new(Box::pin(response.map(move |result, _, _| {
            if let Err(e) = result {
                tracing::warn!(conversation_id = %id, error = %e, "timer could not be applied");
            }
        })))
    }
}
