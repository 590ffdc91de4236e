//! One queue's routing state and decisions: its waiting line, what it knows of its agents,
//! and the offers it has made. Pure: every input is a message and the time; every output is
//! [`Effects`].
//!
//! Invariants kept here:
//! - a conversation is either in line or out of line being offered, never both;
//! - outside broadcast, a conversation has at most one reservation or offer at a time;
//! - a conversation put back in line keeps its original `waiting_since`;
//! - the queue never counts on a slot the agent has not granted;
//! - an offer made by the strategy goes only to an agent with the skills the conversation
//!   needs at its escalation step (a transfer straight to an agent is the sender's choice).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use super::ended_offers::EndedOffers;
use super::explain;
use super::protocol::{
    AgentNews, Answer, Effects, EnqueueHint, Happened, OfferEnd, OfferId, RescindReason,
    StaleReason, ToAgent, ToQueue,
};
use super::skill_lines::{Placement, SkillLines};
use super::skills::{Escalation, Needs, Requirement, Skills};
use super::trace::{RoutingTrace, Selection, Unready};
use super::{Millis, RosterEntry, WaitKey, WaitingLine, pick_agents};
use crate::domain::{AgentId, ConversationId, QueueId, RoutingStrategy};

/// Why an answer to an offer was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    /// The offer is no longer pending (answered, expired or rescinded), or never was.
    #[error("offer {0} is no longer pending ({reason})", reason = .1.as_str())]
    Stale(OfferId, StaleReason),
    /// The offer was made to another agent.
    #[error("offer {0} belongs to another agent")]
    NotYours(OfferId),
}

/// A queue's routing settings, changeable while it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSettings {
    /// How the next agent is picked.
    pub strategy: RoutingStrategy,
    /// How long an agent has to answer an offer.
    pub offer_timeout: Millis,
    /// Offers an agent may let time out in a row before it is set away (0: never).
    pub missed_offers_before_away: u32,
    /// Skills every conversation of the queue needs (besides its own).
    pub required: Requirement,
    /// How requirements relax, and when a conversation overflows, as the customer waits.
    pub escalation: Escalation,
}

impl QueueSettings {
    /// Settings with this strategy and timeout, no skills and no escalation.
    pub fn plain(strategy: RoutingStrategy, offer_timeout: Millis, missed: u32) -> Self {
        Self {
            strategy,
            offer_timeout,
            missed_offers_before_away: missed,
            required: Requirement::none(),
            escalation: Escalation::none(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OfferState {
    /// Waiting for the agent to grant a slot.
    Reserving,
    /// Made to the agent; waiting for an answer until the timer.
    Offered,
}

#[derive(Debug, Clone)]
struct Pending {
    conversation: ConversationId,
    agent: AgentId,
    state: OfferState,
    /// Asked of the agent directly (a transfer), not picked by the strategy.
    directed: bool,
    /// Why this agent: recorded with the offer once granted.
    trace: Arc<RoutingTrace>,
}

/// A conversation out of line while it is being offered.
#[derive(Debug, Clone)]
struct OutOfLine {
    key: WaitKey,
    /// What it brings of its own (the queue's skills are added when it goes back in line).
    needs: Needs,
    offers: HashSet<OfferId>,
    /// Withdrawn while reservations were still unanswered: late grants are released.
    withdrawn: bool,
    /// A warm transfer of a conversation that was not waiting: when the offer ends without
    /// an accept, it does not go in line (its owner still has it).
    exclusive: bool,
}

/// One queue's routing state.
#[derive(Debug, Clone)]
pub struct QueueCore {
    id: QueueId,
    settings: QueueSettings,
    /// Every waiting conversation in serving order (the queue's figures and view).
    line: WaitingLine,
    /// The same conversations by the skills they need, with the ready agents who have them
    /// (the routing decisions).
    classes: SkillLines,
    /// The last state each agent reported, and its version.
    reported: HashMap<AgentId, AgentNews>,
    /// Agents who cannot take an offer now, by why (for the routing trace).
    unready: BTreeMap<Unready, BTreeSet<AgentId>>,
    /// Reservations asked of each agent and not yet answered: counted as load, so the queue
    /// never asks one agent for more slots than it has.
    asking: HashMap<AgentId, u16>,
    /// When this queue last asked each agent for a slot: an offer restarts the agent's idle
    /// time at once, before the agent's own news says so.
    asked_at: HashMap<AgentId, Millis>,
    out_of_line: HashMap<ConversationId, OutOfLine>,
    declined: HashMap<ConversationId, HashSet<AgentId>>,
    offers: HashMap<OfferId, Pending>,
    /// Agents to try first for a conversation, once.
    preferred: HashMap<ConversationId, AgentId>,
    /// How recent offers ended, to say why a late answer is stale.
    ended: EndedOffers,
    next_seq: u64,
}

impl QueueCore {
    /// An empty queue.
    pub fn new(id: QueueId, settings: QueueSettings) -> Self {
        Self {
            id,
            settings,
            line: WaitingLine::new(),
            classes: SkillLines::new(),
            reported: HashMap::new(),
            unready: BTreeMap::new(),
            asking: HashMap::new(),
            asked_at: HashMap::new(),
            out_of_line: HashMap::new(),
            declined: HashMap::new(),
            offers: HashMap::new(),
            preferred: HashMap::new(),
            ended: EndedOffers::default(),
            next_seq: 0,
        }
    }

    /// The queue's id.
    pub fn id(&self) -> &QueueId {
        &self.id
    }

    /// The queue's settings.
    pub fn settings(&self) -> &QueueSettings {
        &self.settings
    }

    /// Changes the settings; they apply from the next decision (offers already made keep
    /// their deadline). New skills or escalation steps re-place every waiting conversation;
    /// then the queue re-dispatches, since it may pick differently.
    pub fn configure(&mut self, settings: QueueSettings, now: Millis) -> Effects {
        let replace = settings.required != self.settings.required
            || settings.escalation != self.settings.escalation;
        self.settings = settings;
        let mut fx = Effects::default();
        if replace {
            let waiting: Vec<(WaitKey, Needs)> = self
                .line
                .iter()
                .map(|key| (key.clone(), self.own_needs(&key.conversation)))
                .collect();
            for (key, need) in waiting {
                self.place(key, need, now, &mut fx);
            }
        }
        self.dispatch(now, &mut fx);
        fx
    }

    /// How many agents could take an offer now.
    pub fn ready_agents(&self) -> usize {
        self.classes.ready().len()
    }

    /// When the next escalation step of a waiting conversation is due: the caller calls
    /// [`QueueCore::escalate`] then.
    pub fn next_escalation(&self) -> Option<Millis> {
        self.classes.next_due()
    }

    /// Applies every escalation step due at `now`: relaxed conversations move to the line
    /// of what they need now, and overflowing ones leave for their next queue.
    pub fn escalate(&mut self, now: Millis) -> Effects {
        let mut fx = Effects::default();
        for conversation in self.classes.due_at(now) {
            if let Some(key) = self.line.get(&conversation).cloned() {
                let needs = self.own_needs(&conversation);
                self.place(key, needs, now, &mut fx);
            }
        }
        self.dispatch(now, &mut fx);
        fx
    }

    /// What a waiting conversation brings of its own (without the queue's skills).
    fn own_needs(&self, conversation: &ConversationId) -> Needs {
        self.classes
            .placement(conversation)
            .map(|p| p.own.clone())
            .unwrap_or_default()
    }

    /// Where a waiting conversation is placed: what it needs, the class it waits in, its
    /// escalation step.
    pub fn placement(&self, conversation: &ConversationId) -> Option<&Placement> {
        self.classes.placement(conversation)
    }

    /// Tags a conversation with its campaign for the per-campaign figures.
    pub fn tag(&mut self, conversation: ConversationId, campaign: &str) {
        self.line.tag(conversation, campaign);
    }

    /// Forgets a conversation's campaign: the queue no longer holds it.
    pub fn untag(&mut self, conversation: &ConversationId) {
        self.line.untag(conversation);
    }

    /// The waiting line (conversations not being offered).
    pub fn line(&self) -> &WaitingLine {
        &self.line
    }

    /// Pending offers (granted and waiting for an answer): offer, conversation, agent.
    pub fn pending_offers(&self) -> impl Iterator<Item = (&OfferId, &ConversationId, &AgentId)> {
        self.offers
            .iter()
            .filter(|(_, p)| p.state == OfferState::Offered)
            .map(|(id, p)| (id, &p.conversation, &p.agent))
    }

    /// Whether the conversation is in line or being offered here (a withdrawn one whose
    /// reservation is still unanswered is not: its grant will only be given back).
    pub fn holds(&self, conversation: &ConversationId) -> bool {
        self.line.contains(conversation)
            || self
                .out_of_line
                .get(conversation)
                .is_some_and(|out| !out.withdrawn)
    }

    /// The key a conversation holds here, in line or out.
    pub fn key_of(&self, conversation: &ConversationId) -> Option<&WaitKey> {
        self.line
            .get(conversation)
            .or_else(|| self.out_of_line.get(conversation).map(|o| &o.key))
    }

    /// Handles one message. Answers to offers go through [`QueueCore::answer`], which can
    /// refuse; a refused answer sent as a message is ignored.
    pub fn handle(&mut self, message: ToQueue, now: Millis) -> Effects {
        let mut fx = Effects::default();
        match message {
            ToQueue::Enqueue {
                conversation,
                priority,
                waiting_since,
                needs,
                hint,
            } => {
                let key = WaitKey {
                    priority,
                    waiting_since,
                    conversation,
                };
                self.enqueue(key, needs, hint, now, &mut fx);
            }
            ToQueue::Withdraw { conversation } => self.withdraw(&conversation, now, &mut fx),
            ToQueue::Rescind {
                offer,
                agent,
                reason,
            } => self.rescind(&offer, &agent, reason, now, &mut fx),
            ToQueue::AgentChanged(news) => self.apply_news(news),
            ToQueue::Reserved {
                offer,
                granted,
                news,
            } => {
                self.apply_news(news);
                self.reserved(offer, granted, now, &mut fx);
            }
            ToQueue::Answered {
                offer,
                agent,
                answer,
            } => {
                if let Ok(more) = self.answer(&offer, &agent, answer, now) {
                    fx = more;
                }
            }
            ToQueue::Peek {
                agent,
                round,
                skills,
            } => {
                let head = self.oldest_for(&agent, &skills).cloned();
                fx.to_agents.push((
                    agent,
                    ToAgent::Oldest {
                        queue: self.id.clone(),
                        round,
                        head,
                    },
                ));
            }
            ToQueue::Pull {
                agent,
                round,
                skills,
            } => {
                match self
                    .oldest_for(&agent, &skills)
                    .map(|k| k.conversation.clone())
                {
                    Some(conversation) => {
                        let trace = self.trace(
                            &conversation,
                            Selection::Pulled,
                            std::slice::from_ref(&agent),
                            now,
                        );
                        let (key, needs) = self
                            .take_from_line(&conversation)
                            .expect("the oldest is in line");
                        self.take_out_of_line(key, needs, false);
                        self.ask(conversation, agent, Some(round), trace, now, &mut fx);
                    }
                    None => fx.to_agents.push((agent, ToAgent::PullEmpty { round })),
                }
            }
        }
        self.dispatch(now, &mut fx);
        fx
    }

    fn enqueue(
        &mut self,
        key: WaitKey,
        needs: Needs,
        hint: EnqueueHint,
        now: Millis,
        fx: &mut Effects,
    ) {
        let conversation = key.conversation.clone();
        match hint {
            EnqueueHint::None => {}
            EnqueueHint::OfferFirstTo(agent) => {
                self.preferred.insert(conversation.clone(), agent);
            }
            EnqueueHint::NotTo(agent) => {
                self.declined
                    .entry(conversation.clone())
                    .or_default()
                    .insert(agent);
            }
            EnqueueHint::Direct {
                agent,
                warm,
                sender,
            } => {
                if let Some(sender) = sender {
                    self.declined
                        .entry(conversation.clone())
                        .or_default()
                        .insert(sender);
                }
                if self.out_of_line.contains_key(&conversation) {
                    // Being offered already (a public conversation): served as it is.
                    return;
                }
                let was_waiting = self.take_from_line(&conversation);
                let exclusive = warm && was_waiting.is_none();
                let key = match was_waiting {
                    Some((old, _)) => WaitKey {
                        waiting_since: old.waiting_since.min(key.waiting_since),
                        ..key
                    },
                    None => key,
                };
                let trace = self.direct_trace(&key, &needs.skills, &agent, now);
                self.take_out_of_line(key, needs, exclusive);
                self.ask(conversation, agent, None, trace, now, fx);
                return;
            }
        }
        match self.out_of_line.get_mut(&conversation) {
            // Being offered already: it keeps its earliest time and stays served.
            Some(out) => {
                out.key.waiting_since = out.key.waiting_since.min(key.waiting_since);
                out.key.priority = key.priority;
                out.needs = needs;
                out.withdrawn = false;
            }
            None => {
                let key = match self.line.get(&conversation) {
                    // In line already: it keeps its earlier time, and takes the new priority.
                    Some(old) => WaitKey {
                        waiting_since: old.waiting_since.min(key.waiting_since),
                        ..key
                    },
                    None => key,
                };
                self.place(key, needs, now, fx);
            }
        }
    }

    /// Puts (or moves) a conversation in line: in the class of what it needs at its
    /// escalation step now, or — when that step is an overflow — out of this queue.
    fn place(&mut self, key: WaitKey, own: Needs, now: Millis, fx: &mut Effects) {
        let mut step = self.settings.escalation.at(key.waiting_since, now);
        // Never back to a queue it overflowed out of (nor to this one): overflow steps
        // cannot send a conversation round in a loop. It stays, relaxed as far as it got.
        if step
            .overflow
            .as_ref()
            .is_some_and(|to| *to == self.id || own.no_overflow_to.contains(to))
        {
            step.overflow = None;
        }
        if let Some(to) = step.overflow.clone() {
            self.take_from_line(&key.conversation);
            self.preferred.remove(&key.conversation);
            self.declined.remove(&key.conversation);
            fx.happened.push(Happened::Overflowed {
                conversation: key.conversation,
                from: self.id.clone(),
                to,
            });
            return;
        }
        let need = self.settings.required.and(&own.skills);
        let placement = Placement {
            class: need.relaxed(step.relax),
            need,
            own,
            step,
        };
        self.line
            .insert(key.conversation.clone(), key.priority, key.waiting_since);
        let key = self.line.get(&key.conversation).expect("inserted").clone();
        self.classes.insert(key, placement);
    }

    /// Takes a conversation out of line: its key and what it brings of its own.
    fn take_from_line(&mut self, conversation: &ConversationId) -> Option<(WaitKey, Needs)> {
        let key = self.line.remove(conversation)?;
        let own = self
            .classes
            .remove(conversation)
            .map(|(_, placement)| placement.own)
            .unwrap_or_default();
        Some((key, own))
    }

    /// Answers a pending offer on behalf of its agent (or its timer).
    pub fn answer(
        &mut self,
        offer: &OfferId,
        agent: &AgentId,
        answer: Answer,
        now: Millis,
    ) -> Result<Effects, AnswerError> {
        let pending = match self.offers.get(offer) {
            Some(p) if p.state == OfferState::Offered => p,
            _ => return Err(self.stale(offer, agent)),
        };
        if pending.agent != *agent {
            return Err(AnswerError::NotYours(offer.clone()));
        }
        let pending = self.offers.remove(offer).expect("checked above");
        let mut fx = Effects::default();
        match answer {
            Answer::Accept => {
                self.ended
                    .remember(offer, &pending.agent, StaleReason::Taken);
                let out = self.out_of_line.remove(&pending.conversation);
                self.declined.remove(&pending.conversation);
                // Broadcast: every other offer of the conversation is rescinded.
                for other in out
                    .into_iter()
                    .flat_map(|o| o.offers)
                    .filter(|o| o != offer)
                {
                    self.end_offer(&other, RescindReason::Taken, &mut fx);
                }
                fx.to_agents.push((
                    pending.agent.clone(),
                    ToAgent::Assigned {
                        offer: offer.clone(),
                    },
                ));
                fx.happened.push(Happened::Assigned {
                    conversation: pending.conversation,
                    agent: pending.agent,
                    offer: offer.clone(),
                });
            }
            Answer::Reject | Answer::Timeout => {
                let (end, stale) = if answer == Answer::Timeout {
                    (OfferEnd::Expired, StaleReason::Expired)
                } else {
                    (OfferEnd::Rejected, StaleReason::Rejected)
                };
                self.ended.remember(offer, &pending.agent, stale);
                self.declined
                    .entry(pending.conversation.clone())
                    .or_default()
                    .insert(pending.agent.clone());
                fx.to_agents.push((
                    pending.agent.clone(),
                    ToAgent::Release {
                        offer: offer.clone(),
                        missed: (answer == Answer::Timeout)
                            .then_some(self.settings.missed_offers_before_away),
                    },
                ));
                fx.happened.push(Happened::OfferEnded {
                    offer: offer.clone(),
                    conversation: pending.conversation.clone(),
                    agent: pending.agent,
                    end,
                });
                self.forget_offer(&pending.conversation, offer, now, &mut fx);
            }
        }
        self.dispatch(now, &mut fx);
        Ok(fx)
    }

    /// Why `offer` cannot be answered by `agent` now.
    fn stale(&self, offer: &OfferId, agent: &AgentId) -> AnswerError {
        let reason = self
            .ended
            .reason(offer, agent)
            .unwrap_or(match self.offers.get(offer) {
                // Still being reserved: not made yet, so not answerable.
                Some(p) if p.agent != *agent => StaleReason::NotYours,
                _ => StaleReason::Unknown,
            });
        AnswerError::Stale(offer.clone(), reason)
    }

    /// The oldest conversation in line that `agent` (with `skills`) could take and has not
    /// declined.
    fn oldest_for(&self, agent: &AgentId, skills: &Skills) -> Option<&WaitKey> {
        self.classes.oldest_for(skills, |key| {
            !self
                .declined
                .get(&key.conversation)
                .is_some_and(|d| d.contains(agent))
        })
    }

    fn apply_news(&mut self, news: AgentNews) {
        if self
            .reported
            .get(&news.agent)
            .is_some_and(|old| old.version >= news.version)
        {
            return;
        }
        let agent = news.agent.clone();
        if let Some(Err(reason)) = self.reported.get(&agent).map(|old| &old.eligible)
            && let Some(agents) = self.unready.get_mut(reason)
        {
            agents.remove(&agent);
        }
        if let Err(reason) = news.eligible {
            self.unready
                .entry(reason)
                .or_default()
                .insert(agent.clone());
        }
        self.reported.insert(agent.clone(), news);
        self.refresh_roster(&agent);
    }

    /// Recomputes an agent's roster entry: its reported state plus what this queue is still
    /// asking of it, idle since the later of its own report and this queue's last ask.
    fn refresh_roster(&mut self, agent: &AgentId) {
        let asking = self.asking.get(agent).copied().unwrap_or(0);
        let asked_at = self.asked_at.get(agent).copied().unwrap_or(Millis::MIN);
        match self.reported.get(agent) {
            Some(AgentNews {
                eligible: Ok(entry),
                skills,
                ..
            }) => self.classes.upsert_agent(
                RosterEntry {
                    load: entry.load.saturating_add(asking),
                    idle_since: entry.idle_since.max(asked_at),
                    ..entry.clone()
                },
                skills.clone(),
            ),
            _ => self.classes.remove_agent(agent),
        }
    }

    fn take_out_of_line(&mut self, key: WaitKey, needs: Needs, exclusive: bool) {
        self.out_of_line.insert(
            key.conversation.clone(),
            OutOfLine {
                key,
                needs,
                offers: HashSet::new(),
                withdrawn: false,
                exclusive,
            },
        );
    }

    /// Offers conversations while agents can take them: each time, the head of whichever
    /// skill class serves first among those with a qualified agent ready.
    fn dispatch(&mut self, now: Millis, fx: &mut Effects) {
        while let Some((class, head)) = self.classes.servable() {
            let conversation = head.conversation.clone();
            let roster = self.classes.roster(class).expect("a servable class");
            let empty = HashSet::new();
            let declined = self.declined.get(&conversation).unwrap_or(&empty);
            // A preferred agent who can take it now gets it first, once; otherwise (away,
            // logged out, full, without the skills) the conversation is served as usual.
            let (agents, selection) = match self.preferred.remove(&conversation) {
                Some(agent) if roster.get(&agent).is_some() => (vec![agent], Selection::Preferred),
                _ => (
                    pick_agents(self.settings.strategy, roster, declined),
                    Selection::Strategy(self.settings.strategy),
                ),
            };
            let trace = self.trace(&conversation, selection, &agents, now);
            let (key, needs) = self
                .take_from_line(&conversation)
                .expect("the head is in line");
            self.take_out_of_line(key, needs, false);
            for agent in agents {
                self.ask(conversation.clone(), agent, None, trace.clone(), now, fx);
            }
        }
    }

    /// Why `chosen` got the conversation (still in line): see [`super::explain`].
    fn trace(
        &self,
        conversation: &ConversationId,
        selection: Selection,
        chosen: &[AgentId],
        now: Millis,
    ) -> Arc<RoutingTrace> {
        Arc::new(explain::decision(&explain::Decision {
            classes: &self.classes,
            unready: &self.unready,
            declined: self.declined.get(conversation),
            strategy: self.settings.strategy,
            key: self.line.get(conversation),
            placement: self.classes.placement(conversation),
            selection,
            chosen,
            now,
        }))
    }

    /// The trace of a transfer straight to `agent`: the sender chose, nothing was excluded.
    fn direct_trace(
        &self,
        key: &WaitKey,
        need: &Requirement,
        agent: &AgentId,
        now: Millis,
    ) -> Arc<RoutingTrace> {
        Arc::new(explain::direct(&self.classes, key, need, agent, now))
    }

    /// Asks `agent` for a slot for `conversation` (already out of line).
    fn ask(
        &mut self,
        conversation: ConversationId,
        agent: AgentId,
        round: Option<u64>,
        trace: Arc<RoutingTrace>,
        now: Millis,
        fx: &mut Effects,
    ) {
        // A transfer straight to the agent, not picked by the strategy.
        let directed = trace.selection == Selection::Direct;
        self.next_seq += 1;
        let offer = OfferId {
            queue: self.id.clone(),
            seq: self.next_seq,
        };
        self.offers.insert(
            offer.clone(),
            Pending {
                conversation: conversation.clone(),
                agent: agent.clone(),
                state: OfferState::Reserving,
                directed,
                trace,
            },
        );
        if let Some(out) = self.out_of_line.get_mut(&conversation) {
            out.offers.insert(offer.clone());
        }
        *self.asking.entry(agent.clone()).or_default() += 1;
        self.asked_at.insert(agent.clone(), now);
        self.refresh_roster(&agent);
        fx.to_agents.push((
            agent,
            ToAgent::Reserve {
                offer,
                conversation,
                round,
                directed,
            },
        ));
    }

    fn reserved(&mut self, offer: OfferId, granted: bool, now: Millis, fx: &mut Effects) {
        let Some(pending) = self.offers.get(&offer).cloned() else {
            return;
        };
        if pending.state != OfferState::Reserving {
            return;
        }
        if let Some(n) = self.asking.get_mut(&pending.agent) {
            *n = n.saturating_sub(1);
        }
        self.refresh_roster(&pending.agent);
        let out = self.out_of_line.get(&pending.conversation);
        let live = out.is_some_and(|o| !o.withdrawn);
        if granted && live {
            let expires_at = now + self.settings.offer_timeout;
            self.offers.insert(
                offer.clone(),
                Pending {
                    state: OfferState::Offered,
                    ..pending.clone()
                },
            );
            self.classes.note_offered(&pending.agent);
            fx.timers.push((expires_at, offer.clone()));
            fx.happened.push(Happened::OfferCreated {
                offer,
                conversation: pending.conversation,
                agent: pending.agent,
                expires_at,
                trace: pending.trace,
            });
            return;
        }
        self.offers.remove(&offer);
        if granted {
            // Granted for a conversation gone meanwhile: give the slot back.
            fx.to_agents.push((
                pending.agent.clone(),
                ToAgent::Release {
                    offer: offer.clone(),
                    missed: None,
                },
            ));
        } else if pending.directed && live {
            // The agent could not take the transfer after all (went away, filled up).
            fx.happened.push(Happened::DirectRefused {
                conversation: pending.conversation.clone(),
                agent: pending.agent.clone(),
                warm: out.is_some_and(|o| o.exclusive),
            });
        }
        self.forget_offer(&pending.conversation, &offer, now, fx);
    }

    /// Drops `offer` from its conversation; a conversation left with no offer goes back in
    /// line with its original key (or is forgotten, if withdrawn or a warm transfer).
    fn forget_offer(
        &mut self,
        conversation: &ConversationId,
        offer: &OfferId,
        now: Millis,
        fx: &mut Effects,
    ) {
        let Some(out) = self.out_of_line.get_mut(conversation) else {
            return;
        };
        out.offers.remove(offer);
        if out.offers.is_empty() {
            let out = self.out_of_line.remove(conversation).expect("present");
            if out.exclusive {
                // A warm transfer is offered once: declined or expired, it ends (the owner
                // still has the conversation).
                self.declined.remove(conversation);
                return;
            }
            if !out.withdrawn {
                self.place(out.key, out.needs, now, fx);
            }
        }
    }

    /// Ends a made offer without assignment, rescinding it; a reservation still unanswered
    /// is released when its grant arrives.
    fn end_offer(&mut self, offer: &OfferId, reason: RescindReason, fx: &mut Effects) {
        let Some(pending) = self.offers.get(offer).cloned() else {
            return;
        };
        if pending.state == OfferState::Offered {
            self.offers.remove(offer);
            let stale = match reason {
                RescindReason::Taken => StaleReason::Taken,
                _ => StaleReason::Rescinded,
            };
            self.ended.remember(offer, &pending.agent, stale);
            fx.to_agents.push((
                pending.agent.clone(),
                ToAgent::Release {
                    offer: offer.clone(),
                    missed: None,
                },
            ));
            fx.happened.push(Happened::OfferEnded {
                offer: offer.clone(),
                conversation: pending.conversation,
                agent: pending.agent,
                end: OfferEnd::Rescinded(reason),
            });
        }
    }

    /// The agent left `available`: its offer is taken back and the conversation served
    /// elsewhere (a warm transfer to it ends).
    fn rescind(
        &mut self,
        offer: &OfferId,
        agent: &AgentId,
        reason: RescindReason,
        now: Millis,
        fx: &mut Effects,
    ) {
        let Some(pending) = self.offers.get(offer).cloned() else {
            return;
        };
        if pending.agent != *agent || pending.state != OfferState::Offered {
            return;
        }
        self.end_offer(offer, reason, fx);
        self.forget_offer(&pending.conversation, offer, now, fx);
    }

    fn withdraw(&mut self, conversation: &ConversationId, now: Millis, fx: &mut Effects) {
        self.take_from_line(conversation);
        self.preferred.remove(conversation);
        self.declined.remove(conversation);
        let Some(out) = self.out_of_line.get_mut(conversation) else {
            return;
        };
        out.withdrawn = true;
        let offers: Vec<OfferId> = out.offers.iter().cloned().collect();
        for offer in offers {
            if self
                .offers
                .get(&offer)
                .is_some_and(|p| p.state == OfferState::Offered)
            {
                self.end_offer(&offer, RescindReason::Withdrawn, fx);
                self.forget_offer(conversation, &offer, now, fx);
            }
        }
    }
}
