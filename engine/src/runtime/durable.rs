//! What the engine keeps durable in the background: agents' runtime state (presence and
//! logins), saved in the order it changed by one writer task, and the sweeper that fires due
//! durable timers (public minutes, wake-ups, alerts).

use serde_json::Value;

use super::engine::Engine;
use super::messages::TimerDue;
use crate::domain::ConversationId;
use crate::store::{AnyStore, NewEvent, Store};

/// A piece of runtime state to save, with the event that says what changed.
pub(super) struct RuntimeSave {
    pub(super) kind: &'static str,
    pub(super) id: String,
    pub(super) state: String,
    pub(super) event: NewEvent,
}

impl Engine {
    /// Saves runtime state and the event that says what changed, together, without waiting
    /// for it (the actor's own state is already changed). Saves land in the order they are
    /// made: one task writes them, each after the one before.
    pub(super) fn save_runtime(
        &self,
        kind: &'static str,
        id: String,
        state: Value,
        event: ::protocol::Event,
    ) {
        let save = RuntimeSave {
            kind,
            id,
            state: state.to_string(),
            event: NewEvent::of(&event, self.now()),
        };
        if self.inner.runtime_saves.send(save).is_err() {
            tracing::error!(kind, "runtime state not saved: the engine is stopping");
        }
    }

    /// Writes runtime saves one at a time, in the order they were made.
    pub(super) async fn write_runtime_saves(
        store: AnyStore,
        mut saves: tokio::sync::mpsc::UnboundedReceiver<RuntimeSave>,
    ) {
        while let Some(save) = saves.recv().await {
            if let Err(e) = store
                .runtime_put(save.kind, &save.id, &save.state, vec![save.event])
                .await
            {
                tracing::error!(error = %e, kind = save.kind, "could not save runtime state");
            }
        }
    }

    /// Fires due durable timers, forever: each goes to its conversation, which disarms it
    /// once applied (a timer fired twice finds nothing left to do).
    pub(super) async fn sweep_timers(self) {
        loop {
            tokio::time::sleep(self.inner.config.timer_poll).await;
            let due = match self.inner.store.timers_due(self.now(), 500).await {
                Ok(due) => due,
                Err(e) => {
                    tracing::warn!(error = %e, "could not read due timers");
                    continue;
                }
            };
            for timer in due {
                let Ok(conversation) = ConversationId::parse(timer.conversation.as_str()) else {
                    continue;
                };
                self.conversation_addr(&conversation)
                    .do_send(TimerDue { kind: timer.kind });
            }
        }
    }
}
