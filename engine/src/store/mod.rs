//! Persistence: the `Store` trait and its two implementations, Redis (production) and memory
//! (the embedded default and unit tests), which pass the same contract suite.
//!
//! The trait speaks in stored documents, not domain types: the catalog (and later the
//! routing engine) owns serialisation, so the two stores cannot drift apart in what they
//! understand of a resource.

mod any;
mod error;
pub mod keys;
mod memory;
mod redis;
mod types;

pub use any::AnyStore;
pub use error::StoreError;
pub use memory::MemoryStore;
pub use redis::{RedisStore, RedisStoreConfig};
pub use types::{ConfigDoc, ConfigWrite, Expect, ResourceKind, ResourceRef, UniqueKey};

use std::future::Future;

/// The operations every store offers. Each write is atomic: it happens whole or not at all,
/// and its checks (existence, revision, references, uniqueness) hold at the moment it lands.
pub trait Store: Send + Sync + 'static {
    /// Succeeds when the store can serve requests now.
    fn ping(&self) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A configuration document by kind and id.
    fn config_get(
        &self,
        kind: ResourceKind,
        id: &str,
    ) -> impl Future<Output = Result<Option<ConfigDoc>, StoreError>> + Send;

    /// Up to `limit` documents of a kind in id order, starting after `after`.
    fn config_list(
        &self,
        kind: ResourceKind,
        after: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<ConfigDoc>, StoreError>> + Send;

    /// The id of the document of `kind` whose unique `field` has `value`, if any.
    fn config_find_unique(
        &self,
        kind: ResourceKind,
        field: &str,
        value: &str,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;

    /// Creates or replaces a document, checking `write.expect`, that every reference and the
    /// owner exist, and that no other document of the kind holds one of its unique values.
    /// Returns the new revision.
    fn config_put(
        &self,
        write: ConfigWrite,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Deletes a document and the documents it owns, unless another document references it
    /// (then [`StoreError::InUse`] names them all).
    fn config_delete(
        &self,
        kind: ResourceKind,
        id: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Every document owned by `owner` (see [`ConfigWrite::owner`]), in id order.
    fn config_owned(
        &self,
        owner: &ResourceRef,
    ) -> impl Future<Output = Result<Vec<ConfigDoc>, StoreError>> + Send;

    /// Releases resources at shutdown; calls after it may fail.
    fn close(&self) -> impl Future<Output = ()> + Send;
}
