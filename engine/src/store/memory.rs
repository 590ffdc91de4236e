//! The in-memory store: the embedded default when no Redis is configured, with exactly the
//! Redis store's semantics (the same contract suite runs against both). Not durable: a
//! restart forgets everything, which the server says at start-up.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use super::{
    ConfigDoc, ConfigWrite, Expect, ResourceKind, ResourceRef, Store, StoreError, UniqueKey,
};

#[derive(Debug, Clone)]
struct Doc {
    revision: u64,
    body: String,
    refs: Vec<ResourceRef>,
    uniques: Vec<(String, String)>,
    owner: Option<ResourceRef>,
}

#[derive(Debug, Default)]
struct State {
    docs: BTreeMap<ResourceRef, Doc>,
    uniques: HashMap<(ResourceKind, String, String), String>,
    referenced_by: HashMap<ResourceRef, BTreeSet<ResourceRef>>,
    children: HashMap<ResourceRef, BTreeSet<ResourceRef>>,
    closed: bool,
}

impl State {
    fn remove(&mut self, target: &ResourceRef) {
        let Some(doc) = self.docs.remove(target) else {
            return;
        };
        for r in &doc.refs {
            if let Some(users) = self.referenced_by.get_mut(r) {
                users.remove(target);
            }
        }
        for (field, value) in doc.uniques {
            self.uniques.remove(&(target.kind, field, value));
        }
        if let Some(owner) = &doc.owner
            && let Some(children) = self.children.get_mut(owner)
        {
            children.remove(target);
        }
        self.referenced_by.remove(target);
    }
}

/// The in-memory implementation of [`Store`]. Cloning shares the data.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<MutexGuard<'_, State>, StoreError> {
        // A poisoned lock means a panic mid-change in this process; the state may be half
        // written, so refuse service rather than serve it.
        let state = self
            .state
            .lock()
            .map_err(|_| StoreError::Unavailable("memory store poisoned".into()))?;
        if state.closed {
            return Err(StoreError::Unavailable("store closed".into()));
        }
        Ok(state)
    }
}

fn uniques_of(write: &[UniqueKey]) -> Vec<(String, String)> {
    write
        .iter()
        .map(|u| (u.field.to_owned(), u.value.clone()))
        .collect()
}

impl Store for MemoryStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.lock().map(|_| ())
    }

    async fn config_get(
        &self,
        kind: ResourceKind,
        id: &str,
    ) -> Result<Option<ConfigDoc>, StoreError> {
        let state = self.lock()?;
        Ok(state
            .docs
            .get(&ResourceRef::new(kind, id))
            .map(|doc| ConfigDoc {
                kind,
                id: id.to_owned(),
                revision: doc.revision,
                body: doc.body.clone(),
            }))
    }

    async fn config_list(
        &self,
        kind: ResourceKind,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ConfigDoc>, StoreError> {
        let state = self.lock()?;
        let start = ResourceRef::new(kind, after.unwrap_or(""));
        Ok(state
            .docs
            .range(start..)
            .skip_while(|(r, _)| after.is_some_and(|a| r.id == a))
            .take_while(|(r, _)| r.kind == kind)
            .take(limit)
            .map(|(r, doc)| ConfigDoc {
                kind,
                id: r.id.clone(),
                revision: doc.revision,
                body: doc.body.clone(),
            })
            .collect())
    }

    async fn config_find_unique(
        &self,
        kind: ResourceKind,
        field: &str,
        value: &str,
    ) -> Result<Option<String>, StoreError> {
        let state = self.lock()?;
        Ok(state
            .uniques
            .get(&(kind, field.to_owned(), value.to_owned()))
            .cloned())
    }

    async fn config_put(&self, write: ConfigWrite) -> Result<u64, StoreError> {
        let mut state = self.lock()?;
        let target = ResourceRef::new(write.kind, write.id.clone());
        let current = state.docs.get(&target).map(|d| d.revision);
        match (write.expect, current) {
            (Expect::Absent, Some(_)) => return Err(StoreError::AlreadyExists),
            (Expect::Revision(_), None) => return Err(StoreError::NotFound),
            (Expect::Revision(expected), Some(current)) if expected != current => {
                return Err(StoreError::RevisionMismatch { current });
            }
            _ => {}
        }
        for r in write.refs.iter().chain(&write.owner) {
            if !state.docs.contains_key(r) {
                return Err(StoreError::MissingReference(r.clone()));
            }
        }
        for u in &write.uniques {
            if let Some(holder) =
                state
                    .uniques
                    .get(&(write.kind, u.field.to_owned(), u.value.clone()))
                && *holder != write.id
            {
                return Err(StoreError::UniqueTaken {
                    field: u.field.to_owned(),
                    value: u.value.clone(),
                    holder: holder.clone(),
                });
            }
        }

        if let Some(old) = state.docs.get(&target).cloned() {
            for r in &old.refs {
                if let Some(users) = state.referenced_by.get_mut(r) {
                    users.remove(&target);
                }
            }
            for (field, value) in old.uniques {
                state.uniques.remove(&(write.kind, field, value));
            }
        }
        for r in &write.refs {
            state
                .referenced_by
                .entry(r.clone())
                .or_default()
                .insert(target.clone());
        }
        for u in &write.uniques {
            state.uniques.insert(
                (write.kind, u.field.to_owned(), u.value.clone()),
                write.id.clone(),
            );
        }
        if let Some(owner) = &write.owner {
            state
                .children
                .entry(owner.clone())
                .or_default()
                .insert(target.clone());
        }
        let revision = current.unwrap_or(0) + 1;
        let doc = Doc {
            revision,
            body: write.body,
            uniques: uniques_of(&write.uniques),
            refs: write.refs,
            owner: write.owner,
        };
        state.docs.insert(target, doc);
        Ok(revision)
    }

    async fn config_delete(&self, kind: ResourceKind, id: &str) -> Result<(), StoreError> {
        let mut state = self.lock()?;
        let target = ResourceRef::new(kind, id);
        if !state.docs.contains_key(&target) {
            return Err(StoreError::NotFound);
        }
        if let Some(users) = state.referenced_by.get(&target).filter(|u| !u.is_empty()) {
            // Ordered as text, like the Redis store's reply.
            let mut users: Vec<ResourceRef> = users.iter().cloned().collect();
            users.sort_by_key(ToString::to_string);
            return Err(StoreError::InUse(users));
        }
        for child in state.children.remove(&target).unwrap_or_default() {
            state.remove(&child);
        }
        state.remove(&target);
        Ok(())
    }

    async fn config_owned(&self, owner: &ResourceRef) -> Result<Vec<ConfigDoc>, StoreError> {
        let state = self.lock()?;
        let Some(children) = state.children.get(owner) else {
            return Ok(Vec::new());
        };
        Ok(children
            .iter()
            .filter_map(|child| {
                state.docs.get(child).map(|doc| ConfigDoc {
                    kind: child.kind,
                    id: child.id.clone(),
                    revision: doc.revision,
                    body: doc.body.clone(),
                })
            })
            .collect())
    }

    async fn close(&self) {
        if let Ok(mut state) = self.state.lock() {
            state.closed = true;
        }
    }
}
