//! The agent actor: owns one agent's [`AgentCore`] — presence, queue logins, capacity and
//! load — and carries out its effects.

use super::messages::*;
use std::collections::BTreeSet;

use ::protocol::event::{AgentUpdated, Event};
use actix::{Actor, AsyncContext, Context, Handler, MessageResult};

use super::actor_services::ActorServices;
use super::agent_gauges::AgentGauges;
use super::messages::QueueMail;
use crate::domain::{ConversationId, Presence, QueueId};
use crate::routing::protocol::{Effects, Happened};
use crate::routing::{AgentCore, AgentError};

impl Handler<SetCapacity> for AgentActor {
    type Result = ();

    fn handle(&mut self, SetCapacity(capacity): SetCapacity, _: &mut Context<Self>) {
        if capacity == self.core.capacity() {
            return;
        }
        let fx = self.change(|core, now| core.set_capacity(capacity, now));
        self.apply(fx);
    }
}

impl Handler<SetSkills> for AgentActor {
    type Result = ();

    fn handle(&mut self, SetSkills(skills): SetSkills, _: &mut Context<Self>) {
        let fx = self.change(|core, now| core.set_skills(skills, now));
        self.apply(fx);
    }
}

impl Handler<SetTeams> for AgentActor {
    type Result = ();

    fn handle(&mut self, SetTeams(teams): SetTeams, _: &mut Context<Self>) {
        self.gauges.set_teams(teams);
    }
}

impl Handler<RestoreOwned> for AgentActor {
    type Result = ();

    fn handle(&mut self, RestoreOwned(conversation): RestoreOwned, _: &mut Context<Self>) {
        self.core.restore_owned(conversation);
        self.gauges.show(&self.core, self.services.now());
    }
}

/// What an agent shows.
#[derive(Debug, Clone)]
pub struct AgentView {
    /// Presence.
    pub presence: Presence,
    /// When the presence last changed.
    pub presence_since: crate::routing::Millis,
    /// Why it is away (a team's reason, or `missed_offers`).
    pub away_reason: Option<String>,
    /// Queues logged into.
    pub logins: BTreeSet<QueueId>,
    /// Capacity.
    pub capacity: u16,
    /// Offered plus owned.
    pub load: u16,
    /// Owned conversations.
    pub owned: Vec<ConversationId>,
    /// Offers holding a slot, with their conversations, in offer order.
    pub offers: Vec<(crate::routing::protocol::OfferId, ConversationId)>,
}

/// One agent.
pub struct AgentActor {
    services: ActorServices,
    core: AgentCore,
    gauges: AgentGauges,
}

impl AgentActor {
    /// An agent actor around `core`, counted in the gauges of `teams`.
    pub fn new(services: ActorServices, core: AgentCore, teams: Vec<String>) -> Self {
        let now = services.now();
        let mut gauges = AgentGauges::new(core.id().to_string(), teams, now);
        gauges.show(&core, now);
        Self {
            services,
            core,
            gauges,
        }
    }

    /// Runs a change of the core.
    fn change<T>(&mut self, change: impl FnOnce(&mut AgentCore, i64) -> T) -> T {
        change(&mut self.core, self.services.now())
    }

    /// Carries out a change's effects and brings the agent gauges up to date.
    fn apply(&mut self, fx: Effects) {
        self.gauges.show(&self.core, self.services.now());
        for (queue, message) in fx.to_queues {
            self.services.send_to_queue(&queue, QueueMail(message));
        }
        for (agent, message) in fx.to_agents {
            self.services.send_to_agent(&agent, AgentMail(message));
        }
        for happened in fx.happened {
            if let Happened::AgentSetAway { agent } = happened {
                tracing::info!(agent_id = %agent, "agent set away after missed offers");
                self.persist();
            }
        }
    }

    /// Saves presence and logins, so a restart brings the agent back as it was, with the
    /// `agent.updated` event in the same write.
    fn persist(&self) {
        let state = serde_json::json!({
            "presence": self.core.presence(),
            "logins": self.core.logins(),
            "away_reason": self.core.away_reason(),
        });
        let event = Event::AgentUpdated(AgentUpdated {
            agent_id: self.core.id().to_string(),
            presence: self.core.presence(),
            logins: self.core.logins().iter().map(ToString::to_string).collect(),
            reason: self.core.away_reason().map(str::to_owned),
        });
        self.services
            .save_runtime("agent", self.core.id().to_string(), state, event);
    }

    fn view(&self) -> AgentView {
        AgentView {
            presence: self.core.presence(),
            presence_since: self.core.presence_since(),
            away_reason: self.core.away_reason().map(str::to_owned),
            logins: self.core.logins().clone(),
            capacity: self.core.capacity(),
            load: self.core.load(),
            owned: self.core.owned().iter().cloned().collect(),
            offers: {
                let mut offers: Vec<_> = self
                    .core
                    .reserved()
                    .map(|(o, c)| (o.clone(), c.clone()))
                    .collect();
                offers.sort();
                offers
            },
        }
    }
}

impl Actor for AgentActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        // Time in presence keeps counting while the agent stays in one.
        ctx.run_interval(std::time::Duration::from_secs(15), |actor, _| {
            actor.gauges.count_time(actor.services.now());
        });
    }
}

impl Handler<AgentMail> for AgentActor {
    type Result = ();

    fn handle(&mut self, AgentMail(message): AgentMail, _: &mut Context<Self>) {
        let fx = self.change(|core, now| core.handle(message, now));
        self.apply(fx);
    }
}

impl Handler<SetPresence> for AgentActor {
    type Result = MessageResult<SetPresence>;

    fn handle(
        &mut self,
        SetPresence(presence, reason): SetPresence,
        _: &mut Context<Self>,
    ) -> Self::Result {
        let fx = self.change(|core, now| core.set_presence(presence, reason, now));
        self.apply(fx);
        self.persist();
        MessageResult(self.view())
    }
}

impl Handler<SetLogins> for AgentActor {
    type Result = MessageResult<SetLogins>;

    fn handle(&mut self, SetLogins(logins): SetLogins, _: &mut Context<Self>) -> Self::Result {
        let fx = self.change(|core, now| core.set_logins(logins, now));
        self.apply(fx);
        self.persist();
        MessageResult(self.view())
    }
}

impl Handler<ReleaseConversation> for AgentActor {
    type Result = ();

    fn handle(
        &mut self,
        ReleaseConversation(conversation): ReleaseConversation,
        _: &mut Context<Self>,
    ) {
        let fx = self
            .core
            .release_conversation(&conversation, self.services.now());
        self.apply(fx);
    }
}

impl Handler<TakeConversation> for AgentActor {
    type Result = Result<(), AgentError>;

    fn handle(
        &mut self,
        TakeConversation(conversation): TakeConversation,
        _: &mut Context<Self>,
    ) -> Self::Result {
        let fx = self.core.take(conversation, self.services.now())?;
        self.apply(fx);
        Ok(())
    }
}

impl Handler<GetAgentView> for AgentActor {
    type Result = MessageResult<GetAgentView>;

    fn handle(&mut self, _: GetAgentView, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.view())
    }
}
