//! The Redis store: one multiplexed, auto-reconnecting connection shared by every caller, so
//! concurrent commands pipeline on one socket; multi-key changes run as Lua scripts.

use std::future::Future;
use std::sync::Arc;
use std::sync::LazyLock;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, Script, Value};

use super::keys::{Keys, validate_prefix};
use super::memory::JOURNAL_CAP;
use super::{
    CommitOutcome, ConfigDoc, ConfigWrite, ConversationCommit, ConversationDoc, DeliveryWrite,
    DueTimer, Expect, NewEvent, ROUTING_HISTORY_CAP, ResourceKind, ResourceRef, Store, StoreError,
    StoredEvent, TimerChange,
};

static CONFIG_PUT: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/config_put.lua")));
static CONFIG_DELETE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/config_delete.lua")));
static CONVERSATION_COMMIT: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/conversation_commit.lua")));
/// Opens a conversation unless one is open: returns {id, "1"} when the candidate was taken.
static OPEN_OR_GET: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "local v = redis.call('GET', KEYS[1]) \
         if v then return {v, '0'} end \
         redis.call('SET', KEYS[1], ARGV[1]) return {ARGV[1], '1'}",
    )
});

/// Claims an idempotency key: nil when claimed now, else the value already there.
static IDEMPOTENCY_BEGIN: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return false end \
         return redis.call('GET', KEYS[1])",
    )
});

/// The journaling step every event-writing script ends with: for each event of the JSON array
/// in `ARGV[events]`, the next id (one `INCRBY` of `KEYS[last]` numbers them all), an entry
/// in the capped stream `KEYS[stream]` and a message on the channel `ARGV[channel]`; the ids
/// go into `reply`.
/// One text, so the scripts cannot drift apart in how events are numbered and published.
fn journal_lua(stream: usize, last: usize, cap: usize, events: usize, channel: usize) -> String {
    format!(
        "local reply = {{}} \
         local events = cjson.decode(ARGV[{events}]) \
         local id = 0 \
         if #events > 0 then id = redis.call('INCRBY', KEYS[{last}], #events) - #events end \
         for _, e in ipairs(events) do \
           id = id + 1 \
           redis.call('XADD', KEYS[{stream}], 'MAXLEN', '~', ARGV[{cap}], id .. '-0', 'kind', e[1], 'at', e[2], 'data', e[3]) \
           redis.call('PUBLISH', ARGV[{channel}], '{{\"id\":' .. id .. ',\"kind\":\"' .. e[1] .. '\",\"at\":' .. e[2] .. ',\"data\":' .. e[3] .. '}}') \
           table.insert(reply, tostring(id)) \
         end \
         return reply"
    )
}

/// Journals events without touching any document, publishing each as the commit script does.
/// KEYS: stream, last id; ARGV: cap, events, channel.
static EVENTS_APPEND: LazyLock<Script> = LazyLock::new(|| Script::new(&journal_lua(1, 2, 1, 2, 3)));

/// Saves runtime state and journals its events together.
/// KEYS: runtime hash, stream, last id; ARGV: id, body, cap, events, channel.
static RUNTIME_PUT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) {}",
        journal_lua(2, 3, 3, 4, 5)
    ))
});

/// Appends a chat entry (trimming to the cap) and journals its events together.
/// KEYS: chat list, stream, last id; ARGV: entry, cap, journal cap, events, channel.
static CHAT_APPEND: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "redis.call('RPUSH', KEYS[1], ARGV[1]) \
         redis.call('LTRIM', KEYS[1], -tonumber(ARGV[2]), -1) {}",
        journal_lua(2, 3, 3, 4, 5)
    ))
});

/// Stores a delivery record, takes it out of the outbox when settled, links the provider's
/// id to it, and journals its events, together.
/// KEYS: record, outbox, provider link (or the record again), stream, last id;
/// ARGV: message id, record, "1" when settled, "1" to link, link TTL, cap, events, channel.
static DELIVERY_PUT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "redis.call('SET', KEYS[1], ARGV[2]) \
         if ARGV[3] == '1' then redis.call('ZREM', KEYS[2], ARGV[1]) end \
         if ARGV[4] == '1' then redis.call('SET', KEYS[3], ARGV[1], 'EX', tonumber(ARGV[5])) end {}",
        journal_lua(4, 5, 6, 7, 8)
    ))
});

/// How long a provider's message id leads to its message: status callbacks come within
/// days, not months.
const PROVIDER_LINK_TTL_SECS: u64 = 30 * 24 * 3600;

/// How long a provider message id is remembered: providers retry for hours, not days.
const SEEN_MESSAGE_TTL_SECS: u64 = 7 * 24 * 3600;
/// How long daily counters are kept.
const COUNTERS_TTL_SECS: u64 = 40 * 24 * 3600;

/// How to reach Redis.
#[derive(Debug, Clone)]
pub struct RedisStoreConfig {
    /// `redis://`, `rediss://` or `unix://` URL.
    pub url: String,
    /// Prefix of every key.
    pub key_prefix: String,
    /// The longest any one store call may take before it fails with [`StoreError::Timeout`].
    pub timeout: Duration,
}

/// The Redis implementation of [`Store`].
#[derive(Clone)]
pub struct RedisStore {
    connection: ConnectionManager,
    keys: Keys,
    timeout: Duration,
    config: RedisStoreConfig,
    journal_tap: Arc<super::JournalTap>,
    journal_cap: usize,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

fn unavailable(err: redis::RedisError) -> StoreError {
    StoreError::Unavailable(err.to_string())
}

impl RedisStore {
    /// Prepares a store without connecting: the first call connects, and a lost connection is
    /// re-established in the background, so a server can start (not ready) before Redis does.
    pub fn open(config: &RedisStoreConfig) -> Result<Self, StoreError> {
        validate_prefix(&config.key_prefix).map_err(StoreError::Unavailable)?;
        let client = redis::Client::open(config.url.as_str()).map_err(unavailable)?;
        // Retries inside the manager are kept short: the caller's timeout is the real bound,
        // and a request should fail fast while Redis is down rather than queue behind backoff.
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(config.timeout))
            .set_response_timeout(Some(config.timeout))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(500));
        let connection =
            ConnectionManager::new_lazy_with_config(client, manager_config).map_err(unavailable)?;
        Ok(Self {
            connection,
            keys: Keys::new(&config.key_prefix),
            timeout: config.timeout,
            config: config.clone(),
            journal_tap: Arc::default(),
            journal_cap: JOURNAL_CAP,
        })
    }

    /// The same store keeping about `cap` events in its journal instead of the default
    /// [`JOURNAL_CAP`] (trimming is approximate: Redis trims whole stream nodes).
    pub fn with_journal_cap(mut self, cap: usize) -> Self {
        self.journal_cap = cap.max(1);
        self
    }

    /// A new store with its own connection, for use on another thread's runtime: a
    /// connection's driver runs on the runtime that first used it, and must not depend on
    /// another runtime being free to run.
    pub fn reopen(&self) -> Result<Self, StoreError> {
        Ok(Self {
            journal_tap: self.journal_tap.clone(),
            journal_cap: self.journal_cap,
            ..Self::open(&self.config)?
        })
    }

    /// What writes through this store (or a reopened copy) journaled (see
    /// [`super::AnyStore::journal_tap`]).
    pub fn journal_tap(&self) -> Arc<super::JournalTap> {
        self.journal_tap.clone()
    }

    /// The key schema this store writes.
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// Runs a journaling script and reads the ids its events got.
    async fn event_ids(
        &self,
        invocation: &redis::ScriptInvocation<'_>,
        con: &mut ConnectionManager,
    ) -> Result<Vec<u64>, StoreError> {
        let reply = script_reply(
            self.bounded("event_ids", invocation.invoke_async(con))
                .await?,
        )?;
        reply.iter().map(|id| parse_revision(id)).collect()
    }

    /// Up to `limit` entries of a list from position `from`.
    async fn list_range(
        &self,
        key: String,
        from: usize,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut con = self.connection.clone();
        let stop = (from + limit - 1) as isize;
        self.bounded("list_range", con.lrange(key, from as isize, stop))
            .await
    }

    /// Runs one Redis call under the store timeout.
    async fn bounded<T>(
        &self,
        operation: &'static str,
        call: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, StoreError> {
        let started = std::time::Instant::now();
        let answer = match tokio::time::timeout(self.timeout, call).await {
            Ok(result) => result.map_err(unavailable),
            Err(_) => Err(StoreError::Timeout(self.timeout.as_millis() as u64)),
        };
        crate::metrics::metrics().store_call(operation, started.elapsed(), answer.as_ref().err());
        answer
    }
}

/// Events as the journaling scripts read them: `[[kind, at, data], ...]`.
fn events_json(events: &[NewEvent]) -> String {
    let rows: Vec<(&str, i64, &str)> = events
        .iter()
        .map(|e| (e.kind.as_str(), e.at, e.data.as_str()))
        .collect();
    serde_json::to_string(&rows).expect("events serialise")
}

/// Reads a script's reply: an array of strings (numbers arrive as strings by design).
fn script_reply(value: Value) -> Result<Vec<String>, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("unexpected script reply: {what}"));
    let Value::Array(items) = value else {
        return Err(corrupt("not an array"));
    };
    items
        .into_iter()
        .map(|item| match item {
            Value::BulkString(bytes) => String::from_utf8(bytes).map_err(|_| corrupt("not UTF-8")),
            Value::SimpleString(s) => Ok(s),
            Value::Int(n) => Ok(n.to_string()),
            _ => Err(corrupt("not a string")),
        })
        .collect()
}

/// Reads one journal entry: id `<event id>-0`, fields `kind`, `at`, `data`.
fn stream_event(entry: redis::streams::StreamId) -> Result<StoredEvent, StoreError> {
    let corrupt = || StoreError::Corrupt(format!("journal entry {}", entry.id));
    let id = entry
        .id
        .split('-')
        .next()
        .and_then(|n| n.parse().ok())
        .ok_or_else(corrupt)?;
    let field = |name: &str| -> Result<String, StoreError> {
        entry.get::<String>(name).ok_or_else(corrupt)
    };
    Ok(StoredEvent {
        id,
        kind: field("kind")?,
        at: field("at")?.parse().map_err(|_| corrupt())?,
        data: field("data")?,
    })
}

fn parse_ref(text: &str) -> Result<ResourceRef, StoreError> {
    text.parse().map_err(StoreError::Corrupt)
}

fn parse_revision(text: &str) -> Result<u64, StoreError> {
    text.parse()
        .map_err(|_| StoreError::Corrupt(format!("revision {text:?}")))
}

impl Store for RedisStore {
    async fn ping(&self) -> Result<(), StoreError> {
        // A write, not a PING: a Redis out of memory (noeviction) or a read-only replica
        // answers PING but refuses every commit, and must not count as ready.
        let mut con = self.connection.clone();
        let reply: String = self
            .bounded(
                "ping",
                redis::cmd("SET")
                    .arg(self.keys.health())
                    .arg(chrono::Utc::now().timestamp_millis())
                    .arg("PX")
                    .arg(60_000)
                    .query_async(&mut con),
            )
            .await?;
        if reply == "OK" {
            Ok(())
        } else {
            Err(StoreError::Unavailable(format!(
                "the probe write answered {reply:?}"
            )))
        }
    }

    async fn config_get(
        &self,
        kind: ResourceKind,
        id: &str,
    ) -> Result<Option<ConfigDoc>, StoreError> {
        let mut con = self.connection.clone();
        let key = self.keys.config_doc(kind, id);
        let (rev, body): (Option<String>, Option<String>) = self
            .bounded("config_get", con.hmget(&key, &["rev", "body"]))
            .await?;
        match (rev, body) {
            (Some(rev), Some(body)) => Ok(Some(ConfigDoc {
                kind,
                id: id.to_owned(),
                revision: parse_revision(&rev)?,
                body,
            })),
            _ => Ok(None),
        }
    }

    async fn config_list(
        &self,
        kind: ResourceKind,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ConfigDoc>, StoreError> {
        let mut con = self.connection.clone();
        let start = after.map_or_else(|| "-".to_owned(), |id| format!("({id}"));
        let ids: Vec<String> = self
            .bounded(
                "config_list",
                redis::cmd("ZRANGE")
                    .arg(self.keys.config_index(kind))
                    .arg(start)
                    .arg("+")
                    .arg("BYLEX")
                    .arg("LIMIT")
                    .arg(0)
                    .arg(limit)
                    .query_async(&mut con),
            )
            .await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // One round trip for the whole page.
        let mut pipe = redis::pipe();
        for id in &ids {
            pipe.hmget(self.keys.config_doc(kind, id), &["rev", "body"]);
        }
        let rows: Vec<(Option<String>, Option<String>)> = self
            .bounded("config_list", pipe.query_async(&mut con))
            .await?;
        let mut docs = Vec::with_capacity(ids.len());
        for (id, row) in ids.into_iter().zip(rows) {
            // A document deleted between the two reads is simply not listed.
            if let (Some(rev), Some(body)) = row {
                docs.push(ConfigDoc {
                    kind,
                    id,
                    revision: parse_revision(&rev)?,
                    body,
                });
            }
        }
        Ok(docs)
    }

    async fn config_find_unique(
        &self,
        kind: ResourceKind,
        field: &str,
        value: &str,
    ) -> Result<Option<String>, StoreError> {
        let mut con = self.connection.clone();
        self.bounded(
            "config_find_unique",
            con.hget(self.keys.config_unique(kind, field), value),
        )
        .await
    }

    async fn config_put(&self, write: ConfigWrite) -> Result<u64, StoreError> {
        let refs: Vec<String> = write.refs.iter().map(ToString::to_string).collect();
        let uniques: Vec<(&str, &str)> = write
            .uniques
            .iter()
            .map(|u| (u.field, u.value.as_str()))
            .collect();
        let expect = match write.expect {
            Expect::Absent => "absent".to_owned(),
            Expect::Revision(rev) => rev.to_string(),
        };
        let owner = write
            .owner
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        let mut con = self.connection.clone();
        let mut invocation = CONFIG_PUT.key(self.keys.config_doc(write.kind, &write.id));
        invocation
            .arg(self.keys.config_base())
            .arg(write.kind.as_str())
            .arg(&write.id)
            .arg(&write.body)
            .arg(expect)
            .arg(serde_json::to_string(&refs).expect("strings always serialise"))
            .arg(serde_json::to_string(&uniques).expect("strings always serialise"))
            .arg(owner);
        let reply = script_reply(
            self.bounded("config_put", invocation.invoke_async(&mut con))
                .await?,
        )?;
        match reply
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice()
        {
            ["ok", rev] => parse_revision(rev),
            ["exists"] => Err(StoreError::AlreadyExists),
            ["not_found"] => Err(StoreError::NotFound),
            ["revision", current] => Err(StoreError::RevisionMismatch {
                current: parse_revision(current)?,
            }),
            ["missing_ref", r] => Err(StoreError::MissingReference(parse_ref(r)?)),
            ["unique", field, value, holder] => Err(StoreError::UniqueTaken {
                field: (*field).to_owned(),
                value: (*value).to_owned(),
                holder: (*holder).to_owned(),
            }),
            other => Err(StoreError::Corrupt(format!("config_put replied {other:?}"))),
        }
    }

    async fn config_delete(&self, kind: ResourceKind, id: &str) -> Result<(), StoreError> {
        let mut con = self.connection.clone();
        let mut invocation = CONFIG_DELETE.key(self.keys.config_doc(kind, id));
        invocation
            .arg(self.keys.config_base())
            .arg(kind.as_str())
            .arg(id);
        let reply = script_reply(
            self.bounded("config_delete", invocation.invoke_async(&mut con))
                .await?,
        )?;
        match reply.first().map(String::as_str) {
            Some("ok") => Ok(()),
            Some("not_found") => Err(StoreError::NotFound),
            Some("in_use") => {
                let users = reply[1..]
                    .iter()
                    .map(|r| parse_ref(r))
                    .collect::<Result<_, _>>()?;
                Err(StoreError::InUse(users))
            }
            _ => Err(StoreError::Corrupt(format!(
                "config_delete replied {reply:?}"
            ))),
        }
    }

    async fn config_owned(&self, owner: &ResourceRef) -> Result<Vec<ConfigDoc>, StoreError> {
        let mut con = self.connection.clone();
        let mut children: Vec<String> = self
            .bounded(
                "config_owned",
                con.smembers(self.keys.config_children(owner)),
            )
            .await?;
        children.sort();
        let refs = children
            .iter()
            .map(|c| parse_ref(c))
            .collect::<Result<Vec<_>, _>>()?;
        if refs.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for r in &refs {
            pipe.hmget(self.keys.config_doc(r.kind, &r.id), &["rev", "body"]);
        }
        let rows: Vec<(Option<String>, Option<String>)> = self
            .bounded("config_owned", pipe.query_async(&mut con))
            .await?;
        let mut docs = Vec::with_capacity(refs.len());
        for (r, row) in refs.into_iter().zip(rows) {
            if let (Some(rev), Some(body)) = row {
                docs.push(ConfigDoc {
                    kind: r.kind,
                    id: r.id,
                    revision: parse_revision(&rev)?,
                    body,
                });
            }
        }
        Ok(docs)
    }

    async fn conversation_open_or_get(
        &self,
        number_id: &str,
        customer: &str,
        candidate: &str,
    ) -> Result<(String, bool), StoreError> {
        let mut con = self.connection.clone();
        let mut invocation = OPEN_OR_GET.key(self.keys.open_conversation(number_id, customer));
        invocation.arg(candidate);
        let reply = script_reply(
            self.bounded(
                "conversation_open_or_get",
                invocation.invoke_async(&mut con),
            )
            .await?,
        )?;
        match reply.as_slice() {
            [id, created] => Ok((id.clone(), created == "1")),
            other => Err(StoreError::Corrupt(format!(
                "open_or_get replied {other:?}"
            ))),
        }
    }

    async fn conversation_get(&self, id: &str) -> Result<Option<ConversationDoc>, StoreError> {
        let mut con = self.connection.clone();
        let body: Option<String> = self
            .bounded("conversation_get", con.get(self.keys.conversation(id)))
            .await?;
        Ok(body.map(|body| ConversationDoc {
            id: id.to_owned(),
            body,
        }))
    }

    async fn conversations_get(&self, ids: &[String]) -> Result<Vec<ConversationDoc>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut con = self.connection.clone();
        let keys: Vec<String> = ids.iter().map(|id| self.keys.conversation(id)).collect();
        let bodies: Vec<Option<String>> = self
            .bounded(
                "conversations_get",
                redis::cmd("MGET").arg(keys).query_async(&mut con),
            )
            .await?;
        Ok(ids
            .iter()
            .zip(bodies)
            .filter_map(|(id, body)| {
                body.map(|body| ConversationDoc {
                    id: id.clone(),
                    body,
                })
            })
            .collect())
    }

    async fn conversation_commit(
        &self,
        commit: ConversationCommit,
    ) -> Result<CommitOutcome, StoreError> {
        let timers: Vec<serde_json::Value> = commit
            .timers
            .iter()
            .map(|t| match t {
                TimerChange::Arm { kind, at } => serde_json::json!(["arm", kind, at]),
                TimerChange::Disarm { kind } => serde_json::json!(["disarm", kind]),
            })
            .collect();
        let seen_key = match &commit.provider_message_id {
            Some(provider_id) => self.keys.seen_message(provider_id),
            None => self.keys.conversation(&commit.id),
        };
        let mut con = self.connection.clone();
        let mut invocation = CONVERSATION_COMMIT.key(self.keys.conversation(&commit.id));
        invocation
            .key(self.keys.conversation_messages(&commit.id))
            .key(
                self.keys
                    .open_conversation(&commit.number_id, &commit.customer),
            )
            .key(self.keys.open_conversations())
            .key(seen_key)
            .key(self.keys.events())
            .key(self.keys.events_last())
            .key(self.keys.timers())
            .key(self.keys.all_conversations())
            .key(self.keys.outbox())
            .key(self.keys.outbox_seq())
            .key(match &commit.outbox {
                Some(item) => self.keys.delivery(&item.message_id),
                None => self.keys.outbox(),
            })
            .key(match &commit.counters {
                Some(bump) => self.keys.counters(&bump.scope, &bump.day),
                None => self.keys.conversation(&commit.id),
            })
            .key(self.keys.catalog_version())
            .key(self.keys.conversation_routing(&commit.id))
            .arg(&commit.id)
            .arg(commit.body.as_deref().unwrap_or(""))
            .arg(if commit.closed { "1" } else { "0" })
            .arg(commit.message.as_deref().unwrap_or(""))
            .arg(if commit.provider_message_id.is_some() {
                "1"
            } else {
                "0"
            })
            .arg(events_json(&commit.events))
            .arg(serde_json::to_string(&timers).expect("timers serialise"))
            .arg(self.journal_cap)
            .arg(SEEN_MESSAGE_TTL_SECS)
            .arg(self.keys.events_channel())
            .arg(commit.outbox.as_ref().map_or("", |i| i.message_id.as_str()))
            .arg(commit.outbox.as_ref().map_or("", |i| i.record.as_str()))
            .arg(
                serde_json::to_string(commit.counters.as_ref().map_or(&[][..], |b| &b.fields))
                    .expect("field names serialise"),
            )
            .arg(COUNTERS_TTL_SECS)
            .arg(commit.guard.as_arg())
            .arg(commit.routing.as_deref().unwrap_or(""))
            .arg(ROUTING_HISTORY_CAP);
        let reply = script_reply(
            self.bounded("conversation_commit", invocation.invoke_async(&mut con))
                .await?,
        )?;
        match reply.first().map(String::as_str) {
            Some("duplicate") => Ok(CommitOutcome::Duplicate {
                original: reply.get(1).filter(|id| !id.is_empty()).cloned(),
            }),
            Some("taken") if reply.len() == 2 => Ok(CommitOutcome::Taken {
                holder: Some(reply[1].clone()).filter(|holder| !holder.is_empty()),
            }),
            Some("stored") if reply.len() >= 2 => Ok(CommitOutcome::Stored {
                catalog_version: Some(parse_revision(&reply[1])?),
                event_ids: reply[2..]
                    .iter()
                    .map(|id| parse_revision(id))
                    .collect::<Result<_, _>>()?,
            }),
            _ => Err(StoreError::Corrupt(format!(
                "conversation_commit replied {reply:?}"
            ))),
        }
    }

    async fn events_append(&self, events: Vec<NewEvent>) -> Result<Vec<u64>, StoreError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let mut con = self.connection.clone();
        let mut invocation = EVENTS_APPEND.key(self.keys.events());
        invocation
            .key(self.keys.events_last())
            .arg(self.journal_cap)
            .arg(events_json(&events))
            .arg(self.keys.events_channel());
        self.event_ids(&invocation, &mut con).await
    }

    async fn conversation_messages(
        &self,
        id: &str,
        from: usize,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        self.list_range(self.keys.conversation_messages(id), from, limit)
            .await
    }

    async fn conversation_routing(&self, id: &str) -> Result<Vec<String>, StoreError> {
        self.list_range(self.keys.conversation_routing(id), 0, ROUTING_HISTORY_CAP)
            .await
    }

    async fn conversations_open(&self) -> Result<Vec<String>, StoreError> {
        let mut con = self.connection.clone();
        let mut ids: Vec<String> = self
            .bounded(
                "conversations_open",
                con.smembers(self.keys.open_conversations()),
            )
            .await?;
        ids.sort();
        Ok(ids)
    }

    async fn events_after(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        let mut con = self.connection.clone();
        let reply: redis::streams::StreamRangeReply = self
            .bounded(
                "events_after",
                con.xrange_count(self.keys.events(), format!("({after}-0"), "+", limit),
            )
            .await?;
        reply.ids.into_iter().map(stream_event).collect()
    }

    async fn events_last(&self) -> Result<u64, StoreError> {
        let mut con = self.connection.clone();
        let last: Option<u64> = self
            .bounded("events_last", con.get(self.keys.events_last()))
            .await?;
        Ok(last.unwrap_or(0))
    }

    async fn events_oldest(&self) -> Result<Option<u64>, StoreError> {
        let mut con = self.connection.clone();
        let reply: redis::streams::StreamRangeReply = self
            .bounded(
                "events_oldest",
                con.xrange_count(self.keys.events(), "-", "+", 1),
            )
            .await?;
        reply
            .ids
            .into_iter()
            .next()
            .map(|entry| stream_event(entry).map(|e| e.id))
            .transpose()
    }

    async fn counters(
        &self,
        scope: &str,
        day: &str,
    ) -> Result<std::collections::BTreeMap<String, u64>, StoreError> {
        let mut con = self.connection.clone();
        self.bounded(
            "counters",
            redis::cmd("HGETALL")
                .arg(self.keys.counters(scope, day))
                .query_async(&mut con),
        )
        .await
    }

    async fn timers_due(&self, now: i64, limit: usize) -> Result<Vec<DueTimer>, StoreError> {
        let mut con = self.connection.clone();
        let rows: Vec<(String, f64)> = self
            .bounded(
                "timers_due",
                redis::cmd("ZRANGE")
                    .arg(self.keys.timers())
                    .arg("-inf")
                    .arg(now)
                    .arg("BYSCORE")
                    .arg("LIMIT")
                    .arg(0)
                    .arg(limit)
                    .arg("WITHSCORES")
                    .query_async(&mut con),
            )
            .await?;
        rows.into_iter()
            .map(|(member, at)| {
                let (conversation, kind) = member
                    .split_once('|')
                    .ok_or_else(|| StoreError::Corrupt(format!("timer member {member:?}")))?;
                Ok(DueTimer {
                    conversation: conversation.to_owned(),
                    kind: kind.to_owned(),
                    at: at as i64,
                })
            })
            .collect()
    }

    async fn runtime_put(
        &self,
        kind: &str,
        id: &str,
        body: &str,
        events: Vec<NewEvent>,
    ) -> Result<Vec<u64>, StoreError> {
        let mut con = self.connection.clone();
        let mut invocation = RUNTIME_PUT.key(self.keys.runtime(kind));
        invocation
            .key(self.keys.events())
            .key(self.keys.events_last())
            .arg(id)
            .arg(body)
            .arg(self.journal_cap)
            .arg(events_json(&events))
            .arg(self.keys.events_channel());
        self.event_ids(&invocation, &mut con).await
    }

    async fn runtime_all(&self, kind: &str) -> Result<Vec<(String, String)>, StoreError> {
        let mut con = self.connection.clone();
        let mut all: Vec<(String, String)> = self
            .bounded("runtime_all", con.hgetall(self.keys.runtime(kind)))
            .await?;
        all.sort();
        Ok(all)
    }

    async fn runtime_get_many(
        &self,
        kind: &str,
        ids: &[String],
    ) -> Result<Vec<Option<String>>, StoreError> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(1000) {
            let mut con = self.connection.clone();
            let values: Vec<Option<String>> = self
                .bounded(
                    "runtime_get_many",
                    redis::cmd("HMGET")
                        .arg(self.keys.runtime(kind))
                        .arg(chunk)
                        .query_async(&mut con),
                )
                .await?;
            out.extend(values);
        }
        Ok(out)
    }

    async fn runtime_get(&self, kind: &str, id: &str) -> Result<Option<String>, StoreError> {
        let mut con = self.connection.clone();
        self.bounded("runtime_get", con.hget(self.keys.runtime(kind), id))
            .await
    }

    async fn chat_append(
        &self,
        thread: &str,
        entry: &str,
        cap: usize,
        events: Vec<NewEvent>,
    ) -> Result<Vec<u64>, StoreError> {
        let mut con = self.connection.clone();
        let mut invocation = CHAT_APPEND.key(self.keys.chat(thread));
        invocation
            .key(self.keys.events())
            .key(self.keys.events_last())
            .arg(entry)
            .arg(cap.max(1))
            .arg(self.journal_cap)
            .arg(events_json(&events))
            .arg(self.keys.events_channel());
        self.event_ids(&invocation, &mut con).await
    }

    async fn chat_messages(
        &self,
        thread: &str,
        from: usize,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        self.list_range(self.keys.chat(thread), from, limit).await
    }

    async fn idempotency_begin(
        &self,
        key: &str,
        pending: &str,
        lease_ms: u64,
    ) -> Result<Option<String>, StoreError> {
        let mut con = self.connection.clone();
        self.bounded(
            "idempotency_begin",
            IDEMPOTENCY_BEGIN
                .key(self.keys.idempotency(key))
                .arg(pending)
                .arg(lease_ms.max(1))
                .invoke_async(&mut con),
        )
        .await
    }

    async fn idempotency_finish(
        &self,
        key: &str,
        answer: &str,
        ttl_secs: u64,
    ) -> Result<(), StoreError> {
        let mut con = self.connection.clone();
        self.bounded(
            "idempotency_finish",
            con.set_ex(self.keys.idempotency(key), answer, ttl_secs.max(1)),
        )
        .await
    }

    async fn idempotency_release(&self, key: &str) -> Result<(), StoreError> {
        let mut con = self.connection.clone();
        self.bounded("idempotency_release", con.del(self.keys.idempotency(key)))
            .await
    }

    async fn outbox_pending(&self) -> Result<Vec<String>, StoreError> {
        let mut con = self.connection.clone();
        let ids: Vec<String> = self
            .bounded("outbox_pending", con.zrange(self.keys.outbox(), 0, -1))
            .await?;
        let records = self.deliveries(&ids).await?;
        Ok(records.into_iter().flatten().collect())
    }

    async fn delivery_put(&self, write: DeliveryWrite) -> Result<Vec<u64>, StoreError> {
        let mut con = self.connection.clone();
        let record_key = self.keys.delivery(&write.message_id);
        let mut invocation = DELIVERY_PUT.key(&record_key);
        invocation
            .key(self.keys.outbox())
            .key(match &write.provider_message_id {
                Some(id) => self.keys.delivery_by_provider(id),
                None => record_key.clone(),
            })
            .key(self.keys.events())
            .key(self.keys.events_last())
            .arg(&write.message_id)
            .arg(&write.record)
            .arg(if write.settled { "1" } else { "0" })
            .arg(if write.provider_message_id.is_some() {
                "1"
            } else {
                "0"
            })
            .arg(PROVIDER_LINK_TTL_SECS)
            .arg(self.journal_cap)
            .arg(events_json(&write.events))
            .arg(self.keys.events_channel());
        self.event_ids(&invocation, &mut con).await
    }

    async fn deliveries(&self, message_ids: &[String]) -> Result<Vec<Option<String>>, StoreError> {
        if message_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut con = self.connection.clone();
        let keys: Vec<String> = message_ids
            .iter()
            .map(|id| self.keys.delivery(id))
            .collect();
        self.bounded(
            "deliveries",
            redis::cmd("MGET").arg(keys).query_async(&mut con),
        )
        .await
    }

    async fn delivery_by_provider_id(
        &self,
        provider_message_id: &str,
    ) -> Result<Option<String>, StoreError> {
        let mut con = self.connection.clone();
        self.bounded(
            "delivery_by_provider_id",
            con.get(self.keys.delivery_by_provider(provider_message_id)),
        )
        .await
    }

    async fn conversations_page(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ConversationDoc>, StoreError> {
        let mut con = self.connection.clone();
        let min = after.map_or_else(|| "-".to_owned(), |a| format!("({a}"));
        let ids: Vec<String> = self
            .bounded(
                "conversations_page",
                redis::cmd("ZRANGE")
                    .arg(self.keys.all_conversations())
                    .arg(min)
                    .arg("+")
                    .arg("BYLEX")
                    .arg("LIMIT")
                    .arg(0)
                    .arg(limit)
                    .query_async(&mut con),
            )
            .await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = ids.iter().map(|id| self.keys.conversation(id)).collect();
        let bodies: Vec<Option<String>> = self
            .bounded(
                "conversations_page",
                redis::cmd("MGET").arg(keys).query_async(&mut con),
            )
            .await?;
        Ok(ids
            .into_iter()
            .zip(bodies)
            .filter_map(|(id, body)| body.map(|body| ConversationDoc { id, body }))
            .collect())
    }

    async fn close(&self) {
        // The connection manager closes its socket when the last clone drops; there is no
        // buffered write to flush, every call having been awaited.
    }
}
