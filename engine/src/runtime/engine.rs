//! The engine handle: what the API calls. It finds (or starts) the actor in charge, resolves
//! configuration from the catalog, and awaits the actor's answer.

use std::collections::BTreeSet;
use std::sync::Arc;

use actix::{Actor, Addr, ArbiterHandle, Handler, Message};
use dashmap::DashMap;
use serde_json::Value;

use super::Clock;
use super::agent_actor::{
    AgentActor, AgentView, GetAgentView, ReleaseConversation, RestoreOwned, SetLogins, SetPresence,
    TakeConversation,
};
use super::conversation_actor::{
    AddDisposition, AddNote, AutomaticText, Claim, CloseOptedOut, Complete, ConversationActor,
    GetConversation, MarkRead, Reply, Routing, SetPriority, Snooze, StartOutbound, TimerDue,
};
use super::queue_actor::{
    AnswerOffer, GetQueueView, QueueActor, QueueMail, QueueView, TagCampaign,
};
use crate::catalog::{Catalog, CatalogError};
use crate::conversation::{Conversation, ConversationError, DispositionEntry};
use crate::domain::{
    Agent, AgentId, ConversationId, Disposition, Number, NumberId, PhoneNumber, Presence, Queue,
    QueueId, Slug,
};
use crate::routing::protocol::{Answer, EnqueueHint, OfferId, StaleReason, ToQueue};
use crate::routing::{AgentCore, AgentError, AnswerError, Millis, QueueCore, QueueSettings};
use crate::store::{AnyStore, NewEvent, ResourceKind, Store, StoreError};

/// Settings of the routing engine.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// How often due durable timers (public minutes, wake-ups) are looked for.
    pub timer_poll: std::time::Duration,
    /// How long a conversation actor may sit idle before it is stopped (its state stays in
    /// the store), so that a million stored conversations are not a million live actors.
    pub passivate_after: std::time::Duration,
    /// How outbound texts leave.
    pub outbox: crate::outbox::OutboxConfig,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            timer_poll: std::time::Duration::from_secs(1),
            passivate_after: std::time::Duration::from_secs(600),
            outbox: crate::outbox::OutboxConfig::default(),
        }
    }
}

/// Why an engine call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// No business number has this phone number.
    #[error("no business number {0} is configured")]
    UnknownNumber(String),
    /// A resource does not exist.
    #[error("{kind} {id} not found")]
    NotFound {
        /// Its kind.
        kind: &'static str,
        /// Its id.
        id: String,
    },
    /// The offer was answered, expired or rescinded already.
    #[error("offer {0} is no longer pending ({reason})", reason = .1.as_str())]
    StaleOffer(String, crate::routing::protocol::StaleReason),
    /// The offer was made to another agent.
    #[error("offer {0} was made to another agent")]
    NotYourOffer(String),
    /// The conversation refused the command.
    #[error(transparent)]
    Conversation(#[from] ConversationError),
    /// The agent refused the command.
    #[error(transparent)]
    Agent(#[from] AgentError),
    /// Configuration could not be read.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The customer opted out (STOP) of the number's texts: nothing is sent until START.
    #[error("the customer opted out (STOP) of texts from number {0}; they must text START first")]
    RecipientOptedOut(NumberId),
    /// The customer already has an open conversation with the number.
    #[error("conversation {0} with this customer and number is open already")]
    AlreadyOpen(ConversationId),
    /// A transfer's target agent cannot take a conversation of this queue at all.
    #[error("agent {agent} cannot be given this conversation: {}", reason.message())]
    InvalidTransferTarget {
        /// The target.
        agent: AgentId,
        /// Why.
        reason: TargetRefusal,
    },
    /// A transfer's target agent cannot take a conversation now.
    #[error("agent {agent} cannot take a conversation now: {}", reason.message())]
    AgentUnavailable {
        /// The target.
        agent: AgentId,
        /// Why.
        reason: TargetRefusal,
    },
    /// The engine is shutting down.
    #[error("the routing engine is not running")]
    Stopped,
}

/// Why a transfer's target agent was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetRefusal {
    /// The target is the owner.
    Owner,
    /// The target is in none of the teams of the conversation's queue.
    NotInTeam,
    /// The target is offline.
    Offline,
    /// The target is away.
    Away,
    /// The target holds as many conversations as its capacity allows.
    AtCapacity,
}

impl TargetRefusal {
    /// The reason as the wire names it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::NotInTeam => "not_in_team",
            Self::Offline => "offline",
            Self::Away => "away",
            Self::AtCapacity => "at_capacity",
        }
    }

    fn message(self) -> &'static str {
        match self {
            Self::Owner => "it is the conversation's owner",
            Self::NotInTeam => "it is not in the team of the conversation's queue",
            Self::Offline => "it is offline",
            Self::Away => "it is away",
            Self::AtCapacity => "it is at capacity",
        }
    }
}

/// An outbound conversation started.
#[derive(Debug, Clone)]
pub struct OutboundStarted {
    /// The new conversation.
    pub conversation_id: ConversationId,
    /// Its first message (in the outbox).
    pub message: Value,
}

/// A customer's message as a provider delivered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundMessage {
    /// The customer.
    pub from: PhoneNumber,
    /// The business number texted.
    pub to: PhoneNumber,
    /// The text.
    pub body: String,
    /// Attached media (MMS).
    pub media_urls: Vec<String>,
    /// The provider's id, for deduplicating retries.
    pub provider_message_id: Option<String>,
    /// The conversation's own priority (0 to 100), when the sender sets one: it opens with
    /// it, or an open one takes it.
    pub priority: Option<u8>,
}

/// An agent's text to a customer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutgoingText {
    /// The text.
    pub body: String,
    /// Media to attach (MMS).
    pub media_urls: Vec<String>,
    /// The template it was rendered from.
    pub template_id: Option<String>,
}

impl From<&str> for OutgoingText {
    fn from(body: &str) -> Self {
        Self::from(body.to_owned())
    }
}

impl From<String> for OutgoingText {
    fn from(body: String) -> Self {
        Self {
            body,
            ..Self::default()
        }
    }
}

/// The answer to an inbound message: stored (or a duplicate of one stored before).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundAck {
    /// The conversation it joined or opened.
    pub conversation_id: ConversationId,
    /// Whether it repeated a provider message id already stored (and was dropped).
    pub duplicate: bool,
}

/// An agent's routing state as saved for a restart.
#[derive(Debug, serde::Deserialize)]
struct SavedAgent {
    presence: Presence,
    logins: BTreeSet<QueueId>,
}

/// An agent's routing state.
pub type AgentSnapshot = AgentView;
/// A queue's routing state.
pub type QueueSnapshot = QueueView;

struct Inner {
    store: AnyStore,
    catalog: Catalog<AnyStore>,
    clock: Clock,
    config: EngineConfig,
    arbiter: ArbiterHandle,
    queues: DashMap<QueueId, Addr<QueueActor>>,
    agents: DashMap<AgentId, Addr<AgentActor>>,
    conversations: DashMap<ConversationId, Addr<ConversationActor>>,
    directory: crate::directory::Directory,
    contacts: crate::contacts::Contacts,
    outbox: crate::outbox::Outbox,
    /// Runtime saves, written one after another by one task so that they land in the order
    /// they were made (two saves racing could leave an older state last).
    runtime_saves: tokio::sync::mpsc::UnboundedSender<RuntimeSave>,
}

/// A piece of runtime state to save, with the event that says what changed.
struct RuntimeSave {
    kind: &'static str,
    id: String,
    state: String,
    event: NewEvent,
}

/// The routing engine. Cloning shares it.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("store", &self.inner.store.backend())
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Starts an engine whose actors run on the current actix arbiter (inside a `System`),
    /// and its timer sweeper. Call [`Engine::recover`] next to bring back stored state.
    pub fn start(store: AnyStore, clock: Clock, config: EngineConfig) -> Self {
        let directory = crate::directory::Directory::new();
        let (outbox, outbox_commands) = crate::outbox::Outbox::channel();
        let (changes, changed) = tokio::sync::mpsc::unbounded_channel();
        let (runtime_saves, saves) = tokio::sync::mpsc::unbounded_channel();
        let outbox_config = config.outbox.clone();
        let engine = Self {
            inner: Arc::new(Inner {
                catalog: Catalog::new(store.clone()).announcing(changes),
                contacts: crate::contacts::Contacts::new(store.clone(), directory.clone()),
                outbox: outbox.clone(),
                runtime_saves,
                store,
                clock,
                config,
                arbiter: actix::Arbiter::current(),
                queues: DashMap::new(),
                agents: DashMap::new(),
                conversations: DashMap::new(),
                directory,
            }),
        };
        let sweeper = engine.clone();
        actix::spawn(async move { sweeper.sweep_timers().await });
        actix::spawn(engine.clone().follow_configuration(changed));
        actix::spawn(Self::write_runtime_saves(engine.inner.store.clone(), saves));
        actix::spawn(crate::outbox::worker::run(
            engine.clone(),
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

    /// Saves runtime state and the event that says what changed, together, without waiting
    /// for it (the actor's own state is already changed). Saves land in the order they are
    /// made: one task writes them, each after the one before.
    pub(super) fn save_runtime(
        &self,
        kind: &'static str,
        id: String,
        state: Value,
        event: (&'static str, Value),
    ) {
        let save = RuntimeSave {
            kind,
            id,
            state: state.to_string(),
            event: NewEvent {
                kind: event.0.to_owned(),
                at: self.now(),
                data: event.1.to_string(),
            },
        };
        if self.inner.runtime_saves.send(save).is_err() {
            tracing::error!(kind, "runtime state not saved: the engine is stopping");
        }
    }

    /// Writes runtime saves one at a time, in the order they were made.
    async fn write_runtime_saves(
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
    async fn sweep_timers(self) {
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
                (conversation.status, &conversation.owner)
            {
                match self.ensure_agent(owner).await {
                    Ok(addr) => addr.do_send(RestoreOwned(conversation.id.clone())),
                    Err(e) => {
                        tracing::warn!(conversation_id = %id, error = %e, "owner not restored")
                    }
                }
            }
            let waiting = conversation.status == ConversationStatus::Queued || conversation.public;
            if let (true, Some(since)) = (waiting, conversation.waiting_since) {
                self.ensure_queue(&conversation.queue_id).await?;
                let hint = match (&conversation.owner, conversation.public) {
                    // A public conversation goes to the owner's colleagues.
                    (Some(owner), true) => EnqueueHint::NotTo(owner.clone()),
                    _ => EnqueueHint::None,
                };
                self.put_in_line(&conversation, &conversation.queue_id, since, hint);
                enqueued += 1;
            }
            if let (ConversationStatus::Owned, Some(_)) =
                (conversation.status, &conversation.pending_transfer)
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
            let Some(target) = conversation.pending_transfer.clone() else {
                continue;
            };
            self.ensure_queue(&conversation.queue_id).await?;
            if let Err(e) = self.ensure_agent(&target).await {
                tracing::warn!(conversation_id = %conversation.id, error = %e, "transfer target not restored");
                continue;
            }
            let since = conversation.waiting_since.unwrap_or_else(|| self.now());
            let hint = EnqueueHint::Direct {
                agent: target,
                warm: true,
                sender: None,
            };
            self.put_in_line(&conversation, &conversation.queue_id, since, hint);
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

    /// Puts a conversation in `queue`'s line (or offers it as `hint` says), telling the queue
    /// its campaign first for the beacon.
    pub(super) fn put_in_line(
        &self,
        conversation: &Conversation,
        queue: &QueueId,
        waiting_since: Millis,
        hint: EnqueueHint,
    ) {
        self.send_to_queue(
            queue,
            TagCampaign {
                conversation: conversation.id.clone(),
                campaign: conversation.campaign.to_string(),
            },
        );
        self.send_to_queue(
            queue,
            QueueMail(ToQueue::Enqueue {
                conversation: conversation.id.clone(),
                priority: conversation.line_priority(),
                waiting_since,
                hint,
            }),
        );
    }

    /// Fills the directory with every stored conversation and the contacts' names.
    async fn load_directory(&self) -> Result<usize, EngineError> {
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

    /// How long an idle conversation actor lives.
    pub(super) fn passivate_after(&self) -> std::time::Duration {
        self.inner.config.passivate_after
    }

    /// Drops a conversation actor from the directory, if `addr` is still the one there.
    pub(super) fn forget_conversation(&self, id: &ConversationId, addr: &Addr<ConversationActor>) {
        self.inner
            .conversations
            .remove_if(id, |_, current| current == addr);
    }

    /// How many conversation actors are live (the others are only in the store).
    pub fn live_conversations(&self) -> usize {
        self.inner.conversations.len()
    }

    /// Sends to a conversation actor and awaits its answer. An actor that stopped (passivated)
    /// between lookup and delivery is started again and asked once more.
    pub(super) async fn ask_conversation<M>(
        &self,
        id: &ConversationId,
        message: M,
    ) -> Result<M::Result, EngineError>
    where
        M: Message + Clone + Send + 'static,
        M::Result: Send,
        ConversationActor: Handler<M>,
    {
        match self.conversation_addr(id).send(message.clone()).await {
            Ok(answer) => Ok(answer),
            Err(_) => {
                let addr = self.conversation_addr(id);
                self.forget_conversation(id, &addr);
                self.conversation_addr(id)
                    .send(message)
                    .await
                    .map_err(|_| EngineError::Stopped)
            }
        }
    }

    pub(super) fn queue_addr(&self, id: &QueueId) -> Option<Addr<QueueActor>> {
        self.inner.queues.get(id).map(|a| a.clone())
    }

    pub(super) fn agent_addr(&self, id: &AgentId) -> Option<Addr<AgentActor>> {
        self.inner.agents.get(id).map(|a| a.clone())
    }

    /// Sends to a queue actor. Queues are started before anything can address them (an agent
    /// logs in, or a conversation arrives), so a missing one is a bug worth an error line.
    pub(super) fn send_to_queue<M>(&self, id: &QueueId, message: M)
    where
        M: Message<Result = ()> + Send + 'static,
        QueueActor: Handler<M>,
    {
        match self.queue_addr(id) {
            Some(addr) => addr.do_send(message),
            None => tracing::error!(queue_id = %id, "message for a queue that is not running"),
        }
    }

    /// Sends to an agent actor (started when the agent first sets presence or logs in).
    pub(super) fn send_to_agent<M>(&self, id: &AgentId, message: M)
    where
        M: Message<Result = ()> + Send + 'static,
        AgentActor: Handler<M>,
    {
        match self.agent_addr(id) {
            Some(addr) => addr.do_send(message),
            None => tracing::error!(agent_id = %id, "message for an agent that is not running"),
        }
    }

    /// The conversation's actor, started (and loading its state) if it is not running.
    pub(super) fn conversation_addr(&self, id: &ConversationId) -> Addr<ConversationActor> {
        self.inner
            .conversations
            .entry(id.clone())
            .and_modify(|addr| {
                // A passivated actor left its address behind: start afresh.
                if !addr.connected() {
                    let engine = self.clone();
                    let id = id.clone();
                    *addr = ConversationActor::start_in_arbiter(&self.inner.arbiter, move |_| {
                        ConversationActor::new(engine, id)
                    });
                }
            })
            .or_insert_with(|| {
                let engine = self.clone();
                let id = id.clone();
                ConversationActor::start_in_arbiter(&self.inner.arbiter, move |_| {
                    ConversationActor::new(engine, id)
                })
            })
            .clone()
    }

    pub(super) async fn ensure_queue(&self, id: &QueueId) -> Result<Addr<QueueActor>, EngineError> {
        if let Some(addr) = self.queue_addr(id) {
            return Ok(addr);
        }
        let queue = self.inner.catalog.get::<Queue>(id.as_str()).await?.resource;
        let settings = queue_settings(&queue);
        let engine = self.clone();
        let arbiter = self.inner.arbiter.clone();
        Ok(self
            .inner
            .queues
            .entry(id.clone())
            .or_insert_with(move || {
                let core = QueueCore::new(queue.id.clone(), settings);
                QueueActor::start_in_arbiter(&arbiter, move |_| QueueActor::new(engine, core))
            })
            .clone())
    }

    async fn ensure_agent(&self, id: &AgentId) -> Result<Addr<AgentActor>, EngineError> {
        if let Some(addr) = self.agent_addr(id) {
            return Ok(addr);
        }
        let agent = self.inner.catalog.get::<Agent>(id.as_str()).await?.resource;
        let engine = self.clone();
        let arbiter = self.inner.arbiter.clone();
        let now = self.now();
        Ok(self
            .inner
            .agents
            .entry(id.clone())
            .or_insert_with(move || {
                let core = AgentCore::new(agent.id.clone(), agent.capacity.get(), now);
                AgentActor::start_in_arbiter(&arbiter, move |_| AgentActor::new(engine, core))
            })
            .clone())
    }

    /// The open conversation of `customer` with `number` (opening one when there is none:
    /// the bool says so), and where it is routed.
    pub(super) async fn open_or_get(
        &self,
        number: Number,
        customer: &crate::domain::PhoneNumber,
    ) -> Result<(ConversationId, bool, Routing), EngineError> {
        let queue = self
            .inner
            .catalog
            .get::<Queue>(number.queue_id.as_str())
            .await?
            .resource;
        self.ensure_queue(&queue.id).await?;
        let candidate = ConversationId::generate();
        let (conversation_id, opened) = self
            .inner
            .store
            .conversation_open_or_get(number.id.as_str(), customer.as_str(), candidate.as_str())
            .await?;
        let conversation_id = ConversationId::parse(conversation_id)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let routing = Routing {
            number_id: number.id,
            campaign: number.campaign,
            queue_id: queue.id,
            priority: queue.priority.get(),
            public_minutes: queue.public_minutes.get(),
            alerts: crate::conversation::AlertThresholds {
                unclaimed_secs: queue.alerts.unclaimed_secs.get(),
                awaiting_reply_secs: queue.alerts.awaiting_reply_secs.get(),
            },
        };
        Ok((conversation_id, opened, routing))
    }

    /// An agent starts a conversation by texting `customer` from `number`. The agent owns it
    /// from the start (a slot of its capacity); the reply routes like any text. Refused when
    /// the customer has an open conversation with the number already.
    pub async fn start_outbound(
        &self,
        agent: &AgentId,
        number: Number,
        customer: &crate::domain::PhoneNumber,
        text: OutgoingText,
    ) -> Result<OutboundStarted, EngineError> {
        let (text, first) = self.prepare_text(&number, customer, text).await?;
        let (conversation_id, _, routing) = self.open_or_get(number.clone(), customer).await?;
        let agent_addr = self.ensure_agent(agent).await?;
        agent_addr
            .send(TakeConversation(conversation_id.clone()))
            .await
            .map_err(|_| EngineError::Stopped)??;
        let started = self
            .ask_conversation(
                &conversation_id,
                StartOutbound {
                    routing,
                    customer: customer.clone(),
                    agent: agent.clone(),
                    text,
                },
            )
            .await
            .and_then(|answer| answer);
        match started {
            Ok(message) => {
                if first {
                    self.texted(customer, &number).await;
                }
                Ok(OutboundStarted {
                    conversation_id,
                    message,
                })
            }
            Err(e) => {
                // Open already, or not stored: the slot was never used.
                if !matches!(e, EngineError::AlreadyOpen(_))
                    || !self.owns(agent, &conversation_id).await
                {
                    agent_addr.do_send(ReleaseConversation(conversation_id));
                }
                Err(e)
            }
        }
    }

    /// Whether `agent` owns the conversation now.
    async fn owns(&self, agent: &AgentId, conversation: &ConversationId) -> bool {
        self.conversation(conversation)
            .await
            .is_ok_and(|c| c.owner.as_ref() == Some(agent))
    }

    /// Sets an agent's presence.
    pub async fn set_presence(
        &self,
        agent: &AgentId,
        presence: Presence,
    ) -> Result<AgentSnapshot, EngineError> {
        let addr = self.ensure_agent(agent).await?;
        addr.send(SetPresence(presence))
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
            .get::<Queue>(current.queue_id.as_str())
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

    /// An owner or subscriber replies to the customer. Returns the thread entry.
    pub async fn reply(
        &self,
        agent: &AgentId,
        conversation: &ConversationId,
        text: impl Into<OutgoingText>,
    ) -> Result<Value, EngineError> {
        let agent = agent.clone();
        self.text_in(conversation, None, text.into(), |text| Reply {
            agent,
            text,
        })
        .await
    }

    /// Switchboard answers a customer itself (HELP): an outbound text by no agent, through
    /// the outbox like any other.
    pub async fn automatic_text(
        &self,
        conversation: &ConversationId,
        number: &Number,
        body: String,
    ) -> Result<Value, EngineError> {
        self.text_in(
            conversation,
            Some(number),
            OutgoingText::from(body),
            AutomaticText,
        )
        .await
    }

    /// Sends a text within an open conversation through the actor message `message` makes of
    /// it, once [`Engine::prepare_text`] allows it.
    async fn text_in<M>(
        &self,
        conversation: &ConversationId,
        number: Option<&Number>,
        text: OutgoingText,
        message: impl FnOnce(OutgoingText) -> M,
    ) -> Result<Value, EngineError>
    where
        M: Message<Result = Result<Option<Value>, EngineError>> + Clone + Send + 'static,
        ConversationActor: Handler<M>,
    {
        let current = self.conversation(conversation).await?;
        let number = match number {
            Some(number) => number.clone(),
            None => {
                self.inner
                    .catalog
                    .get::<Number>(current.number_id.as_str())
                    .await?
                    .resource
            }
        };
        let (text, first) = self.prepare_text(&number, &current.customer, text).await?;
        let entry = self.ask_conversation(conversation, message(text)).await??;
        if first {
            self.texted(&current.customer, &number).await;
        }
        Ok(entry.unwrap_or(Value::Null))
    }

    /// Every send path's gate, from one read of the customer's card: refused when the
    /// customer opted out of the number's texts (the outbox asks again before the hand-off,
    /// for a STOP that comes in meanwhile); otherwise the text, with the number's opt-out
    /// footer when it is the first Switchboard sends `customer` from `number` (and does not
    /// already say how to stop), and whether it was the first.
    async fn prepare_text(
        &self,
        number: &Number,
        customer: &crate::domain::PhoneNumber,
        mut text: OutgoingText,
    ) -> Result<(OutgoingText, bool), EngineError> {
        let card = self.inner.contacts.get(customer).await?;
        if card.opted_out.contains_key(&number.opt_out_scope()) {
            return Err(EngineError::RecipientOptedOut(number.id.clone()));
        }
        let first = !card.texted_from.contains(number.id.as_str());
        if first
            && let Some(footer) = number.footer()
            && !crate::sms::keywords::mentions_stop(&text.body)
        {
            text.body = if text.body.is_empty() {
                footer.to_owned()
            } else {
                format!("{}\n{footer}", text.body)
            };
        }
        Ok((text, first))
    }

    /// Remembers that `customer` got a text from `number` (so later ones carry no footer).
    /// A crash before this is harmless: the next text carries the footer again.
    async fn texted(&self, customer: &crate::domain::PhoneNumber, number: &Number) {
        if let Err(e) = self
            .inner
            .contacts
            .mark_texted(customer, number.id.as_str())
            .await
        {
            tracing::warn!(error = %e, "could not record the first text to a customer");
        }
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
    ) -> Result<Value, EngineError> {
        let entry = self
            .ask_conversation(
                conversation,
                AddNote {
                    agent: agent.clone(),
                    body,
                },
            )
            .await??;
        Ok(entry.unwrap_or(Value::Null))
    }

    /// The thread of a conversation: customer and agent messages, notes and system entries,
    /// oldest first, from position `from`.
    pub async fn thread(
        &self,
        conversation: &ConversationId,
        from: usize,
        limit: usize,
    ) -> Result<Vec<Value>, EngineError> {
        let raw = self
            .inner
            .store
            .conversation_messages(conversation.as_str(), from, limit)
            .await?;
        let mut entries: Vec<Value> = raw
            .iter()
            .map(|entry| {
                serde_json::from_str(entry)
                    .map_err(|e| EngineError::Store(StoreError::Corrupt(e.to_string())))
            })
            .collect::<Result<_, _>>()?;
        self.with_deliveries(&mut entries).await?;
        Ok(entries)
    }

    /// Shows each outbound entry's delivery as its delivery record has it now.
    pub async fn with_deliveries(&self, entries: &mut [Value]) -> Result<(), EngineError> {
        let outbound: Vec<usize> = (0..entries.len())
            .filter(|&i| entries[i]["direction"] == "outbound")
            .collect();
        let ids: Vec<String> = outbound
            .iter()
            .filter_map(|&i| entries[i]["id"].as_str().map(str::to_owned))
            .collect();
        if ids.len() != outbound.len() {
            return Ok(());
        }
        let records = self.inner.store.deliveries(&ids).await?;
        for (i, record) in outbound.into_iter().zip(records) {
            let Some(delivery) =
                record.and_then(|r| serde_json::from_str::<crate::outbox::Delivery>(&r).ok())
            else {
                continue;
            };
            if let (Value::Object(entry), Value::Object(summary)) =
                (&mut entries[i], delivery.summary())
            {
                entry.extend(summary);
            }
        }
        Ok(())
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
    }
}

/// Reads `of_<queue>_<seq>`; queue ids may hold `_`, the sequence is the digits after the last.
fn parse_offer_id(text: &str) -> Option<OfferId> {
    let (head, seq) = text.strip_prefix("of_")?.rsplit_once('_')?;
    Some(OfferId {
        queue: QueueId::parse(head).ok()?,
        seq: seq.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offer_ids_round_trip_through_text() {
        let offer = OfferId {
            queue: QueueId::parse("q_01_x").unwrap(),
            seq: 42,
        };
        assert_eq!(parse_offer_id(&offer.to_string()), Some(offer));
        assert_eq!(parse_offer_id("of_q1"), None);
        assert_eq!(parse_offer_id("nope"), None);
        assert_eq!(parse_offer_id("of_bad id_3"), None);
    }
}
