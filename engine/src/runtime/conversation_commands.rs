//! The conversation commands of the facade: what agents do to a conversation (claim, note,
//! dispose, snooze, complete, priority), each awaited until durable.

use ::protocol::thread::ThreadEntry;

use super::engine::Engine;
use super::messages::{
    AddDisposition, AddNote, Claim, CloseOptedOut, Complete, GetConversation, MarkRead,
    SetPriority, Snooze,
};
use super::messages::{ReleaseConversation, SetRequiredSkills, TakeConversation};
use super::types::*;
use crate::conversation::{Conversation, ConversationError, DispositionEntry};
use crate::domain::{AgentId, ConversationId, Disposition, Queue, Slug};
use crate::routing::Millis;
use crate::store::{ResourceKind, Store};

impl Engine {
    /// The owner completes a conversation.
    pub async fn complete(
        &self,
        agent: &AgentId,
        conversation: &ConversationId,
    ) -> Result<(), EngineError> {
        let current = self.conversation(conversation).await?;
        let queue = self
            .inner
            .catalog
            .get::<Queue>(current.queue_id().as_str())
            .await?
            .resource;
        self.ask_conversation(
            conversation,
            Complete {
                agent: agent.clone(),
                disposition_required: queue.disposition_required,
            },
        )
        .await?
    }

    /// Closes a conversation whose customer opted out (STOP); already closed is fine.
    pub async fn close_opted_out(&self, conversation: &ConversationId) -> Result<(), EngineError> {
        match self.ask_conversation(conversation, CloseOptedOut).await? {
            Ok(_) | Err(EngineError::Conversation(ConversationError::Closed)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Sets a conversation's own priority (0 to 100): a waiting one takes its new place in
    /// line at once, keeping its waiting since. `by` is the owner doing it; `None` for a
    /// supervisor or the admin, who may set any conversation's.
    pub async fn set_priority(
        &self,
        conversation: &ConversationId,
        priority: u8,
        by: Option<&AgentId>,
    ) -> Result<(), EngineError> {
        self.ask_conversation(
            conversation,
            SetPriority {
                priority,
                by: by.cloned(),
            },
        )
        .await??;
        Ok(())
    }

    /// Replaces the skills a conversation needs of its own; `by` is the owner changing its
    /// own conversation (`None` for a supervisor or the admin).
    pub async fn set_required_skills(
        &self,
        conversation: &ConversationId,
        skills: Vec<crate::domain::skills::SkillRequirement>,
        by: Option<&AgentId>,
    ) -> Result<(), EngineError> {
        self.ask_conversation(
            conversation,
            SetRequiredSkills {
                skills,
                by: by.cloned(),
            },
        )
        .await??;
        Ok(())
    }

    /// A conversation's routing history, oldest first: why each offer went where it went.
    pub async fn routing_history(
        &self,
        conversation: &ConversationId,
    ) -> Result<Vec<::protocol::routing::RoutingDecision>, EngineError> {
        let stored = self
            .store()
            .conversation_routing(conversation.as_str())
            .await?;
        stored
            .iter()
            .map(|decision| {
                serde_json::from_str(decision).map_err(|e| {
                    EngineError::Store(crate::store::StoreError::Corrupt(e.to_string()))
                })
            })
            .collect()
    }

    /// Marks a conversation's customer messages read: all, or the first `through`.
    pub async fn mark_read(
        &self,
        agent: &AgentId,
        conversation: &ConversationId,
        through: Option<u32>,
    ) -> Result<(), EngineError> {
        self.ask_conversation(
            conversation,
            MarkRead {
                agent: agent.clone(),
                through,
            },
        )
        .await??;
        Ok(())
    }

    /// Adds an internal note to a conversation (never sent to the customer). Returns the
    /// thread entry.
    pub async fn add_note(
        &self,
        agent: &AgentId,
        conversation: &ConversationId,
        body: String,
    ) -> Result<ThreadEntry, EngineError> {
        let entry = self
            .ask_conversation(
                conversation,
                AddNote {
                    agent: agent.clone(),
                    body,
                },
            )
            .await??;
        super::send_gate::written(entry)
    }

    /// Records a disposition (the code must exist and be active).
    pub async fn add_disposition(
        &self,
        agent: &AgentId,
        conversation: &ConversationId,
        code: Slug,
        note: Option<String>,
    ) -> Result<(), EngineError> {
        let id = self
            .inner
            .store
            .config_find_unique(ResourceKind::Disposition, "code", code.as_str())
            .await?
            .ok_or_else(|| EngineError::NotFound {
                kind: "disposition",
                id: code.to_string(),
            })?;
        let disposition = self.inner.catalog.get::<Disposition>(&id).await?.resource;
        if !disposition.active {
            return Err(EngineError::NotFound {
                kind: "disposition",
                id: code.to_string(),
            });
        }
        let entry = DispositionEntry {
            code,
            note,
            agent: agent.clone(),
            at: self.now(),
        };
        self.ask_conversation(conversation, AddDisposition { entry })
            .await??;
        Ok(())
    }

    /// The owner saves a conversation for later, until `until`.
    pub async fn snooze(
        &self,
        agent: &AgentId,
        conversation: &ConversationId,
        until: Millis,
    ) -> Result<(), EngineError> {
        self.ask_conversation(
            conversation,
            Snooze {
                agent: agent.clone(),
                until,
            },
        )
        .await??;
        Ok(())
    }

    /// An agent claims a waiting or public conversation: the agent must have a free slot, and
    /// the first claim wins.
    pub async fn claim(
        &self,
        agent: &AgentId,
        conversation: &ConversationId,
    ) -> Result<(), EngineError> {
        let agent_addr = self.ensure_agent(agent).await?;
        agent_addr
            .send(TakeConversation(conversation.clone()))
            .await
            .map_err(|_| EngineError::Stopped)??;
        let claimed = self
            .ask_conversation(
                conversation,
                Claim {
                    agent: agent.clone(),
                },
            )
            .await?;
        if claimed.is_err() {
            // Lost the race (or the conversation is not claimable): give the slot back.
            agent_addr.do_send(ReleaseConversation(conversation.clone()));
        }
        claimed.map(|_| ())
    }

    /// A conversation's state.
    pub async fn conversation(&self, id: &ConversationId) -> Result<Conversation, EngineError> {
        self.ask_conversation(id, GetConversation)
            .await?
            .ok_or_else(|| EngineError::NotFound {
                kind: "conversation",
                id: id.to_string(),
            })
    }
}
