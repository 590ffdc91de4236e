//! Hash maps for the engine's large in-memory indexes (the waiting lines, the conversation
//! directory), keyed by ids Switchboard generates. The standard library's SipHash was 8 % of
//! the CPU of a restart putting 50,000 conversations back in line (`scripts/bench-recovery`
//! under `perf`); foldhash is several times faster and still seeded per process, so keys a
//! client chooses cannot be aimed at one bucket from outside.

/// A `HashMap` with foldhash's per-process random seed.
pub type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
