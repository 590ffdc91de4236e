//! Reading what statistics and reports are computed from: the stored conversations that were
//! open in a window (found through the directory, read from the store in batches), and the
//! durable offer counters of a window.

use std::collections::{BTreeMap, HashSet};

use super::{Engine, EngineError};
use crate::conversation::Conversation;
use crate::directory::{Involving, Span};
use crate::domain::{ConversationId, QueueId};
use crate::stats::{Cumulative, Subject, Window, cumulative, offer_minutes};
use crate::store::Store;

/// Conversations read from the store per round trip.
pub const READ_BATCH: usize = 500;

impl Engine {
    /// The conversations of `scope` open at some moment of `window`, read from the store a
    /// batch at a time and handed to `each` batch by batch (so a month of conversations
    /// never sits in memory at once). The directory must be complete (see
    /// [`crate::directory::Directory::is_complete`]).
    pub async fn conversations_in(
        &self,
        scope: Involving<'_>,
        window: Window,
        mut each: impl FnMut(Vec<Conversation>) -> Result<(), EngineError>,
    ) -> Result<(), EngineError> {
        let ids: Vec<ConversationId> = self
            .directory()
            .select(&scope, Span::Alive, window.from, window.to)
            .into_iter()
            .map(|(_, id)| id)
            .collect();
        for batch in ids.chunks(READ_BATCH) {
            each(self.read_conversations(batch).await?)?;
        }
        Ok(())
    }

    /// Reads conversations by id (those the store no longer has are left out).
    pub async fn read_conversations(
        &self,
        ids: &[ConversationId],
    ) -> Result<Vec<Conversation>, EngineError> {
        let keys: Vec<String> = ids.iter().map(ToString::to_string).collect();
        let docs = self.store().conversations_get(&keys).await?;
        let mut conversations = Vec::with_capacity(docs.len());
        for doc in docs {
            match serde_json::from_str::<Conversation>(&doc.body) {
                Ok(c) => conversations.push(c),
                Err(e) => {
                    tracing::warn!(conversation_id = %doc.id, error = %e, "unreadable conversation skipped")
                }
            }
        }
        // The store answers in its own order; keep the caller's.
        let order: BTreeMap<&str, usize> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| (k.as_str(), i))
            .collect();
        conversations.sort_by_key(|c| order.get(c.id().as_str()).copied());
        Ok(conversations)
    }

    /// The cumulative figures of `subject` in `window`, with service level at each of
    /// `thresholds` (seconds).
    pub async fn window_figures(
        &self,
        subject: &Subject,
        window: Window,
        thresholds: &[u32],
    ) -> Result<Cumulative, EngineError> {
        let scope = match subject {
            Subject::Queues(queues) => Involving::Queues(queues),
            Subject::Agent(agent) => Involving::Agent(agent),
        };
        let mut conversations = Vec::new();
        self.conversations_in(scope, window, |batch| {
            conversations.extend(batch);
            Ok(())
        })
        .await?;
        let mut figures = cumulative(subject, window, thresholds, &conversations);
        if let Subject::Queues(queues) = subject {
            figures.offers = self.offers_in(queues, window).await?;
        }
        Ok(figures)
    }

    /// Offers by outcome made by `queues` in `window` (minute resolution), from the durable
    /// counters.
    async fn offers_in(
        &self,
        queues: &HashSet<QueueId>,
        window: Window,
    ) -> Result<BTreeMap<String, u64>, EngineError> {
        let mut totals: BTreeMap<String, u64> = crate::metrics::OFFER_OUTCOMES
            .iter()
            .map(|o| ((*o).to_owned(), 0))
            .collect();
        for queue in queues {
            let scope = super::queue_actor::figures_scope(queue);
            for (day, start) in offer_minutes::days_of(window.from, window.to) {
                let counters = self.store().counters(&scope, &day).await?;
                offer_minutes::add_window(&mut totals, &counters, start, window.from, window.to);
            }
        }
        Ok(totals)
    }
}
