//! Recovery after a restart: owned conversations back to their agents, waiting and public
//! ones back in line in their original order, agents' logins and presence (which re-makes the
//! offers), warm transfers re-offered; then the directory's closed conversations
//! (`directory_loading`).

use std::collections::BTreeSet;
use std::sync::Arc;

use super::engine::Engine;
use super::messages::RestoreOwned;
use super::types::*;
use crate::conversation::Conversation;
use crate::domain::{Agent, AgentId, Presence, QueueId};
use crate::routing::protocol::EnqueueHint;
use crate::store::{Store, StoreError};

/// Open conversations read per round trip at recovery.
const RECOVERY_BATCH: usize = 500;

/// An agent's routing state as saved for a restart.
#[derive(Debug, serde::Deserialize)]
struct SavedAgent {
    presence: Presence,
    logins: BTreeSet<QueueId>,
    /// Why it is away (saved since away reasons exist).
    #[serde(default)]
    away_reason: Option<String>,
}

/// How often one batch's read is tried before recovery as a whole fails (and starts over).
const BATCH_TRIES: u32 = 5;

/// Reads one batch of open conversations, trying again after a timeout or a dropped
/// connection: with a million conversations, one slow round trip (the engine's thread busy
/// growing its tables while the read's clock runs) must not throw away the whole recovery.
async fn read_batch(
    store: &crate::store::AnyStore,
    ids: &[String],
) -> Result<Vec<crate::store::ConversationDoc>, StoreError> {
    let mut tries = 0;
    loop {
        tries += 1;
        match store.conversations_get(ids).await {
            Err(e) if e.is_unavailable() && tries < BATCH_TRIES => {
                tracing::warn!(error = %e, tries, "reading open conversations; trying again");
                tokio::time::sleep(std::time::Duration::from_millis(100 * u64::from(tries))).await;
            }
            answer => return answer,
        }
    }
}

impl Engine {
    /// Brings back what the store holds after a restart: owned conversations to their agents,
    /// waiting and public conversations to their queues (oldest first, in their original
    /// order), then the agents' logins and presence, which re-makes the offers, then warm
    /// transfers; then the directory's closed conversations, the first page now and the rest
    /// in the background. Overdue timers fire on the
    /// sweeper's first round. Open conversations are read in batches of [`RECOVERY_BATCH`]
    /// (one round trip each), with progress in the log.
    pub async fn recover(&self) -> Result<(), EngineError> {
        let started = std::time::Instant::now();
        self.touch_known_queues().await?;
        self.recover_routing(started).await?;
        // Labels stored before campaigns were resources become campaigns; routing does not
        // wait on it, nor fails with it (the next number written tries again).
        if let Err(e) = self.adopt_campaign_labels().await {
            tracing::warn!(error = %e, "campaign labels not made campaigns yet");
        }
        // Bulk sends running when the process stopped go on where their outcomes say.
        self.resume_sends().await?;
        // Closed conversations only fill lists: they must not hold routing back, however
        // many a contact center has kept (see directory_loading).
        self.start_loading_directory(started).await
    }

    /// Puts every configured queue and team on `/metrics` at zero, idle ones included.
    async fn touch_known_queues(&self) -> Result<(), EngineError> {
        for queue in self.every::<crate::domain::Queue>().await? {
            crate::metrics::metrics().touch_queue(queue.id.as_str());
            crate::metrics::metrics().describe_queue(&queue);
        }
        for team in self.every::<crate::domain::Team>().await? {
            crate::metrics::metrics().touch_team(&team);
        }
        Ok(())
    }

    /// Every configured resource of a kind, page by page.
    pub(super) async fn every<R: crate::catalog::ConfigResource>(
        &self,
    ) -> Result<Vec<R>, EngineError> {
        let mut all = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = self
                .inner
                .catalog
                .list::<R>(after.as_deref(), crate::catalog::MAX_PAGE_SIZE)
                .await?;
            all.extend(page.items.into_iter().map(|stored| stored.resource));
            match page.next_after {
                Some(next) => after = Some(next),
                None => return Ok(all),
            }
        }
    }

    async fn recover_routing(&self, started: std::time::Instant) -> Result<(), EngineError> {
        use crate::conversation::ConversationStatus;
        let open = self.inner.store.conversations_open().await?;
        let total = open.len();
        tracing::info!(open = total, "recovering open conversations");
        let mut waiting = Vec::new();
        let mut transfers = Vec::new();
        let mut alerts: std::collections::BTreeMap<&'static str, i64> = crate::metrics::ALERT_KINDS
            .iter()
            .map(|k| (crate::metrics::alert_label(*k), 0))
            .collect();
        let mut reported = std::time::Instant::now();
        // The next batch is read while this one is worked through: Redis's time and ours
        // overlap.
        let (batches, mut read) = tokio::sync::mpsc::channel(2);
        let reader = {
            let store = self.inner.store.clone();
            actix::spawn(async move {
                for ids in open.chunks(RECOVERY_BATCH) {
                    let docs = read_batch(&store, ids).await;
                    let failed = docs.is_err();
                    if batches.send(docs).await.is_err() || failed {
                        return;
                    }
                }
            })
        };
        let mut batch = 0usize;
        while let Some(docs) = read.recv().await {
            batch += 1;
            let docs = match docs {
                Ok(docs) => docs,
                Err(e) => {
                    reader.abort();
                    return Err(e.into());
                }
            };
            for doc in docs {
                // Shared by the directory and the lists below: no copies.
                let conversation: Conversation = serde_json::from_str(&doc.body)
                    .map_err(|e| StoreError::Corrupt(format!("conversation {}: {e}", doc.id)))?;
                let conversation = Arc::new(conversation);
                if let (ConversationStatus::Owned, Some(owner)) =
                    (conversation.status(), conversation.owner())
                {
                    match self.ensure_agent(owner).await {
                        Ok(addr) => addr.do_send(RestoreOwned(conversation.id().clone())),
                        Err(e) => {
                            tracing::warn!(conversation_id = %doc.id, error = %e, "owner not restored")
                        }
                    }
                }
                if !conversation.open_offers().is_empty() {
                    // Before it is offered again below: the actor's mailbox keeps the order.
                    self.conversation_addr(conversation.id())
                        .do_send(super::messages::EndOffersOfPreviousProcess);
                }
                let in_line =
                    conversation.status() == ConversationStatus::Queued || conversation.public();
                if let (true, Some(since)) = (in_line, conversation.waiting_since()) {
                    waiting.push((since, Arc::clone(&conversation)));
                }
                if let (ConversationStatus::Owned, Some(_)) =
                    (conversation.status(), conversation.pending_transfer())
                {
                    transfers.push(Arc::clone(&conversation));
                }
                for kind in conversation.alerts() {
                    *alerts
                        .entry(crate::metrics::alert_label(*kind))
                        .or_default() += 1;
                }
                self.inner.open_conversations.observe(&conversation);
                self.inner.directory.load(&conversation);
            }
            if reported.elapsed() >= std::time::Duration::from_secs(1) {
                let read = (batch * RECOVERY_BATCH).min(total);
                tracing::info!(read, of = total, "recovering open conversations");
                reported = std::time::Instant::now();
            }
        }
        // Set, not added: a recovery that starts over must not count twice.
        for (kind, count) in alerts {
            crate::metrics::metrics()
                .alerts_active
                .with_label_values(&[kind])
                .set(count);
        }
        // Every line is whole before the agents come back: an agent's first offer is then its
        // queues' longest-waiting conversation, and a public conversation's owner is known
        // to have declined it before anyone can be asked.
        waiting.sort_by_key(|(since, _)| *since);
        let enqueued = waiting.len();
        for (since, conversation) in waiting {
            self.ensure_queue(conversation.queue_id()).await?;
            let hint = super::registry::line_hint(&conversation);
            self.put_in_line(&conversation, conversation.queue_id(), since, hint);
        }
        // Owned conversations are on their agents' loads already (sent above, so each agent's
        // mailbox has them before its presence).
        let agents = self.restore_agents().await?;
        tracing::info!(
            enqueued,
            agents,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "routing state recovered"
        );
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
        Ok(())
    }

    /// Brings back every saved agent's logins and presence (which re-makes the offers).
    async fn restore_agents(&self) -> Result<usize, EngineError> {
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
            self.set_presence(&agent, state.presence, state.away_reason)
                .await?;
            agents += 1;
        }
        Ok(agents)
    }
}
