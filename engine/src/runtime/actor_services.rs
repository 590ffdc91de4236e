//! What the actors may use of the engine: the clock, the store, the outbox and directory they
//! feed, durable runtime saves, and the registry to reach each other. Not the front door: an
//! actor cannot reply, transfer or answer an offer through the engine's public API, so a
//! command never re-enters the engine from inside the actor that is carrying it out.

use actix::{Addr, Handler, Message};

use super::agent_actor::AgentActor;
use super::conversation_actor::ConversationActor;
use super::engine::{Engine, EngineError};
use super::queue_actor::QueueActor;
use crate::conversation::Conversation;
use crate::domain::{AgentId, ConversationId, QueueId};
use crate::routing::Millis;
use crate::routing::protocol::EnqueueHint;
use crate::store::AnyStore;

/// The actors' view of the engine. Cloning shares it.
#[derive(Clone)]
pub struct ActorServices {
    engine: Engine,
    /// The store connection of the thread the actor runs on (see [`super::shards`]).
    store: AnyStore,
}

impl ActorServices {
    pub(super) fn new(engine: Engine) -> Self {
        let store = engine.store().clone();
        Self { engine, store }
    }

    /// The same services using `store`, the connection of the actor's own thread.
    pub(super) fn with_store(self, store: AnyStore) -> Self {
        Self { store, ..self }
    }

    /// Starts a queue's actor if it is not running (a conversation overflowing there).
    pub(super) async fn ensure_queue(&self, id: &QueueId) -> Result<(), EngineError> {
        self.engine.ensure_queue(id).await.map(|_| ())
    }

    /// Now, on the engine's clock.
    pub(super) fn now(&self) -> Millis {
        self.engine.now()
    }

    /// The store.
    pub(super) fn store(&self) -> &AnyStore {
        &self.store
    }

    /// The outbox, which takes each committed outbound text.
    pub(super) fn outbox(&self) -> &crate::outbox::Outbox {
        self.engine.outbox()
    }

    /// The catalog, told the store's catalog version after each commit.
    pub(super) fn catalog(&self) -> &crate::catalog::Catalog<AnyStore> {
        self.engine.catalog()
    }

    /// The conversation directory, which takes each committed conversation state.
    pub(super) fn directory(&self) -> &crate::directory::Directory {
        self.engine.directory()
    }

    /// The customers' open conversations, told each committed state.
    pub(super) fn open_conversations(&self) -> &super::open_conversations::OpenConversations {
        &self.engine.inner.open_conversations
    }

    /// Saves an agent's or queue's runtime state with its event, in order.
    pub(super) fn save_runtime(
        &self,
        kind: &'static str,
        id: String,
        state: serde_json::Value,
        event: ::protocol::Event,
    ) {
        self.engine.save_runtime(kind, id, state, event);
    }

    /// Puts a conversation in a queue's line (see [`Engine::put_in_line`]).
    pub(super) fn put_in_line(
        &self,
        conversation: &Conversation,
        queue: &QueueId,
        waiting_since: Millis,
        hint: EnqueueHint,
    ) {
        self.engine
            .put_in_line(conversation, queue, waiting_since, hint);
    }

    /// How long an idle conversation actor lives.
    pub(super) fn passivate_after(&self) -> std::time::Duration {
        self.engine.passivate_after()
    }

    /// Drops a passivating conversation actor from the registry.
    pub(super) fn forget_conversation(&self, id: &ConversationId, addr: &Addr<ConversationActor>) {
        self.engine.forget_conversation(id, addr);
    }

    /// Sends to a queue actor.
    pub(super) fn send_to_queue<M>(&self, id: &QueueId, message: M)
    where
        M: Message<Result = ()> + Send + 'static,
        QueueActor: Handler<M>,
    {
        self.engine.send_to_queue(id, message);
    }

    /// Sends to an agent actor.
    pub(super) fn send_to_agent<M>(&self, id: &AgentId, message: M)
    where
        M: Message<Result = ()> + Send + 'static,
        AgentActor: Handler<M>,
    {
        self.engine.send_to_agent(id, message);
    }

    /// A conversation's actor, started if it is not running.
    pub(super) fn conversation_addr(&self, id: &ConversationId) -> Addr<ConversationActor> {
        self.engine.conversation_addr(id)
    }
}
