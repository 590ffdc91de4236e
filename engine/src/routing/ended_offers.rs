//! How a queue's recent offers ended, so that a late answer is told why it is stale (taken,
//! expired, rejected, rescinded, or made to someone else). Bounded: the oldest are forgotten,
//! and an answer to a forgotten offer is stale for an unknown reason.

use std::collections::{HashMap, VecDeque};

use super::protocol::{OfferId, StaleReason};
use crate::domain::AgentId;

/// How many ended offers a queue remembers.
const REMEMBERED: usize = 4096;

/// The memory of ended offers.
#[derive(Debug, Clone, Default)]
pub struct EndedOffers {
    ended: HashMap<OfferId, (AgentId, StaleReason)>,
    order: VecDeque<OfferId>,
}

impl EndedOffers {
    /// Remembers that `offer`, made to `agent`, ended for `reason`.
    pub fn remember(&mut self, offer: &OfferId, agent: &AgentId, reason: StaleReason) {
        if self
            .ended
            .insert(offer.clone(), (agent.clone(), reason))
            .is_none()
        {
            self.order.push_back(offer.clone());
        }
        while self.order.len() > REMEMBERED {
            if let Some(old) = self.order.pop_front() {
                self.ended.remove(&old);
            }
        }
    }

    /// Why `agent`'s answer to `offer` is stale, if the offer is remembered.
    pub fn reason(&self, offer: &OfferId, agent: &AgentId) -> Option<StaleReason> {
        self.ended.get(offer).map(|(made_to, reason)| {
            if made_to == agent {
                *reason
            } else {
                StaleReason::NotYours
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::QueueId;

    fn offer(seq: u64) -> OfferId {
        OfferId {
            queue: QueueId::parse("q").unwrap(),
            seq,
        }
    }

    #[test]
    fn remembers_the_newest_and_whose_they_were() {
        let (ann, bob) = (
            AgentId::parse("ann").unwrap(),
            AgentId::parse("bob").unwrap(),
        );
        let mut ended = EndedOffers::default();
        for seq in 0..=REMEMBERED as u64 {
            ended.remember(&offer(seq), &ann, StaleReason::Expired);
        }
        assert_eq!(
            ended.reason(&offer(0), &ann),
            None,
            "the oldest is forgotten"
        );
        assert_eq!(ended.reason(&offer(1), &ann), Some(StaleReason::Expired));
        assert_eq!(ended.reason(&offer(1), &bob), Some(StaleReason::NotYours));
    }
}
