//! Statistics for desktops and wallboards that do not use Grafana: a window's cumulative
//! figures, computed from the stored conversations' milestones and the durable offer
//! counters (so they survive restarts), and the figures' pure rules.

mod figures;
pub mod offer_minutes;

pub use figures::{Average, Counts, Cumulative, ServiceLevel, Subject, Timing, Window, cumulative};
