//! The values the store trait speaks in: kinds, references, documents and writes.

use std::fmt;
use std::str::FromStr;

/// The kinds of configuration document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceKind {
    /// A team.
    Team,
    /// A queue.
    Queue,
    /// An agent.
    Agent,
    /// A business number.
    Number,
    /// A disposition code.
    Disposition,
    /// A template.
    Template,
    /// An issued API token.
    Token,
    /// An SMS provider account.
    ProviderAccount,
    /// A campaign.
    Campaign,
}

impl ResourceKind {
    /// Every kind, for iteration in tests and tools.
    pub const ALL: [ResourceKind; 9] = [
        Self::Team,
        Self::Queue,
        Self::Agent,
        Self::Number,
        Self::Disposition,
        Self::Template,
        Self::Token,
        Self::ProviderAccount,
        Self::Campaign,
    ];

    /// The kind's name in keys, references and error details.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Team => "team",
            Self::Queue => "queue",
            Self::Agent => "agent",
            Self::Number => "number",
            Self::Disposition => "disposition",
            Self::Template => "template",
            Self::Token => "token",
            Self::ProviderAccount => "provider_account",
            Self::Campaign => "campaign",
        }
    }
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ResourceKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown resource kind {s:?}"))
    }
}

/// A pointer to one document: its kind and id. Written `kind:id` in keys (ids never hold
/// a `:`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceRef {
    /// The document's kind.
    pub kind: ResourceKind,
    /// The document's id.
    pub id: String,
}

impl ResourceRef {
    /// A reference to `kind` `id`.
    pub fn new(kind: ResourceKind, id: impl Into<String>) -> Self {
        Self {
            kind,
            id: id.into(),
        }
    }
}

impl fmt::Display for ResourceRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind, self.id)
    }
}

impl FromStr for ResourceRef {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (kind, id) = s
            .split_once(':')
            .ok_or_else(|| format!("bad reference {s:?}"))?;
        Ok(Self {
            kind: kind.parse()?,
            id: id.to_owned(),
        })
    }
}

/// A value that at most one document of a kind may hold in a field (a team's name, a
/// number's phone).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UniqueKey {
    /// The field, e.g. `name`.
    pub field: &'static str,
    /// The value, normalised by the caller (e.g. case-folded) so that equal means taken.
    pub value: String,
}

/// A stored configuration document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigDoc {
    /// Its kind.
    pub kind: ResourceKind,
    /// Its id.
    pub id: String,
    /// Grows by one with each write; used for optimistic concurrency.
    pub revision: u64,
    /// The serialised resource, opaque to the store.
    pub body: String,
}

/// What a write expects to find.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// No document with the id (a create).
    Absent,
    /// The document at exactly this revision (an update of what was read).
    Revision(u64),
}

/// One document to create or replace, with what the store must check and index for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigWrite {
    /// Its kind.
    pub kind: ResourceKind,
    /// Its id.
    pub id: String,
    /// The serialised resource.
    pub body: String,
    /// Documents that must exist and may not be deleted while this one references them.
    pub refs: Vec<ResourceRef>,
    /// Values no other document of the kind may hold.
    pub uniques: Vec<UniqueKey>,
    /// A document that must exist and whose deletion deletes this one too.
    pub owner: Option<ResourceRef>,
    /// Create or update.
    pub expect: Expect,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_ref_round_trips_through_text() {
        let r = ResourceRef::new(ResourceKind::Queue, "q_1");
        assert_eq!(r.to_string(), "queue:q_1");
        assert_eq!("queue:q_1".parse::<ResourceRef>().unwrap(), r);
        assert!("nope:q_1".parse::<ResourceRef>().is_err());
    }

    #[test]
    fn every_kind_parses_from_its_name() {
        for kind in ResourceKind::ALL {
            assert_eq!(kind.as_str().parse::<ResourceKind>().unwrap(), kind);
        }
    }
}
