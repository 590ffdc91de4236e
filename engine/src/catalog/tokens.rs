//! API tokens for agents and supervisors: issued with a random secret shown once, kept as a
//! SHA-256 hash, found again by hashing what a client presents.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;
use sha2::{Digest, Sha256};

use super::{Catalog, CatalogError, Stored};
use crate::domain::{Agent, AgentId, AgentRole, Name, Token, TokenId};
use crate::store::{ResourceKind, ResourceRef, Store};

/// Every issued secret starts with this, so that secret scanners can spot a leaked one.
pub const TOKEN_PREFIX: &str = "sbt_";

/// A freshly issued token: the record and the secret, which exists nowhere else.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// The stored record (without the secret).
    pub token: Stored<Token>,
    /// The secret to give the client, once.
    pub secret: String,
    /// The role the token acts with now (the agent's role).
    pub role: AgentRole,
}

/// Who a presented token acts as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenOwner {
    /// The token used.
    pub token_id: TokenId,
    /// The agent it belongs to, as stored now (so a changed role or team applies at once).
    pub agent: Agent,
}

fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

impl<S: Store> Catalog<S> {
    /// Issues a new token for agent `agent_id`.
    pub async fn issue_token(
        &self,
        agent_id: &AgentId,
        label: Option<Name>,
    ) -> Result<IssuedToken, CatalogError> {
        let agent = self.get::<Agent>(agent_id.as_str()).await?;
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let secret = format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
        let token = Token {
            id: TokenId::generate(),
            agent_id: agent_id.clone(),
            label,
            secret_sha256: hash_secret(&secret),
        };
        // The store checks again that the agent exists, in the same atomic write.
        let token = self.create(token).await?;
        Ok(IssuedToken {
            token,
            secret,
            role: agent.resource.role,
        })
    }

    /// The tokens issued to `agent_id`.
    pub async fn tokens_of(&self, agent_id: &AgentId) -> Result<Vec<Stored<Token>>, CatalogError> {
        self.get::<Agent>(agent_id.as_str()).await?;
        self.owned_by(&ResourceRef::new(ResourceKind::Agent, agent_id.as_str()))
            .await
    }

    /// Revokes one of `agent_id`'s tokens.
    pub async fn revoke_token(
        &self,
        agent_id: &AgentId,
        token_id: &TokenId,
    ) -> Result<(), CatalogError> {
        let token = self.get::<Token>(token_id.as_str()).await?;
        if token.resource.agent_id != *agent_id {
            // Another agent's token is as invisible as a missing one.
            return Err(CatalogError::NotFound {
                kind: ResourceKind::Token,
                id: token_id.to_string(),
            });
        }
        self.delete::<Token>(token_id.as_str()).await
    }

    /// Who `secret` belongs to, or `None` for an unknown or revoked secret.
    pub async fn authenticate(&self, secret: &str) -> Result<Option<TokenOwner>, CatalogError> {
        if !secret.starts_with(TOKEN_PREFIX) {
            return Ok(None);
        }
        let hash = hash_secret(secret);
        let Some(token_id) = self
            .store()
            .config_find_unique(ResourceKind::Token, "secret", &hash)
            .await
            .map_err(CatalogError::Store)?
        else {
            return Ok(None);
        };
        let Some(token) = self.find::<Token>(&token_id).await? else {
            return Ok(None);
        };
        let Some(agent) = self.find::<Agent>(token.resource.agent_id.as_str()).await? else {
            return Ok(None);
        };
        Ok(Some(TokenOwner {
            token_id: token.resource.id,
            agent: agent.resource,
        }))
    }
}
