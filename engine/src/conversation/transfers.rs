//! Handing a conversation on: transfers by its owner (to an agent, straight to them, cold or
//! warm; to a queue, keeping its place), a supervisor's directed offer of a waiting one, and
//! teammates subscribing. The rest of its life is in `state`.

use super::state::{Conversation, ConversationError, ConversationStatus, Followup, TimerKind};
use crate::domain::{AgentId, QueueId};
use crate::routing::Millis;

impl Conversation {
    /// The owner hands the conversation to another agent, cold: it leaves the owner (who
    /// stays a subscriber) and is offered straight to `target`, then served by its queue
    /// (not back to the owner first) if `target` cannot take it, declines it or lets it
    /// time out.
    pub fn transfer_to_agent(
        &mut self,
        owner: &AgentId,
        target: &AgentId,
        now: Millis,
    ) -> Result<Vec<Followup>, ConversationError> {
        self.require_owner(owner)?;
        if owner == target {
            return Err(ConversationError::TransferToSelf);
        }
        let mut out = self.leave_owner(owner);
        out.push(Followup::OfferDirect {
            agent: target.clone(),
            queue: self.queue_id.clone(),
            waiting_since: self.waiting_since.unwrap_or(now),
            warm: false,
            sender: Some(owner.clone()),
        });
        Ok(out)
    }

    /// The owner offers the conversation to another agent, warm: the owner keeps it (and may
    /// go on replying) until the target accepts; if the target declines or lets the offer
    /// expire, nothing changes.
    pub fn transfer_warm(
        &mut self,
        owner: &AgentId,
        target: &AgentId,
        now: Millis,
    ) -> Result<Vec<Followup>, ConversationError> {
        self.require_owner(owner)?;
        if owner == target {
            return Err(ConversationError::TransferToSelf);
        }
        let mut out = self.cancel_pending_transfer();
        self.pending_transfer = Some(target.clone());
        out.push(Followup::OfferDirect {
            agent: target.clone(),
            queue: self.queue_id.clone(),
            waiting_since: self.waiting_since.unwrap_or(now),
            warm: true,
            sender: None,
        });
        Ok(out)
    }

    /// A supervisor hands a waiting conversation to `agent`: offered straight to the agent
    /// (no login to the queue needed); if the agent declines or lets the offer expire, it
    /// waits in line as before, with its place.
    pub fn offer_to(
        &mut self,
        agent: &AgentId,
        now: Millis,
    ) -> Result<Vec<Followup>, ConversationError> {
        if !self.is_open() {
            return Err(ConversationError::Closed);
        }
        if self.status != ConversationStatus::Queued {
            return Err(match &self.owner {
                Some(owner) => ConversationError::AlreadyOwned(owner.clone()),
                None => ConversationError::NotOwned,
            });
        }
        Ok(vec![Followup::OfferDirect {
            agent: agent.clone(),
            queue: self.queue_id.clone(),
            waiting_since: self.waiting_since.unwrap_or(now),
            warm: false,
            sender: None,
        }])
    }

    /// A teammate follows the conversation (or stops): subscribers see its messages beside
    /// the owner and may reply, note and record dispositions; only the owner completes,
    /// snoozes or transfers it. Returns whether anything changed.
    pub fn subscribe(&mut self, agent: &AgentId, on: bool) -> Result<bool, ConversationError> {
        if !self.is_open() {
            return Err(ConversationError::Closed);
        }
        if self.owner.as_ref() == Some(agent) {
            // The owner sees it anyway.
            return Ok(false);
        }
        Ok(if on {
            self.subscribers.insert(agent.clone())
        } else {
            self.subscribers.remove(agent)
        })
    }

    /// The target of a warm transfer declined it (or let it expire): the owner keeps it.
    /// Returns whether a transfer to `agent` was pending.
    pub fn transfer_declined(&mut self, agent: &AgentId) -> bool {
        if self.pending_transfer.as_ref() == Some(agent) {
            self.pending_transfer = None;
            true
        } else {
            false
        }
    }

    /// Ends a pending warm transfer (the owner did something else with the conversation).
    pub(super) fn cancel_pending_transfer(&mut self) -> Vec<Followup> {
        match self.pending_transfer.take() {
            Some(_) => vec![Followup::Withdraw {
                queue: self.queue_id.clone(),
            }],
            None => Vec::new(),
        }
    }

    /// The owner hands the conversation to another queue, cold: it waits there with its
    /// original `waiting_since` (or from now, when the customer was not waiting).
    pub fn transfer_to_queue(
        &mut self,
        owner: &AgentId,
        target: QueueId,
        now: Millis,
    ) -> Result<Vec<Followup>, ConversationError> {
        self.transfer_to_queue_via(owner, target, None, now)
    }

    /// A cold transfer to `target` queue, offered first to `agent` there when given.
    pub fn transfer_to_queue_via(
        &mut self,
        owner: &AgentId,
        target: QueueId,
        agent: Option<&AgentId>,
        now: Millis,
    ) -> Result<Vec<Followup>, ConversationError> {
        self.require_owner(owner)?;
        let mut out = self.leave_owner(owner);
        self.queue_id = target.clone();
        if let Some(agent) = agent {
            out.push(Followup::OfferFirstTo {
                agent: agent.clone(),
                queue: target,
                waiting_since: self.waiting_since.unwrap_or(now),
            });
            return Ok(out);
        }
        out.push(Followup::Enqueue {
            queue: target,
            waiting_since: self.waiting_since.unwrap_or(now),
        });
        Ok(out)
    }

    /// Takes the conversation from its owner back to queued; the owner stays a subscriber.
    fn leave_owner(&mut self, owner: &AgentId) -> Vec<Followup> {
        let mut out = self.cancel_pending_transfer();
        out.extend([
            Followup::ReleaseFrom {
                agent: owner.clone(),
            },
            Followup::Disarm {
                kind: TimerKind::PublicMinutes,
            },
        ]);
        if self.public {
            out.push(Followup::Withdraw {
                queue: self.queue_id.clone(),
            });
        }
        self.subscribers.insert(owner.clone());
        self.owner = None;
        self.public = false;
        self.status = ConversationStatus::Queued;
        out
    }
}
