//! The cumulative figures of a window, computed from stored conversations' milestones — the
//! same moments `/metrics` observes, so the two agree:
//! - **opened**: opened in the window;
//! - **answered**, **speed of answer**, **service level**: first taken by an agent in the
//!   window, after waiting in line (`first_answer_wait`);
//! - **first response**: the first agent text came in the window;
//! - **closed**, **abandoned**, **handle time**, **response time**: closed in the window
//!   (response times are kept per conversation as a count and a sum, so they are read when
//!   it closes);
//! - **dispositions**: recorded in the window.
//!
//! An agent's figures are the conversations it first took (answered, speed of answer, first
//! response), handled (owned at close: handle and response time) and the codes it recorded.

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;

use crate::conversation::Conversation;
use crate::domain::{AgentId, QueueId};
use crate::routing::Millis;

/// Whose figures.
#[derive(Debug, Clone)]
pub enum Subject {
    /// Conversations of these queues (one queue, or a team's).
    Queues(HashSet<QueueId>),
    /// The agent's work.
    Agent(AgentId),
}

/// A closed time window, in milliseconds since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// The first moment.
    pub from: Millis,
    /// The last moment.
    pub to: Millis,
}

impl Window {
    fn holds(&self, at: Option<Millis>) -> bool {
        at.is_some_and(|at| at >= self.from && at <= self.to)
    }

    /// Its length in hours.
    pub fn hours(&self) -> f64 {
        (self.to - self.from).max(0) as f64 / 3_600_000.0
    }
}

/// Times of one kind in a window, in seconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Timing {
    /// How many.
    pub count: u64,
    /// Their mean; absent when there are none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub average_seconds: Option<f64>,
    /// The shortest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_seconds: Option<f64>,
    /// The longest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_seconds: Option<f64>,
    /// The median (nearest rank).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p50_seconds: Option<f64>,
    /// The 90th percentile (nearest rank).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p90_seconds: Option<f64>,
}

impl Timing {
    /// The figures of `millis` (any order).
    pub fn of(mut millis: Vec<Millis>) -> Self {
        if millis.is_empty() {
            return Self::default();
        }
        millis.sort_unstable();
        let seconds = |ms: Millis| ms as f64 / 1000.0;
        let rank = |p: f64| {
            // Nearest rank: the smallest value with at least p of the values at or below it.
            let n = millis.len();
            let index = ((p * n as f64).ceil() as usize).clamp(1, n) - 1;
            seconds(millis[index])
        };
        let total: i128 = millis.iter().map(|&m| i128::from(m)).sum();
        Self {
            count: millis.len() as u64,
            average_seconds: Some(total as f64 / millis.len() as f64 / 1000.0),
            min_seconds: millis.first().copied().map(seconds),
            max_seconds: millis.last().copied().map(seconds),
            p50_seconds: Some(rank(0.5)),
            p90_seconds: Some(rank(0.9)),
        }
    }
}

/// An average kept as a count and a sum.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Average {
    /// How many.
    pub count: u64,
    /// Their mean; absent when there are none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub average_seconds: Option<f64>,
}

/// Service level at one threshold (TaskRouter's `split_by_wait_time`).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ServiceLevel {
    /// The threshold.
    pub threshold_seconds: u32,
    /// Conversations answered within it.
    pub answered_within: u64,
    /// Conversations answered after it.
    pub answered_after: u64,
    /// Conversations abandoned within it (closed while waiting, before it passed).
    pub abandoned_within: u64,
    /// Conversations abandoned after waiting longer.
    pub abandoned_after: u64,
    /// `answered_within / answered`; absent when none was answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ratio: Option<f64>,
}

/// Conversation counts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Counts {
    /// Opened (queues and teams only).
    pub opened: u64,
    /// Taken by an agent for the first time after waiting in line.
    pub answered: u64,
    /// Closed.
    pub closed: u64,
    /// Closed still waiting in line, never taken (queues and teams only).
    pub abandoned: u64,
    /// Closed by their owner (handled).
    pub handled: u64,
}

/// The cumulative figures of a window.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Cumulative {
    /// Conversation counts.
    pub conversations: Counts,
    /// Speed of answer: waiting in line until an agent first took it.
    pub speed_of_answer: Timing,
    /// From the customer's first text to the first agent text.
    pub first_response: Timing,
    /// From the customer's oldest unanswered text to the agent text answering it, for
    /// conversations closed in the window.
    pub response: Average,
    /// From the last owner taking it to its close.
    pub handle: Timing,
    /// One entry per `split_by_wait_time` threshold.
    pub service_level: Vec<ServiceLevel>,
    /// `abandoned / (answered + abandoned)`; absent when both are 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub abandonment_ratio: Option<f64>,
    /// Handled conversations per hour of the window (agents only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handled_per_hour: Option<f64>,
    /// Disposition codes recorded, by code.
    pub dispositions: BTreeMap<String, u64>,
    /// Offers by outcome (`created`, `accepted`, `rejected`, `expired`, `rescinded`;
    /// queues and teams only, at minute resolution).
    pub offers: BTreeMap<String, u64>,
}

/// Computes the figures of `subject` in `window` from its conversations (any that were open
/// in the window; others count for nothing).
pub fn cumulative<'a>(
    subject: &Subject,
    window: Window,
    thresholds: &[u32],
    conversations: impl IntoIterator<Item = &'a Conversation>,
) -> Cumulative {
    let mut out = Cumulative::default();
    let mut answer_waits = Vec::new();
    let mut first_responses = Vec::new();
    let mut handle_times = Vec::new();
    let mut abandoned_waits = Vec::new();
    let (mut responses, mut response_total) = (0u64, 0i128);
    for c in conversations {
        let m = c.milestones();
        let (in_scope, took_it, handled_it) = match subject {
            Subject::Queues(queues) => {
                let ours = queues.contains(c.queue_id());
                (ours, ours, ours)
            }
            Subject::Agent(agent) => (
                false,
                m.first_accepted_by.as_ref() == Some(agent),
                m.handled_by.as_ref() == Some(agent),
            ),
        };
        if in_scope && window.holds(Some(c.created_at())) {
            out.conversations.opened += 1;
        }
        if took_it
            && window.holds(m.first_accepted_at)
            && let Some(waited) = m.first_answer_wait
        {
            answer_waits.push(waited);
        }
        if took_it
            && window.holds(m.first_response_at)
            && let (Some(answered), Some(first)) = (m.first_response_at, m.first_customer_at)
        {
            first_responses.push(answered - first);
        }
        if window.holds(c.closed_at()) {
            if in_scope {
                out.conversations.closed += 1;
                if m.abandoned {
                    out.conversations.abandoned += 1;
                    let waited = c.closed_at().unwrap_or_default()
                        - c.waiting_since()
                            .or(m.first_customer_at)
                            .unwrap_or(c.created_at());
                    abandoned_waits.push(waited.max(0));
                }
            } else if handled_it {
                out.conversations.closed += 1;
            }
            if handled_it && let Some(handled) = m.handle_time {
                out.conversations.handled += 1;
                handle_times.push(handled);
                responses += u64::from(m.responses);
                response_total += i128::from(m.response_total);
            }
        }
        for entry in c.dispositions() {
            let counts = match subject {
                Subject::Queues(_) => in_scope,
                Subject::Agent(agent) => &entry.agent == agent,
            };
            if counts && window.holds(Some(entry.at)) {
                *out.dispositions.entry(entry.code.to_string()).or_default() += 1;
            }
        }
    }
    out.service_level = thresholds
        .iter()
        .map(|&threshold| {
            let limit = Millis::from(threshold) * 1000;
            let answered_within = answer_waits.iter().filter(|&&w| w <= limit).count() as u64;
            let abandoned_within = abandoned_waits.iter().filter(|&&w| w <= limit).count() as u64;
            ServiceLevel {
                threshold_seconds: threshold,
                answered_within,
                answered_after: answer_waits.len() as u64 - answered_within,
                abandoned_within,
                abandoned_after: abandoned_waits.len() as u64 - abandoned_within,
                ratio: (!answer_waits.is_empty())
                    .then(|| answered_within as f64 / answer_waits.len() as f64),
            }
        })
        .collect();
    out.conversations.answered = answer_waits.len() as u64;
    let settled = out.conversations.answered + out.conversations.abandoned;
    out.abandonment_ratio =
        (settled > 0).then(|| out.conversations.abandoned as f64 / settled as f64);
    if let Subject::Agent(_) = subject
        && window.hours() > 0.0
    {
        out.handled_per_hour = Some(out.conversations.handled as f64 / window.hours());
    }
    out.response = Average {
        count: responses,
        average_seconds: (responses > 0).then(|| response_total as f64 / responses as f64 / 1000.0),
    };
    out.speed_of_answer = Timing::of(answer_waits);
    out.first_response = Timing::of(first_responses);
    out.handle = Timing::of(handle_times);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timings_use_nearest_rank_percentiles() {
        let t = Timing::of(vec![4_000, 1_000, 3_000, 2_000, 10_000]);
        assert_eq!(t.count, 5);
        assert_eq!(t.average_seconds, Some(4.0));
        assert_eq!((t.min_seconds, t.max_seconds), (Some(1.0), Some(10.0)));
        assert_eq!(t.p50_seconds, Some(3.0));
        assert_eq!(t.p90_seconds, Some(10.0));
        assert_eq!(Timing::of(vec![]), Timing::default());
    }
}
