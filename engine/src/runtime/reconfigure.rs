//! Configuration changes reaching the running actors. The catalog announces every resource it
//! creates, changes or deletes; this applies what routing depends on to the actors already
//! running, so that a new capacity, team list or queue setting holds for the next routing
//! decision without a restart. Actors not running read the catalog when they start.
//!
//! Changes made by another Switchboard process over the same Redis are not announced here
//! (the catalog is read from the store whenever an actor starts); following them live is the
//! in-memory catalog's job, with its cross-process invalidation.

use std::collections::BTreeSet;

use tokio::sync::mpsc::UnboundedReceiver;

use super::engine::queue_settings;
use super::messages::Configure;
use super::messages::{GetAgentView, SetCapacity, SetSkills, SetTeams};
use super::{Engine, EngineError};
use crate::domain::{Agent, AgentId, Queue, QueueId, Team};
use crate::store::{ResourceKind, ResourceRef};

impl Engine {
    /// Applies announced configuration changes, one at a time, for as long as the catalog
    /// announces them.
    pub(super) async fn follow_configuration(self, mut changes: UnboundedReceiver<ResourceRef>) {
        while let Some(change) = changes.recv().await {
            if let Err(e) = self.reconfigure(&change).await {
                tracing::warn!(resource = %change, error = %e, "configuration change not applied to routing");
            }
        }
    }

    async fn reconfigure(&self, change: &ResourceRef) -> Result<(), EngineError> {
        match change.kind {
            ResourceKind::Agent => {
                let Ok(id) = AgentId::parse(change.id.as_str()) else {
                    return Ok(());
                };
                self.reconfigure_agent(&id).await
            }
            ResourceKind::Queue => {
                let Ok(id) = QueueId::parse(change.id.as_str()) else {
                    return Ok(());
                };
                let Some(queue) = self.catalog().find::<Queue>(id.as_str()).await? else {
                    return Ok(());
                };
                let metrics = crate::metrics::metrics();
                metrics.describe_queue(&queue.resource);
                match self.queue_addr(&id) {
                    Some(addr) => addr.do_send(Configure(queue_settings(&queue.resource))),
                    // A new queue is on /metrics at zero before its first conversation.
                    None => metrics.touch_queue(id.as_str()),
                }
                Ok(())
            }
            // A number's label names its campaign: a new label makes one.
            // A new campaign takes the numbers already carrying its name.
            ResourceKind::Number | ResourceKind::Campaign => {
                self.adopt_campaign_labels().await.map(|_| ())
            }
            ResourceKind::Team => {
                // A team's families (and its away reasons) are on /metrics at zero.
                if let Some(team) = self.catalog().find::<Team>(change.id.as_str()).await? {
                    crate::metrics::metrics().touch_team(&team.resource);
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// A running agent takes its new capacity and skills, and leaves the queues of teams it is no longer
    /// in (its offers from them are rescinded by the logout).
    async fn reconfigure_agent(&self, id: &AgentId) -> Result<(), EngineError> {
        let Some(addr) = self.agent_addr(id) else {
            return Ok(());
        };
        let Some(agent) = self.catalog().find::<Agent>(id.as_str()).await? else {
            return Ok(());
        };
        addr.do_send(SetCapacity(agent.resource.capacity.get()));
        addr.do_send(SetSkills(crate::domain::skills::to_skills(
            &agent.resource.skills,
        )));
        addr.do_send(SetTeams(
            agent
                .resource
                .team_ids
                .iter()
                .map(ToString::to_string)
                .collect(),
        ));
        let view = addr
            .send(GetAgentView)
            .await
            .map_err(|_| EngineError::Stopped)?;
        let mut keep = BTreeSet::new();
        for queue in &view.logins {
            if let Some(stored) = self.catalog().find::<Queue>(queue.as_str()).await?
                && agent.resource.team_ids.contains(&stored.resource.team_id)
            {
                keep.insert(queue.clone());
            }
        }
        if keep != view.logins {
            self.set_logins(id, keep).await?;
        }
        Ok(())
    }
}
