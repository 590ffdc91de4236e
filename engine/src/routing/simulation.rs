//! Deterministic simulation of the routing protocol: three queues and five agents exchange
//! messages through FIFO mailboxes, and proptest chooses which mailbox is delivered next,
//! interleaved with inbound texts, presence, login, capacity and skill changes, accepts,
//! rejects, timeouts, completions, transfers (to queues, and straight to agents, cold and
//! warm) and time passing. Agents have random skills, conversations random requirements,
//! queues random skills of their own and escalation steps (relaxing, and overflowing to
//! another queue). After every step the invariants must hold; after the mailboxes drain, no
//! conversation may wait while an agent that could take it at its escalation step sits
//! idle, and each waits at the step its time waited says.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use proptest::prelude::*;

use super::protocol::{Answer, Effects, EnqueueHint, Happened, OfferId, ToAgent, ToQueue};
use super::skills::{Escalation, EscalationStep, Needs, Relax, Requirement, Skills, StepAction};
use super::trace::Selection;
use super::{AgentCore, Millis, QueueCore, QueueSettings};
use crate::domain::{AgentId, ConversationId, Presence, QueueId, RoutingStrategy};

const QUEUES: usize = 3;
const AGENTS: usize = 5;

#[derive(Debug, Clone)]
enum Step {
    Inbound {
        queue: usize,
        priority: u8,
        /// Levels needed in skills `x` and `y` (0: not needed).
        need: (u8, u8),
    },
    Skills {
        agent: usize,
        levels: (u8, u8),
    },
    Presence {
        agent: usize,
        presence: Presence,
    },
    Logins {
        agent: usize,
        mask: u8,
    },
    Deliver {
        pick: usize,
    },
    Accept {
        agent: usize,
        pick: usize,
    },
    Reject {
        agent: usize,
        pick: usize,
    },
    Expire {
        pick: usize,
    },
    Complete {
        agent: usize,
        pick: usize,
    },
    Claim {
        agent: usize,
        pick: usize,
    },
    Snooze {
        agent: usize,
        pick: usize,
    },
    Wake {
        pick: usize,
    },
    Transfer {
        agent: usize,
        pick: usize,
        to: usize,
    },
    WarmTransfer {
        agent: usize,
        pick: usize,
        to: usize,
    },
    Capacity {
        agent: usize,
        capacity: u16,
    },
    Wait {
        millis: Millis,
    },
}

fn step() -> impl Strategy<Value = Step> {
    let presence = prop_oneof![
        Just(Presence::Available),
        Just(Presence::Away),
        Just(Presence::Offline)
    ];
    prop_oneof![
        3 => (0..QUEUES, 0u8..2, (0u8..3, 0u8..3)).prop_map(|(queue, priority, need)| Step::Inbound { queue, priority, need }),
        1 => (0..AGENTS, (0u8..4, 0u8..4)).prop_map(|(agent, levels)| Step::Skills { agent, levels }),
        1 => (0..AGENTS, presence).prop_map(|(agent, presence)| Step::Presence { agent, presence }),
        1 => (0..AGENTS, 0u8..8).prop_map(|(agent, mask)| Step::Logins { agent, mask }),
        8 => any::<usize>().prop_map(|pick| Step::Deliver { pick }),
        2 => (0..AGENTS, any::<usize>()).prop_map(|(agent, pick)| Step::Accept { agent, pick }),
        1 => (0..AGENTS, any::<usize>()).prop_map(|(agent, pick)| Step::Reject { agent, pick }),
        1 => any::<usize>().prop_map(|pick| Step::Expire { pick }),
        2 => (0..AGENTS, any::<usize>()).prop_map(|(agent, pick)| Step::Complete { agent, pick }),
        1 => (0..AGENTS, any::<usize>()).prop_map(|(agent, pick)| Step::Claim { agent, pick }),
        1 => (0..AGENTS, any::<usize>()).prop_map(|(agent, pick)| Step::Snooze { agent, pick }),
        1 => any::<usize>().prop_map(|pick| Step::Wake { pick }),
        1 => (0..AGENTS, any::<usize>(), 0..QUEUES + AGENTS)
            .prop_map(|(agent, pick, to)| Step::Transfer { agent, pick, to }),
        1 => (0..AGENTS, any::<usize>(), 0..AGENTS)
            .prop_map(|(agent, pick, to)| Step::WarmTransfer { agent, pick, to }),
        1 => (0..AGENTS, 1u16..4).prop_map(|(agent, capacity)| Step::Capacity { agent, capacity }),
        1 => (1i64..5_000).prop_map(|millis| Step::Wait { millis }),
    ]
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Mailbox {
    Queue(QueueId),
    Agent(AgentId),
}

/// A queue's configuration in the simulation: skills it needs, and its escalation steps.
#[derive(Debug, Clone)]
struct QueueSetup {
    strategy: RoutingStrategy,
    /// Level of skill `x` every conversation needs (0: none).
    needs_x: u8,
    /// Seconds before relaxing to any level, then to any skill, then overflowing to the
    /// queue given (each optional).
    any_level_after: Option<Millis>,
    any_skill_after: Option<Millis>,
    overflow: Option<(Millis, usize)>,
}

impl QueueSetup {
    fn settings(&self, me: usize) -> QueueSettings {
        let mut steps = Vec::new();
        let mut last = 0;
        for (after, action) in [
            (
                self.any_level_after,
                Some(StepAction::Relax(Relax::AnyLevel)),
            ),
            (
                self.any_skill_after,
                Some(StepAction::Relax(Relax::AnySkill)),
            ),
            (
                self.overflow.map(|(after, _)| after),
                self.overflow
                    .map(|(_, to)| StepAction::Overflow(queue_id(to)))
                    .filter(|_| self.overflow.is_some_and(|(_, to)| to != me)),
            ),
        ] {
            if let (Some(after), Some(action)) = (after, action) {
                last = (last + 1).max(after);
                steps.push(EscalationStep {
                    after: last,
                    action,
                });
            }
        }
        QueueSettings {
            required: skills_needed(self.needs_x, 0),
            escalation: Escalation::new(steps),
            ..QueueSettings::plain(self.strategy, 30_000, 3)
        }
    }
}

fn skills_needed(x: u8, y: u8) -> Requirement {
    Requirement::new([("x", x), ("y", y)].into_iter().filter(|(_, l)| *l > 0))
}

struct World {
    now: Millis,
    /// Each agent's skills, and every skill set it ever had (news may be in flight).
    skills: HashMap<AgentId, Vec<Skills>>,
    /// What each conversation needs of its own, and the queues it must not overflow to.
    needs: HashMap<ConversationId, Needs>,
    setups: Vec<QueueSetup>,
    queues: BTreeMap<QueueId, QueueCore>,
    agents: BTreeMap<AgentId, AgentCore>,
    queue_mail: BTreeMap<QueueId, VecDeque<ToQueue>>,
    agent_mail: BTreeMap<AgentId, VecDeque<ToAgent>>,
    timers: Vec<(Millis, OfferId, AgentId)>,
    arrived: HashMap<ConversationId, (QueueId, Millis)>,
    owner: HashMap<ConversationId, AgentId>,
    next_conversation: u32,
    priorities: HashMap<ConversationId, u8>,
    snoozed: Vec<(ConversationId, AgentId)>,
    /// Warm transfers under way: conversation, its owner meanwhile.
    warm: HashMap<ConversationId, AgentId>,
    /// What each agent may hold (see [`World::track_allowance`]).
    allowed: HashMap<AgentId, u16>,
}

fn queue_id(i: usize) -> QueueId {
    QueueId::parse(format!("q{i}")).unwrap()
}

fn agent_id(i: usize) -> AgentId {
    AgentId::parse(format!("a{i}")).unwrap()
}

impl World {
    fn new(setups: &[QueueSetup], capacities: &[u16]) -> Self {
        let queues = (0..QUEUES)
            .map(|i| {
                (
                    queue_id(i),
                    QueueCore::new(queue_id(i), setups[i].settings(i)),
                )
            })
            .collect();
        let agents = (0..AGENTS)
            .map(|i| (agent_id(i), AgentCore::new(agent_id(i), capacities[i], 0)))
            .collect();
        Self {
            now: 1_000,
            skills: (0..AGENTS)
                .map(|i| (agent_id(i), vec![Skills::none()]))
                .collect(),
            needs: HashMap::new(),
            setups: setups.to_vec(),
            queues,
            agents,
            queue_mail: BTreeMap::new(),
            agent_mail: BTreeMap::new(),
            timers: Vec::new(),
            arrived: HashMap::new(),
            owner: HashMap::new(),
            next_conversation: 0,
            priorities: HashMap::new(),
            snoozed: Vec::new(),
            warm: HashMap::new(),
            allowed: HashMap::new(),
        }
    }

    fn apply(&mut self, fx: Effects) {
        for (queue, message) in fx.to_queues {
            self.queue_mail.entry(queue).or_default().push_back(message);
        }
        for (agent, message) in fx.to_agents {
            self.agent_mail.entry(agent).or_default().push_back(message);
        }
        for happened in fx.happened {
            match happened {
                Happened::OfferCreated {
                    offer,
                    agent,
                    expires_at,
                    trace,
                    conversation,
                } => {
                    // The strategy offers only to an agent with the skills needed at the
                    // step the customer's wait reached.
                    if trace.selection != Selection::Direct {
                        assert!(
                            self.skills[&agent]
                                .iter()
                                .any(|skills| trace.required.met_by(skills)),
                            "{conversation} offered to {agent:?}, who lacks {}",
                            trace.required
                        );
                        let queue = &self.queues[&offer.queue];
                        let (_, since) = &self.arrived[&conversation];
                        let step = queue.settings().escalation.at(*since, trace.at);
                        assert_eq!(trace.relax, step.relax, "{conversation} at the wrong step");
                        let need = queue
                            .settings()
                            .required
                            .and(&self.needs[&conversation].skills);
                        assert_eq!(trace.required, need.relaxed(step.relax));
                    }
                    self.timers.push((expires_at, offer, agent));
                }
                Happened::Assigned {
                    conversation,
                    agent,
                    ..
                } => {
                    if let Some(owner) = self.warm.remove(&conversation) {
                        // A warm transfer accepted: the old owner lets go.
                        assert_eq!(self.owner.remove(&conversation), Some(owner.clone()));
                        let fx = self
                            .agents
                            .get_mut(&owner)
                            .unwrap()
                            .release_conversation(&conversation, self.now);
                        self.apply(fx);
                    }
                    // With an owner, it may overflow anywhere again.
                    if let Some(needs) = self.needs.get_mut(&conversation) {
                        needs.no_overflow_to = Vec::new().into();
                    }
                    let previous = self.owner.insert(conversation.clone(), agent);
                    assert!(previous.is_none(), "{conversation} assigned twice");
                }
                Happened::Overflowed {
                    conversation,
                    from,
                    to,
                } => {
                    // As the conversation does: it moves only while waiting in `from`.
                    assert_ne!(from, to);
                    let needs = self.needs.get_mut(&conversation).unwrap();
                    assert!(
                        !needs.no_overflow_to.contains(&to),
                        "{conversation} overflowed back to {to}"
                    );
                    if self.arrived[&conversation].0 == from
                        && !self.owner.contains_key(&conversation)
                    {
                        let mut barred = needs.no_overflow_to.to_vec();
                        barred.push(from);
                        needs.no_overflow_to = barred.into();
                        self.arrived.get_mut(&conversation).unwrap().0 = to;
                        self.requeue(conversation, EnqueueHint::None);
                    }
                }
                Happened::OfferEnded { conversation, .. }
                | Happened::DirectRefused { conversation, .. } => {
                    // A warm transfer declined, expired or refused: the owner keeps it.
                    self.warm.remove(&conversation);
                }
                Happened::AgentSetAway { .. } => {}
            }
        }
    }

    fn mailboxes(&self) -> Vec<Mailbox> {
        let queues = self
            .queue_mail
            .iter()
            .filter(|(_, m)| !m.is_empty())
            .map(|(q, _)| Mailbox::Queue(q.clone()));
        let agents = self
            .agent_mail
            .iter()
            .filter(|(_, m)| !m.is_empty())
            .map(|(a, _)| Mailbox::Agent(a.clone()));
        queues.chain(agents).collect()
    }

    /// Delivers the next message of one mailbox; false when all are empty.
    fn deliver(&mut self, pick: usize) -> bool {
        let boxes = self.mailboxes();
        if boxes.is_empty() {
            return false;
        }
        let now = self.now;
        let fx = match &boxes[pick % boxes.len()] {
            Mailbox::Queue(q) => {
                let message = self.queue_mail.get_mut(q).unwrap().pop_front().unwrap();
                self.queues.get_mut(q).unwrap().handle(message, now)
            }
            Mailbox::Agent(a) => {
                let message = self.agent_mail.get_mut(a).unwrap().pop_front().unwrap();
                self.agents.get_mut(a).unwrap().handle(message, now)
            }
        };
        self.apply(fx);
        true
    }

    fn offers_of(&self, agent: &AgentId) -> Vec<(QueueId, OfferId)> {
        let mut offers: Vec<(QueueId, OfferId)> = self
            .queues
            .iter()
            .flat_map(|(q, core)| {
                core.pending_offers()
                    .filter(|(_, _, a)| *a == agent)
                    .map(move |(o, _, _)| (q.clone(), o.clone()))
            })
            .collect();
        offers.sort();
        offers
    }

    fn run(&mut self, step: Step) {
        let now = self.now;
        match step {
            Step::Inbound {
                queue,
                priority,
                need,
            } => {
                self.next_conversation += 1;
                let conversation =
                    ConversationId::parse(format!("c{}", self.next_conversation)).unwrap();
                self.arrived
                    .insert(conversation.clone(), (queue_id(queue), now));
                self.priorities.insert(conversation.clone(), priority);
                let needs = Needs::skills(skills_needed(need.0, need.1));
                self.needs.insert(conversation.clone(), needs.clone());
                let fx = self.queues.get_mut(&queue_id(queue)).unwrap().handle(
                    ToQueue::Enqueue {
                        conversation,
                        priority: u16::from(priority),
                        waiting_since: now,
                        needs,
                        hint: EnqueueHint::None,
                    },
                    now,
                );
                self.apply(fx);
            }
            Step::Skills { agent, levels } => {
                let skills = Skills::new([("x", levels.0), ("y", levels.1)]);
                self.skills
                    .get_mut(&agent_id(agent))
                    .unwrap()
                    .push(skills.clone());
                let fx = self
                    .agents
                    .get_mut(&agent_id(agent))
                    .unwrap()
                    .set_skills(skills, now);
                self.apply(fx);
            }
            Step::Presence { agent, presence } => {
                let fx = self
                    .agents
                    .get_mut(&agent_id(agent))
                    .unwrap()
                    .set_presence(presence, None, now);
                self.apply(fx);
            }
            Step::Logins { agent, mask } => {
                let logins: BTreeSet<QueueId> = (0..QUEUES)
                    .filter(|i| mask & (1 << i) != 0)
                    .map(queue_id)
                    .collect();
                let fx = self
                    .agents
                    .get_mut(&agent_id(agent))
                    .unwrap()
                    .set_logins(logins, now);
                self.apply(fx);
            }
            Step::Deliver { pick } => {
                self.deliver(pick);
            }
            Step::Accept { agent, pick } | Step::Reject { agent, pick } => {
                let answer = if matches!(step, Step::Accept { .. }) {
                    Answer::Accept
                } else {
                    Answer::Reject
                };
                let agent = agent_id(agent);
                let offers = self.offers_of(&agent);
                if offers.is_empty() {
                    return;
                }
                let (queue, offer) = offers[pick % offers.len()].clone();
                let fx = self
                    .queues
                    .get_mut(&queue)
                    .unwrap()
                    .answer(&offer, &agent, answer, now)
                    .expect("a pending offer can be answered");
                self.apply(fx);
                // Answering again is refused as stale.
                assert!(
                    self.queues
                        .get_mut(&queue)
                        .unwrap()
                        .answer(&offer, &agent, answer, now)
                        .is_err()
                );
            }
            Step::Expire { pick } => {
                if self.timers.is_empty() {
                    return;
                }
                let (at, offer, agent) = self.timers.remove(pick % self.timers.len());
                self.advance(at.max(self.now));
                let fx = self.queues.get_mut(&offer.queue).unwrap().handle(
                    ToQueue::Answered {
                        offer,
                        agent,
                        answer: Answer::Timeout,
                    },
                    self.now,
                );
                self.apply(fx);
            }
            Step::Complete { agent, pick } => {
                let agent = agent_id(agent);
                let owned: Vec<ConversationId> =
                    self.agents[&agent].owned().iter().cloned().collect();
                if owned.is_empty() {
                    return;
                }
                let conversation = owned[pick % owned.len()].clone();
                self.cancel_warm(&conversation);
                assert_eq!(self.owner.remove(&conversation), Some(agent.clone()));
                let fx = self
                    .agents
                    .get_mut(&agent)
                    .unwrap()
                    .release_conversation(&conversation, now);
                self.apply(fx);
            }
            Step::Claim { agent, pick } => {
                // An agent claims a waiting conversation of a queue it is logged into: the
                // agent takes it (if it has room), then the queue withdraws it.
                let agent = agent_id(agent);
                let waiting: Vec<(QueueId, ConversationId)> = self.agents[&agent]
                    .logins()
                    .iter()
                    .flat_map(|q| {
                        self.queues[q]
                            .line()
                            .iter()
                            .map(move |k| (q.clone(), k.conversation.clone()))
                    })
                    .collect();
                if waiting.is_empty() {
                    return;
                }
                let (queue, conversation) = waiting[pick % waiting.len()].clone();
                if let Ok(fx) = self
                    .agents
                    .get_mut(&agent)
                    .unwrap()
                    .take(conversation.clone(), now)
                {
                    self.owner.insert(conversation.clone(), agent);
                    self.apply(fx);
                    let fx = self
                        .queues
                        .get_mut(&queue)
                        .unwrap()
                        .handle(ToQueue::Withdraw { conversation }, now);
                    self.apply(fx);
                }
            }
            Step::Snooze { agent, pick } => {
                // The owner saves it for later: the slot frees, nothing waits.
                if let Some(conversation) = self.release_owned(agent, pick) {
                    self.snoozed.push((conversation, agent_id(agent)));
                }
            }
            Step::Wake { pick } => {
                if self.snoozed.is_empty() {
                    return;
                }
                let (conversation, owner) = self.snoozed.remove(pick % self.snoozed.len());
                self.requeue(conversation, EnqueueHint::OfferFirstTo(owner));
            }
            Step::Transfer { agent, pick, to } => {
                let Some(conversation) = self.release_owned(agent, pick) else {
                    return;
                };
                if to < QUEUES {
                    // To another queue, keeping its place in time.
                    self.arrived.get_mut(&conversation).unwrap().0 = queue_id(to);
                    self.requeue(conversation, EnqueueHint::None);
                } else {
                    // Cold, straight to a teammate (logged in or not).
                    self.requeue(
                        conversation,
                        EnqueueHint::Direct {
                            agent: agent_id(to - QUEUES),
                            warm: false,
                            sender: Some(agent_id(agent)),
                        },
                    );
                }
            }
            Step::WarmTransfer { agent, pick, to } => {
                // The owner keeps it until the teammate accepts.
                let owner = agent_id(agent);
                let owned: Vec<ConversationId> = self.agents[&owner]
                    .owned()
                    .iter()
                    .filter(|c| !self.warm.contains_key(*c))
                    .cloned()
                    .collect();
                if owned.is_empty() || to == agent {
                    return;
                }
                let conversation = owned[pick % owned.len()].clone();
                self.warm.insert(conversation.clone(), owner);
                self.requeue(
                    conversation,
                    EnqueueHint::Direct {
                        agent: agent_id(to),
                        warm: true,
                        sender: None,
                    },
                );
            }
            Step::Capacity { agent, capacity } => {
                let id = agent_id(agent);
                let load = self.agents[&id].load();
                let allowed = self.allowed.entry(id).or_insert(capacity);
                *allowed = capacity.max(load);
                let fx = self
                    .agents
                    .get_mut(&agent_id(agent))
                    .unwrap()
                    .set_capacity(capacity, now);
                self.apply(fx);
            }
            Step::Wait { millis } => self.advance(self.now + millis),
        }
    }

    /// Time passes: each queue applies the escalation steps that came (as its timer would).
    fn advance(&mut self, to: Millis) {
        self.now = to;
        let ids: Vec<QueueId> = self.queues.keys().cloned().collect();
        for id in ids {
            let core = self.queues.get_mut(&id).unwrap();
            if core.next_escalation().is_some_and(|at| at <= to) {
                let fx = core.escalate(to);
                self.apply(fx);
            }
        }
    }

    /// An agent lets go of one of its conversations (snooze, transfer); returns it.
    fn release_owned(&mut self, agent: usize, pick: usize) -> Option<ConversationId> {
        let agent = agent_id(agent);
        let owned: Vec<ConversationId> = self.agents[&agent].owned().iter().cloned().collect();
        if owned.is_empty() {
            return None;
        }
        let conversation = owned[pick % owned.len()].clone();
        self.cancel_warm(&conversation);
        assert_eq!(self.owner.remove(&conversation), Some(agent.clone()));
        let fx = self
            .agents
            .get_mut(&agent)
            .unwrap()
            .release_conversation(&conversation, self.now);
        self.apply(fx);
        Some(conversation)
    }

    /// The owner did something else with a conversation it was transferring warm: the
    /// transfer's offer is withdrawn (as the conversation does in production).
    fn cancel_warm(&mut self, conversation: &ConversationId) {
        if self.warm.remove(conversation).is_some() {
            let queue = self.arrived[conversation].0.clone();
            let fx = self.queues.get_mut(&queue).unwrap().handle(
                ToQueue::Withdraw {
                    conversation: conversation.clone(),
                },
                self.now,
            );
            self.apply(fx);
        }
    }

    /// Puts a conversation back in its queue with its original `waiting_since`.
    fn requeue(&mut self, conversation: ConversationId, hint: EnqueueHint) {
        let (queue, since) = self.arrived[&conversation].clone();
        let priority = self.priorities[&conversation];
        let fx = self.queues.get_mut(&queue).unwrap().handle(
            ToQueue::Enqueue {
                needs: self.needs[&conversation].clone(),
                conversation,
                priority: priority.into(),
                waiting_since: since,
                hint,
            },
            self.now,
        );
        self.apply(fx);
    }

    /// What each agent may hold now: its capacity, or what it held when its capacity was
    /// lowered below its load (nothing is taken away), shrinking as that load drains.
    fn track_allowance(&mut self) {
        for (id, agent) in &self.agents {
            let allowed = self.allowed.entry(id.clone()).or_insert(agent.capacity());
            *allowed = agent.capacity().max((*allowed).min(agent.load()));
        }
    }

    fn check_invariants(&mut self) {
        let strategies: Vec<RoutingStrategy> = self.setups.iter().map(|s| s.strategy).collect();
        // 2. No agent holds more than its capacity (a lowered one: no more than it held).
        for (id, agent) in &self.agents {
            let allowed = self.allowed.get(id).copied().unwrap_or(agent.capacity());
            assert!(
                agent.load() <= allowed,
                "{:?} holds {} > {}",
                agent.id(),
                agent.load(),
                allowed
            );
        }
        self.track_allowance();
        // 1. At most one pending offer per conversation (but broadcast), at most one owner,
        //    and an owned conversation is no longer waiting or offered.
        let mut offered: HashMap<&ConversationId, usize> = HashMap::new();
        for (i, queue) in self.queues.values().enumerate() {
            for (_, conversation, _) in queue.pending_offers() {
                let n = offered.entry(conversation).or_default();
                *n += 1;
                if strategies[i] != RoutingStrategy::Broadcast {
                    assert!(*n <= 1, "{conversation} has {n} pending offers");
                }
            }
        }
        let mut owners: HashMap<&ConversationId, &AgentId> = HashMap::new();
        for agent in self.agents.values() {
            for conversation in agent.owned() {
                assert!(
                    owners.insert(conversation, agent.id()).is_none(),
                    "{conversation} has two owners"
                );
                for queue in self.queues.values() {
                    assert!(
                        !queue.line().contains(conversation),
                        "{conversation} is owned and waiting"
                    );
                }
            }
        }
        // A snoozed conversation holds no slot and waits nowhere.
        for (conversation, _) in &self.snoozed {
            assert!(
                !owners.contains_key(conversation),
                "{conversation} is snoozed and owned"
            );
            for queue in self.queues.values() {
                assert!(
                    !queue.holds(conversation),
                    "{conversation} is snoozed and queued"
                );
            }
        }
        // 3. Waiting order is priority then waiting_since, and a conversation keeps its
        //    original waiting_since through rejects and timeouts.
        for queue in self.queues.values() {
            let keys: Vec<_> = queue.line().iter().collect();
            for pair in keys.windows(2) {
                assert!(pair[0] < pair[1]);
            }
            for key in keys {
                let (arrived_in, at) = &self.arrived[&key.conversation];
                assert_eq!(arrived_in, queue.id());
                assert_eq!(
                    key.waiting_since, *at,
                    "{} lost its place",
                    key.conversation
                );
            }
        }
    }

    /// Once every message is delivered, each conversation waits at the escalation step its
    /// wait reached (never past an overflow it may take), and nobody waits in a queue that
    /// has an agent who could take it there.
    fn check_work_conserving(&self) {
        for queue in self.queues.values() {
            for key in queue.line().iter() {
                let placement = queue.placement(&key.conversation).unwrap();
                let step = queue.settings().escalation.at(key.waiting_since, self.now);
                let needs = &self.needs[&key.conversation];
                let need = queue.settings().required.and(&needs.skills);
                assert_eq!(placement.class, need.relaxed(step.relax));
                if let Some(to) = &step.overflow {
                    assert!(
                        needs.no_overflow_to.contains(to),
                        "{} waits in {} past its overflow to {to}",
                        key.conversation,
                        queue.id()
                    );
                }
                for agent in self.agents.values() {
                    let could_take = agent.presence() == Presence::Available
                        && agent.logins().contains(queue.id())
                        && agent.load() < agent.capacity()
                        && placement.class.met_by(agent.skills());
                    assert!(
                        !could_take,
                        "{} waits in {} while {:?} is free",
                        key.conversation,
                        queue.id(),
                        agent.id()
                    );
                }
            }
        }
    }
}

fn strategy() -> impl Strategy<Value = RoutingStrategy> {
    prop_oneof![
        Just(RoutingStrategy::LongestIdle),
        Just(RoutingStrategy::LeastBusy),
        Just(RoutingStrategy::RoundRobin),
        Just(RoutingStrategy::Broadcast),
    ]
}

fn setup() -> impl Strategy<Value = QueueSetup> {
    let after = || proptest::option::of(1i64..8_000);
    (
        strategy(),
        prop_oneof![3 => Just(0u8), 1 => 1u8..3],
        after(),
        after(),
        proptest::option::of((1i64..8_000, 0..QUEUES)),
    )
        .prop_map(
            |(strategy, needs_x, any_level_after, any_skill_after, overflow)| QueueSetup {
                strategy,
                needs_x,
                any_level_after,
                any_skill_after,
                overflow,
            },
        )
}

proptest! {
    // 300 cases per run; `PROPTEST_CASES=20000` searches harder.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(300),
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_interleavings_keep_the_routing_invariants(
        setups in proptest::collection::vec(setup(), QUEUES),
        capacities in proptest::collection::vec(1u16..4, AGENTS),
        steps in proptest::collection::vec(step(), 1..250),
    ) {
        let mut world = World::new(&setups, &capacities);
        for step in steps {
            world.run(step);
            world.check_invariants();
        }
        let mut delivered = 0;
        while world.deliver(delivered) {
            delivered += 1;
            world.check_invariants();
            prop_assert!(delivered < 100_000, "the protocol does not quiesce");
        }
        world.check_work_conserving();
    }
}
