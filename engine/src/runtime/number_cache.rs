//! Business numbers by phone, cached: every inbound text and every send from a number named
//! by phone looks one up, and numbers change rarely. An entry is good while the catalog has
//! made no change since it was filled (changes through this process are seen at once) and
//! for at most [`TTL`] (changes made by another process over the same Redis are seen within
//! it). Unknown phones are cached too, so a flood of texts to a number nobody configured
//! costs no store reads either.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::domain::Number;

/// The longest an entry is trusted without a change through this process.
pub const TTL: Duration = Duration::from_secs(5);

/// Entries kept before expired ones are swept.
const SWEEP_AT: usize = 10_000;

struct Entry {
    generation: u64,
    filled: Instant,
    number: Option<Number>,
}

/// The cache.
#[derive(Default)]
pub struct NumberCache {
    entries: Mutex<HashMap<String, Entry>>,
}

impl NumberCache {
    /// The number of `phone` as cached at catalog `generation`: `Some(None)` when the phone is
    /// known to be no number's, `None` when the cache cannot say.
    pub fn get(&self, phone: &str, generation: u64) -> Option<Option<Number>> {
        let entries = self.entries.lock().ok()?;
        let entry = entries.get(phone)?;
        let fresh = entry.generation == generation && entry.filled.elapsed() < TTL;
        fresh.then(|| entry.number.clone())
    }

    /// Remembers what the catalog said of `phone` at `generation`.
    pub fn put(&self, phone: &str, generation: u64, number: Option<Number>) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() >= SWEEP_AT {
            entries.retain(|_, e| e.generation == generation && e.filled.elapsed() < TTL);
        }
        entries.insert(
            phone.to_owned(),
            Entry {
                generation,
                filled: Instant::now(),
                number,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number() -> Number {
        serde_json::from_value(serde_json::json!({
            "id": "num_1", "phone": "+15550102000", "campaign": "Spring", "queue_id": "inbound"
        }))
        .unwrap()
    }

    #[test]
    fn an_entry_holds_until_the_catalog_changes() {
        let cache = NumberCache::default();
        assert_eq!(cache.get("+15550102000", 0), None);
        cache.put("+15550102000", 0, Some(number()));
        assert_eq!(cache.get("+15550102000", 0), Some(Some(number())));
        assert_eq!(
            cache.get("+15550102000", 1),
            None,
            "a change makes it stale"
        );
        cache.put("+15550109999", 1, None);
        assert_eq!(
            cache.get("+15550109999", 1),
            Some(None),
            "unknown phones are cached"
        );
    }
}
