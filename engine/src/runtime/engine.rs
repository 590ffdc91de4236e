//! The engine handle: what the API calls. It owns the shared state (store, catalog, actor
//! registry, directory, contacts, outbox), starts the engine and its background tasks, and
//! answers the agent and offer commands; conversation commands, sending, recovery and the
//! registry live in the sibling modules, each an `impl Engine` of its own.

use std::collections::BTreeSet;
use std::sync::Arc;

use actix::{Addr, ArbiterHandle};
use dashmap::DashMap;

use super::Clock;
use super::agent_actor::AgentActor;
use super::conversation_actor::ConversationActor;
use super::durable::RuntimeSave;
use super::messages::{AnswerOffer, GetQueueView};
use super::messages::{GetAgentView, SetLogins, SetPresence};
use super::queue_actor::QueueActor;
pub use super::types::*;
use crate::catalog::Catalog;
use crate::domain::{AgentId, ConversationId, Presence, Queue, QueueId};
use crate::routing::protocol::{Answer, OfferId, StaleReason};
use crate::routing::{AnswerError, Millis, QueueSettings};
use crate::store::AnyStore;

pub(super) struct Inner {
    pub(super) store: AnyStore,
    pub(super) catalog: Catalog<AnyStore>,
    pub(super) clock: Clock,
    pub(super) config: EngineConfig,
    /// Where queue and agent actors (and the engine's tasks) run.
    pub(super) arbiter: ArbiterHandle,
    /// Where conversation actors run, by conversation id.
    pub(super) conversation_shards: super::shards::ConversationShards,
    pub(super) queues: DashMap<QueueId, Addr<QueueActor>>,
    pub(super) agents: DashMap<AgentId, Addr<AgentActor>>,
    pub(super) conversations: DashMap<ConversationId, Addr<ConversationActor>>,
    pub(super) directory: crate::directory::Directory,
    pub(super) contacts: crate::contacts::Contacts,
    pub(super) outbox: crate::outbox::Outbox,
    /// Runtime saves, written one after another by one task so that they land in the order
    /// they were made (two saves racing could leave an older state last).
    pub(super) runtime_saves: tokio::sync::mpsc::UnboundedSender<RuntimeSave>,
    /// Business numbers by phone (every inbound text looks one up).
    pub(super) numbers: super::config_cache::ConfigCache<Option<crate::domain::Number>>,
    /// Queues by id (every inbound text reads its queue's settings).
    pub(super) queue_configs: super::config_cache::ConfigCache<crate::domain::Queue>,
    /// Campaigns by lowercase name (every new conversation reads its campaign's skills).
    pub(super) campaign_configs:
        super::config_cache::ConfigCache<Option<crate::domain::campaign::Campaign>>,
    /// Which conversation each customer has open with each number, as far as this process
    /// knows (a customer's text is committed to it directly, guarded).
    pub(super) open_conversations: super::open_conversations::OpenConversations,
    /// The bulk sends this process is sending, each with its control (see
    /// `campaign_sending`).
    pub(super) senders:
        DashMap<String, tokio::sync::watch::Sender<crate::campaign_sends::SendState>>,
    /// Provider accounts by id (every provider webhook checks its signature with one).
    pub(super) accounts: super::config_cache::ConfigCache<Option<crate::domain::ProviderAccount>>,
}

/// The routing engine. Cloning shares it.
#[derive(Clone)]
pub struct Engine {
    pub(super) inner: Arc<Inner>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("store", &self.inner.store.backend())
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Starts an engine whose actors run on the current actix arbiter (inside a `System`) —
    /// conversation actors on `config.conversation_threads` threads of their own when that is
    /// more than one — and its timer sweeper. Call [`Engine::recover`] next to bring back stored state.
    pub fn start(store: AnyStore, clock: Clock, config: EngineConfig) -> Self {
        let directory = crate::directory::Directory::new();
        let (outbox, outbox_commands) = crate::outbox::Outbox::channel();
        let (changes, changed) = tokio::sync::mpsc::unbounded_channel();
        let (runtime_saves, saves) = tokio::sync::mpsc::unbounded_channel();
        let outbox_config = config.outbox.clone();
        let conversation_shards = super::shards::ConversationShards::start(
            config.conversation_threads,
            actix::Arbiter::current(),
            &store,
        );
        let engine = Self {
            inner: Arc::new(Inner {
                catalog: Catalog::new(store.clone()).announcing(changes),
                contacts: crate::contacts::Contacts::new(store.clone(), directory.clone()),
                outbox: outbox.clone(),
                runtime_saves,
                numbers: super::config_cache::ConfigCache::default(),
                queue_configs: super::config_cache::ConfigCache::default(),
                campaign_configs: super::config_cache::ConfigCache::default(),
                accounts: super::config_cache::ConfigCache::default(),
                senders: DashMap::new(),
                open_conversations: super::open_conversations::OpenConversations::default(),
                store,
                clock,
                config,
                arbiter: actix::Arbiter::current(),
                conversation_shards,
                queues: DashMap::new(),
                agents: DashMap::new(),
                conversations: DashMap::new(),
                directory,
            }),
        };
        tracing::info!(
            threads = engine.inner.conversation_shards.len(),
            "conversation actors sharded"
        );
        let sweeper = engine.clone();
        actix::spawn(async move { sweeper.sweep_timers().await });
        actix::spawn(engine.clone().follow_configuration(changed));
        actix::spawn(Self::write_runtime_saves(engine.inner.store.clone(), saves));
        let (replies, answered) = tokio::sync::mpsc::unbounded_channel();
        actix::spawn(engine.clone().follow_simulated_replies(answered));
        let context = crate::outbox::OutboxContext::new(
            engine.inner.store.clone(),
            engine.inner.catalog.clone(),
            engine.inner.contacts.clone(),
            engine.inner.directory.clone(),
            engine.inner.clock,
            replies,
        );
        actix::spawn(crate::outbox::worker::run(
            context,
            outbox_config,
            outbox,
            outbox_commands,
        ));
        engine
    }

    /// Starts an engine on a thread of its own, with its own actix system and store
    /// connection, and recovers the stored state there: the server's HTTP workers call it
    /// from their threads. Returns the engine and a handle to stop it.
    pub async fn spawn(
        store: &AnyStore,
        config: EngineConfig,
    ) -> Result<(Self, actix::System), EngineError> {
        let store = store.reopen()?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name("switchboard-engine".into())
            .spawn(move || {
                let system = actix::System::new();
                system.block_on(async {
                    let engine = Engine::start(store, Clock::system(), config);
                    if let Err(e) = engine.recover().await {
                        // The store may still be coming up: serve what arrives meanwhile, and
                        // keep trying (recovery is idempotent: a conversation already in line
                        // keeps its earliest place).
                        tracing::error!(error = %e, "could not recover routing state yet; retrying");
                        let retry = engine.clone();
                        actix::spawn(async move {
                            loop {
                                tokio::time::sleep(std::time::Duration::from_secs(2)).await;
                                match retry.recover().await {
                                    Ok(()) => break,
                                    Err(e) => tracing::warn!(error = %e, "routing state recovery failed again"),
                                }
                            }
                        });
                    }
                    let _ = tx.send((engine, actix::System::current()));
                });
                let _ = system.run();
            })
            .expect("the engine thread starts");
        rx.await.map_err(|_| EngineError::Stopped)
    }

    /// Every conversation, for lists and histories.
    pub fn directory(&self) -> &crate::directory::Directory {
        &self.inner.directory
    }

    /// The time now, on the engine's clock.
    pub fn now(&self) -> Millis {
        self.inner.clock.now()
    }

    pub(crate) fn store(&self) -> &AnyStore {
        &self.inner.store
    }

    /// The configuration. Changes made through it reach running actors at once (a new
    /// capacity or queue setting applies to the next routing decision).
    pub fn catalog(&self) -> &Catalog<AnyStore> {
        &self.inner.catalog
    }

    /// Customers' contact cards (opt-outs included).
    pub fn contacts(&self) -> &crate::contacts::Contacts {
        &self.inner.contacts
    }

    /// The outbox: where providers' reports and opt-outs go.
    pub fn outbox(&self) -> &crate::outbox::Outbox {
        &self.inner.outbox
    }

    /// Sets an agent's presence, with why it is away (a reason code its teams allow, checked
    /// by the caller; kept only with `away`).
    pub async fn set_presence(
        &self,
        agent: &AgentId,
        presence: Presence,
        reason: Option<String>,
    ) -> Result<AgentSnapshot, EngineError> {
        let addr = self.ensure_agent(agent).await?;
        addr.send(SetPresence(presence, reason))
            .await
            .map_err(|_| EngineError::Stopped)
    }

    /// Replaces the queues an agent is logged into (each must exist).
    pub async fn set_logins(
        &self,
        agent: &AgentId,
        queues: BTreeSet<QueueId>,
    ) -> Result<AgentSnapshot, EngineError> {
        for queue in &queues {
            self.ensure_queue(queue).await?;
        }
        let addr = self.ensure_agent(agent).await?;
        addr.send(SetLogins(queues))
            .await
            .map_err(|_| EngineError::Stopped)
    }

    /// An agent accepts or rejects an offer, named as the offer events name it.
    pub async fn answer_offer(
        &self,
        agent: &AgentId,
        offer: &str,
        answer: Answer,
    ) -> Result<(), EngineError> {
        let stale = || EngineError::StaleOffer(offer.to_owned(), StaleReason::Unknown);
        let offer_id = parse_offer_id(offer).ok_or_else(stale)?;
        let addr = self.queue_addr(&offer_id.queue).ok_or_else(stale)?;
        match addr
            .send(AnswerOffer {
                offer: offer_id,
                agent: agent.clone(),
                answer,
            })
            .await
        {
            Ok(Ok(())) => Ok(()),
            Ok(Err(AnswerError::Stale(_, reason))) => {
                Err(EngineError::StaleOffer(offer.to_owned(), reason))
            }
            Ok(Err(AnswerError::NotYours(_))) => Err(EngineError::NotYourOffer(offer.to_owned())),
            Err(_) => Err(EngineError::Stopped),
        }
    }

    /// An agent's routing state.
    pub async fn agent_snapshot(&self, agent: &AgentId) -> Result<AgentSnapshot, EngineError> {
        let addr = self.ensure_agent(agent).await?;
        addr.send(GetAgentView)
            .await
            .map_err(|_| EngineError::Stopped)
    }

    /// A queue's routing state.
    pub async fn queue_snapshot(&self, queue: &QueueId) -> Result<QueueSnapshot, EngineError> {
        let addr = self.ensure_queue(queue).await?;
        addr.send(GetQueueView)
            .await
            .map_err(|_| EngineError::Stopped)
    }
}

/// A queue's routing settings as its configuration says.
pub(super) fn queue_settings(queue: &Queue) -> QueueSettings {
    QueueSettings {
        strategy: queue.strategy,
        offer_timeout: i64::from(queue.offer_timeout_secs.get()) * 1000,
        missed_offers_before_away: queue.missed_offers_before_away.get(),
        required: crate::domain::skills::to_requirement(&queue.required_skills),
        escalation: crate::domain::skills::to_escalation(&queue.escalation),
    }
}

/// Reads an offer id as [`OfferId`] writes it (its tag checked).
fn parse_offer_id(text: &str) -> Option<OfferId> {
    OfferId::parse(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offer_ids_round_trip_through_text_and_cannot_be_guessed() {
        let offer = OfferId {
            queue: QueueId::parse("q_01_x").unwrap(),
            seq: 42,
        };
        let text = offer.to_string();
        assert!(text.starts_with("of_q_01_x_42-"), "{text}");
        assert_eq!(parse_offer_id(&text), Some(offer));
        // The sequence alone, or with another tag, is no offer.
        assert_eq!(parse_offer_id("of_q_01_x_42"), None);
        assert_eq!(parse_offer_id("of_q_01_x_42-0000000000000000"), None);
        assert_eq!(parse_offer_id("of_q1"), None);
        assert_eq!(parse_offer_id("nope"), None);
        assert_eq!(parse_offer_id("of_bad id_3-00"), None);
    }
}
