//! What a catalog operation can fail with, naming the resources involved.

use crate::domain::ValidationError;
use crate::store::{ResourceKind, ResourceRef, StoreError};

/// A refused or failed catalog operation. Everything but `Store` means nothing was changed
/// because the request broke a rule; `Store` means the store could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    /// The input broke a rule of its type.
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// No such resource.
    #[error("{kind} {id} not found")]
    NotFound {
        /// Its kind.
        kind: ResourceKind,
        /// The id asked for.
        id: String,
    },
    /// A resource with that id exists already.
    #[error("{kind} {id} already exists")]
    AlreadyExists {
        /// Its kind.
        kind: ResourceKind,
        /// The id.
        id: String,
    },
    /// Another resource of the kind holds a value that must be unique.
    #[error("{kind} {field} {value:?} is already used by {holder}")]
    UniqueTaken {
        /// The kind.
        kind: ResourceKind,
        /// The field.
        field: String,
        /// The value.
        value: String,
        /// The id holding it.
        holder: String,
    },
    /// A referenced resource does not exist.
    #[error("{0} does not exist")]
    MissingReference(ResourceRef),
    /// Other resources still reference the one to delete.
    #[error("{target} is still used by {}", .users.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))]
    InUse {
        /// The resource that was to be deleted.
        target: ResourceRef,
        /// Everything that references it.
        users: Vec<ResourceRef>,
    },
    /// The resource kept changing under concurrent updates; the client may retry.
    #[error("{0} changed concurrently; retry")]
    Contended(ResourceRef),
    /// The store could not answer.
    #[error(transparent)]
    Store(StoreError),
}

impl CatalogError {
    /// Maps a store refusal for `target` to the catalog's words.
    pub(crate) fn from_store(target: ResourceRef, err: StoreError) -> Self {
        match err {
            StoreError::AlreadyExists => Self::AlreadyExists {
                kind: target.kind,
                id: target.id,
            },
            StoreError::NotFound => Self::NotFound {
                kind: target.kind,
                id: target.id,
            },
            StoreError::RevisionMismatch { .. } => Self::Contended(target),
            StoreError::MissingReference(r) => Self::MissingReference(r),
            StoreError::UniqueTaken {
                field,
                value,
                holder,
            } => Self::UniqueTaken {
                kind: target.kind,
                field,
                value,
                holder,
            },
            StoreError::InUse(users) => Self::InUse { target, users },
            other => Self::Store(other),
        }
    }
}
