//! Who may see an event: its [`Audience`], worked out once per event from its type and the
//! teams of the queue or agent it concerns, and the pure rule [`Audience::admits`] that every
//! websocket session applies to it.
//!
//! The rules mirror the REST API's visibility: an agent sees its teams' conversations and its
//! own offers and presence; a supervisor also sees its teams' agents' offers and presence; the
//! admin sees everything. An event whose team cannot be found is for the admin only — an
//! unknown is never a leak.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ::protocol::Event;

use crate::catalog::Catalog;
use crate::domain::{Agent, AgentId, AgentRole, Queue, TeamId};
use crate::store::AnyStore;

/// Who an event is for, besides the admin.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Audience {
    /// The teams it concerns.
    pub teams: Vec<TeamId>,
    /// The agents it names (the offered agent, the agent whose presence changed).
    pub agents: Vec<AgentId>,
    /// Which members of those teams see it.
    pub scope: Scope,
}

/// Which members of an event's teams see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scope {
    /// Every agent and supervisor of the teams (conversation events, queue stats).
    Team,
    /// The agents named, and the teams' supervisors (offers, presence).
    Supervisors,
    /// Only the agents named (internal chat); with none named, the admin alone.
    #[default]
    Named,
}

/// Whoever watches events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Viewer {
    /// The operator: every event.
    Admin,
    /// An agent or supervisor, with its teams.
    Member {
        /// The agent.
        agent: AgentId,
        /// Its role.
        role: AgentRole,
        /// Its teams.
        teams: Vec<TeamId>,
    },
}

impl Audience {
    /// Whether `viewer` may see the event.
    pub fn admits(&self, viewer: &Viewer) -> bool {
        match viewer {
            Viewer::Admin => true,
            Viewer::Member { agent, role, teams } => {
                let named = self.agents.contains(agent);
                let shares_team = self.teams.iter().any(|t| teams.contains(t));
                match self.scope {
                    Scope::Team => shares_team,
                    Scope::Supervisors => named || (*role == AgentRole::Supervisor && shares_team),
                    Scope::Named => named,
                }
            }
        }
    }
}

/// What an event's type says about its audience; the teams come from the data.
pub fn scope_of(event: &Event) -> Scope {
    match event {
        Event::OfferCreated(_)
        | Event::OfferRejected(_)
        | Event::OfferExpired(_)
        | Event::OfferRescinded(_)
        | Event::AgentUpdated(_)
        | Event::TransferDeclined(_) => Scope::Supervisors,
        Event::ChatMessage(_) => Scope::Named,
        Event::ConversationCreated(_)
        | Event::MessageReceived(_)
        | Event::MessageSent(_)
        | Event::MessageStatus(_)
        | Event::NoteAdded(_)
        | Event::ConversationAssigned(_)
        | Event::ConversationUpdated(_)
        | Event::ConversationRead(_)
        | Event::ConversationClosed(_)
        | Event::AlertRaised(_)
        | Event::AlertCleared(_) => Scope::Team,
    }
}

/// How long a looked-up team stays cached: a queue moved to another team, or an agent's
/// teams changed, reach the feed within this time.
const CACHE_TTL: Duration = Duration::from_secs(5);

type Cache<V> = Mutex<HashMap<String, (Instant, V)>>;

/// Works out events' audiences, caching the teams of queues and agents briefly so that a
/// burst of events costs a few catalog reads, not one per event.
pub struct AudienceResolver {
    catalog: Catalog<AnyStore>,
    queue_team: Cache<Option<TeamId>>,
    agent_teams: Cache<Vec<TeamId>>,
}

impl std::fmt::Debug for AudienceResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudienceResolver").finish_non_exhaustive()
    }
}

impl AudienceResolver {
    /// A resolver reading `catalog`.
    pub fn new(catalog: Catalog<AnyStore>) -> Self {
        Self {
            catalog,
            queue_team: Mutex::default(),
            agent_teams: Mutex::default(),
        }
    }

    /// The audience of `event`: the team of its queue (for an agent's presence, the agent's
    /// teams) and the agents it names.
    pub async fn resolve(&self, event: &Event) -> Audience {
        let agents: Vec<AgentId> = event
            .agents()
            .into_iter()
            .filter_map(|id| AgentId::parse(id).ok())
            .collect();
        let mut teams = Vec::new();
        if let Some(queue) = event.queue_id()
            && let Some(team) = self.team_of_queue(queue).await
        {
            teams.push(team);
        }
        if let Event::AgentUpdated(_) = event {
            for agent in &agents {
                for team in self.teams_of_agent(agent.as_str()).await {
                    if !teams.contains(&team) {
                        teams.push(team);
                    }
                }
            }
        }
        Audience {
            teams,
            agents,
            scope: scope_of(event),
        }
    }

    /// The team of a queue (cached).
    pub async fn team_of_queue(&self, queue: &str) -> Option<TeamId> {
        if let Some(hit) = cached(&self.queue_team, queue) {
            return hit;
        }
        let team = match self.catalog.get::<Queue>(queue).await {
            Ok(stored) => Some(stored.resource.team_id),
            // Deleted: nobody but the admin sees its events from now on.
            Err(crate::catalog::CatalogError::NotFound { .. }) => None,
            // Store trouble: do not cache, and keep the event for the admin only.
            Err(_) => return None,
        };
        remember(&self.queue_team, queue, team.clone());
        team
    }

    async fn teams_of_agent(&self, agent: &str) -> Vec<TeamId> {
        if let Some(hit) = cached(&self.agent_teams, agent) {
            return hit;
        }
        let teams = match self.catalog.get::<Agent>(agent).await {
            Ok(stored) => stored.resource.team_ids.into_iter().collect(),
            Err(crate::catalog::CatalogError::NotFound { .. }) => Vec::new(),
            Err(_) => return Vec::new(),
        };
        remember(&self.agent_teams, agent, teams.clone());
        teams
    }
}

fn cached<V: Clone>(cache: &Cache<V>, key: &str) -> Option<V> {
    let cache = cache.lock().ok()?;
    let (at, value) = cache.get(key)?;
    (at.elapsed() < CACHE_TTL).then(|| value.clone())
}

fn remember<V>(cache: &Cache<V>, key: &str, value: V) {
    if let Ok(mut cache) = cache.lock() {
        if cache.len() > 10_000 {
            cache.retain(|_, (at, _)| at.elapsed() < CACHE_TTL);
        }
        cache.insert(key.to_owned(), (Instant::now(), value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn team(id: &str) -> TeamId {
        TeamId::parse(id).unwrap()
    }
    fn agent(id: &str) -> AgentId {
        AgentId::parse(id).unwrap()
    }
    fn member(id: &str, role: AgentRole, teams: &[&str]) -> Viewer {
        Viewer::Member {
            agent: agent(id),
            role,
            teams: teams.iter().map(|t| team(t)).collect(),
        }
    }

    fn audience(scope: Scope, teams: &[&str], agents: &[&str]) -> Audience {
        Audience {
            teams: teams.iter().map(|t| team(t)).collect(),
            agents: agents.iter().map(|a| agent(a)).collect(),
            scope,
        }
    }

    #[test]
    fn every_scope_against_every_kind_of_viewer() {
        use AgentRole::{Agent as A, Supervisor as S};
        let viewers = [
            ("admin", Viewer::Admin),
            ("named agent", member("ann", A, &["red"])),
            ("teammate", member("bob", A, &["red"])),
            ("supervisor", member("sue", S, &["red"])),
            ("other team's supervisor", member("sam", S, &["blue"])),
            ("other team's agent", member("oli", A, &["blue"])),
        ];
        let cases = [
            (Scope::Team, [true, true, true, true, false, false]),
            (Scope::Supervisors, [true, true, false, true, false, false]),
            (Scope::Named, [true, true, false, false, false, false]),
        ];
        for (scope, expected) in cases {
            let aud = audience(scope, &["red"], &["ann"]);
            for ((who, viewer), want) in viewers.iter().zip(expected) {
                assert_eq!(aud.admits(viewer), want, "{scope:?} seen by {who}");
            }
        }
    }

    #[test]
    fn an_event_without_a_team_is_for_the_admin_and_the_named_only() {
        let aud = audience(Scope::Team, &[], &[]);
        assert!(aud.admits(&Viewer::Admin));
        assert!(!aud.admits(&member("sue", AgentRole::Supervisor, &["red"])));
        let named = audience(Scope::Supervisors, &[], &["ann"]);
        assert!(named.admits(&member("ann", AgentRole::Agent, &[])));
        assert!(!named.admits(&member("sue", AgentRole::Supervisor, &["red"])));
    }

    #[test]
    fn event_types_map_to_scopes() {
        let scope =
            |kind: &str, data: serde_json::Value| scope_of(&Event::from_value(kind, data).unwrap());
        let offer = serde_json::json!({"offer_id": "o", "conversation_id": "c", "queue_id": "q",
            "agent_id": "ann", "expires_at": "2026-11-23T10:00:00.000Z"});
        assert_eq!(scope("offer.created", offer.clone()), Scope::Supervisors);
        assert_eq!(scope("offer.expired", offer), Scope::Supervisors);
        let presence = serde_json::json!({"agent_id": "ann", "presence": "away", "logins": [], "reason": null});
        assert_eq!(scope("agent.updated", presence), Scope::Supervisors);
        let chat = serde_json::json!({"from_agent_id": "ann", "to_agent_id": "bob", "message":
            {"id": "ch_1", "from_agent_id": "ann", "to_agent_id": "bob", "body": "hi", "at": 1}});
        assert_eq!(scope("chat.message", chat), Scope::Named);
        let closed =
            serde_json::json!({"conversation_id": "c", "queue_id": "q", "agent_id": "ann"});
        assert_eq!(scope("conversation.closed", closed), Scope::Team);
    }
}
