//! Filling the conversation directory after a restart. Open conversations get their rows
//! from routing recovery; this loads the rest — closed conversations, as many as a contact
//! center has kept — page by page while the server already routes: restarting with a
//! million of them must not keep texts waiting (ADR 019). Until it is done the directory
//! says it is incomplete and lists that could show closed conversations answer
//! `directory_loading` (503, retry).
//!
//! Documents are parsed on tokio's blocking pool, not on the engine thread, so that routing
//! goes on at full speed meanwhile. A store fault pauses the loading and it retries; rows
//! written by conversation actors meanwhile are newer and are kept.

use std::time::{Duration, Instant};

use super::engine::Engine;
use super::types::EngineError;
use crate::conversation::Conversation;
use crate::directory::Directory;
use crate::store::{ConversationDoc, Store};

/// Conversations read per round trip.
const PAGE: usize = 500;
/// How often progress goes to the log.
const PROGRESS_EVERY: Duration = Duration::from_secs(2);
/// The pause before reading again after a store fault.
const RETRY_AFTER: Duration = Duration::from_secs(1);

impl Engine {
    /// Loads the contacts' names and the first page of conversations now; when more remain,
    /// the rest loads in the background. A small store is thus complete before the server
    /// says it is ready.
    pub(super) async fn start_loading_directory(
        &self,
        started: Instant,
    ) -> Result<(), EngineError> {
        for (phone, card) in self.inner.store.runtime_all(crate::contacts::KIND).await? {
            let name = serde_json::from_str::<crate::contacts::Contact>(&card)
                .ok()
                .and_then(|c| c.name);
            self.inner
                .directory
                .set_contact_name(&phone, name.as_deref());
        }
        let Some(mut after) = self.load_directory_page(None).await? else {
            self.directory_loaded(started);
            return Ok(());
        };
        let engine = self.clone();
        actix::spawn(async move {
            let mut reported = Instant::now();
            loop {
                match engine.load_directory_page(Some(&after)).await {
                    Ok(Some(next)) => after = next,
                    Ok(None) => break,
                    Err(EngineError::Stopped) => return,
                    Err(e) => {
                        tracing::warn!(error = %e, "loading the conversation directory paused; retrying");
                        tokio::time::sleep(RETRY_AFTER).await;
                    }
                }
                if reported.elapsed() >= PROGRESS_EVERY {
                    reported = Instant::now();
                    tracing::info!(
                        conversations = engine.inner.directory.len(),
                        elapsed_ms = started.elapsed().as_millis() as u64,
                        "loading the conversation directory"
                    );
                }
            }
            engine.directory_loaded(started);
        });
        Ok(())
    }

    /// Reads the page of conversations after `after` into the directory; the id to read
    /// after next, or `None` when this was the last page.
    async fn load_directory_page(
        &self,
        after: Option<&str>,
    ) -> Result<Option<String>, EngineError> {
        let page = self.inner.store.conversations_page(after, PAGE).await?;
        let next = (page.len() == PAGE)
            .then(|| page.last().map(|d| d.id.clone()))
            .flatten();
        if !page.is_empty() {
            let directory = self.inner.directory.clone();
            tokio::task::spawn_blocking(move || fill(&directory, page))
                .await
                // Cancelled: the runtime is shutting down (a panic would be a bug in parsing,
                // and the blocking pool reports it in the log).
                .map_err(|_| EngineError::Stopped)?;
        }
        Ok(next)
    }

    fn directory_loaded(&self, started: Instant) {
        self.inner.directory.mark_complete();
        tracing::info!(
            conversations = self.inner.directory.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "conversation directory loaded"
        );
    }
}

/// Adds the rows of `page` the directory does not have yet.
fn fill(directory: &Directory, page: Vec<ConversationDoc>) {
    for doc in page {
        // Open conversations were read (and their rows filled) by routing recovery.
        if directory.contains(&doc.id) {
            continue;
        }
        match serde_json::from_str::<Conversation>(&doc.body) {
            Ok(conversation) => directory.load(&conversation),
            Err(e) => {
                tracing::warn!(conversation_id = %doc.id, error = %e, "unreadable conversation skipped")
            }
        }
    }
}
