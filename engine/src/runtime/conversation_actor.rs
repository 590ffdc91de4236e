//! The conversation actor: the only writer of one conversation. Each command is applied to a
//! copy, committed to the store with its message, events and timers, and only then adopted,
//! acknowledged and acted on — so what a provider or desktop was told is always durable.

use actix::{
    Actor, ActorContext, ActorFutureExt, AsyncContext, AtomicResponse, Context, Handler, Message,
    ResponseActFuture, WrapFuture,
};
use serde_json::{Value, json};

use super::Engine;
use super::agent_actor::ReleaseConversation;
use super::engine::{EngineError, InboundAck, InboundMessage};
use super::queue_actor::QueueMail;
use crate::conversation::{
    AlertKind, AlertThresholds, Conversation, ConversationError, Direction, Followup, Opening,
    TimerKind,
};
use crate::domain::{AgentId, ConversationId, Name, NumberId, QueueId};
use crate::metrics::metrics;
use crate::outbox::{Delivery, NewText};
use crate::routing::protocol::{EnqueueHint, Happened, OfferEnd, ToQueue};
use crate::store::{
    CommitOutcome, ConversationCommit, CounterBump, NewEvent, OutboxItem, Store, TimerChange,
};

/// Where an inbound message goes, resolved by the engine from the business number.
#[derive(Debug, Clone)]
pub struct Routing {
    /// The business number.
    pub number_id: NumberId,
    /// Its campaign.
    pub campaign: Name,
    /// Its queue.
    pub queue_id: QueueId,
    /// The queue's priority.
    pub priority: u8,
    /// The queue's public minutes.
    pub public_minutes: u32,
    /// The queue's alert thresholds.
    pub alerts: AlertThresholds,
}

/// A customer's message for this conversation.
#[derive(Message, Clone)]
#[rtype(result = "Result<InboundAck, EngineError>")]
pub struct CustomerMessage {
    /// The message.
    pub message: InboundMessage,
    /// Where it goes.
    pub routing: Routing,
}

/// Something the routing did to this conversation.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Routed(pub Happened);

/// The owner completes the conversation.
#[derive(Message, Clone)]
#[rtype(result = "Result<(), EngineError>")]
pub struct Complete {
    /// Who completes.
    pub agent: AgentId,
    /// Whether the queue requires a disposition.
    pub disposition_required: bool,
}

/// Asks for the conversation's state (`None` when it does not exist).
#[derive(Message, Clone)]
#[rtype(result = "Option<Conversation>")]
pub struct GetConversation;

/// One conversation.
pub struct ConversationActor {
    engine: Engine,
    id: ConversationId,
    conversation: Option<Conversation>,
    /// When it last handled a message, for passivation.
    last_active: tokio::time::Instant,
}

/// A change ready to commit: the next state and what goes with it.
struct Change {
    next: Conversation,
    /// The queue's daily figures this change counts (offers by outcome).
    counters: Option<CounterBump>,
    message: Option<Value>,
    provider_message_id: Option<String>,
    events: Vec<(&'static str, Value)>,
    followups: Vec<Followup>,
}

/// The delivery record of an outbound thread entry: what the outbox hands to the provider.
fn delivery_of(conversation: &Conversation, record: &Value, at: i64) -> Delivery {
    let text = NewText {
        message_id: record["id"].as_str().unwrap_or_default().to_owned(),
        conversation_id: conversation.id.clone(),
        number_id: conversation.number_id.clone(),
        to: conversation.customer.clone(),
        body: record["body"].as_str().unwrap_or_default().to_owned(),
        media_urls: serde_json::from_value(record["media_urls"].clone()).unwrap_or_default(),
        // A picture alone has no text segments but is still one message to pace.
        segments: (record["segments"].as_u64().unwrap_or(1) as u32).max(1),
    };
    Delivery::new(text, at)
}

fn timer_kind(kind: TimerKind) -> String {
    match kind {
        TimerKind::PublicMinutes => "public_minutes".into(),
        TimerKind::WakeUp => "wake_up".into(),
        TimerKind::AlertUnclaimed => "alert_unclaimed".into(),
        TimerKind::AlertAwaitingReply => "alert_awaiting_reply".into(),
    }
}

impl ConversationActor {
    /// An actor for conversation `id`; it loads its state from the store when it starts.
    pub fn new(engine: Engine, id: ConversationId) -> Self {
        Self {
            engine,
            id,
            conversation: None,
            last_active: tokio::time::Instant::now(),
        }
    }

    /// Commits `change`; on success adopts its state and carries out its follow-ups.
    fn commit(
        &mut self,
        mut change: Change,
    ) -> ResponseActFuture<Self, Result<CommitOutcome, EngineError>> {
        let now = self.engine.now();
        // Every transition leaves the alerts in line with the new state.
        let reconciled = change.next.reconcile_alerts();
        change.followups.extend(reconciled);
        for followup in &change.followups {
            if let Followup::Alert { kind, raised } = followup {
                let data = json!({
                    "conversation_id": self.id,
                    "queue_id": change.next.queue_id,
                    "owner": change.next.owner,
                    "alert": kind,
                });
                change.events.push((
                    if *raised {
                        "alert.raised"
                    } else {
                        "alert.cleared"
                    },
                    data,
                ));
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
        let delivery = change
            .message
            .as_ref()
            .filter(|m| m["direction"] == "outbound")
            .map(|record| delivery_of(&change.next, record, now));
        let commit = ConversationCommit {
            outbox: delivery.as_ref().map(|d| OutboxItem {
                message_id: d.message_id.clone(),
                record: serde_json::to_string(d).expect("deliveries serialise"),
            }),
            id: self.id.to_string(),
            number_id: change.next.number_id.to_string(),
            customer: change.next.customer.to_string(),
            body: serde_json::to_string(&change.next).expect("conversations serialise"),
            closed: !change.next.is_open(),
            message: change.message.as_ref().map(Value::to_string),
            provider_message_id: change.provider_message_id.clone(),
            events: change
                .events
                .iter()
                .map(|(kind, data)| {
                    // Every conversation event names its conversation and queue: that is how
                    // the feed decides which teams may see it.
                    let mut data = data.clone();
                    if let Value::Object(fields) = &mut data {
                        fields
                            .entry("conversation_id")
                            .or_insert_with(|| json!(self.id));
                        fields
                            .entry("queue_id")
                            .or_insert_with(|| json!(change.next.queue_id));
                    }
                    NewEvent {
                        kind: (*kind).to_owned(),
                        at: now,
                        data: data.to_string(),
                    }
                })
                .collect(),
            timers,
            counters: change.counters.clone(),
        };
        let store = self.engine.store().clone();
        Box::pin(
            async move { store.conversation_commit(commit).await }
                .into_actor(self)
                .map(move |result, actor, _| {
                    let outcome = result.map_err(EngineError::Store)?;
                    if let CommitOutcome::Stored { .. } = outcome {
                        if let Some(delivery) = delivery {
                            actor.engine.outbox().enqueue(delivery);
                        }
                        actor.engine.directory().upsert(&change.next);
                        actor.conversation = Some(change.next);
                        actor.follow(change.followups);
                    }
                    Ok(outcome)
                }),
        )
    }

    /// Carries out follow-ups other than timers (those went into the commit).
    fn follow(&self, followups: Vec<Followup>) {
        let Some(conversation) = &self.conversation else {
            return;
        };
        for followup in followups {
            match followup {
                Followup::Enqueue {
                    queue,
                    waiting_since,
                } => {
                    // A public conversation goes to the owner's colleagues, not back to the owner.
                    let hint = match (&conversation.owner, conversation.public) {
                        (Some(owner), true) => EnqueueHint::NotTo(owner.clone()),
                        _ => EnqueueHint::None,
                    };
                    self.engine
                        .put_in_line(conversation, &queue, waiting_since, hint);
                }
                Followup::OfferFirstTo {
                    agent,
                    queue,
                    waiting_since,
                } => {
                    let hint = EnqueueHint::OfferFirstTo(agent);
                    self.engine
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
                    self.engine
                        .put_in_line(conversation, &queue, waiting_since, hint);
                }
                Followup::Withdraw { queue } => {
                    self.engine.send_to_queue(
                        &queue,
                        QueueMail(ToQueue::Withdraw {
                            conversation: self.id.clone(),
                        }),
                    );
                }
                Followup::ReleaseFrom { agent } => {
                    self.engine
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
        if self.last_active.elapsed() < self.engine.passivate_after() {
            return;
        }
        let quiet = match &self.conversation {
            None => true,
            Some(c) => match c.status {
                ConversationStatus::Closed | ConversationStatus::Snoozed => true,
                ConversationStatus::Owned => !c.public,
                ConversationStatus::Queued => false,
            },
        };
        if quiet {
            self.engine.forget_conversation(&self.id, &ctx.address());
            ctx.stop();
        }
    }
}

impl Actor for ConversationActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let every = self.engine.passivate_after() / 2;
        ctx.run_interval(every, |actor, ctx| actor.maybe_passivate(ctx));
        // Nothing is handled until the state is loaded: messages wait in the mailbox, in order.
        let store = self.engine.store().clone();
        let id = self.id.to_string();
        ctx.wait(async move { store.conversation_get(&id).await }.into_actor(self).map(|loaded, actor, _| {
            match loaded {
                Ok(Some(doc)) => match serde_json::from_str(&doc.body) {
                    Ok(conversation) => actor.conversation = Some(conversation),
                    Err(e) => tracing::error!(conversation_id = %actor.id, error = %e, "stored conversation unreadable"),
                },
                Ok(None) => {}
                Err(e) => tracing::error!(conversation_id = %actor.id, error = %e, "could not load conversation"),
            }
        }));
    }
}

fn message_record(message: &InboundMessage, at: i64) -> Value {
    let cost = crate::sms::segments::count(&message.body);
    json!({
        "id": ulid::Ulid::new().to_string().to_lowercase(),
        "direction": "inbound",
        "body": message.body,
        "encoding": cost.encoding,
        "segments": cost.segments,
        "media_urls": message.media_urls,
        "provider_message_id": message.provider_message_id,
        "at": at,
    })
}

impl Handler<CustomerMessage> for ConversationActor {
    type Result = AtomicResponse<Self, Result<InboundAck, EngineError>>;

    fn handle(&mut self, msg: CustomerMessage, _: &mut Context<Self>) -> Self::Result {
        self.last_active = tokio::time::Instant::now();
        let at = self.engine.now();
        let record = message_record(&msg.message, at);
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
                    Opening {
                        id: self.id.clone(),
                        customer: msg.message.from.clone(),
                        number_id: msg.routing.number_id.clone(),
                        campaign: msg.routing.campaign.clone(),
                        queue_id: msg.routing.queue_id.clone(),
                        priority: msg.routing.priority,
                        public_minutes: msg.routing.public_minutes,
                    },
                    at,
                );
                let created = json!({
                    "conversation_id": self.id,
                    "queue_id": conversation.queue_id,
                    "number_id": conversation.number_id,
                    "campaign": conversation.campaign,
                });
                (
                    conversation,
                    followups,
                    vec![("conversation.created", created)],
                )
            }
        };
        next.alert_thresholds = msg.routing.alerts;
        if let Some(priority) = msg.message.priority {
            // Before its followups go out: a new conversation enters the line at this priority.
            next.conversation_priority = priority;
        }
        next.record_message(Direction::Inbound, &msg.message.body, at);
        events.push((
            "message.received",
            json!({"conversation_id": self.id, "queue_id": next.queue_id, "owner": next.owner, "message": record}),
        ));
        let id = self.id.clone();
        let change = Change {
            counters: None,
            next,
            message: Some(record),
            provider_message_id: msg.message.provider_message_id.clone(),
            events,
            followups,
        };
        let commit = self.commit(change);
        AtomicResponse::new(Box::pin(commit.map(move |outcome, _, _| {
            let duplicate = outcome? == CommitOutcome::Duplicate;
            if !duplicate {
                metrics().messages.with_label_values(&["inbound"]).inc();
            }
            Ok(InboundAck {
                conversation_id: id,
                duplicate,
            })
        })))
    }
}

impl Handler<Routed> for ConversationActor {
    type Result = AtomicResponse<Self, ()>;

    fn handle(&mut self, Routed(happened): Routed, _: &mut Context<Self>) -> Self::Result {
        self.last_active = tokio::time::Instant::now();
        let done = || AtomicResponse::new(Box::pin(actix::fut::ready(())));
        let Some(current) = self.conversation.clone() else {
            return done();
        };
        let mut next = current;
        let mut extra: Vec<(&'static str, Value)> = Vec::new();
        let (kind, data, followups) = match &happened {
            Happened::OfferCreated {
                offer,
                agent,
                expires_at,
                ..
            } => (
                "offer.created",
                json!({"offer_id": offer.to_string(), "conversation_id": self.id, "agent_id": agent, "expires_at": expires_at}),
                Vec::new(),
            ),
            Happened::OfferEnded {
                offer, agent, end, ..
            } => {
                let (kind, reason) = match end {
                    OfferEnd::Rejected => ("offer.rejected", "rejected"),
                    OfferEnd::Expired => ("offer.expired", "expired"),
                    OfferEnd::Rescinded(why) => ("offer.rescinded", why.as_str()),
                };
                if end.declines_transfer() && next.transfer_declined(agent) {
                    // A warm transfer's target said no (or left): the owner keeps it.
                    extra.push((
                        "transfer.declined",
                        json!({"conversation_id": self.id, "agent_id": agent, "from_agent_id": next.owner, "reason": reason}),
                    ));
                }
                let mut data = json!({"offer_id": offer.to_string(), "conversation_id": self.id, "agent_id": agent});
                if let OfferEnd::Rescinded(_) = end {
                    data["reason"] = json!(reason);
                }
                (kind, data, Vec::new())
            }
            Happened::DirectRefused { agent, warm, .. } => {
                if !*warm || !next.transfer_declined(agent) {
                    // A cold transfer waits in line: nothing to record here.
                    return done();
                }
                (
                    "transfer.declined",
                    json!({"conversation_id": self.id, "agent_id": agent, "from_agent_id": next.owner, "reason": "unavailable"}),
                    Vec::new(),
                )
            }
            Happened::Assigned { agent, offer, .. } => match next.assign(agent) {
                Ok(followups) => (
                    "conversation.assigned",
                    json!({"conversation_id": self.id, "agent_id": agent, "offer_id": offer.to_string()}),
                    followups,
                ),
                Err(e) => {
                    // Closed meanwhile (say the customer opted out): give the slot back.
                    tracing::info!(conversation_id = %self.id, error = %e, "accepted offer no longer applies");
                    self.engine
                        .send_to_agent(agent, ReleaseConversation(self.id.clone()));
                    return done();
                }
            },
            Happened::AgentSetAway { .. } => return done(),
        };
        let counters =
            super::queue_actor::offer_outcome(&happened).map(|(queue, outcome)| CounterBump {
                scope: super::queue_actor::figures_scope(queue),
                day: super::queue_actor::utc_day(self.engine.now()),
                fields: vec![outcome.to_owned()],
            });
        let change = Change {
            counters,
            next,
            message: None,
            provider_message_id: None,
            events: std::iter::once((kind, data)).chain(extra).collect(),
            followups,
        };
        let id = self.id.clone();
        AtomicResponse::new(Box::pin(self.commit(change).map(move |result, _, _| {
            if let Err(e) = result {
                tracing::error!(conversation_id = %id, error = %e, "could not record a routing change");
            }
        })))
    }
}

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

/// What a command produced: follow-ups, events, and a thread entry.
type Outcome = (Vec<Followup>, Vec<(&'static str, Value)>, Option<Value>);

impl ConversationActor {
    /// Applies `command` to a copy of the conversation and commits it; the answer is the thread
    /// entry (if any) once durable.
    fn transition(
        &mut self,
        command: impl FnOnce(&mut Conversation, i64) -> Result<Outcome, ConversationError>,
    ) -> ResponseActFuture<Self, Result<Option<Value>, EngineError>> {
        let Some(mut next) = self.conversation.clone() else {
            let id = self.id.to_string();
            return Box::pin(actix::fut::ready(Err(EngineError::NotFound {
                kind: "conversation",
                id,
            })));
        };
        let (followups, events, message) = match command(&mut next, self.engine.now()) {
            Ok(outcome) => outcome,
            Err(e) => return Box::pin(actix::fut::ready(Err(EngineError::Conversation(e)))),
        };
        let entry = message.clone();
        let change = Change {
            counters: None,
            next,
            message,
            provider_message_id: None,
            events,
            followups,
        };
        Box::pin(
            self.commit(change)
                .map(move |result, _, _| result.map(|_| entry)),
        )
    }
}

/// A durable timer of this conversation came due.
#[derive(Message)]
#[rtype(result = "()")]
pub struct TimerDue {
    /// `public_minutes` or `wake_up`.
    pub kind: String,
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
                TimerKind::PublicMinutes if c.public => Some((
                    "conversation.updated",
                    json!({"conversation_id": c.id, "public": true}),
                )),
                TimerKind::WakeUp if !followups.is_empty() => Some((
                    "conversation.updated",
                    json!({"conversation_id": c.id, "status": "queued", "woken": true}),
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

/// An agent replies to the customer.
#[derive(Message, Clone)]
#[rtype(result = "Result<Option<Value>, EngineError>")]
pub struct Reply {
    /// Who replies.
    pub agent: AgentId,
    /// The text, media and template.
    pub text: super::engine::OutgoingText,
}

/// An outbound text as its thread entry (`agent` is `None` for Switchboard's own, such as a
/// HELP answer). Its commit also puts it in the outbox; the thread shows the delivery
/// record's status (`outbox`, `queued`, `sent`, ...) over the `outbox` stored here.
fn outbound_record(agent: Option<&AgentId>, text: &super::engine::OutgoingText, at: i64) -> Value {
    let cost = crate::sms::segments::count(&text.body);
    json!({
        "id": ulid::Ulid::new().to_string().to_lowercase(),
        "direction": "outbound",
        "body": text.body,
        "encoding": cost.encoding,
        "segments": cost.segments,
        "media_urls": text.media_urls,
        "template_id": text.template_id,
        "agent_id": agent,
        "automatic": agent.is_none(),
        "status": "outbox",
        "at": at,
    })
}

impl Handler<Reply> for ConversationActor {
    type Result = AtomicResponse<Self, Result<Option<Value>, EngineError>>;

    fn handle(&mut self, msg: Reply, _: &mut Context<Self>) -> Self::Result {
        self.last_active = tokio::time::Instant::now();
        AtomicResponse::new(self.transition(move |c, now| {
            let followups = c.agent_reply(&msg.agent, now)?;
            c.subscribers.insert(msg.agent.clone());
            if c.owner.as_ref() == Some(&msg.agent) {
                c.subscribers.remove(&msg.agent);
            }
            c.record_message(Direction::Outbound, &msg.text.body, now);
            let record = outbound_record(Some(&msg.agent), &msg.text, now);
            let event = (
                "message.sent",
                json!({"conversation_id": c.id, "message": record}),
            );
            metrics().messages.with_label_values(&["outbound"]).inc();
            Ok((followups, vec![event], Some(record)))
        }))
    }
}

/// An agent starts the conversation by texting the customer (outbound).
#[derive(Message, Clone)]
#[rtype(result = "Result<Value, EngineError>")]
pub struct StartOutbound {
    /// Where it belongs.
    pub routing: Routing,
    /// The customer.
    pub customer: crate::domain::PhoneNumber,
    /// The agent, who owns it from the start.
    pub agent: AgentId,
    /// The first text.
    pub text: super::engine::OutgoingText,
}

impl Handler<StartOutbound> for ConversationActor {
    type Result = AtomicResponse<Self, Result<Value, EngineError>>;

    fn handle(&mut self, msg: StartOutbound, _: &mut Context<Self>) -> Self::Result {
        self.last_active = tokio::time::Instant::now();
        if self
            .conversation
            .as_ref()
            .is_some_and(Conversation::is_open)
        {
            let id = self.id.clone();
            return AtomicResponse::new(Box::pin(actix::fut::ready(Err(
                EngineError::AlreadyOpen(id),
            ))));
        }
        let at = self.engine.now();
        let mut next = Conversation::open_outbound(
            Opening {
                id: self.id.clone(),
                customer: msg.customer,
                number_id: msg.routing.number_id,
                campaign: msg.routing.campaign,
                queue_id: msg.routing.queue_id,
                priority: msg.routing.priority,
                public_minutes: msg.routing.public_minutes,
            },
            &msg.agent,
            at,
        );
        next.alert_thresholds = msg.routing.alerts;
        next.record_message(Direction::Outbound, &msg.text.body, at);
        let record = outbound_record(Some(&msg.agent), &msg.text, at);
        let events = vec![
            (
                "conversation.created",
                json!({"number_id": next.number_id, "campaign": next.campaign, "outbound": true}),
            ),
            (
                "conversation.assigned",
                json!({"agent_id": msg.agent, "outbound": true}),
            ),
            ("message.sent", json!({"message": record})),
        ];
        let change = Change {
            counters: None,
            next,
            message: Some(record.clone()),
            provider_message_id: None,
            events,
            followups: Vec::new(),
        };
        let commit = self.commit(change);
        AtomicResponse::new(Box::pin(commit.map(move |outcome, _, _| {
            outcome?;
            metrics().messages.with_label_values(&["outbound"]).inc();
            Ok(record)
        })))
    }
}

/// Switchboard answers the customer itself (a HELP answer): an outbound text by no agent,
/// which changes nothing of the routing (the customer still waits for an agent).
#[derive(Message, Clone)]
#[rtype(result = "Result<Option<Value>, EngineError>")]
pub struct AutomaticText(pub super::engine::OutgoingText);

impl Handler<AutomaticText> for ConversationActor {
    type Result = AtomicResponse<Self, Result<Option<Value>, EngineError>>;

    fn handle(
        &mut self,
        AutomaticText(text): AutomaticText,
        _: &mut Context<Self>,
    ) -> Self::Result {
        self.last_active = tokio::time::Instant::now();
        AtomicResponse::new(self.transition(move |c, now| {
            if !c.is_open() {
                return Err(ConversationError::Closed);
            }
            let record = outbound_record(None, &text, now);
            let event = (
                "message.sent",
                json!({"conversation_id": c.id, "message": record}),
            );
            metrics().messages.with_label_values(&["outbound"]).inc();
            Ok((Vec::new(), vec![event], Some(record)))
        }))
    }
}

/// The customer opted out (STOP): the conversation closes with a system entry.
#[derive(Message, Clone)]
#[rtype(result = "Result<Option<Value>, EngineError>")]
pub struct CloseOptedOut;

impl Handler<CloseOptedOut> for ConversationActor {
    type Result = AtomicResponse<Self, Result<Option<Value>, EngineError>>;

    fn handle(&mut self, _: CloseOptedOut, _: &mut Context<Self>) -> Self::Result {
        self.last_active = tokio::time::Instant::now();
        AtomicResponse::new(self.transition(move |c, now| {
            let followups = c.close_opted_out(now)?;
            let entry = json!({
                "id": ulid::Ulid::new().to_string().to_lowercase(),
                "direction": "system",
                "body": "The customer opted out (STOP). Nothing more can be sent until they text START.",
                "reason": "opted_out",
                "at": now,
            });
            let event = (
                "conversation.closed",
                json!({"conversation_id": c.id, "reason": "opted_out"}),
            );
            Ok((followups, vec![event], Some(entry)))
        }))
    }
}

/// The conversation's own priority changes.
#[derive(Message, Clone)]
#[rtype(result = "Result<Option<Value>, EngineError>")]
pub struct SetPriority {
    /// 0 to 100.
    pub priority: u8,
    /// The owner setting it; `None` for a supervisor or the admin.
    pub by: Option<AgentId>,
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

/// An agent marks the customer's messages read: all, or the first `through`.
#[derive(Message, Clone)]
#[rtype(result = "Result<Option<Value>, EngineError>")]
pub struct MarkRead {
    /// Who read.
    pub agent: AgentId,
    /// How many customer messages, counted from the first; `None` for all.
    pub through: Option<u32>,
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

/// An agent adds an internal note: kept in the thread, never sent to the customer.
#[derive(Message, Clone)]
#[rtype(result = "Result<Option<Value>, EngineError>")]
pub struct AddNote {
    /// Who writes it.
    pub agent: AgentId,
    /// The text.
    pub body: String,
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

/// An agent records a disposition.
#[derive(Message, Clone)]
#[rtype(result = "Result<Option<Value>, EngineError>")]
pub struct AddDisposition {
    /// The entry.
    pub entry: crate::conversation::DispositionEntry,
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

/// The owner saves the conversation for later.
#[derive(Message, Clone)]
#[rtype(result = "Result<Option<Value>, EngineError>")]
pub struct Snooze {
    /// The owner.
    pub agent: AgentId,
    /// Until when.
    pub until: i64,
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

/// Where a transfer goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferTarget {
    /// To an agent (offered to them first, then their queue serves it).
    Agent(AgentId),
    /// To another queue.
    Queue(crate::domain::QueueId),
    /// To another queue, offered first to this agent there.
    AgentInQueue(AgentId, crate::domain::QueueId),
}

/// The owner transfers the conversation, cold.
#[derive(Message, Clone)]
#[rtype(result = "Result<Option<Value>, EngineError>")]
pub struct Transfer {
    /// The owner.
    pub agent: AgentId,
    /// Where to.
    pub target: TransferTarget,
    /// Warm: the owner keeps it until the target agent accepts (agents only).
    pub warm: bool,
    /// A note for the target, kept in the thread.
    pub note: Option<String>,
    /// The supervisor doing it for the owner, if not the owner.
    pub by: Option<AgentId>,
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
            let entry = json!({
                "id": ulid::Ulid::new().to_string().to_lowercase(),
                "direction": "system",
                "kind": "transfer",
                "from_agent_id": msg.agent,
                "by_agent_id": msg.by,
                "to": target,
                "note": msg.note,
                "at": now,
            });
            let event = (
                "conversation.updated",
                json!({"conversation_id": c.id, "transferred": entry}),
            );
            Ok((followups, vec![event], Some(entry)))
        }))
    }
}

/// A supervisor offers a waiting conversation straight to an agent.
#[derive(Message, Clone)]
#[rtype(result = "Result<Option<Value>, EngineError>")]
pub struct OfferTo {
    /// The agent.
    pub agent: AgentId,
    /// The supervisor.
    pub by: AgentId,
    /// A note for the agent, kept in the thread.
    pub note: Option<String>,
}

impl Handler<OfferTo> for ConversationActor {
    type Result = AtomicResponse<Self, Result<Option<Value>, EngineError>>;

    fn handle(&mut self, msg: OfferTo, _: &mut Context<Self>) -> Self::Result {
        self.last_active = tokio::time::Instant::now();
        AtomicResponse::new(self.transition(move |c, now| {
            let followups = c.offer_to(&msg.agent, now)?;
            let entry = json!({
                "id": ulid::Ulid::new().to_string().to_lowercase(),
                "direction": "system",
                "kind": "transfer",
                "from_agent_id": null,
                "by_agent_id": msg.by,
                "to": {"agent_id": msg.agent},
                "note": msg.note,
                "at": now,
            });
            let event = (
                "conversation.updated",
                json!({"conversation_id": c.id, "transferred": entry}),
            );
            Ok((followups, vec![event], Some(entry)))
        }))
    }
}

/// A teammate subscribes to the conversation, or unsubscribes.
#[derive(Message, Clone)]
#[rtype(result = "Result<Option<Value>, EngineError>")]
pub struct Subscribe {
    /// The teammate.
    pub agent: AgentId,
    /// Subscribe (`true`) or unsubscribe.
    pub on: bool,
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

/// An agent takes the conversation without an offer (it already holds the slot).
#[derive(Message, Clone)]
#[rtype(result = "Result<Option<Value>, EngineError>")]
pub struct Claim {
    /// The agent.
    pub agent: AgentId,
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
