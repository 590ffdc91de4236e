//! What a store operation can fail with.

use super::ResourceRef;

/// A store failure: either the store could not answer (`Unavailable`, `Timeout`), or it
/// answered that the change breaks a rule and was not made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The backend could not be reached or failed; nothing is known to have changed.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The backend did not answer within the configured store timeout.
    #[error("store did not answer within {0} ms")]
    Timeout(u64),
    /// A document with that id already exists.
    #[error("already exists")]
    AlreadyExists,
    /// No document with that id exists.
    #[error("not found")]
    NotFound,
    /// The document changed since it was read; re-read and try again.
    #[error("revision mismatch: now at {current}")]
    RevisionMismatch {
        /// The revision the store holds now.
        current: u64,
    },
    /// A referenced document does not exist.
    #[error("{0} does not exist")]
    MissingReference(ResourceRef),
    /// Another document of the kind already holds this unique value.
    #[error("{field} {value:?} is already used by {holder}")]
    UniqueTaken {
        /// The unique field.
        field: String,
        /// The value in use.
        value: String,
        /// The id of the document holding it.
        holder: String,
    },
    /// Other documents still reference the one to delete.
    #[error("still referenced by {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))]
    InUse(Vec<ResourceRef>),
    /// Stored data could not be read back; a bug or a foreign writer.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// Whether the error says the store could not answer (as opposed to refusing a change).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable(_) | Self::Timeout(_))
    }
}
