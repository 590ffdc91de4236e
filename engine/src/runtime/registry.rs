//! The actor registry: finding, starting and messaging the actors in charge of a queue, an
//! agent or a conversation, and opening (or finding) a customer's conversation.

use actix::{Actor, Addr, Handler, Message};

use super::actor_services::ActorServices;
use super::agent_actor::AgentActor;
use super::conversation_actor::ConversationActor;
use super::engine::{Engine, queue_settings};
use super::messages::Routing;
use super::messages::{QueueMail, TagCampaign};
use super::queue_actor::QueueActor;
use super::types::*;
use crate::conversation::Conversation;
use crate::domain::{Agent, AgentId, ConversationId, Number, Queue, QueueId};
use crate::routing::protocol::{EnqueueHint, ToQueue};
use crate::routing::{AgentCore, Millis, QueueCore};
use crate::store::{Store, StoreError};

/// How a conversation going back in line is to be offered: a public one goes to the owner's
/// colleagues, not back to the owner.
pub(super) fn line_hint(conversation: &Conversation) -> EnqueueHint {
    match (conversation.owner(), conversation.public()) {
        (Some(owner), true) => EnqueueHint::NotTo(owner.clone()),
        _ => EnqueueHint::None,
    }
}

impl Engine {
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
                conversation: conversation.id().clone(),
                campaign: conversation.campaign().to_string(),
            },
        );
        self.send_to_queue(
            queue,
            QueueMail(ToQueue::Enqueue {
                conversation: conversation.id().clone(),
                priority: conversation.line_priority(),
                waiting_since,
                needs: conversation.needs(),
                hint,
            }),
        );
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
                    *addr = self.start_conversation(id, true);
                }
            })
            .or_insert_with(|| self.start_conversation(id, true))
            .clone()
    }

    /// Starts the actor of a conversation this process has just opened, without reading the
    /// store: nothing is stored under its new id yet (one round trip less for every new
    /// conversation). [`Engine::ask_conversation`] then finds it.
    pub(super) fn start_new_conversation(&self, id: &ConversationId) {
        self.inner
            .conversations
            .entry(id.clone())
            .or_insert_with(|| self.start_conversation(id, false));
    }

    /// Starts a conversation's actor, loading its state from the store when `stored`.
    fn start_conversation(&self, id: &ConversationId, stored: bool) -> Addr<ConversationActor> {
        let engine = self.clone();
        let id = id.clone();
        let shard = self.inner.conversation_shards.of(&id).clone();
        ConversationActor::start_in_arbiter(&shard.arbiter, move |_| {
            let services = ActorServices::new(engine).with_store(shard.store);
            let actor = ConversationActor::new(services, id);
            if stored {
                actor
            } else {
                actor.new_conversation()
            }
        })
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
                QueueActor::start_in_arbiter(&arbiter, move |_| {
                    QueueActor::new(ActorServices::new(engine), core)
                })
            })
            .clone())
    }

    pub(super) async fn ensure_agent(&self, id: &AgentId) -> Result<Addr<AgentActor>, EngineError> {
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
                let mut core = AgentCore::new(agent.id.clone(), agent.capacity.get(), now);
                // Offline with no logins: nobody hears of it yet, so nothing follows.
                let _ = core.set_skills(crate::domain::skills::to_skills(&agent.skills), now);
                let teams = agent.team_ids.iter().map(ToString::to_string).collect();
                AgentActor::start_in_arbiter(&arbiter, move |_| {
                    AgentActor::new(ActorServices::new(engine), core, teams)
                })
            })
            .clone())
    }

    /// A queue's configuration, cached (see [`super::config_cache`]): read for every inbound
    /// text, changed rarely.
    pub(super) async fn queue_config(&self, id: &QueueId) -> Result<Queue, EngineError> {
        let generation = self.inner.catalog.generation();
        self.inner
            .queue_configs
            .get_or_load(id.as_str(), generation, async {
                Ok(self.inner.catalog.get::<Queue>(id.as_str()).await?.resource)
            })
            .await
    }

    /// The open conversation of `customer` with `number` (opening one when there is none:
    /// the bool says so), and where it is routed.
    pub(super) async fn open_or_get(
        &self,
        number: &Number,
        customer: &crate::domain::PhoneNumber,
    ) -> Result<(ConversationId, bool, Routing), EngineError> {
        let routing = self.routing_of(number).await?;
        let candidate = ConversationId::generate();
        let (conversation_id, opened) = self
            .inner
            .store
            .conversation_open_or_get(number.id.as_str(), customer.as_str(), candidate.as_str())
            .await?;
        let conversation_id = ConversationId::parse(conversation_id)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok((conversation_id, opened, routing))
    }

    /// The campaign named `name` (ignoring case), cached like a queue's configuration.
    pub(super) async fn campaign_named(
        &self,
        name: &str,
    ) -> Result<Option<crate::domain::campaign::Campaign>, EngineError> {
        let key = name.to_lowercase();
        let generation = self.inner.catalog.generation();
        self.inner
            .campaign_configs
            .get_or_load(&key, generation, async {
                let Some(id) = self
                    .inner
                    .store
                    .config_find_unique(crate::store::ResourceKind::Campaign, "name", &key)
                    .await?
                else {
                    return Ok(None);
                };
                Ok(self
                    .inner
                    .catalog
                    .find::<crate::domain::campaign::Campaign>(&id)
                    .await?
                    .map(|stored| stored.resource))
            })
            .await
    }

    /// Where a text to `number` goes: its queue (running), campaign and the queue's settings;
    /// the skills its conversations need of their own (the number's and its campaign's).
    pub(super) async fn routing_of(&self, number: &Number) -> Result<Routing, EngineError> {
        let queue = self.queue_config(&number.queue_id).await?;
        self.ensure_queue(&queue.id).await?;
        let campaign_skills = self
            .campaign_named(number.campaign.as_str())
            .await?
            .map(|campaign| campaign.required_skills)
            .unwrap_or_default();
        Ok(Routing {
            number_id: number.id.clone(),
            campaign: number.campaign.clone(),
            queue_id: queue.id,
            priority: queue.priority.get(),
            public_minutes: queue.public_minutes.get(),
            alerts: crate::conversation::AlertThresholds {
                unclaimed_secs: queue.alerts.unclaimed_secs.get(),
                awaiting_reply_secs: queue.alerts.awaiting_reply_secs.get(),
            },
            required_skills: crate::domain::skills::merge_requirements(
                number
                    .required_skills
                    .iter()
                    .cloned()
                    .chain(campaign_skills),
            ),
            keyword_skills: queue.keyword_skills,
        })
    }
}
