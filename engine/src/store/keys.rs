//! The Redis key schema: every key Switchboard writes is built here, under the configured
//! prefix.
//!
//! Configuration lives under one hash tag, `{cfg}`, so that every configuration key hashes to
//! one Redis Cluster slot: the Lua scripts that check references and unique values across
//! documents build their keys from [`Keys::config_base`] and stay on that slot. Configuration
//! is small (thousands of documents, not millions), so one slot is no bottleneck.
//!
//! | key | type | holds |
//! | --- | --- | --- |
//! | `<p>:{cfg}:doc:<kind>:<id>` | hash | `rev`, `body` (JSON), `refs` and `uniques` (JSON arrays), `owner` |
//! | `<p>:{cfg}:index:<kind>` | sorted set | every id of the kind, score 0, so `ZRANGE BYLEX` pages in id order |
//! | `<p>:{cfg}:unique:<kind>:<field>` | hash | unique value → id of the document holding it |
//! | `<p>:{cfg}:refby:<kind>:<id>` | set | `kind:id` of every document referencing this one |
//! | `<p>:{cfg}:children:<kind>:<id>` | set | `kind:id` of every document this one owns (deleted with it) |
//! | `<p>:{cfg}:version` | string | grows by one with every configuration write or delete; every conversation commit answers it, so each process learns of other processes' changes |
//! | `<p>:conv:<id>` | string | a conversation document (JSON) |
//! | `<p>:conv:<id>:msgs` | list | its thread: messages, notes and system entries (JSON each) |
//! | `<p>:open:<number_id>:<customer>` | string | the open conversation of a customer with a number |
//! | `<p>:open` | set | every open conversation (recovery walks it) |
//! | `<p>:convs` | sorted set | every conversation id, score 0, so `ZRANGE BYLEX` pages in id (= opening) order |
//! | `<p>:seen:<provider_message_id>` | string, 7-day TTL | a provider message already stored (retries are dropped) |
//! | `<p>:events` | stream, capped | the event journal; entry id `<event id>-0` |
//! | `<p>:events:last` | string | the last event id given |
//! | `<p>:events` (channel) | pub/sub | every event as it is journaled: `{"id","kind","at","data"}` |
//! | `<p>:chat:<agent>|<agent>` | list, capped | an internal chat thread between two agents (JSON entries) |
//! | `<p>:idem:<sha256>` | string, TTL | an `Idempotency-Key`'s pending claim (lease) or first answer (24 h) |
//! | `<p>:count:<scope>:<day>` | hash, 40-day TTL | daily figures (a queue's offers by outcome), counted by the commit that journals what they count |
//! | `<p>:outbox` | sorted set | message ids waiting to be handed to a provider, scored by the order they entered |
//! | `<p>:outbox:seq` | string | the last outbox position given |
//! | `<p>:dlv:<message_id>` | string | an outbound message's delivery record (JSON): status, attempts, provider id, error |
//! | `<p>:dlv-by-provider:<provider_message_id>` | string, 30-day TTL | the message id a provider's id belongs to (status callbacks) |
//! | `<p>:timers` | sorted set | `<conversation>|<kind>` scored by due time (ms) |
//! | `<p>:rt:<kind>` | hash | runtime state by id, e.g. each agent's presence and queue logins |
//!
//! A conversation commit touches the conversation's keys and the global journal in one Lua
//! script, so a state change and its events land together. Those keys do not share a slot;
//! Redis Cluster support will shard the journal and tag conversation keys (DESIGN "Later").

use super::{ResourceKind, ResourceRef};

/// The default prefix of every key.
pub const DEFAULT_PREFIX: &str = "switchboard";

/// Checks a key prefix: 1 to 64 characters of letters, digits, `_`, `-`, `.` and `:` — no
/// braces, which would change the hash slot, and no spaces.
pub fn validate_prefix(prefix: &str) -> Result<(), String> {
    let ok = !prefix.is_empty()
        && prefix.len() <= 64
        && prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.:".contains(c));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "key prefix {prefix:?} must be 1 to 64 letters, digits, '_', '-', '.' or ':'"
        ))
    }
}

/// Builds keys under one prefix.
#[derive(Debug, Clone)]
pub struct Keys {
    prefix: String,
    config_base: String,
}

impl Keys {
    /// Keys under `prefix` (checked by [`validate_prefix`] before).
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
            config_base: format!("{prefix}:{{cfg}}:"),
        }
    }

    /// The start of every configuration key; the scripts append the rest.
    pub fn config_base(&self) -> &str {
        &self.config_base
    }

    /// The catalog's version: one more with every configuration write or delete.
    pub fn catalog_version(&self) -> String {
        format!("{}version", self.config_base)
    }

    /// The hash holding one configuration document.
    pub fn config_doc(&self, kind: ResourceKind, id: &str) -> String {
        format!("{}doc:{kind}:{id}", self.config_base)
    }

    /// The sorted set of every id of a kind.
    pub fn config_index(&self, kind: ResourceKind) -> String {
        format!("{}index:{kind}", self.config_base)
    }

    /// The hash from unique value to id for one field of a kind.
    pub fn config_unique(&self, kind: ResourceKind, field: &str) -> String {
        format!("{}unique:{kind}:{field}", self.config_base)
    }

    /// A conversation's document.
    pub fn conversation(&self, id: &str) -> String {
        format!("{}:conv:{id}", self.prefix)
    }

    /// A conversation's thread.
    pub fn conversation_messages(&self, id: &str) -> String {
        format!("{}:conv:{id}:msgs", self.prefix)
    }

    /// A conversation's routing history: why each offer went where it went.
    pub fn conversation_routing(&self, id: &str) -> String {
        format!("{}:conv:{id}:routing", self.prefix)
    }

    /// The open conversation of `customer` with business number `number_id`.
    pub fn open_conversation(&self, number_id: &str, customer: &str) -> String {
        format!("{}:open:{number_id}:{customer}", self.prefix)
    }

    /// Every open conversation.
    pub fn open_conversations(&self) -> String {
        format!("{}:open", self.prefix)
    }

    /// An internal chat thread between two agents.
    pub fn chat(&self, thread: &str) -> String {
        format!("{}:chat:{thread}", self.prefix)
    }

    /// An idempotency key's claim or answer (`scope` is already hashed).
    pub fn idempotency(&self, scope: &str) -> String {
        format!("{}:idem:{scope}", self.prefix)
    }

    /// Marks a provider message as stored.
    pub fn seen_message(&self, provider_message_id: &str) -> String {
        format!("{}:seen:{provider_message_id}", self.prefix)
    }

    /// The outbox: message ids scored by the order they entered it.
    pub fn outbox(&self) -> String {
        format!("{}:outbox", self.prefix)
    }

    /// The outbox's last position.
    pub fn outbox_seq(&self) -> String {
        format!("{}:outbox:seq", self.prefix)
    }

    /// An outbound message's delivery record.
    pub fn delivery(&self, message_id: &str) -> String {
        format!("{}:dlv:{message_id}", self.prefix)
    }

    /// The message id a provider's message id belongs to.
    pub fn delivery_by_provider(&self, provider_message_id: &str) -> String {
        format!("{}:dlv-by-provider:{provider_message_id}", self.prefix)
    }

    /// Every conversation id, open and closed.
    pub fn all_conversations(&self) -> String {
        format!("{}:convs", self.prefix)
    }

    /// The journal stream.
    pub fn events(&self) -> String {
        format!("{}:events", self.prefix)
    }

    /// The pub/sub channel every journaled event is also published on.
    pub fn events_channel(&self) -> String {
        format!("{}:events", self.prefix)
    }

    /// The last event id given.
    pub fn events_last(&self) -> String {
        format!("{}:events:last", self.prefix)
    }

    /// The readiness probe's key: written (and expiring) on every `/readyz`, so that a Redis
    /// that answers but refuses writes is not ready.
    pub fn health(&self) -> String {
        format!("{}:health", self.prefix)
    }

    /// Runtime state of one kind (e.g. `agent`): a hash from id to JSON.
    pub fn runtime(&self, kind: &str) -> String {
        format!("{}:rt:{kind}", self.prefix)
    }

    /// The daily counters of `scope` (e.g. `queue:<id>`) for the UTC `day`.
    pub fn counters(&self, scope: &str, day: &str) -> String {
        format!("{}:count:{scope}:{day}", self.prefix)
    }

    /// The durable timers.
    pub fn timers(&self) -> String {
        format!("{}:timers", self.prefix)
    }

    /// The set of documents owned by `owner`.
    pub fn config_children(&self, owner: &ResourceRef) -> String {
        format!("{}children:{owner}", self.config_base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_share_the_config_hash_tag() {
        let keys = Keys::new("sb");
        assert_eq!(
            keys.config_doc(ResourceKind::Queue, "q_1"),
            "sb:{cfg}:doc:queue:q_1"
        );
        assert_eq!(keys.config_index(ResourceKind::Team), "sb:{cfg}:index:team");
        assert_eq!(
            keys.config_unique(ResourceKind::Number, "phone"),
            "sb:{cfg}:unique:number:phone"
        );
    }

    #[test]
    fn prefix_rejects_braces_and_spaces() {
        assert!(validate_prefix("switchboard:test-1").is_ok());
        assert!(validate_prefix("").is_err());
        assert!(validate_prefix("a{b}").is_err());
        assert!(validate_prefix("a b").is_err());
    }
}
