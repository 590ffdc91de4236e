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

use super::Involvement;
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
    /// The agents working on its conversation — owner and subscribers — when the feed read
    /// it (see [`super::Involvement`]): what a desktop following only its own work receives.
    pub involved: Vec<AgentId>,
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
        /// What of it the viewer follows.
        follow: Follow,
    },
}

pub use ::protocol::vocabulary::Follow;

impl Audience {
    /// Whether `viewer` may see the event.
    pub fn admits(&self, viewer: &Viewer) -> bool {
        match viewer {
            Viewer::Admin => true,
            Viewer::Member {
                agent,
                role,
                teams,
                follow,
            } => {
                let named = self.agents.contains(agent);
                let shares_team = self.teams.iter().any(|t| teams.contains(t));
                let sees = match self.scope {
                    Scope::Team => shares_team,
                    Scope::Supervisors => named || (*role == AgentRole::Supervisor && shares_team),
                    Scope::Named => named,
                };
                sees && match follow {
                    Follow::Team => true,
                    Follow::Own => named || self.involved.contains(agent),
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
        | Event::TransferDeclined(_)
        | Event::CampaignSendUpdated(_) => Scope::Supervisors,
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
    involvement: Involvement,
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
            involvement: Involvement::default(),
            queue_team: Mutex::default(),
            agent_teams: Mutex::default(),
        }
    }

    /// The same resolver asking `directory` who works on each conversation (without one, the
    /// owners and subscribers the events themselves name).
    pub fn with_directory(self, directory: crate::directory::Directory) -> Self {
        Self {
            involvement: Involvement::with_directory(directory),
            ..self
        }
    }

    /// The audience of `event`: the team of its queue (for an agent's presence, the agent's
    /// teams), the agents it names and those working on its conversation. Called once per
    /// event, in journal order (the involvement remembers each conversation's last event).
    pub async fn resolve(&self, event: &Event) -> Audience {
        let mut audience = self.resolve_replayed(event).await;
        audience.involved = self.involvement.of(event);
        audience
    }

    /// [`AudienceResolver::resolve`] for an event read again from the journal, out of the
    /// feed's order: involvement as it is now.
    pub async fn resolve_replayed(&self, event: &Event) -> Audience {
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
            involved: self.involvement.of_replayed(event),
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
            follow: Follow::Team,
        }
    }

    fn following_own(viewer: Viewer) -> Viewer {
        match viewer {
            Viewer::Member {
                agent, role, teams, ..
            } => Viewer::Member {
                agent,
                role,
                teams,
                follow: Follow::Own,
            },
            admin => admin,
        }
    }

    fn audience(scope: Scope, teams: &[&str], agents: &[&str]) -> Audience {
        Audience {
            teams: teams.iter().map(|t| team(t)).collect(),
            agents: agents.iter().map(|a| agent(a)).collect(),
            involved: Vec::new(),
            scope,
        }
    }

    #[test]
    fn following_own_work_narrows_what_a_member_may_see_to_its_own() {
        use AgentRole::{Agent as A, Supervisor as S};
        // Ann owns the conversation; Bob is a teammate; Sue supervises the team.
        let mut conversation = audience(Scope::Team, &["red"], &[]);
        conversation.involved = vec![agent("ann")];
        let offer_to_bob = audience(Scope::Supervisors, &["red"], &["bob"]);
        let other_team = {
            let mut a = audience(Scope::Team, &["blue"], &[]);
            a.involved = vec![agent("ann")];
            a
        };
        let cases = [
            (member("ann", A, &["red"]), [true, false, false]),
            (member("bob", A, &["red"]), [false, true, false]),
            (member("sue", S, &["red"]), [false, false, false]),
        ];
        for (viewer, want) in cases {
            let own = following_own(viewer.clone());
            let got = [&conversation, &offer_to_bob, &other_team].map(|a| a.admits(&own));
            assert_eq!(got, want, "{viewer:?} following own work");
            // Following own work never shows more than following the team.
            for a in [&conversation, &offer_to_bob, &other_team] {
                assert!(!a.admits(&own) || a.admits(&viewer));
            }
        }
        assert!(conversation.admits(&following_own(Viewer::Admin)));
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
