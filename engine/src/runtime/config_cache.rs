//! Configuration read on the hot path, cached: every inbound text looks up its business number
//! by phone and its queue's settings, and configuration changes rarely. An entry is good while
//! the catalog's [generation](crate::catalog::Catalog::generation) holds — it moves with every
//! change through this process, and with another process's change as soon as a commit
//! answers a newer catalog version (ADR 016) — and for at most [`TTL`] (another process's
//! change seen by a process that commits nothing).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The longest an entry is trusted without a change through this process.
pub const TTL: Duration = Duration::from_secs(5);

/// Entries kept before stale ones are swept.
const SWEEP_AT: usize = 10_000;

struct Entry<V> {
    generation: u64,
    filled: Instant,
    value: V,
}

/// A cache of configuration values by key.
pub struct ConfigCache<V> {
    entries: Mutex<HashMap<String, Entry<V>>>,
}

impl<V> Default for ConfigCache<V> {
    fn default() -> Self {
        Self {
            entries: Mutex::default(),
        }
    }
}

impl<V: Clone> ConfigCache<V> {
    /// The value of `key` as cached at catalog `generation`, when still good.
    pub fn get(&self, key: &str, generation: u64) -> Option<V> {
        let entries = self.entries.lock().ok()?;
        let entry = entries.get(key)?;
        let fresh = entry.generation == generation && entry.filled.elapsed() < TTL;
        fresh.then(|| entry.value.clone())
    }

    /// The value of `key`: cached when still good at `generation` (read it before `load`
    /// starts, so that a change landing meanwhile makes the new entry stale at once), else
    /// what `load` reads, remembered.
    pub async fn get_or_load<E>(
        &self,
        key: &str,
        generation: u64,
        load: impl Future<Output = Result<V, E>>,
    ) -> Result<V, E> {
        if let Some(value) = self.get(key, generation) {
            return Ok(value);
        }
        let value = load.await?;
        self.put(key, generation, value.clone());
        Ok(value)
    }

    /// Remembers what the catalog said of `key` at `generation`.
    pub fn put(&self, key: &str, generation: u64, value: V) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() >= SWEEP_AT {
            entries.retain(|_, e| e.generation == generation && e.filled.elapsed() < TTL);
        }
        entries.insert(
            key.to_owned(),
            Entry {
                generation,
                filled: Instant::now(),
                value,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_holds_until_the_catalog_changes() {
        let cache: ConfigCache<Option<u32>> = ConfigCache::default();
        assert_eq!(cache.get("+15550102000", 0), None);
        cache.put("+15550102000", 0, Some(7));
        assert_eq!(cache.get("+15550102000", 0), Some(Some(7)));
        assert_eq!(
            cache.get("+15550102000", 1),
            None,
            "a change makes it stale"
        );
        cache.put("+15550109999", 1, None);
        assert_eq!(
            cache.get("+15550109999", 1),
            Some(None),
            "absences are cached too"
        );
    }
}
