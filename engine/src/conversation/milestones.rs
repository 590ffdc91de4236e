//! A conversation's milestones — the customer's first text, the first and the current
//! acceptance, the first response, agent texts sent — and the contact-center figures each
//! change gives: speed of answer, first response and response times, handle time,
//! abandonment, dispositions. The rules are pure: [`advance`] compares the state before a
//! change with the state after it, stamps the milestones into the new state (so they are
//! durable with it, for statistics and reports) and says what to count.
//!
//! Definitions, as messaging contact centers read them:
//! - **answered**: an agent first takes a conversation whose customer was waiting in line
//!   (an accepted offer, a claim); the wait (speed of answer) runs from `waiting_since`. Once
//!   per conversation, as service level is read per conversation: a public conversation
//!   taken again by a teammate is a hand-back, not a second answer.
//! - **response**: an agent's text that answers the customer's oldest unanswered one; the
//!   **first response** is the first agent text after the customer's first.
//! - **handle time**: from the current owner taking it to its close.
//! - **abandoned**: closed while still waiting in line with no owner (the customer opted out,
//!   say).

use serde::{Deserialize, Serialize};

use super::{Conversation, ConversationStatus};
use crate::domain::{AgentId, Slug};
use crate::routing::Millis;

/// What a conversation has passed through, kept in its document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Milestones {
    /// The customer's first text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_customer_at: Option<Millis>,
    /// When it was first offered to an agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_offered_at: Option<Millis>,
    /// When an agent first took it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_accepted_at: Option<Millis>,
    /// Who first took it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_accepted_by: Option<AgentId>,
    /// How long the customer had waited in line when an agent first took it (speed of
    /// answer); none for a conversation an agent started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_answer_wait: Option<Millis>,
    /// The first agent text after the customer's first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_response_at: Option<Millis>,
    /// When its current owner took it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owned_since: Option<Millis>,
    /// Agent texts that answered the customer's oldest unanswered one.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub responses: u32,
    /// Their response times added up.
    #[serde(default, skip_serializing_if = "is_zero_ms")]
    pub response_total: Millis,
    /// Who owned it when it closed (the agent it counts as handled by).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handled_by: Option<AgentId>,
    /// How long that owner had it (handle time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handle_time: Option<Millis>,
    /// Closed still waiting in line, never taken.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub abandoned: bool,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn is_zero_ms(n: &Millis) -> bool {
    *n == 0
}

impl Conversation {
    /// Records an offer of it made at `at` (the first one is kept, for reports).
    pub fn mark_offered(&mut self, at: Millis) {
        self.milestones.first_offered_at.get_or_insert(at);
    }
}

/// A figure a change gives, in milliseconds where it is a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observation {
    /// A conversation opened.
    Opened,
    /// An agent first took the conversation after its customer waited this long.
    Answered {
        /// From `waiting_since` to the agent taking it.
        waited: Millis,
    },
    /// The first agent text came this long after the customer's first.
    FirstResponse {
        /// From the customer's first text.
        after: Millis,
    },
    /// An agent's text answered the customer's oldest unanswered one after this long.
    Response {
        /// From the customer's oldest unanswered text.
        after: Millis,
        /// The owner when it was answered (the agent it counts for).
        by: Option<AgentId>,
    },
    /// It closed; `handled` is how long its last owner had it (none if nobody owned it).
    Closed {
        /// Closed still waiting in line, never taken.
        abandoned: bool,
        /// From the owner taking it to the close.
        handled: Option<Millis>,
        /// That owner.
        by: Option<AgentId>,
    },
    /// A disposition code was recorded.
    Disposition {
        /// The code.
        code: Slug,
    },
}

/// Stamps `next`'s milestones for the change from `prior` (none: it has just opened) made at
/// `at`, and returns what the change counts for.
pub fn advance(
    prior: Option<&Conversation>,
    next: &mut Conversation,
    at: Millis,
) -> Vec<Observation> {
    let mut seen = Vec::new();
    let Some(prior) = prior else {
        seen.push(Observation::Opened);
        next.milestones.first_customer_at = next.last_customer_at;
        if next.owner.is_some() {
            // Started by an agent's text: owned from the start, nobody answered.
            next.milestones.owned_since = Some(next.created_at);
        }
        return seen;
    };
    let m = &mut next.milestones;
    if m.first_customer_at.is_none() && next.last_customer_at.is_some() {
        m.first_customer_at = next.last_customer_at;
    }
    if next.owner.is_some() && next.owner != prior.owner
        || next.status == ConversationStatus::Owned && prior.status != ConversationStatus::Owned
    {
        m.owned_since = Some(at);
        if m.first_accepted_at.is_none() {
            m.first_accepted_at = Some(at);
            m.first_accepted_by.clone_from(&next.owner);
            let was_waiting = prior.status == ConversationStatus::Queued || prior.public;
            if let (true, Some(since)) = (was_waiting, prior.waiting_since) {
                let waited = (at - since).max(0);
                m.first_answer_wait = Some(waited);
                seen.push(Observation::Answered { waited });
            }
        }
    }
    let replied = next.last_agent_at.is_some() && next.last_agent_at != prior.last_agent_at;
    if replied {
        if let (Some(since), None) = (prior.waiting_since, next.waiting_since) {
            let after = (at - since).max(0);
            m.responses += 1;
            m.response_total += after;
            seen.push(Observation::Response {
                after,
                by: next.owner.clone(),
            });
        }
        if let (None, Some(first)) = (m.first_response_at, m.first_customer_at)
            && first <= at
        {
            m.first_response_at = Some(at);
            seen.push(Observation::FirstResponse { after: at - first });
        }
    }
    for entry in next.dispositions.iter().skip(prior.dispositions.len()) {
        seen.push(Observation::Disposition {
            code: entry.code.clone(),
        });
    }
    if prior.is_open() && !next.is_open() {
        let abandoned = prior.status == ConversationStatus::Queued && prior.owner.is_none();
        let handled = match (&prior.owner, next.milestones.owned_since) {
            (Some(_), Some(since)) => Some((at - since).max(0)),
            _ => None,
        };
        let m = &mut next.milestones;
        m.abandoned = abandoned;
        m.handle_time = handled;
        if handled.is_some() {
            m.handled_by.clone_from(&prior.owner);
        }
        seen.push(Observation::Closed {
            abandoned,
            handled,
            by: handled.and(prior.owner.clone()),
        });
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversation::{Direction, DispositionEntry, Opening};

    fn ag(id: &str) -> AgentId {
        AgentId::parse(id).unwrap()
    }

    fn opening() -> Opening {
        crate::conversation::fixtures::opening(0)
    }

    /// Applies `change` to `c` at `at` as the conversation actor does, returning what it
    /// counts for.
    fn step(
        c: &mut Conversation,
        at: Millis,
        change: impl FnOnce(&mut Conversation),
    ) -> Vec<Observation> {
        let prior = c.clone();
        change(c);
        advance(Some(&prior), c, at)
    }

    #[test]
    fn a_whole_inbound_conversation_gives_every_figure_once() {
        let (mut c, _) = Conversation::open(opening(), 1_000);
        assert_eq!(advance(None, &mut c, 1_000), [Observation::Opened]);
        assert_eq!(c.milestones.first_customer_at, Some(1_000));
        // Offered and accepted 4 s after the text.
        let seen = step(&mut c, 5_000, |c| {
            c.assign(&ag("ann")).unwrap();
        });
        assert_eq!(seen, [Observation::Answered { waited: 4_000 }]);
        assert_eq!(c.milestones.first_answer_wait, Some(4_000));
        assert_eq!(c.milestones.first_accepted_at, Some(5_000));
        assert_eq!(c.milestones.first_accepted_by, Some(ag("ann")));
        // Her reply 3 s later answers the first text: a response and the first response.
        let seen = step(&mut c, 8_000, |c| {
            c.agent_reply(&ag("ann"), 8_000).unwrap();
            c.record_message(Direction::Outbound, "Hi!", 8_000);
        });
        assert_eq!(
            seen,
            [
                Observation::Response {
                    after: 7_000,
                    by: Some(ag("ann"))
                },
                Observation::FirstResponse { after: 7_000 }
            ]
        );
        // The customer writes again; her second reply is a response, not a first response.
        step(&mut c, 10_000, |c| {
            c.customer_message(10_000, 0).unwrap();
        });
        let seen = step(&mut c, 12_500, |c| {
            c.agent_reply(&ag("ann"), 12_500).unwrap();
        });
        assert_eq!(
            seen,
            [Observation::Response {
                after: 2_500,
                by: Some(ag("ann"))
            }]
        );
        // A second reply with nobody waiting counts for nothing.
        assert!(
            step(&mut c, 13_000, |c| {
                c.agent_reply(&ag("ann"), 13_000).unwrap();
            })
            .is_empty()
        );
        let seen = step(&mut c, 14_000, |c| {
            c.add_disposition(DispositionEntry {
                code: Slug::parse("code", "sale").unwrap(),
                note: None,
                agent: ag("ann"),
                at: 14_000,
            })
            .unwrap();
        });
        assert_eq!(
            seen,
            [Observation::Disposition {
                code: Slug::parse("code", "sale").unwrap()
            }]
        );
        let seen = step(&mut c, 20_000, |c| {
            c.complete(&ag("ann"), false, 20_000).unwrap();
        });
        assert_eq!(
            seen,
            [Observation::Closed {
                abandoned: false,
                handled: Some(15_000),
                by: Some(ag("ann"))
            }]
        );
        // What statistics and reports read back from the stored conversation.
        let m = &c.milestones;
        assert_eq!((m.responses, m.response_total), (2, 7_000 + 2_500));
        assert_eq!(m.handled_by, Some(ag("ann")));
        assert_eq!(m.handle_time, Some(15_000));
        assert!(!m.abandoned);
    }

    #[test]
    fn closing_while_waiting_is_abandonment() {
        let (mut c, _) = Conversation::open(opening(), 1_000);
        advance(None, &mut c, 1_000);
        let seen = step(&mut c, 9_000, |c| {
            c.close_opted_out(9_000).unwrap();
        });
        assert_eq!(
            seen,
            [Observation::Closed {
                abandoned: true,
                handled: None,
                by: None
            }]
        );
    }

    #[test]
    fn an_owned_conversation_opting_out_is_handled_not_abandoned() {
        let (mut c, _) = Conversation::open(opening(), 1_000);
        advance(None, &mut c, 1_000);
        step(&mut c, 2_000, |c| {
            c.assign(&ag("ann")).unwrap();
        });
        let seen = step(&mut c, 9_000, |c| {
            c.close_opted_out(9_000).unwrap();
        });
        assert_eq!(
            seen,
            [Observation::Closed {
                abandoned: false,
                handled: Some(7_000),
                by: Some(ag("ann"))
            }]
        );
    }

    #[test]
    fn an_agent_started_conversation_is_owned_from_the_start_and_answers_nothing() {
        let mut c = Conversation::open_outbound(opening(), &ag("ann"), 1_000);
        assert_eq!(advance(None, &mut c, 1_000), [Observation::Opened]);
        assert_eq!(c.milestones.owned_since, Some(1_000));
        assert_eq!(c.milestones.first_customer_at, None);
        // The customer's answer, then hers: the first response runs from the customer's text.
        step(&mut c, 60_000, |c| {
            c.customer_message(60_000, 0).unwrap();
        });
        assert_eq!(c.milestones.first_customer_at, Some(60_000));
        let seen = step(&mut c, 61_000, |c| {
            c.agent_reply(&ag("ann"), 61_000).unwrap();
        });
        assert_eq!(
            seen,
            [
                Observation::Response {
                    after: 1_000,
                    by: Some(ag("ann"))
                },
                Observation::FirstResponse { after: 1_000 }
            ]
        );
    }

    #[test]
    fn a_public_conversation_taken_by_a_teammate_is_not_answered_twice() {
        let mut opening = opening();
        opening.public_minutes = 1;
        let (mut c, _) = Conversation::open(opening, 0);
        advance(None, &mut c, 0);
        step(&mut c, 1_000, |c| {
            c.assign(&ag("ann")).unwrap();
        });
        // Ann leaves the customer waiting past public minutes; Bob takes it.
        step(&mut c, 61_000, |c| {
            c.public_minutes_due(61_000);
        });
        assert!(c.public());
        let seen = step(&mut c, 70_000, |c| {
            c.assign(&ag("bob")).unwrap();
        });
        assert!(seen.is_empty(), "{seen:?}");
        // Bob's handle time runs from now; the answer stays Ann's, after 1 s.
        assert_eq!(c.milestones.owned_since, Some(70_000));
        assert_eq!(c.milestones.first_accepted_by, Some(ag("ann")));
        assert_eq!(c.milestones.first_answer_wait, Some(1_000));
    }
}
