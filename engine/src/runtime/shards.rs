//! Where conversation actors run: spread over several threads ("shards") by conversation id,
//! each shard with its own arbiter and its own store connection, so that conversations —
//! where an inbound text spends most of its engine time (building, serialising and
//! committing the next state) — use every core instead of queueing on the engine's one
//! thread.
//!
//! A conversation always lands on the same shard (its id decides), and an actor is the only
//! writer of its conversation, so nothing about a conversation's order changes; queues,
//! agents, timers and the outbox stay on the engine's own thread, which the conversation
//! actors reach by message as before. With one shard (what tests on paused tokio time use:
//! other threads would not see the paused clock) conversations run on the engine's thread.

use actix::ArbiterHandle;

use crate::domain::ConversationId;
use crate::store::AnyStore;

/// One thread of conversation actors.
#[derive(Clone)]
pub(super) struct Shard {
    /// The arbiter its actors are started on.
    pub(super) arbiter: ArbiterHandle,
    /// Its store connection: a connection's traffic is driven on the runtime that opened it,
    /// so a shard sharing the engine's would wake the engine's thread for every reply.
    pub(super) store: AnyStore,
}

/// The shards, chosen by conversation id.
pub(super) struct ConversationShards {
    shards: Vec<Shard>,
}

impl ConversationShards {
    /// `count` shards. One (or zero) keeps conversations on `home`, the engine's own arbiter,
    /// with the engine's store; more start that many arbiters (threads), each with a store
    /// connection of its own. Call inside an actix `System`.
    pub(super) fn start(count: usize, home: ArbiterHandle, store: &AnyStore) -> Self {
        if count <= 1 {
            return Self {
                shards: vec![Shard {
                    arbiter: home,
                    store: store.clone(),
                }],
            };
        }
        let shards = (0..count)
            .map(|_| Shard {
                // The arbiter's thread runs until the engine's system stops.
                arbiter: actix::Arbiter::new().handle(),
                // Reopening only prepares a connection (it connects on first use) with
                // settings that already opened once; should it fail all the same, sharing
                // the engine's connection is slower but correct.
                store: store.reopen().unwrap_or_else(|e| {
                    tracing::warn!(error = %e, "a conversation shard shares the engine's store connection");
                    store.clone()
                }),
            })
            .collect();
        Self { shards }
    }

    /// How many there are.
    pub(super) fn len(&self) -> usize {
        self.shards.len()
    }

    /// The shard that runs conversation `id`.
    pub(super) fn of(&self, id: &ConversationId) -> &Shard {
        &self.shards[shard_index(id.as_str(), self.shards.len())]
    }
}

/// Which of `count` shards runs the conversation with this id: FNV-1a of the id, so the
/// choice is the same in every process and every run (ids are random, so they spread evenly).
fn shard_index(id: &str, count: usize) -> usize {
    if count <= 1 {
        return 0;
    }
    let hash = id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    usize::try_from(hash % count as u64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_shard_takes_everything() {
        assert_eq!(shard_index("anything", 1), 0);
        assert_eq!(shard_index("", 0), 0);
    }

    #[test]
    fn a_conversation_always_lands_on_the_same_shard() {
        let id = ConversationId::generate();
        let first = shard_index(id.as_str(), 4);
        assert!((0..100).all(|_| shard_index(id.as_str(), 4) == first));
    }

    #[test]
    fn generated_ids_spread_over_the_shards() {
        let mut counts = [0_usize; 4];
        for _ in 0..4_000 {
            counts[shard_index(ConversationId::generate().as_str(), 4)] += 1;
        }
        // Each shard gets its quarter give or take a fifth (a binomial's spread is ~3 %).
        assert!(
            counts.iter().all(|&n| (800..1_200).contains(&n)),
            "{counts:?}"
        );
    }
}
