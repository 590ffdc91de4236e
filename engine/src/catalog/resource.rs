//! What the store must know of each configuration resource: its kind, id, references,
//! unique values and owner.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::domain::campaign::Campaign;
use crate::domain::{
    Agent, Disposition, Number, ProviderAccount, Queue, Team, Template, TemplateScope, Token,
    ValidationError,
};
use crate::store::{ResourceKind, ResourceRef, UniqueKey};

/// A resource the catalog can keep.
pub trait ConfigResource: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    /// Its kind in the store.
    const KIND: ResourceKind;

    /// Its id.
    fn id(&self) -> &str;

    /// Resources that must exist and cannot be deleted while this one points at them.
    fn refs(&self) -> Vec<ResourceRef> {
        Vec::new()
    }

    /// Values no other resource of the kind may hold, normalised so equal means taken.
    fn uniques(&self) -> Vec<UniqueKey> {
        Vec::new()
    }

    /// The resource whose deletion deletes this one.
    fn owner(&self) -> Option<ResourceRef> {
        None
    }

    /// Rules that span fields, checked before every write.
    fn validate(&self) -> Result<(), ValidationError> {
        Ok(())
    }
}

/// Names compare without regard to case: "Billing" and "billing" would confuse everyone.
fn name_key(name: &str) -> String {
    name.to_lowercase()
}

impl ConfigResource for Team {
    const KIND: ResourceKind = ResourceKind::Team;
    fn id(&self) -> &str {
        self.id.as_str()
    }
    fn uniques(&self) -> Vec<UniqueKey> {
        vec![UniqueKey {
            field: "name",
            value: name_key(self.name.as_str()),
        }]
    }
    fn validate(&self) -> Result<(), ValidationError> {
        Team::validate(self)
    }
}

impl ConfigResource for Queue {
    const KIND: ResourceKind = ResourceKind::Queue;
    fn id(&self) -> &str {
        self.id.as_str()
    }
    /// Its team, and the queue it overflows to (which cannot be deleted meanwhile).
    fn refs(&self) -> Vec<ResourceRef> {
        let mut refs = vec![ResourceRef::new(ResourceKind::Team, self.team_id.as_str())];
        if let Some(target) = self.overflow_to() {
            refs.push(ResourceRef::new(ResourceKind::Queue, target.as_str()));
        }
        refs
    }
    fn uniques(&self) -> Vec<UniqueKey> {
        vec![UniqueKey {
            field: "name",
            value: name_key(self.name.as_str()),
        }]
    }
    fn validate(&self) -> Result<(), ValidationError> {
        Queue::validate(self)
    }
}

impl ConfigResource for Agent {
    const KIND: ResourceKind = ResourceKind::Agent;
    fn id(&self) -> &str {
        self.id.as_str()
    }
    fn refs(&self) -> Vec<ResourceRef> {
        self.team_ids
            .iter()
            .map(|t| ResourceRef::new(ResourceKind::Team, t.as_str()))
            .collect()
    }
    fn validate(&self) -> Result<(), ValidationError> {
        Agent::validate(self)
    }
}

impl ConfigResource for Number {
    const KIND: ResourceKind = ResourceKind::Number;
    fn id(&self) -> &str {
        self.id.as_str()
    }
    fn refs(&self) -> Vec<ResourceRef> {
        let mut refs = vec![ResourceRef::new(
            ResourceKind::Queue,
            self.queue_id.as_str(),
        )];
        if let Some(account) = &self.provider_account_id {
            refs.push(ResourceRef::new(ResourceKind::ProviderAccount, account));
        }
        refs
    }
    fn uniques(&self) -> Vec<UniqueKey> {
        vec![UniqueKey {
            field: "phone",
            value: self.phone.as_str().to_owned(),
        }]
    }
    fn validate(&self) -> Result<(), ValidationError> {
        Number::validate(self)
    }
}

impl ConfigResource for ProviderAccount {
    const KIND: ResourceKind = ResourceKind::ProviderAccount;
    fn id(&self) -> &str {
        self.id.as_str()
    }
    fn uniques(&self) -> Vec<UniqueKey> {
        vec![UniqueKey {
            field: "name",
            value: name_key(self.name.as_str()),
        }]
    }
    fn validate(&self) -> Result<(), ValidationError> {
        ProviderAccount::validate(self)
    }
}

impl ConfigResource for Disposition {
    const KIND: ResourceKind = ResourceKind::Disposition;
    fn id(&self) -> &str {
        self.id.as_str()
    }
    fn uniques(&self) -> Vec<UniqueKey> {
        vec![UniqueKey {
            field: "code",
            value: self.code.as_str().to_owned(),
        }]
    }
}

impl ConfigResource for Template {
    const KIND: ResourceKind = ResourceKind::Template;
    fn id(&self) -> &str {
        self.id.as_str()
    }
    fn refs(&self) -> Vec<ResourceRef> {
        match &self.scope {
            TemplateScope::Team { team_id } => {
                vec![ResourceRef::new(ResourceKind::Team, team_id.as_str())]
            }
            TemplateScope::Queue { queue_id } => {
                vec![ResourceRef::new(ResourceKind::Queue, queue_id.as_str())]
            }
            TemplateScope::Global | TemplateScope::Campaign { .. } => Vec::new(),
        }
    }
    /// A name is unique within its scope: two teams may both have a "Greeting".
    fn uniques(&self) -> Vec<UniqueKey> {
        let scope = match &self.scope {
            TemplateScope::Global => "global".to_owned(),
            TemplateScope::Team { team_id } => format!("team/{team_id}"),
            TemplateScope::Queue { queue_id } => format!("queue/{queue_id}"),
            TemplateScope::Campaign { campaign } => {
                format!("campaign/{}", name_key(campaign.as_str()))
            }
        };
        vec![UniqueKey {
            field: "scope_name",
            value: format!("{scope}/{}", name_key(self.name.as_str())),
        }]
    }
}

impl ConfigResource for Campaign {
    const KIND: ResourceKind = ResourceKind::Campaign;
    fn id(&self) -> &str {
        self.id.as_str()
    }
    /// Its queue and templates must exist, and cannot be deleted meanwhile. Its numbers are
    /// those carrying its name (kept by the engine), not references: a number leaves a
    /// campaign by taking another label, or by being deleted.
    fn refs(&self) -> Vec<ResourceRef> {
        std::iter::once(ResourceRef::new(
            ResourceKind::Queue,
            self.queue_id.as_str(),
        ))
        .chain(
            self.template_ids
                .iter()
                .map(|t| ResourceRef::new(ResourceKind::Template, t.as_str())),
        )
        .collect()
    }
    fn uniques(&self) -> Vec<UniqueKey> {
        vec![UniqueKey {
            field: "name",
            value: name_key(self.name.as_str()),
        }]
    }
    fn validate(&self) -> Result<(), ValidationError> {
        Campaign::validate(self)
    }
}

impl ConfigResource for Token {
    const KIND: ResourceKind = ResourceKind::Token;
    fn id(&self) -> &str {
        self.id.as_str()
    }
    fn uniques(&self) -> Vec<UniqueKey> {
        vec![UniqueKey {
            field: "secret",
            value: self.secret_sha256.clone(),
        }]
    }
    fn owner(&self) -> Option<ResourceRef> {
        Some(ResourceRef::new(
            ResourceKind::Agent,
            self.agent_id.as_str(),
        ))
    }
}
