//! One queue's routing state and decisions: its waiting line, what it knows of its agents,
//! and the offers it has made. Pure: every input is a message and the time; every output is
//! [`Effects`].
//!
//! Invariants kept here:
//! - a conversation is either in line or out of line being offered, never both;
//! - outside broadcast, a conversation has at most one reservation or offer at a time;
//! - a conversation put back in line keeps its original `waiting_since`;
//! - the queue never counts on a slot the agent has not granted.

use std::collections::{HashMap, HashSet};

use super::protocol::{
    AgentNews, Answer, Effects, EnqueueHint, Happened, OfferId, ToAgent, ToQueue,
};
use super::{AgentRoster, Millis, RosterEntry, WaitKey, WaitingLine, pick_agents};
use crate::domain::{AgentId, ConversationId, QueueId, RoutingStrategy};

/// Why an answer to an offer was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    /// The offer is no longer pending (answered, expired or rescinded), or never was.
    #[error("offer {0} is no longer pending")]
    Stale(OfferId),
    /// The offer was made to another agent.
    #[error("offer {0} belongs to another agent")]
    NotYours(OfferId),
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
}

/// A conversation out of line while it is being offered.
#[derive(Debug, Clone)]
struct OutOfLine {
    key: WaitKey,
    offers: HashSet<OfferId>,
    /// Withdrawn while reservations were still unanswered: late grants are released.
    withdrawn: bool,
    /// Offered to one agent only (a warm transfer): never goes back in line.
    exclusive: bool,
}

/// One queue's routing state.
#[derive(Debug, Clone)]
pub struct QueueCore {
    id: QueueId,
    strategy: RoutingStrategy,
    offer_timeout: Millis,
    line: WaitingLine,
    roster: AgentRoster,
    /// The last state each agent reported, and its version.
    reported: HashMap<AgentId, AgentNews>,
    /// Reservations asked of each agent and not yet answered: counted as load, so the queue
    /// never asks one agent for more slots than it has.
    asking: HashMap<AgentId, u16>,
    out_of_line: HashMap<ConversationId, OutOfLine>,
    declined: HashMap<ConversationId, HashSet<AgentId>>,
    offers: HashMap<OfferId, Pending>,
    /// Agents to try first for a conversation, once.
    preferred: HashMap<ConversationId, AgentId>,
    /// Conversations waiting for one agent only (warm transfers), with their key.
    exclusive: HashMap<ConversationId, (WaitKey, AgentId)>,
    next_seq: u64,
}

impl QueueCore {
    /// An empty queue.
    pub fn new(id: QueueId, strategy: RoutingStrategy, offer_timeout: Millis) -> Self {
        Self {
            id,
            strategy,
            offer_timeout,
            line: WaitingLine::new(),
            roster: AgentRoster::new(),
            reported: HashMap::new(),
            asking: HashMap::new(),
            out_of_line: HashMap::new(),
            declined: HashMap::new(),
            offers: HashMap::new(),
            preferred: HashMap::new(),
            exclusive: HashMap::new(),
            next_seq: 0,
        }
    }

    /// The queue's id.
    pub fn id(&self) -> &QueueId {
        &self.id
    }

    /// How many agents could take an offer now.
    pub fn ready_agents(&self) -> usize {
        self.roster.len()
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

    /// Whether the conversation is in line or being offered here.
    pub fn holds(&self, conversation: &ConversationId) -> bool {
        self.line.contains(conversation)
            || self.out_of_line.contains_key(conversation)
            || self.exclusive.contains_key(conversation)
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
                hint,
            } => {
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
                    EnqueueHint::OnlyTo(agent) => {
                        if !self.holds(&conversation) {
                            let key = WaitKey {
                                priority,
                                waiting_since,
                                conversation: conversation.clone(),
                            };
                            self.exclusive.insert(conversation, (key, agent));
                        }
                        self.dispatch(&mut fx);
                        return fx;
                    }
                }
                match self.out_of_line.get_mut(&conversation) {
                    // Being offered already: it keeps its earliest time and stays served.
                    Some(out) => {
                        out.key.waiting_since = out.key.waiting_since.min(waiting_since);
                        out.withdrawn = false;
                    }
                    None => self.line.insert(conversation, priority, waiting_since),
                }
            }
            ToQueue::Withdraw { conversation } => self.withdraw(&conversation, &mut fx),
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
            ToQueue::Peek { agent, round } => {
                let head = self.oldest_for(&agent).cloned();
                fx.to_agents.push((
                    agent,
                    ToAgent::Oldest {
                        queue: self.id.clone(),
                        round,
                        head,
                    },
                ));
            }
            ToQueue::Pull { agent, round } => {
                match self.oldest_for(&agent).map(|k| k.conversation.clone()) {
                    Some(conversation) => {
                        let key = self
                            .line
                            .remove(&conversation)
                            .expect("the oldest is in line");
                        self.out_of_line.insert(
                            conversation.clone(),
                            OutOfLine {
                                key,
                                offers: HashSet::new(),
                                withdrawn: false,
                                exclusive: false,
                            },
                        );
                        self.ask(conversation, agent, Some(round), &mut fx);
                    }
                    None => fx.to_agents.push((agent, ToAgent::PullEmpty { round })),
                }
            }
        }
        self.dispatch(&mut fx);
        fx
    }

    /// Answers a pending offer on behalf of its agent (or its timer).
    pub fn answer(
        &mut self,
        offer: &OfferId,
        agent: &AgentId,
        answer: Answer,
        _now: Millis,
    ) -> Result<Effects, AnswerError> {
        let pending = match self.offers.get(offer) {
            Some(p) if p.state == OfferState::Offered => p,
            _ => return Err(AnswerError::Stale(offer.clone())),
        };
        if pending.agent != *agent {
            return Err(AnswerError::NotYours(offer.clone()));
        }
        let pending = self.offers.remove(offer).expect("checked above");
        let mut fx = Effects::default();
        match answer {
            Answer::Accept => {
                let out = self.out_of_line.remove(&pending.conversation);
                self.declined.remove(&pending.conversation);
                // Broadcast: every other offer of the conversation is rescinded.
                for other in out
                    .into_iter()
                    .flat_map(|o| o.offers)
                    .filter(|o| o != offer)
                {
                    self.end_offer(&other, None, &mut fx);
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
                self.declined
                    .entry(pending.conversation.clone())
                    .or_default()
                    .insert(pending.agent.clone());
                fx.to_agents.push((
                    pending.agent.clone(),
                    ToAgent::Release {
                        offer: offer.clone(),
                        timed_out: answer == Answer::Timeout,
                    },
                ));
                fx.happened.push(Happened::OfferEnded {
                    offer: offer.clone(),
                    conversation: pending.conversation.clone(),
                    agent: pending.agent,
                    answer: Some(answer),
                });
                self.forget_offer(&pending.conversation, offer, None);
            }
        }
        self.dispatch(&mut fx);
        Ok(fx)
    }

    /// The oldest conversation in line that `agent` has not declined.
    fn oldest_for(&self, agent: &AgentId) -> Option<&WaitKey> {
        self.line.first_where(|key| {
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
        self.reported.insert(agent.clone(), news);
        self.refresh_roster(&agent);
    }

    /// Recomputes an agent's roster entry: its reported state plus what this queue is still
    /// asking of it.
    fn refresh_roster(&mut self, agent: &AgentId) {
        let asking = self.asking.get(agent).copied().unwrap_or(0);
        match self.reported.get(agent).and_then(|n| n.eligible.clone()) {
            Some(entry) => self.roster.upsert(RosterEntry {
                load: entry.load.saturating_add(asking),
                ..entry
            }),
            None => self.roster.remove(agent),
        }
    }

    /// Offers conversations from the head of the line while agents can take them.
    fn dispatch(&mut self, fx: &mut Effects) {
        // Warm transfers first: each waits for its one agent.
        let ready: Vec<ConversationId> = self
            .exclusive
            .iter()
            .filter(|(_, (_, agent))| self.roster.get(agent).is_some())
            .map(|(conversation, _)| conversation.clone())
            .collect();
        for conversation in ready {
            let (key, agent) = self.exclusive.remove(&conversation).expect("listed above");
            self.out_of_line.insert(
                conversation.clone(),
                OutOfLine {
                    key,
                    offers: HashSet::new(),
                    withdrawn: false,
                    exclusive: true,
                },
            );
            self.ask(conversation, agent, None, fx);
        }
        while let Some(head) = self.line.head() {
            let conversation = head.conversation.clone();
            let empty = HashSet::new();
            let declined = self.declined.get(&conversation).unwrap_or(&empty);
            // A preferred agent who can take it now gets it first, once; otherwise (away,
            // logged out, full) the conversation is served as usual.
            let agents = match self.preferred.remove(&conversation) {
                Some(agent) if self.roster.get(&agent).is_some() => vec![agent],
                _ => pick_agents(self.strategy, &self.roster, declined),
            };
            if agents.is_empty() {
                break;
            }
            let key = self
                .line
                .remove(&conversation)
                .expect("the head is in line");
            self.out_of_line.insert(
                conversation.clone(),
                OutOfLine {
                    key,
                    offers: HashSet::new(),
                    withdrawn: false,
                    exclusive: false,
                },
            );
            for agent in agents {
                self.ask(conversation.clone(), agent, None, fx);
            }
        }
    }

    /// Asks `agent` for a slot for `conversation` (already out of line).
    fn ask(
        &mut self,
        conversation: ConversationId,
        agent: AgentId,
        round: Option<u64>,
        fx: &mut Effects,
    ) {
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
            },
        );
        if let Some(out) = self.out_of_line.get_mut(&conversation) {
            out.offers.insert(offer.clone());
        }
        *self.asking.entry(agent.clone()).or_default() += 1;
        self.refresh_roster(&agent);
        fx.to_agents.push((
            agent,
            ToAgent::Reserve {
                offer,
                conversation,
                round,
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
        let live = self
            .out_of_line
            .get(&pending.conversation)
            .is_some_and(|o| !o.withdrawn);
        if granted && live {
            let expires_at = now + self.offer_timeout;
            self.offers.insert(
                offer.clone(),
                Pending {
                    state: OfferState::Offered,
                    ..pending.clone()
                },
            );
            self.roster.note_offered(&pending.agent);
            fx.timers.push((expires_at, offer.clone()));
            fx.happened.push(Happened::OfferCreated {
                offer,
                conversation: pending.conversation,
                agent: pending.agent,
                expires_at,
            });
            return;
        }
        self.offers.remove(&offer);
        let retry_with = (!granted).then(|| pending.agent.clone());
        if granted {
            // Granted for a conversation gone meanwhile: give the slot back.
            fx.to_agents.push((
                pending.agent,
                ToAgent::Release {
                    offer: offer.clone(),
                    timed_out: false,
                },
            ));
        }
        self.forget_offer(&pending.conversation, &offer, retry_with);
    }

    /// Drops `offer` from its conversation; a conversation left with no offer goes back in
    /// line with its original key (or is forgotten, if withdrawn).
    /// `retry_with` is the agent whose reservation was refused: a warm transfer waits for them
    /// again; `None` after a decline, an expiry or a withdrawal.
    fn forget_offer(
        &mut self,
        conversation: &ConversationId,
        offer: &OfferId,
        retry_with: Option<AgentId>,
    ) {
        let Some(out) = self.out_of_line.get_mut(conversation) else {
            return;
        };
        out.offers.remove(offer);
        if out.offers.is_empty() {
            let out = self.out_of_line.remove(conversation).expect("present");
            if out.exclusive {
                // A warm transfer is offered once: declined or expired, it ends (the owner
                // still has the conversation); a refused reservation waits for the agent.
                if let (false, Some(agent)) = (out.withdrawn, retry_with) {
                    self.exclusive
                        .insert(conversation.clone(), (out.key, agent));
                }
                return;
            }
            if !out.withdrawn {
                self.line.insert(
                    out.key.conversation,
                    out.key.priority,
                    out.key.waiting_since,
                );
            }
        }
    }

    /// Ends an offer without assignment: rescinds a made offer; a reservation still
    /// unanswered is released when its grant arrives.
    fn end_offer(&mut self, offer: &OfferId, answer: Option<Answer>, fx: &mut Effects) {
        let Some(pending) = self.offers.get(offer).cloned() else {
            return;
        };
        if pending.state == OfferState::Offered {
            self.offers.remove(offer);
            fx.to_agents.push((
                pending.agent.clone(),
                ToAgent::Release {
                    offer: offer.clone(),
                    timed_out: false,
                },
            ));
            fx.happened.push(Happened::OfferEnded {
                offer: offer.clone(),
                conversation: pending.conversation,
                agent: pending.agent,
                answer,
            });
        }
    }

    fn withdraw(&mut self, conversation: &ConversationId, fx: &mut Effects) {
        self.line.remove(conversation);
        self.exclusive.remove(conversation);
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
                self.end_offer(&offer, None, fx);
                self.forget_offer(conversation, &offer, None);
            }
        }
    }
}
