//! What the outbox works with — and all it may touch: the store, the configuration, contact
//! cards (opt-outs), the directory (a text's queue, for its events' audience), the clock, and
//! where simulated customers' answers go. Not the engine itself: the outbox cannot call the
//! engine's front door, and the engine's tests can drive it with any of these.

use tokio::sync::mpsc;

use crate::catalog::Catalog;
use crate::contacts::Contacts;
use crate::directory::Directory;
use crate::routing::Millis;
use crate::runtime::{Clock, InboundMessage};
use crate::store::AnyStore;

/// The outbox's handles.
#[derive(Clone)]
pub struct OutboxContext {
    store: AnyStore,
    catalog: Catalog<AnyStore>,
    contacts: Contacts,
    directory: Directory,
    clock: Clock,
    replies: mpsc::UnboundedSender<InboundMessage>,
}

impl OutboxContext {
    /// The outbox's handles; simulated customers' answers go to `replies`, which the engine
    /// receives like any inbound text.
    pub fn new(
        store: AnyStore,
        catalog: Catalog<AnyStore>,
        contacts: Contacts,
        directory: Directory,
        clock: Clock,
        replies: mpsc::UnboundedSender<InboundMessage>,
    ) -> Self {
        Self {
            store,
            catalog,
            contacts,
            directory,
            clock,
            replies,
        }
    }

    /// The time now.
    pub fn now(&self) -> Millis {
        self.clock.now()
    }

    /// The store.
    pub fn store(&self) -> &AnyStore {
        &self.store
    }

    /// The configuration (numbers, provider accounts).
    pub fn catalog(&self) -> &Catalog<AnyStore> {
        &self.catalog
    }

    /// Contact cards: opt-outs read before every hand-off, and recorded from providers.
    pub fn contacts(&self) -> &Contacts {
        &self.contacts
    }

    /// Every conversation (a text's queue decides who sees its events).
    pub fn directory(&self) -> &Directory {
        &self.directory
    }

    /// Hands a simulated customer's answer to the engine. A stopped engine drops it.
    pub fn customer_answered(&self, message: InboundMessage) {
        if self.replies.send(message).is_err() {
            tracing::warn!("simulated customer reply dropped: the engine is stopping");
        }
    }
}
