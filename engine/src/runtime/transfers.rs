//! Handing a conversation to someone else: the owner's transfers (to an agent, straight to
//! them; to a queue; warm or cold), a supervisor's reassignment of its team's conversations,
//! and teammates subscribing. A transfer to an agent who could not be offered it (the owner
//! itself, outside the queue's team, offline, away, full) is refused before anything changes.

use super::messages::{OfferTo, Subscribe, Transfer, TransferTarget};
use super::{Engine, EngineError, TargetRefusal};
use crate::conversation::{Conversation, ConversationError, ConversationStatus};
use crate::domain::{Agent, AgentId, ConversationId, Presence, Queue};

impl Engine {
    /// The owner transfers a conversation to an agent or a queue (which must exist). Cold,
    /// it leaves the owner at once; warm (agents only), the owner keeps it until the target
    /// accepts, and nothing changes if the target declines.
    pub async fn transfer(
        &self,
        agent: &AgentId,
        conversation: &ConversationId,
        target: TransferTarget,
        warm: bool,
        note: Option<String>,
    ) -> Result<(), EngineError> {
        let current = self.conversation(conversation).await?;
        // Anyone but the owner is refused by the conversation itself.
        if current.owner().as_ref() == Some(agent) && current.status() == ConversationStatus::Owned
        {
            self.check_target(&current, &target).await?;
        }
        self.send_transfer(agent, None, conversation, target, warm, note)
            .await
    }

    /// A supervisor of the conversation's team hands it on: an owned one as its owner would
    /// (the same rules and checks), a waiting one straight to an agent (to a queue, a waiting
    /// conversation moves only with its owner).
    pub async fn reassign(
        &self,
        supervisor: &AgentId,
        conversation: &ConversationId,
        target: TransferTarget,
        warm: bool,
        note: Option<String>,
    ) -> Result<(), EngineError> {
        let current = self.conversation(conversation).await?;
        match (current.status(), current.owner()) {
            (ConversationStatus::Owned, Some(owner)) => {
                self.check_target(&current, &target).await?;
                let owner = owner.clone();
                self.send_transfer(&owner, Some(supervisor), conversation, target, warm, note)
                    .await
            }
            (ConversationStatus::Queued, _) => {
                let TransferTarget::Agent(to) = &target else {
                    return Err(ConversationError::NotOwned.into());
                };
                if warm {
                    // Nobody owns it to keep it meanwhile.
                    return Err(ConversationError::NotOwned.into());
                }
                self.check_target(&current, &target).await?;
                self.ask_conversation(
                    conversation,
                    OfferTo {
                        agent: to.clone(),
                        by: supervisor.clone(),
                        note,
                    },
                )
                .await??;
                Ok(())
            }
            (ConversationStatus::Closed, _) => Err(ConversationError::Closed.into()),
            _ => Err(ConversationError::NotOwned.into()),
        }
    }

    /// A teammate subscribes to a conversation (`on`) or unsubscribes.
    pub async fn subscribe(
        &self,
        agent: &AgentId,
        conversation: &ConversationId,
        on: bool,
    ) -> Result<(), EngineError> {
        self.ask_conversation(
            conversation,
            Subscribe {
                agent: agent.clone(),
                on,
            },
        )
        .await??;
        Ok(())
    }

    async fn send_transfer(
        &self,
        owner: &AgentId,
        by: Option<&AgentId>,
        conversation: &ConversationId,
        target: TransferTarget,
        warm: bool,
        note: Option<String>,
    ) -> Result<(), EngineError> {
        match &target {
            TransferTarget::Agent(to) => {
                self.catalog().get::<Agent>(to.as_str()).await?;
            }
            TransferTarget::Queue(to) => {
                self.ensure_queue(to).await?;
            }
            TransferTarget::AgentInQueue(agent, queue) => {
                self.catalog().get::<Agent>(agent.as_str()).await?;
                self.ensure_queue(queue).await?;
            }
        }
        self.ask_conversation(
            conversation,
            Transfer {
                agent: owner.clone(),
                target,
                warm,
                note,
                by: by.cloned(),
            },
        )
        .await??;
        Ok(())
    }

    /// Refuses a transfer to an agent who could not be offered the conversation: its owner,
    /// an agent outside the queue's team, or one that is not available or has no free slot.
    async fn check_target(
        &self,
        current: &Conversation,
        target: &TransferTarget,
    ) -> Result<(), EngineError> {
        let TransferTarget::Agent(to) = target else {
            return Ok(());
        };
        let target = self.catalog().get::<Agent>(to.as_str()).await?.resource;
        let refuse = |reason| EngineError::InvalidTransferTarget {
            agent: target.id.clone(),
            reason,
        };
        if current.owner().as_ref() == Some(&target.id) {
            return Err(refuse(TargetRefusal::Owner));
        }
        let queue = self
            .catalog()
            .get::<Queue>(current.queue_id().as_str())
            .await?
            .resource;
        if !target.team_ids.contains(&queue.team_id) {
            return Err(refuse(TargetRefusal::NotInTeam));
        }
        let state = self.agent_snapshot(&target.id).await?;
        let busy = |reason| EngineError::AgentUnavailable {
            agent: target.id.clone(),
            reason,
        };
        match state.presence {
            Presence::Offline => Err(busy(TargetRefusal::Offline)),
            Presence::Away => Err(busy(TargetRefusal::Away)),
            Presence::Available if state.load >= state.capacity => {
                Err(busy(TargetRefusal::AtCapacity))
            }
            Presence::Available => Ok(()),
        }
    }
}
