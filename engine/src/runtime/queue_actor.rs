//! The queue actor: owns one queue's [`QueueCore`] — its waiting line and the offers it made —
//! and carries out the core's effects: messages to agents and queues, offer timers, and what
//! happened to conversations.

use super::messages::*;
use std::time::Duration;

use std::collections::BTreeMap;

use actix::{
    Actor, ActorFutureExt, AsyncContext, Context, Handler, MessageResult, SpawnHandle, WrapFuture,
};

use super::actor_services::ActorServices;
use super::messages::AgentMail;
use super::messages::Routed;
use crate::domain::{AgentId, QueueId};
use crate::metrics::metrics;
use crate::routing::protocol::{Answer, Effects, Happened, OfferEnd, OfferId, ToQueue};
use crate::routing::{AnswerError, Millis, QueueCore};
use crate::store::Store;

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
    /// Agents who could take an offer now (available, logged in, with a free slot).
    pub agents_ready: usize,
    /// Conversations in line per campaign (the beacon), by campaign name.
    pub waiting_by_campaign: BTreeMap<String, usize>,
    /// Today's (UTC) offers by outcome (`created`, `accepted`, `rejected`, `expired`,
    /// `rescinded`), kept across restarts.
    pub offers_by_outcome: BTreeMap<String, u64>,
}

/// The outcome an offer event counts as in a queue's figures, and the queue.
pub(super) fn offer_outcome(happened: &Happened) -> Option<(&QueueId, &'static str)> {
    match happened {
        Happened::OfferCreated { offer, .. } => Some((&offer.queue, "created")),
        Happened::OfferEnded { offer, end, .. } => Some((
            &offer.queue,
            match end {
                OfferEnd::Rejected => "rejected",
                OfferEnd::Expired => "expired",
                OfferEnd::Rescinded(_) => "rescinded",
            },
        )),
        Happened::Assigned { offer, .. } => Some((&offer.queue, "accepted")),
        Happened::AgentSetAway { .. }
        | Happened::DirectRefused { .. }
        | Happened::Overflowed { .. } => None,
    }
}

/// Whose daily figures a queue's are, in the store's counters.
pub(super) fn figures_scope(queue: &QueueId) -> String {
    format!("queue:{queue}")
}

/// The UTC day of `at`, `YYYY-MM-DD`: daily figures are kept per UTC day.
/// The UTC day of `at` as a number (days since the epoch): cheap to compare on every offer.
fn day_number(at: Millis) -> i64 {
    at.div_euclid(86_400_000)
}

/// The UTC day of `at`, `YYYY-MM-DD`, as the daily counters' keys name it.
pub(super) fn utc_day(at: Millis) -> String {
    chrono::DateTime::from_timestamp_millis(at)
        .map(|t| t.date_naive().to_string())
        .unwrap_or_default()
}

/// One queue.
pub struct QueueActor {
    services: ActorServices,
    core: QueueCore,
    /// Offer deadlines, earliest first. One actix timer serves them all: actix polls every
    /// future an actor has spawned on each message, so a timer per offer would make each
    /// message cost as much as the number of pending offers.
    deadlines: BTreeMap<(Millis, OfferId), AgentId>,
    /// When the one timer is set to fire, and its handle.
    wake: Option<(Millis, SpawnHandle)>,
    /// Today's offers by outcome (loaded from the store's daily counters at start).
    outcomes: BTreeMap<String, u64>,
    /// The UTC day `outcomes` counts.
    outcomes_day: i64,
}

impl QueueActor {
    /// A queue actor around `core`.
    pub fn new(services: ActorServices, core: QueueCore) -> Self {
        Self {
            services,
            core,
            deadlines: BTreeMap::new(),
            wake: None,
            outcomes: BTreeMap::new(),
            outcomes_day: i64::MIN,
        }
    }

    /// Runs one decision of the core, timing it.
    fn decide<T>(&mut self, decide: impl FnOnce(&mut QueueCore, Millis) -> T) -> T {
        let started = std::time::Instant::now();
        let result = decide(&mut self.core, self.services.now());
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
            (self.services.now() - head.waiting_since).max(0) / 1000
        });
        metrics()
            .queue_longest_wait
            .with_label_values(&[queue])
            .set(longest);
    }

    /// Counts what happened: the metric, and today's figures (the durable copy is counted
    /// by the conversation's commit of the same event).
    fn count(&mut self, happened: &Happened) {
        match happened {
            Happened::Assigned { conversation, .. } | Happened::Overflowed { conversation, .. } => {
                self.core.untag(conversation);
            }
            // A warm transfer that ended leaves nothing here.
            Happened::OfferEnded { conversation, .. }
            | Happened::DirectRefused { conversation, .. }
                if !self.core.holds(conversation) =>
            {
                self.core.untag(conversation);
            }
            _ => {}
        }
        let queue = self.core.id().as_str();
        if let Happened::OfferCreated { conversation, .. } = happened
            && let Some(key) = self.core.key_of(conversation)
        {
            let waited = (self.services.now() - key.waiting_since).max(0) as f64 / 1000.0;
            metrics()
                .offer_wait
                .with_label_values(&[queue])
                .observe(waited);
        }
        let Some((_, outcome)) = offer_outcome(happened) else {
            return;
        };
        metrics().offers.with_label_values(&[queue, outcome]).inc();
        if let Happened::OfferEnded {
            agent,
            end: OfferEnd::Expired,
            ..
        } = happened
        {
            metrics()
                .agent_missed_offers
                .with_label_values(&[agent.as_str()])
                .inc();
        }
        let today = day_number(self.services.now());
        if today != self.outcomes_day {
            // A new day's figures start from zero.
            self.outcomes.clear();
            self.outcomes_day = today;
        }
        *self.outcomes.entry(outcome.to_owned()).or_default() += 1;
    }

    /// Arms an offer's deadline. An offer answered meanwhile finds its deadline stale and
    /// nothing happens, so deadlines are never cancelled.
    fn arm(&mut self, at: Millis, offer: OfferId, agent: AgentId, ctx: &mut Context<Self>) {
        self.deadlines.insert((at, offer), agent);
        self.reschedule(ctx);
    }

    /// Sets the one timer for the earliest offer deadline or escalation step, if it is not
    /// set for it already.
    fn reschedule(&mut self, ctx: &mut Context<Self>) {
        let deadline = self.deadlines.first_key_value().map(|((at, _), _)| *at);
        let Some(next) = [deadline, self.core.next_escalation()]
            .into_iter()
            .flatten()
            .min()
        else {
            return;
        };
        if let Some((at, handle)) = self.wake {
            if at <= next {
                return;
            }
            ctx.cancel_future(handle);
        }
        let delay = Duration::from_millis(u64::try_from(next - self.services.now()).unwrap_or(0));
        let handle = ctx.run_later(delay, |actor, ctx| {
            actor.wake = None;
            actor.expire_due(ctx);
        });
        self.wake = Some((next, handle));
    }

    /// Times out every offer whose deadline has passed, and applies the escalation steps
    /// that came.
    fn expire_due(&mut self, ctx: &mut Context<Self>) {
        let now = self.services.now();
        while let Some(entry) = self.deadlines.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let ((_, offer), agent) = entry.remove_entry();
            if let Ok(fx) =
                self.decide(|core, now| core.answer(&offer, &agent, Answer::Timeout, now))
            {
                self.apply(fx, ctx);
            }
        }
        if self.core.next_escalation().is_some_and(|at| at <= now) {
            let fx = self.decide(|core, now| core.escalate(now));
            self.apply(fx, ctx);
        }
        self.reschedule(ctx);
    }

    /// Carries out a decision's effects.
    fn apply(&mut self, fx: Effects, ctx: &mut Context<Self>) {
        self.gauges();
        for (agent, message) in fx.to_agents {
            self.services.send_to_agent(&agent, AgentMail(message));
        }
        for (queue, message) in fx.to_queues {
            self.services.send_to_queue(&queue, QueueMail(message));
        }
        for happened in fx.happened {
            self.count(&happened);
            if let Happened::OfferCreated {
                offer,
                agent,
                expires_at,
                ..
            } = &happened
            {
                self.arm(*expires_at, offer.clone(), agent.clone(), ctx);
            }
            match &happened {
                Happened::OfferCreated { conversation, .. }
                | Happened::OfferEnded { conversation, .. }
                | Happened::Assigned { conversation, .. }
                | Happened::DirectRefused { conversation, .. }
                | Happened::Overflowed { conversation, .. } => {
                    self.services
                        .conversation_addr(conversation)
                        .do_send(Routed(happened));
                }
                Happened::AgentSetAway { .. } => {}
            }
        }
        // A decision may have put a conversation in line whose escalation comes sooner.
        self.reschedule(ctx);
    }
}

impl Actor for QueueActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        // The queue's mailbox must never drop a routing message: they are sent with
        // `do_send`, which ignores the capacity, so the capacity only bounds `send`.
        ctx.set_mailbox_capacity(1024);
        metrics().touch_queue(self.core.id().as_str());
        // Today's figures so far, as the store counted them: they survive a restart. Nothing
        // is handled until they are read, so no count is lost or doubled.
        let store = self.services.store().clone();
        let now = self.services.now();
        let day = utc_day(now);
        let scope = figures_scope(self.core.id());
        ctx.wait(
            async move { store.counters(&scope, &day).await }
                .into_actor(self)
                .map(move |loaded, actor, _| {
                    match loaded {
                        Ok(counts) => {
                            actor.outcomes = counts
                                .into_iter()
                                .filter(|(field, _)| {
                                    crate::stats::offer_minutes::is_day_total(field)
                                })
                                .collect();
                        }
                        Err(e) => {
                            tracing::warn!(queue_id = %actor.core.id(), error = %e, "today's offer figures not loaded")
                        }
                    }
                    actor.outcomes_day = day_number(now);
                }),
        );
        // The longest wait grows with time alone: refresh it every second.
        ctx.run_interval(Duration::from_secs(1), |actor, _| actor.gauges());
    }
}

impl Handler<QueueMail> for QueueActor {
    type Result = ();

    fn handle(&mut self, QueueMail(message): QueueMail, ctx: &mut Context<Self>) {
        if let ToQueue::Withdraw { conversation } = &message {
            self.core.untag(conversation);
        }
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

impl Handler<Configure> for QueueActor {
    type Result = ();

    fn handle(&mut self, Configure(settings): Configure, ctx: &mut Context<Self>) {
        if settings == *self.core.settings() {
            return;
        }
        let fx = self.decide(|core, now| core.configure(settings, now));
        self.apply(fx, ctx);
    }
}

impl Handler<TagCampaign> for QueueActor {
    type Result = ();

    fn handle(&mut self, msg: TagCampaign, _: &mut Context<Self>) {
        self.core.tag(msg.conversation, &msg.campaign);
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
            agents_ready: self.core.ready_agents(),
            waiting_by_campaign: line
                .waiting_by_tag()
                .map(|(campaign, count)| (campaign.to_owned(), count))
                .collect(),
            offers_by_outcome: self.outcomes.clone(),
        })
    }
}
