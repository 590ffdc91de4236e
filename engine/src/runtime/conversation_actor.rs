//! The conversation actor: the only writer of one conversation. Each command is applied to a
//! copy, committed to the store with its message, events and timers, and only then adopted,
//! acknowledged and acted on — so what a provider or desktop was told is always durable.

use ::protocol::event::{Alert, Event};
use ::protocol::thread::{OutboundMessage, ThreadEntry};
use actix::{
    Actor, ActorContext, ActorFutureExt, AsyncContext, Context, ResponseActFuture, WrapFuture,
};

use super::actor_services::ActorServices;
use super::engine::EngineError;
use super::messages::QueueMail;
use super::messages::ReleaseConversation;
use crate::conversation::{Conversation, ConversationError, Followup, TimerKind};
use crate::domain::ConversationId;
use crate::outbox::{Delivery, NewText};
use crate::routing::protocol::{EnqueueHint, ToQueue};
use crate::store::{
    CommitOutcome, ConversationCommit, CounterBump, NewEvent, OpenGuard, OutboxItem, Store,
    StoreError, TimerChange,
};

/// One conversation.
pub struct ConversationActor {
    pub(super) services: ActorServices,
    pub(super) id: ConversationId,
    pub(super) conversation: Option<Conversation>,
    /// When it last handled a message, for passivation.
    pub(super) last_active: tokio::time::Instant,
    /// Whether its state is to be read from the store when it starts (not for a conversation
    /// this process has just opened).
    stored: bool,
    /// A commit failed without saying whether it was stored (a timeout, a dropped
    /// connection): until the store is read again, this actor's state may be behind it, so
    /// nothing is committed meanwhile (see [`ConversationActor::relearn`]).
    uncertain: bool,
    /// Offers made whose `offer.created` could not be journaled (the store was down), to
    /// journal once it answers — unless the offer ended meanwhile. Without this an offer
    /// made during a store outage stays invisible to its agent until it expires.
    pub(super) unrecorded_offers:
        std::collections::BTreeMap<String, crate::routing::protocol::Happened>,
}

/// What a commit does here once it is known to be stored.
struct Adoption {
    next: Conversation,
    followups: Vec<Followup>,
    delivery: Option<Delivery>,
    unchanged: bool,
    observations: Vec<crate::conversation::Observation>,
    alerts: Vec<(crate::conversation::AlertKind, bool)>,
}

/// A change ready to commit: the next state and what goes with it.
pub(super) struct Change {
    pub(super) next: Conversation,
    /// The queue's daily figures this change counts (offers by outcome).
    pub(super) counters: Option<CounterBump>,
    pub(super) message: Option<ThreadEntry>,
    pub(super) provider_message_id: Option<String>,
    /// A routing decision for the conversation's routing history.
    pub(super) routing: Option<String>,
    pub(super) events: Vec<Event>,
    pub(super) followups: Vec<Followup>,
}

/// The delivery record of an outbound thread entry: what the outbox hands to the provider.
pub(super) fn delivery_of(
    conversation: &Conversation,
    record: &OutboundMessage,
    at: i64,
) -> Delivery {
    let text = NewText {
        message_id: record.id.clone(),
        conversation_id: conversation.id().clone(),
        number_id: conversation.number_id().clone(),
        to: conversation.customer().clone(),
        body: record.body.clone(),
        media_urls: record.media_urls.clone(),
        // A picture alone has no text segments but is still one message to pace.
        segments: record.segments.max(1),
    };
    Delivery::new(text, at)
}

pub(super) fn timer_kind(kind: TimerKind) -> String {
    match kind {
        TimerKind::PublicMinutes => "public_minutes".into(),
        TimerKind::WakeUp => "wake_up".into(),
        TimerKind::AlertUnclaimed => "alert_unclaimed".into(),
        TimerKind::AlertAwaitingReply => "alert_awaiting_reply".into(),
    }
}

/// The answer while an actor does not know its stored state (503 `store_unavailable`).
fn unknown_yet() -> EngineError {
    EngineError::Store(StoreError::Unavailable(
        "the conversation's stored state is not known yet".into(),
    ))
}

impl ConversationActor {
    /// An actor for conversation `id`; it loads its state from the store when it starts.
    pub fn new(services: ActorServices, id: ConversationId) -> Self {
        Self {
            services,
            id,
            conversation: None,
            last_active: tokio::time::Instant::now(),
            stored: true,
            uncertain: false,
            unrecorded_offers: std::collections::BTreeMap::new(),
        }
    }

    /// The same actor for a conversation whose id was claimed just now: nothing is stored
    /// under it, so it starts without reading the store.
    pub fn new_conversation(self) -> Self {
        Self {
            stored: false,
            ..self
        }
    }

    /// Commits `change`; on success adopts its state and carries out its follow-ups.
    pub(super) fn commit(
        &mut self,
        change: Change,
    ) -> ResponseActFuture<Self, Result<CommitOutcome, EngineError>> {
        self.commit_guarded(change, OpenGuard::None)
    }

    /// [`Self::commit`] if the customer's open conversation is as `guard` requires; when it
    /// is not, nothing is stored and nothing changes here ([`CommitOutcome::Taken`]).
    pub(super) fn commit_guarded(
        &mut self,
        mut change: Change,
        guard: OpenGuard,
    ) -> ResponseActFuture<Self, Result<CommitOutcome, EngineError>> {
        if self.uncertain {
            return Box::pin(actix::fut::ready(Err(unknown_yet())));
        }
        let now = self.services.now();
        // Every transition leaves the alerts in line with the new state.
        let reconciled = change.next.reconcile_alerts();
        change.followups.extend(reconciled);
        for followup in &change.followups {
            if let Followup::Alert { kind, raised } = followup {
                let alert = Alert {
                    conversation_id: self.id.to_string(),
                    queue_id: change.next.queue_id().to_string(),
                    owner: change.next.owner().as_ref().map(ToString::to_string),
                    alert: *kind,
                };
                change.events.push(if *raised {
                    Event::AlertRaised(alert)
                } else {
                    Event::AlertCleared(alert)
                });
            }
        }
        let timers = change
            .followups
            .iter()
            .filter_map(|f| match f {
                Followup::Arm { kind, at } => Some(TimerChange::Arm {
                    kind: timer_kind(*kind),
                    at: *at,
                }),
                Followup::Disarm { kind } => Some(TimerChange::Disarm {
                    kind: timer_kind(*kind),
                }),
                _ => None,
            })
            .collect();
        // The milestones go into the new state (durable with it); what they count for is
        // counted once the change is stored.
        let observations =
            crate::conversation::advance(self.conversation.as_ref(), &mut change.next, now);
        let alerts: Vec<(crate::conversation::AlertKind, bool)> = change
            .followups
            .iter()
            .filter_map(|f| match f {
                Followup::Alert { kind, raised } => Some((*kind, *raised)),
                _ => None,
            })
            .collect();
        // An offer made or ended journals an event and leaves the document as it is.
        let unchanged = self.conversation.as_ref() == Some(&change.next);
        let delivery = match &change.message {
            Some(ThreadEntry::Outbound(record)) => Some(delivery_of(&change.next, record, now)),
            _ => None,
        };
        let commit = ConversationCommit {
            outbox: delivery.as_ref().map(|d| OutboxItem {
                message_id: d.message_id.clone(),
                record: serde_json::to_string(d).expect("deliveries serialise"),
            }),
            id: self.id.to_string(),
            number_id: change.next.number_id().to_string(),
            customer: change.next.customer().to_string(),
            body: (!unchanged)
                .then(|| serde_json::to_string(&change.next).expect("conversations serialise")),
            closed: !change.next.is_open(),
            message: change
                .message
                .as_ref()
                .map(|m| serde_json::to_string(m).expect("thread entries serialise")),
            provider_message_id: change.provider_message_id.clone(),
            routing: change.routing.take(),
            events: change.events.iter().map(|e| NewEvent::of(e, now)).collect(),
            timers,
            counters: change.counters.clone(),
            guard,
        };
        let adoption = Adoption {
            next: change.next,
            followups: change.followups,
            delivery,
            unchanged,
            observations,
            alerts,
        };
        let store = self.services.store().clone();
        Box::pin(
            async move { store.conversation_commit(commit).await }
                .into_actor(self)
                .map(move |result, actor, ctx| {
                    let outcome = match result {
                        Ok(outcome) => outcome,
                        Err(e) => {
                            if e.is_unavailable() {
                                // Redis may have applied it after all (a frozen Redis
                                // catches up; a connection dropped after sending).
                                actor.relearn(Some(adoption), ctx);
                            }
                            return Err(EngineError::Store(e));
                        }
                    };
                    if let CommitOutcome::Stored {
                        catalog_version: Some(version),
                        ..
                    } = outcome
                    {
                        // Another process's configuration change reaches this one's caches.
                        actor.services.catalog().observe_version(version);
                    }
                    if let CommitOutcome::Stored { .. } = outcome {
                        actor.adopt(adoption);
                    }
                    Ok(outcome)
                }),
        )
    }

    /// Takes a stored change as this actor's state and acts on it.
    fn adopt(&mut self, adoption: Adoption) {
        let Adoption {
            next,
            followups,
            delivery,
            unchanged,
            observations,
            alerts,
        } = adoption;
        if let Some(delivery) = delivery {
            self.services.outbox().enqueue(delivery);
        }
        if !unchanged {
            self.services.directory().upsert(&next);
            self.services.open_conversations().observe(&next);
        }
        let metrics = crate::metrics::metrics();
        metrics.observe(next.queue_id().as_str(), &observations);
        for (kind, raised) in alerts {
            let gauge = metrics
                .alerts_active
                .with_label_values(&[crate::metrics::alert_label(kind)]);
            if raised { gauge.inc() } else { gauge.dec() }
        }
        self.conversation = Some(next);
        self.follow(followups);
    }

    /// Journals the offers whose `offer.created` failed, once the store answers again and
    /// if the stored conversation does not have them (a commit that timed out may have been
    /// stored after all). Tries again every half second while the store is still away.
    pub(super) fn record_unrecorded_offers(&mut self, ctx: &mut Context<Self>) {
        ctx.run_later(std::time::Duration::from_millis(500), |actor, ctx| {
            if actor.unrecorded_offers.is_empty() {
                return;
            }
            if actor.uncertain {
                actor.record_unrecorded_offers(ctx);
                return;
            }
            let recorded: Vec<String> = actor
                .conversation
                .as_ref()
                .map(|c| c.open_offers().keys().cloned().collect())
                .unwrap_or_default();
            let pending = std::mem::take(&mut actor.unrecorded_offers);
            for (offer, happened) in pending {
                if !recorded.contains(&offer) {
                    ctx.notify(super::messages::Routed(happened));
                }
            }
        });
    }

    /// Reads the stored conversation again, trying until the store answers, after a commit
    /// whose outcome is unknown (or a load that failed). A frozen Redis applies what it was
    /// sent when it thaws: had the actor simply reported the failure, a customer's text
    /// stored that way would sit in Redis with its conversation never put in line. So: if
    /// the store holds exactly what was attempted, the change is adopted and acted on (put
    /// in line, handed to the outbox) as if the commit had answered; otherwise the stored
    /// state is taken as the truth. Until then nothing is committed (`uncertain`).
    fn relearn(&mut self, attempted: Option<Adoption>, ctx: &mut Context<Self>) {
        if self.uncertain {
            return;
        }
        self.uncertain = true;
        let store = self.services.store().clone();
        let id = self.id.to_string();
        let read = async move {
            let mut pause = std::time::Duration::from_millis(100);
            loop {
                match store.conversation_get(&id).await {
                    Ok(doc) => return doc,
                    Err(_) => {
                        tokio::time::sleep(pause).await;
                        pause = (pause * 2).min(std::time::Duration::from_secs(2));
                    }
                }
            }
        };
        ctx.spawn(read.into_actor(self).map(move |doc, actor, _| {
            actor.uncertain = false;
            let stored = doc.map(|d| d.body);
            // What the commit wrote, serialised again (the same bytes: one writer, a
            // deterministic serialisation) rather than kept from every commit just in case.
            let wrote = attempted.as_ref().and_then(|a| {
                (!a.unchanged)
                    .then(|| serde_json::to_string(&a.next).expect("conversations serialise"))
            });
            match attempted {
                Some(adoption) if wrote.is_some() && stored == wrote => {
                    tracing::info!(conversation_id = %actor.id, "a change reported as failed was stored: acting on it");
                    actor.adopt(adoption);
                }
                _ => match stored.map(|body| serde_json::from_str::<Conversation>(&body)) {
                    Some(Ok(conversation)) => actor.conversation = Some(conversation),
                    Some(Err(e)) => tracing::error!(conversation_id = %actor.id, error = %e, "stored conversation unreadable"),
                    None => actor.conversation = None,
                },
            }
        }));
    }

    /// Carries out follow-ups other than timers (those went into the commit).
    pub(super) fn follow(&self, followups: Vec<Followup>) {
        let Some(conversation) = &self.conversation else {
            return;
        };
        for followup in followups {
            match followup {
                Followup::Enqueue {
                    queue,
                    waiting_since,
                } => {
                    let hint = super::registry::line_hint(conversation);
                    self.services
                        .put_in_line(conversation, &queue, waiting_since, hint);
                }
                Followup::OfferFirstTo {
                    agent,
                    queue,
                    waiting_since,
                } => {
                    let hint = EnqueueHint::OfferFirstTo(agent);
                    self.services
                        .put_in_line(conversation, &queue, waiting_since, hint);
                }
                Followup::OfferDirect {
                    agent,
                    queue,
                    waiting_since,
                    warm,
                    sender,
                } => {
                    let hint = EnqueueHint::Direct {
                        agent,
                        warm,
                        sender,
                    };
                    self.services
                        .put_in_line(conversation, &queue, waiting_since, hint);
                }
                Followup::Withdraw { queue } => {
                    self.services.send_to_queue(
                        &queue,
                        QueueMail(ToQueue::Withdraw {
                            conversation: self.id.clone(),
                        }),
                    );
                }
                Followup::ReleaseFrom { agent } => {
                    self.services
                        .send_to_agent(&agent, ReleaseConversation(self.id.clone()));
                }
                Followup::Notify { .. }
                | Followup::Arm { .. }
                | Followup::Disarm { .. }
                | Followup::Alert { .. } => {}
            }
        }
    }
}

impl ConversationActor {
    /// Stops the actor when it has been idle long enough and nothing is in flight for it:
    /// a closed, snoozed or privately owned conversation receives no routing messages, and
    /// the few timer messages it may get are re-sent by the sweeper until applied. Its state
    /// is in the store; the next message starts a new actor that loads it.
    fn maybe_passivate(&mut self, ctx: &mut Context<Self>) {
        use crate::conversation::ConversationStatus;
        if self.uncertain || self.last_active.elapsed() < self.services.passivate_after() {
            return;
        }
        let quiet = match &self.conversation {
            None => true,
            Some(c) => match c.status() {
                ConversationStatus::Closed | ConversationStatus::Snoozed => true,
                ConversationStatus::Owned => !c.public(),
                ConversationStatus::Queued => false,
            },
        };
        if quiet {
            self.services.forget_conversation(&self.id, &ctx.address());
            ctx.stop();
        }
    }
}

impl Actor for ConversationActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        crate::metrics::metrics().conversation_actors.inc();
        let every = self.services.passivate_after() / 2;
        ctx.run_interval(every, |actor, ctx| actor.maybe_passivate(ctx));
        if !self.stored {
            return;
        }
        // Nothing is handled until the state is loaded: messages wait in the mailbox, in order.
        let store = self.services.store().clone();
        let id = self.id.to_string();
        ctx.wait(async move { store.conversation_get(&id).await }.into_actor(self).map(|loaded, actor, ctx| {
            match loaded {
                Ok(Some(doc)) => match serde_json::from_str(&doc.body) {
                    Ok(conversation) => actor.conversation = Some(conversation),
                    Err(e) => tracing::error!(conversation_id = %actor.id, error = %e, "stored conversation unreadable"),
                },
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(conversation_id = %actor.id, error = %e, "could not load conversation; trying again");
                    actor.relearn(None, ctx);
                }
            }
        }));
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        crate::metrics::metrics().conversation_actors.dec();
    }
}

/// What a command produced: follow-ups, events, and a thread entry.
pub(super) type Outcome = (Vec<Followup>, Vec<Event>, Option<ThreadEntry>);

impl ConversationActor {
    /// Applies `command` to a copy of the conversation and commits it; the answer is the thread
    /// entry (if any) once durable.
    pub(super) fn transition(
        &mut self,
        command: impl FnOnce(&mut Conversation, i64) -> Result<Outcome, ConversationError>,
    ) -> ResponseActFuture<Self, Result<Option<ThreadEntry>, EngineError>> {
        let Some(mut next) = self.conversation.clone() else {
            if self.uncertain {
                return Box::pin(actix::fut::ready(Err(unknown_yet())));
            }
            let id = self.id.to_string();
            return Box::pin(actix::fut::ready(Err(EngineError::NotFound {
                kind: "conversation",
                id,
            })));
        };
        let (followups, events, message) = match command(&mut next, self.services.now()) {
            Ok(outcome) => outcome,
            Err(e) => return Box::pin(actix::fut::ready(Err(EngineError::Conversation(e)))),
        };
        let entry = message.clone();
        let change = Change {
            counters: None,
            next,
            message,
            provider_message_id: None,
            routing: None,
            events,
            followups,
        };
        Box::pin(
            self.commit(change)
                .map(move |result, _, _| result.map(|_| entry)),
        )
    }
}
