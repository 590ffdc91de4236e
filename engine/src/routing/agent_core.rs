//! One agent's routing state: presence, queue logins, capacity and load. The agent alone
//! grants slots, so its capacity holds however many queues offer at once.
//!
//! Invariants kept here:
//! - load (reserved plus owned) never exceeds capacity;
//! - slots are granted only while available and logged into the asking queue;
//! - a freed slot is filled from the oldest conversation across the agent's queues: the agent
//!   asks each queue for its oldest ([`ToQueue::Peek`]), then pulls from the oldest, and
//!   refuses pushed reservations meanwhile.

use std::collections::{BTreeSet, HashMap};

use super::protocol::{AgentNews, Effects, Happened, OfferId, RescindReason, ToAgent, ToQueue};
use super::skills::Skills;
use super::trace::Unready;
use super::{Millis, RosterEntry, WaitKey};
use crate::domain::{AgentId, ConversationId, MISSED_OFFERS_REASON, Presence, QueueId};

/// Why an agent command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AgentError {
    /// Taking one more conversation would exceed the agent's capacity.
    #[error("agent is at capacity ({0})")]
    AtCapacity(u16),
}

/// A round of asking the agent's queues for their oldest conversation.
#[derive(Debug, Clone)]
struct PullRound {
    round: u64,
    waiting_for: BTreeSet<QueueId>,
    best: Option<(QueueId, WaitKey)>,
    pulling_from: Option<QueueId>,
}

/// One agent's routing state.
#[derive(Debug, Clone)]
pub struct AgentCore {
    id: AgentId,
    presence: Presence,
    /// When the presence last changed.
    presence_since: Millis,
    /// Why it is away (a team's reason code, or `missed_offers`); `None` otherwise.
    away_reason: Option<String>,
    logins: BTreeSet<QueueId>,
    capacity: u16,
    skills: Skills,
    reserved: HashMap<OfferId, ConversationId>,
    owned: BTreeSet<ConversationId>,
    idle_since: Millis,
    missed_in_row: u32,
    version: u64,
    pull: Option<PullRound>,
    next_round: u64,
}

impl AgentCore {
    /// An offline agent with no logins.
    pub fn new(id: AgentId, capacity: u16, now: Millis) -> Self {
        Self {
            id,
            presence: Presence::Offline,
            presence_since: now,
            away_reason: None,
            logins: BTreeSet::new(),
            capacity: capacity.max(1),
            skills: Skills::none(),
            reserved: HashMap::new(),
            owned: BTreeSet::new(),
            idle_since: now,
            missed_in_row: 0,
            version: 0,
            pull: None,
            next_round: 0,
        }
    }

    /// The agent's id.
    pub fn id(&self) -> &AgentId {
        &self.id
    }

    /// Offered plus owned conversations.
    pub fn load(&self) -> u16 {
        u16::try_from(self.reserved.len() + self.owned.len()).unwrap_or(u16::MAX)
    }

    /// The capacity.
    pub fn capacity(&self) -> u16 {
        self.capacity
    }

    /// The presence.
    pub fn presence(&self) -> Presence {
        self.presence
    }

    /// When the presence last changed (time in state runs from it).
    pub fn presence_since(&self) -> Millis {
        self.presence_since
    }

    /// Why the agent is away, when it gave a reason or the engine set it away.
    pub fn away_reason(&self) -> Option<&str> {
        self.away_reason.as_deref()
    }

    /// Slots reserved for offers (made, or about to be), with their conversations.
    pub fn reserved(&self) -> impl Iterator<Item = (&OfferId, &ConversationId)> {
        self.reserved.iter()
    }

    /// Conversations the agent owns.
    pub fn owned(&self) -> &BTreeSet<ConversationId> {
        &self.owned
    }

    /// The queues the agent is logged into.
    pub fn logins(&self) -> &BTreeSet<QueueId> {
        &self.logins
    }

    fn has_free_slot(&self) -> bool {
        self.presence == Presence::Available && self.load() < self.capacity
    }

    /// The agent's skills.
    pub fn skills(&self) -> &Skills {
        &self.skills
    }

    /// Why the agent could not take an offer from `queue` now, if it could not.
    fn unready_for(&self, queue: &QueueId) -> Option<Unready> {
        if !self.logins.contains(queue) {
            Some(Unready::NotLoggedIn)
        } else if self.presence == Presence::Away {
            Some(Unready::Away)
        } else if self.presence == Presence::Offline {
            Some(Unready::Offline)
        } else if self.load() >= self.capacity {
            Some(Unready::AtCapacity)
        } else if self.pull.is_some() {
            Some(Unready::Choosing)
        } else {
            None
        }
    }

    /// What `queue` should know of this agent now.
    pub fn news_for(&self, queue: &QueueId) -> AgentNews {
        let eligible = match self.unready_for(queue) {
            Some(reason) => Err(reason),
            None => Ok(RosterEntry {
                agent: self.id.clone(),
                load: self.load(),
                capacity: self.capacity,
                idle_since: self.idle_since,
            }),
        };
        AgentNews {
            agent: self.id.clone(),
            version: self.version,
            eligible,
            skills: self.skills.clone(),
        }
    }

    /// Tells every queue in `queues` the agent's new state and, when a slot became free,
    /// starts asking the queues for their oldest conversation.
    fn settle(
        &mut self,
        queues: impl IntoIterator<Item = QueueId>,
        slot_freed: bool,
        fx: &mut Effects,
    ) {
        if slot_freed && self.pull.is_none() && self.has_free_slot() && !self.logins.is_empty() {
            self.next_round += 1;
            let round = self.next_round;
            self.pull = Some(PullRound {
                round,
                waiting_for: self.logins.clone(),
                best: None,
                pulling_from: None,
            });
            for queue in &self.logins {
                fx.to_queues.push((
                    queue.clone(),
                    ToQueue::Peek {
                        agent: self.id.clone(),
                        round,
                        skills: self.skills.clone(),
                    },
                ));
            }
        }
        self.version += 1;
        for queue in queues {
            let news = self.news_for(&queue);
            fx.to_queues.push((queue, ToQueue::AgentChanged(news)));
        }
    }

    /// Sets the presence. Leaving `available` takes back every offer the agent has not
    /// answered (the queues re-offer them); the slots free when the queues confirm.
    ///
    /// `reason` says why the agent is away; it is kept only with `away`.
    pub fn set_presence(
        &mut self,
        presence: Presence,
        reason: Option<String>,
        now: Millis,
    ) -> Effects {
        let mut fx = Effects::default();
        self.away_reason = reason.filter(|_| presence == Presence::Away);
        if presence == Presence::Available {
            self.missed_in_row = 0;
        }
        let became_available =
            presence == Presence::Available && self.presence != Presence::Available;
        if became_available {
            self.idle_since = now;
        }
        if presence != self.presence {
            self.presence_since = now;
        }
        self.presence = presence;
        if presence != Presence::Available {
            self.pull = None;
            self.rescind_offers(&mut fx);
        }
        self.settle(self.logins.clone(), became_available, &mut fx);
        fx
    }

    /// Asks the queues to take back every offer holding a slot, because the agent is no
    /// longer available.
    fn rescind_offers(&self, fx: &mut Effects) {
        let reason = match self.presence {
            Presence::Offline => RescindReason::AgentOffline,
            _ => RescindReason::AgentAway,
        };
        let mut offers: Vec<&OfferId> = self.reserved.keys().collect();
        offers.sort();
        for offer in offers {
            fx.to_queues.push((
                offer.queue.clone(),
                ToQueue::Rescind {
                    offer: offer.clone(),
                    agent: self.id.clone(),
                    reason,
                },
            ));
        }
    }

    /// Replaces the queues the agent is logged into.
    pub fn set_logins(&mut self, logins: BTreeSet<QueueId>, _now: Millis) -> Effects {
        let mut fx = Effects::default();
        let touched: BTreeSet<QueueId> = self.logins.union(&logins).cloned().collect();
        let added = logins.difference(&self.logins).next().is_some();
        self.logins = logins;
        // A round asking queues the agent left cannot complete: start over.
        self.pull = None;
        self.settle(touched, added || self.has_free_slot(), &mut fx);
        fx
    }

    /// Changes the capacity; conversations already held are kept even above a lower one.
    pub fn set_capacity(&mut self, capacity: u16, _now: Millis) -> Effects {
        let mut fx = Effects::default();
        let grew = capacity > self.capacity;
        self.capacity = capacity.max(1);
        self.settle(self.logins.clone(), grew, &mut fx);
        fx
    }

    /// Changes the skills: the queues route by them from their next decision, and a free slot
    /// looks again for a conversation the new skills qualify for.
    pub fn set_skills(&mut self, skills: Skills, _now: Millis) -> Effects {
        let mut fx = Effects::default();
        if skills == self.skills {
            return fx;
        }
        self.skills = skills;
        self.settle(self.logins.clone(), true, &mut fx);
        fx
    }

    /// Takes a conversation without an offer (a claim, or a transfer accepted): refused at
    /// capacity.
    pub fn take(
        &mut self,
        conversation: ConversationId,
        _now: Millis,
    ) -> Result<Effects, AgentError> {
        if self.owned.contains(&conversation) {
            return Ok(Effects::default());
        }
        if self.load() >= self.capacity {
            return Err(AgentError::AtCapacity(self.capacity));
        }
        self.owned.insert(conversation);
        let mut fx = Effects::default();
        self.settle(self.logins.clone(), false, &mut fx);
        Ok(fx)
    }

    /// Restores an owned conversation after a restart, even above capacity (it was owned
    /// before; refusing it now would orphan it).
    pub fn restore_owned(&mut self, conversation: ConversationId) {
        self.owned.insert(conversation);
    }

    /// Lets go of an owned conversation (completed, snoozed, transferred, claimed by another).
    pub fn release_conversation(&mut self, conversation: &ConversationId, now: Millis) -> Effects {
        let mut fx = Effects::default();
        if self.owned.remove(conversation) {
            self.idle_since = now;
            self.settle(self.logins.clone(), true, &mut fx);
        }
        fx
    }

    /// Handles one message from a queue.
    pub fn handle(&mut self, message: ToAgent, now: Millis) -> Effects {
        let mut fx = Effects::default();
        match message {
            ToAgent::Reserve {
                offer,
                conversation,
                round,
                directed,
            } => {
                let queue = offer.queue.clone();
                let pulled = match &self.pull {
                    None => round.is_none(),
                    Some(p) => round == Some(p.round) && p.pulling_from.as_ref() == Some(&queue),
                };
                // A transfer straight to the agent needs no login to the queue, and does not
                // wait for a pull round: it is for this agent, not for the next free one.
                let granted = if directed {
                    self.has_free_slot()
                } else {
                    pulled && self.has_free_slot() && self.logins.contains(&queue)
                };
                // The reservation a round asked for ends the round, granted or not: a round
                // left open would keep the agent ineligible for good.
                let ends_round = pulled && round.is_some();
                if ends_round {
                    self.pull = None;
                }
                if granted {
                    self.reserved.insert(offer.clone(), conversation);
                    // Idle time restarts with every offer, so longest-idle spreads work.
                    self.idle_since = now;
                }
                self.version += 1;
                let news = self.news_for(&queue);
                fx.to_queues.push((
                    queue.clone(),
                    ToQueue::Reserved {
                        offer,
                        granted,
                        news,
                    },
                ));
                if granted {
                    let others: Vec<QueueId> = self
                        .logins
                        .iter()
                        .filter(|q| **q != queue)
                        .cloned()
                        .collect();
                    // After a pulled slot, any slot still free is pulled for in turn.
                    self.settle(others, round.is_some(), &mut fx);
                } else if ends_round {
                    // The round failed (the agent filled up meanwhile): tell the queues, and
                    // pull again if a slot is free after all.
                    self.settle(self.logins.clone(), true, &mut fx);
                }
            }
            ToAgent::Release { offer, missed } => {
                if self.reserved.remove(&offer).is_some() {
                    self.idle_since = now;
                    if let Some(away_after) = missed {
                        self.missed_in_row += 1;
                        if away_after > 0
                            && self.missed_in_row >= away_after
                            && self.presence == Presence::Available
                        {
                            self.presence = Presence::Away;
                            self.presence_since = now;
                            self.away_reason = Some(MISSED_OFFERS_REASON.to_owned());
                            self.pull = None;
                            self.missed_in_row = 0;
                            self.rescind_offers(&mut fx);
                            fx.happened.push(Happened::AgentSetAway {
                                agent: self.id.clone(),
                            });
                        }
                    }
                    self.settle(self.logins.clone(), true, &mut fx);
                }
            }
            ToAgent::Assigned { offer } => {
                if let Some(conversation) = self.reserved.remove(&offer) {
                    self.owned.insert(conversation);
                    self.missed_in_row = 0;
                }
            }
            ToAgent::Oldest { queue, round, head } => {
                let Some(pull) = self
                    .pull
                    .as_mut()
                    .filter(|p| p.round == round && p.pulling_from.is_none())
                else {
                    return fx;
                };
                pull.waiting_for.remove(&queue);
                if let Some(head) = head
                    && pull.best.as_ref().is_none_or(|(_, best)| head < *best)
                {
                    pull.best = Some((queue, head));
                }
                if pull.waiting_for.is_empty() {
                    match pull.best.take() {
                        Some((queue, _)) => {
                            pull.pulling_from = Some(queue.clone());
                            fx.to_queues.push((
                                queue,
                                ToQueue::Pull {
                                    agent: self.id.clone(),
                                    round,
                                    skills: self.skills.clone(),
                                },
                            ));
                        }
                        None => {
                            self.pull = None;
                            self.settle(self.logins.clone(), false, &mut fx);
                        }
                    }
                }
            }
            ToAgent::PullEmpty { round } => {
                if self.pull.as_ref().is_some_and(|p| p.round == round) {
                    self.pull = None;
                    // Something else took the conversation meanwhile: ask again.
                    self.settle(self.logins.clone(), true, &mut fx);
                }
            }
        }
        fx
    }
}
