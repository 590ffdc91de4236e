//! The queue actor: owns one queue's [`QueueCore`] — its waiting line and the offers it made —
//! and carries out the core's effects: messages to agents and queues, offer timers, and what
//! happened to conversations.

use std::time::Duration;

use actix::{Actor, AsyncContext, Context, Handler, Message, MessageResult};

use super::Engine;
use super::agent_actor::AgentMail;
use super::conversation_actor::Routed;
use crate::domain::AgentId;
use crate::metrics::metrics;
use crate::routing::protocol::{Answer, Effects, Happened, OfferId, ToQueue};
use crate::routing::{AnswerError, Millis, QueueCore};

/// A protocol message for the queue.
#[derive(Message)]
#[rtype(result = "()")]
pub struct QueueMail(pub ToQueue);

/// An agent answers one of this queue's offers; the reply says whether it counted.
#[derive(Message)]
#[rtype(result = "Result<(), AnswerError>")]
pub struct AnswerOffer {
    /// The offer.
    pub offer: OfferId,
    /// Who answers.
    pub agent: AgentId,
    /// Accept or reject.
    pub answer: Answer,
}

/// Asks for the queue's observable state.
#[derive(Message)]
#[rtype(result = "QueueView")]
pub struct GetQueueView;

/// What a queue shows.
#[derive(Debug, Clone)]
pub struct QueueView {
    /// Conversations in line (not being offered).
    pub waiting: usize,
    /// The `waiting_since` of the head of the line.
    pub oldest_waiting_since: Option<Millis>,
    /// Pending offers: offer, conversation, agent.
    pub offers: Vec<(OfferId, crate::domain::ConversationId, AgentId)>,
    /// The first 100 conversations in line, in serving order, with their `waiting_since`.
    pub line: Vec<(crate::domain::ConversationId, Millis)>,
}

/// An offer's timer fired.
#[derive(Message)]
#[rtype(result = "()")]
struct OfferTimedOut {
    offer: OfferId,
    agent: AgentId,
}

/// One queue.
pub struct QueueActor {
    engine: Engine,
    core: QueueCore,
}

impl QueueActor {
    /// A queue actor around `core`.
    pub fn new(engine: Engine, core: QueueCore) -> Self {
        Self { engine, core }
    }

    /// Runs one decision of the core, timing it.
    fn decide<T>(&mut self, decide: impl FnOnce(&mut QueueCore, Millis) -> T) -> T {
        let started = std::time::Instant::now();
        let result = decide(&mut self.core, self.engine.now());
        metrics()
            .routing_decision
            .with_label_values(&[self.core.id().as_str()])
            .observe(started.elapsed().as_secs_f64());
        result
    }

    /// Refreshes the queue's gauges.
    fn gauges(&self) {
        let queue = self.core.id().as_str();
        let line = self.core.line();
        metrics()
            .queue_waiting
            .with_label_values(&[queue])
            .set(line.len() as i64);
        let longest = line.head().map_or(0, |head| {
            (self.engine.now() - head.waiting_since).max(0) / 1000
        });
        metrics()
            .queue_longest_wait
            .with_label_values(&[queue])
            .set(longest);
    }

    /// Counts what happened.
    fn count(&self, happened: &Happened) {
        let queue = self.core.id().as_str();
        let outcome = match happened {
            Happened::OfferCreated { conversation, .. } => {
                if let Some(key) = self.core.key_of(conversation) {
                    let waited = (self.engine.now() - key.waiting_since).max(0) as f64 / 1000.0;
                    metrics()
                        .offer_wait
                        .with_label_values(&[queue])
                        .observe(waited);
                }
                "created"
            }
            Happened::OfferEnded {
                answer: Some(Answer::Reject),
                ..
            } => "rejected",
            Happened::OfferEnded {
                answer: Some(Answer::Timeout),
                ..
            } => "expired",
            Happened::OfferEnded { .. } => "rescinded",
            Happened::Assigned { .. } => "accepted",
            Happened::AgentSetAway { .. } => return,
        };
        metrics().offers.with_label_values(&[queue, outcome]).inc();
    }

    /// Carries out a decision's effects.
    fn apply(&mut self, fx: Effects, ctx: &mut Context<Self>) {
        self.gauges();
        for (agent, message) in fx.to_agents {
            self.engine.send_to_agent(&agent, AgentMail(message));
        }
        for (queue, message) in fx.to_queues {
            self.engine.send_to_queue(&queue, QueueMail(message));
        }
        let now = self.engine.now();
        for happened in fx.happened {
            self.count(&happened);
            if let Happened::OfferCreated {
                offer,
                agent,
                expires_at,
                ..
            } = &happened
            {
                // A timer for an offer answered meanwhile finds it stale and does nothing, so
                // timers are never cancelled.
                let delay = Duration::from_millis(u64::try_from(expires_at - now).unwrap_or(0));
                ctx.notify_later(
                    OfferTimedOut {
                        offer: offer.clone(),
                        agent: agent.clone(),
                    },
                    delay,
                );
            }
            match &happened {
                Happened::OfferCreated { conversation, .. }
                | Happened::OfferEnded { conversation, .. }
                | Happened::Assigned { conversation, .. } => {
                    self.engine
                        .conversation_addr(conversation)
                        .do_send(Routed(happened));
                }
                Happened::AgentSetAway { .. } => {}
            }
        }
    }
}

impl Actor for QueueActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        // The queue's mailbox must never drop a routing message: they are sent with
        // `do_send`, which ignores the capacity, so the capacity only bounds `send`.
        ctx.set_mailbox_capacity(1024);
        // The longest wait grows with time alone: refresh it every second.
        ctx.run_interval(Duration::from_secs(1), |actor, _| actor.gauges());
    }
}

impl Handler<QueueMail> for QueueActor {
    type Result = ();

    fn handle(&mut self, QueueMail(message): QueueMail, ctx: &mut Context<Self>) {
        let fx = self.decide(|core, now| core.handle(message, now));
        self.apply(fx, ctx);
    }
}

impl Handler<AnswerOffer> for QueueActor {
    type Result = Result<(), AnswerError>;

    fn handle(&mut self, msg: AnswerOffer, ctx: &mut Context<Self>) -> Self::Result {
        let fx = self.decide(|core, now| core.answer(&msg.offer, &msg.agent, msg.answer, now))?;
        self.apply(fx, ctx);
        Ok(())
    }
}

impl Handler<OfferTimedOut> for QueueActor {
    type Result = ();

    fn handle(&mut self, msg: OfferTimedOut, ctx: &mut Context<Self>) {
        if let Ok(fx) = self
            .core
            .answer(&msg.offer, &msg.agent, Answer::Timeout, self.engine.now())
        {
            self.apply(fx, ctx);
        }
    }
}

impl Handler<GetQueueView> for QueueActor {
    type Result = MessageResult<GetQueueView>;

    fn handle(&mut self, _: GetQueueView, _: &mut Context<Self>) -> Self::Result {
        let line = self.core.line();
        MessageResult(QueueView {
            waiting: line.len(),
            oldest_waiting_since: line.head().map(|k| k.waiting_since),
            offers: self
                .core
                .pending_offers()
                .map(|(o, c, a)| (o.clone(), c.clone(), a.clone()))
                .collect(),
            line: line
                .iter()
                .take(100)
                .map(|k| (k.conversation.clone(), k.waiting_since))
                .collect(),
        })
    }
}
