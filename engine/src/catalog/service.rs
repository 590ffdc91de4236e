//! The catalog service: typed CRUD over a store, with timestamps, revisions, cursor paging
//! and optimistic concurrency for updates.

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};

use super::{CatalogError, ConfigResource};
use crate::domain::ValidationError;
use crate::store::{ConfigDoc, ConfigWrite, Expect, ResourceRef, Store};

/// The most items one list call returns.
pub const MAX_PAGE_SIZE: usize = 200;

/// How often an update re-reads and re-applies after losing a race with another writer.
const UPDATE_ATTEMPTS: usize = 5;

/// A resource as kept: the resource, when it was created and last changed, and its revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored<R> {
    /// The resource.
    pub resource: R,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Grows by one with each change.
    pub revision: u64,
}

/// The persisted body: the resource's fields with the two timestamps beside them.
#[derive(Serialize, Deserialize)]
struct Body<R> {
    #[serde(flatten)]
    resource: R,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items, in id order.
    pub items: Vec<T>,
    /// The id to continue after, when more items follow.
    pub next_after: Option<String>,
}

/// Typed configuration over a store.
#[derive(Debug, Clone)]
pub struct Catalog<S> {
    store: S,
    /// Where each successful change is announced (the routing engine listens, so that a new
    /// capacity or strategy applies to the next decision without a restart).
    changes: Option<tokio::sync::mpsc::UnboundedSender<ResourceRef>>,
    /// Bumped by every successful change through this catalog (and its clones): caches of
    /// configuration compare it to know, synchronously, that what they hold may be stale.
    generation: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// The highest catalog version the store has answered.
    seen_version: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

/// Timestamps are kept to the millisecond: what clients see is what a round trip returns.
fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(3)
}

fn decode<R: ConfigResource>(doc: ConfigDoc) -> Result<Stored<R>, CatalogError> {
    let body: Body<R> = serde_json::from_str(&doc.body).map_err(|e| {
        CatalogError::Store(crate::store::StoreError::Corrupt(format!(
            "{} {}: {e}",
            doc.kind, doc.id
        )))
    })?;
    Ok(Stored {
        resource: body.resource,
        created_at: body.created_at,
        updated_at: body.updated_at,
        revision: doc.revision,
    })
}

fn target<R: ConfigResource>(id: &str) -> ResourceRef {
    ResourceRef::new(R::KIND, id)
}

impl<S: Store> Catalog<S> {
    /// A catalog over `store`.
    pub fn new(store: S) -> Self {
        Self {
            store,
            changes: None,
            generation: std::sync::Arc::default(),
            seen_version: std::sync::Arc::default(),
        }
    }

    /// How many changes this catalog (and its clones) has made or heard of: a cache filled
    /// at one generation is stale at the next.
    pub fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Notes the store's catalog version as a write just answered it (see
    /// [`crate::store::CommitOutcome::Stored`]): one higher than any seen before means some
    /// process changed the configuration, and every cache keyed by the generation starts
    /// over. Costs no round trip: busy servers hear of other processes' changes with their
    /// next commit, idle ones within their caches' time limit.
    pub fn observe_version(&self, version: u64) {
        let seen = self
            .seen_version
            .fetch_max(version, std::sync::atomic::Ordering::AcqRel);
        if version > seen {
            self.generation
                .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        }
    }

    /// The same catalog, announcing every resource it creates, changes or deletes on
    /// `changes`.
    pub fn announcing(mut self, changes: tokio::sync::mpsc::UnboundedSender<ResourceRef>) -> Self {
        self.changes = Some(changes);
        self
    }

    fn announce<R: ConfigResource>(&self, id: &str) {
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        if let Some(changes) = &self.changes {
            // A closed channel means the engine stopped: nobody is left to tell.
            let _ = changes.send(target::<R>(id));
        }
    }

    /// The store underneath.
    pub fn store(&self) -> &S {
        &self.store
    }

    fn write<R: ConfigResource>(
        resource: &R,
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
        expect: Expect,
    ) -> Result<ConfigWrite, CatalogError> {
        resource.validate()?;
        let body = Body {
            resource: resource.clone(),
            created_at,
            updated_at,
        };
        Ok(ConfigWrite {
            kind: R::KIND,
            id: resource.id().to_owned(),
            body: serde_json::to_string(&body).expect("resources always serialise"),
            refs: resource.refs(),
            uniques: resource.uniques(),
            owner: resource.owner(),
            expect,
        })
    }

    /// Creates `resource`; its id must be new.
    pub async fn create<R: ConfigResource>(&self, resource: R) -> Result<Stored<R>, CatalogError> {
        let at = now();
        let write = Self::write(&resource, at, at, Expect::Absent)?;
        let revision = self
            .store
            .config_put(write)
            .await
            .map_err(|e| CatalogError::from_store(target::<R>(resource.id()), e))?;
        self.announce::<R>(resource.id());
        Ok(Stored {
            resource,
            created_at: at,
            updated_at: at,
            revision,
        })
    }

    /// The resource with `id`.
    pub async fn get<R: ConfigResource>(&self, id: &str) -> Result<Stored<R>, CatalogError> {
        self.find(id).await?.ok_or_else(|| CatalogError::NotFound {
            kind: R::KIND,
            id: id.to_owned(),
        })
    }

    /// The resource with `id`, if any.
    pub async fn find<R: ConfigResource>(
        &self,
        id: &str,
    ) -> Result<Option<Stored<R>>, CatalogError> {
        let doc = self
            .store
            .config_get(R::KIND, id)
            .await
            .map_err(CatalogError::Store)?;
        doc.map(decode).transpose()
    }

    /// Up to `limit` resources (at most [`MAX_PAGE_SIZE`]) after the id `after`, in id order.
    pub async fn list<R: ConfigResource>(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<Stored<R>>, CatalogError> {
        let limit = limit.clamp(1, MAX_PAGE_SIZE);
        // One more than asked tells whether another page follows without a second call.
        let mut docs = self
            .store
            .config_list(R::KIND, after, limit + 1)
            .await
            .map_err(CatalogError::Store)?;
        let more = docs.len() > limit;
        docs.truncate(limit);
        let items = docs
            .into_iter()
            .map(decode)
            .collect::<Result<Vec<Stored<R>>, _>>()?;
        let next_after = if more {
            items.last().map(|s| s.resource.id().to_owned())
        } else {
            None
        };
        Ok(Page { items, next_after })
    }

    /// Changes the resource with `id` by `change`, which receives the current value. When
    /// another writer changes it meanwhile, `change` is applied again to the newer value, so
    /// concurrent updates of different fields both land.
    pub async fn update<R: ConfigResource>(
        &self,
        id: &str,
        change: impl Fn(R) -> Result<R, ValidationError>,
    ) -> Result<Stored<R>, CatalogError> {
        for _ in 0..UPDATE_ATTEMPTS {
            let current = self.get::<R>(id).await?;
            let resource = change(current.resource)?;
            if resource.id() != id {
                return Err(ValidationError::invalid("id", "cannot be changed").into());
            }
            let at = now();
            let write = Self::write(
                &resource,
                current.created_at,
                at,
                Expect::Revision(current.revision),
            )?;
            match self.store.config_put(write).await {
                Ok(revision) => {
                    self.announce::<R>(id);
                    return Ok(Stored {
                        resource,
                        created_at: current.created_at,
                        updated_at: at,
                        revision,
                    });
                }
                Err(crate::store::StoreError::RevisionMismatch { .. }) => continue,
                Err(e) => return Err(CatalogError::from_store(target::<R>(id), e)),
            }
        }
        Err(CatalogError::Contended(target::<R>(id)))
    }

    /// Deletes the resource with `id` and what it owns; refused while referenced.
    pub async fn delete<R: ConfigResource>(&self, id: &str) -> Result<(), CatalogError> {
        self.store
            .config_delete(R::KIND, id)
            .await
            .map_err(|e| CatalogError::from_store(target::<R>(id), e))?;
        self.announce::<R>(id);
        Ok(())
    }

    /// Every resource of type `R` owned by `owner`.
    pub async fn owned_by<R: ConfigResource>(
        &self,
        owner: &ResourceRef,
    ) -> Result<Vec<Stored<R>>, CatalogError> {
        let docs = self
            .store
            .config_owned(owner)
            .await
            .map_err(CatalogError::Store)?;
        docs.into_iter()
            .filter(|d| d.kind == R::KIND)
            .map(decode)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    #[test]
    fn a_higher_catalog_version_makes_caches_start_over_once() {
        let catalog = Catalog::new(MemoryStore::new());
        let clone = catalog.clone();
        let start = catalog.generation();
        catalog.observe_version(3);
        assert_eq!(clone.generation(), start + 1, "clones share it");
        // The same or an older version (an answer overtaken by a newer one) changes nothing.
        catalog.observe_version(3);
        clone.observe_version(2);
        assert_eq!(catalog.generation(), start + 1);
        clone.observe_version(4);
        assert_eq!(catalog.generation(), start + 2);
    }
}
