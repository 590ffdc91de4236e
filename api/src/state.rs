//! What every handler shares: the catalog over the chosen store, and the admin credential.

use engine::catalog::Catalog;
use engine::runtime::Engine;
use engine::store::AnyStore;
use sha2::{Digest, Sha256};

/// Shared application state, cloned into each worker (every field is cheap to clone).
#[derive(Debug, Clone)]
pub struct AppState {
    /// Configuration resources and tokens.
    pub catalog: Catalog<AnyStore>,
    /// The routing engine.
    pub engine: Engine,
    /// Internal chat between agents.
    pub chat: engine::chat::Chat,
    /// Contact cards.
    pub contacts: engine::contacts::Contacts,
    /// The public base URL providers call (webhook signatures are over it), when configured.
    pub public_url: Option<String>,
    /// SHA-256 of the admin token: compared in constant time, never kept in clear.
    admin_token_sha256: [u8; 32],
    /// Failed authentications by client address and token prefix.
    pub failed_auth: std::sync::Arc<crate::auth_limit::FailedAuth>,
}

impl AppState {
    /// State over `store` with `admin_token` as the admin credential.
    pub fn new(store: AnyStore, engine: Engine, admin_token: &str) -> Self {
        Self {
            chat: engine::chat::Chat::new(store.clone()),
            // The engine's own cards: one writer lock for the API and the outbox (which records
            // opt-outs a provider reports).
            contacts: engine.contacts().clone(),
            public_url: None,
            // The engine's catalog: configuration changed through the API reaches routing.
            catalog: engine.catalog().clone(),
            admin_token_sha256: Sha256::digest(admin_token.as_bytes()).into(),
            failed_auth: std::sync::Arc::new(crate::auth_limit::FailedAuth::new(
                crate::auth_limit::DEFAULT_LIMIT,
            )),
            engine,
        }
    }

    /// Whether `presented` is the admin token. Hashing first makes the comparison constant
    /// time in the token's length as well as its content.
    pub fn is_admin_token(&self, presented: &str) -> bool {
        use subtle::ConstantTimeEq;
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        digest.ct_eq(&self.admin_token_sha256).into()
    }

    /// The store underneath.
    pub fn store(&self) -> &AnyStore {
        self.catalog.store()
    }
}
