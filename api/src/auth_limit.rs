//! Guessing tokens is slow and visible: failed authentications are counted per client
//! address and per token prefix in one-minute windows, and a key past its limit is refused
//! with `429 too_many_attempts` (with `Retry-After`) until its window ends — before the token
//! is even looked up. Successful calls are never counted, so a busy desktop is not slowed.
//! The table is bounded: past [`MAX_KEYS`] keys, expired windows are dropped, and if every
//! key is live the table starts over (failing open rather than growing without bound).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The window failures are counted in.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Failures allowed per key and window by default.
pub const DEFAULT_LIMIT: u32 = 30;
/// The most keys tracked at once.
pub const MAX_KEYS: usize = 100_000;
/// How much of a token names it for counting (issued tokens begin with their id).
const PREFIX_CHARS: usize = 12;

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    failures: u32,
}

/// Failed authentications, by key.
#[derive(Debug)]
pub struct FailedAuth {
    limit: u32,
    windows: Mutex<HashMap<String, Window>>,
}

/// The keys a request is counted under: its client address and its token's prefix.
pub fn keys(client: Option<&str>, token: &str) -> Vec<String> {
    let mut keys = Vec::with_capacity(2);
    if let Some(client) = client {
        keys.push(format!("addr:{client}"));
    }
    let prefix: String = token.chars().take(PREFIX_CHARS).collect();
    keys.push(format!("token:{prefix}"));
    keys
}

impl FailedAuth {
    /// Allowing `limit` failures per key and minute.
    pub fn new(limit: u32) -> Self {
        Self {
            limit: limit.max(1),
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(seconds to wait)` when any of `keys` is past its limit now.
    pub fn check(&self, keys: &[String], now: Instant) -> Result<(), u64> {
        let Ok(windows) = self.windows.lock() else {
            return Ok(());
        };
        let wait = keys
            .iter()
            .filter_map(|key| windows.get(key))
            .filter(|w| w.failures >= self.limit && now < w.started + WINDOW)
            .map(|w| (w.started + WINDOW - now).as_secs().max(1))
            .max();
        wait.map_or(Ok(()), Err)
    }

    /// Counts a failure under each of `keys`; `true` when one of them has just reached its
    /// limit (worth one log line).
    pub fn fail(&self, keys: &[String], now: Instant) -> bool {
        let Ok(mut windows) = self.windows.lock() else {
            return false;
        };
        if windows.len() + keys.len() > MAX_KEYS {
            windows.retain(|_, w| now < w.started + WINDOW);
            if windows.len() + keys.len() > MAX_KEYS {
                windows.clear();
            }
        }
        let mut reached = false;
        for key in keys {
            let window = windows.entry(key.clone()).or_insert(Window {
                started: now,
                failures: 0,
            });
            if now >= window.started + WINDOW {
                *window = Window {
                    started: now,
                    failures: 0,
                };
            }
            window.failures += 1;
            reached |= window.failures == self.limit;
        }
        reached
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_refused_after_its_limit_until_its_window_ends() {
        let limiter = FailedAuth::new(3);
        let t0 = Instant::now();
        let k = keys(Some("10.0.0.1"), "sbt_guess_1");
        for i in 0..3 {
            assert_eq!(limiter.check(&k, t0), Ok(()), "failure {i}");
            assert_eq!(limiter.fail(&k, t0), i == 2);
        }
        assert_eq!(limiter.check(&k, t0), Err(60));
        assert_eq!(limiter.check(&k, t0 + Duration::from_secs(45)), Err(15));
        // Another address with another token is not affected...
        assert_eq!(
            limiter.check(&keys(Some("10.0.0.2"), "other-token-x"), t0),
            Ok(())
        );
        // ...but the same token prefix from anywhere is.
        assert!(
            limiter
                .check(&keys(Some("10.0.0.3"), "sbt_guess_1"), t0)
                .is_err()
        );
        // A minute later the window starts over.
        assert_eq!(limiter.check(&k, t0 + WINDOW), Ok(()));
        assert!(!limiter.fail(&k, t0 + WINDOW));
    }

    #[test]
    fn the_table_stays_bounded() {
        let limiter = FailedAuth::new(1);
        let t0 = Instant::now();
        for i in 0..(MAX_KEYS + 10) {
            limiter.fail(&[format!("addr:{i}")], t0);
        }
        assert!(limiter.windows.lock().unwrap().len() <= MAX_KEYS);
    }
}
