//! Recovery after a restart: owned conversations back to their agents, waiting and public
//! ones back in line in their original order, agents' logins and presence (which re-makes the
//! offers), warm transfers re-offered, and the conversation directory refilled.

use std::collections::BTreeSet;

use super::engine::Engine;
use super::messages::RestoreOwned;
use super::types::*;
use crate::conversation::Conversation;
use crate::domain::{Agent, AgentId, Presence, QueueId};
use crate::routing::protocol::EnqueueHint;
use crate::store::{Store, StoreError};

/// An agent's routing state as saved for a restart.
#[derive(Debug, serde::Deserialize)]
struct SavedAgent {
    presence: Presence,
    logins: BTreeSet<QueueId>,
}

impl Engine {
    /// Brings back what the store holds after a restart: owned conversations to their agents,
    /// waiting and public ones to their queues (in their original order, by `waiting_since`),
    /// then the agents' logins and presence, which re-makes the offers. Overdue timers fire
    /// on the sweeper's first round.
    pub async fn recover(&self) -> Result<(), EngineError> {
        use crate::conversation::ConversationStatus;
        let mut enqueued = 0usize;
        let mut transfers = Vec::new();
        for id in self.inner.store.conversations_open().await? {
            let Some(doc) = self.inner.store.conversation_get(&id).await? else {
                continue;
            };
            let conversation: Conversation = serde_json::from_str(&doc.body)
                .map_err(|e| StoreError::Corrupt(format!("conversation {id}: {e}")))?;
            if let (ConversationStatus::Owned, Some(owner)) =
                (conversation.status(), conversation.owner())
            {
                match self.ensure_agent(owner).await {
                    Ok(addr) => addr.do_send(RestoreOwned(conversation.id().clone())),
                    Err(e) => {
                        tracing::warn!(conversation_id = %id, error = %e, "owner not restored")
                    }
                }
            }
            let waiting =
                conversation.status() == ConversationStatus::Queued || conversation.public();
            if let (true, Some(since)) = (waiting, conversation.waiting_since()) {
                self.ensure_queue(conversation.queue_id()).await?;
                let hint = match (conversation.owner(), conversation.public()) {
                    // A public conversation goes to the owner's colleagues.
                    (Some(owner), true) => EnqueueHint::NotTo(owner.clone()),
                    _ => EnqueueHint::None,
                };
                self.put_in_line(&conversation, conversation.queue_id(), since, hint);
                enqueued += 1;
            }
            if let (ConversationStatus::Owned, Some(_)) =
                (conversation.status(), conversation.pending_transfer())
            {
                transfers.push(conversation);
            }
        }
        let mut agents = 0usize;
        for (id, state) in self.inner.store.runtime_all("agent").await? {
            let Ok(agent) = AgentId::parse(id.as_str()) else {
                continue;
            };
            let Ok(state) = serde_json::from_str::<SavedAgent>(&state) else {
                continue;
            };
            if self
                .inner
                .catalog
                .find::<Agent>(agent.as_str())
                .await?
                .is_none()
            {
                continue; // deleted meanwhile
            }
            self.set_logins(&agent, state.logins).await?;
            self.set_presence(&agent, state.presence).await?;
            agents += 1;
        }
        // Warm transfers under way are offered to their targets again, now that the agents
        // are back (one who is not available declines it, and the owner keeps it).
        for conversation in transfers {
            let Some(target) = conversation.pending_transfer().clone() else {
                continue;
            };
            self.ensure_queue(conversation.queue_id()).await?;
            if let Err(e) = self.ensure_agent(&target).await {
                tracing::warn!(conversation_id = %conversation.id(), error = %e, "transfer target not restored");
                continue;
            }
            let since = conversation.waiting_since().unwrap_or_else(|| self.now());
            let hint = EnqueueHint::Direct {
                agent: target,
                warm: true,
                sender: None,
            };
            self.put_in_line(&conversation, conversation.queue_id(), since, hint);
        }
        let listed = self.load_directory().await?;
        tracing::info!(
            enqueued,
            agents,
            conversations = listed,
            "routing state recovered"
        );
        Ok(())
    }

    /// Fills the directory with every stored conversation and the contacts' names.
    pub(super) async fn load_directory(&self) -> Result<usize, EngineError> {
        let mut after: Option<String> = None;
        loop {
            let page = self
                .inner
                .store
                .conversations_page(after.as_deref(), 500)
                .await?;
            let Some(last) = page.last().map(|d| d.id.clone()) else {
                break;
            };
            for doc in page {
                match serde_json::from_str::<Conversation>(&doc.body) {
                    Ok(conversation) => self.inner.directory.load(conversation),
                    Err(e) => {
                        tracing::warn!(conversation_id = %doc.id, error = %e, "unreadable conversation skipped")
                    }
                }
            }
            after = Some(last);
        }
        for (phone, card) in self.inner.store.runtime_all(crate::contacts::KIND).await? {
            let name = serde_json::from_str::<crate::contacts::Contact>(&card)
                .ok()
                .and_then(|c| c.name);
            self.inner
                .directory
                .set_contact_name(&phone, name.as_deref());
        }
        Ok(self.inner.directory.len())
    }
}
