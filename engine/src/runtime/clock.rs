//! The one clock every timer and timestamp goes through.
//!
//! Wall time is read once, at start; after that time advances with tokio's clock, so a test
//! that pauses and advances tokio time moves Switchboard's clock with it, and nothing sleeps.

use crate::routing::Millis;

/// Milliseconds since the Unix epoch, advancing with tokio's clock.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    wall_at_start: Millis,
    started: tokio::time::Instant,
}

impl Clock {
    /// A clock reading the system's wall time now.
    pub fn system() -> Self {
        Self::starting_at(chrono::Utc::now().timestamp_millis())
    }

    /// A clock that reads `wall` now (tests pin the epoch).
    pub fn starting_at(wall: Millis) -> Self {
        Self {
            wall_at_start: wall,
            started: tokio::time::Instant::now(),
        }
    }

    /// The time now.
    pub fn now(&self) -> Millis {
        self.wall_at_start + i64::try_from(self.started.elapsed().as_millis()).unwrap_or(i64::MAX)
    }
}
