//! What a run measures: latency histograms (HDR, microsecond resolution, up to an hour) and
//! counters, shared by every task of the run, and their figures for reports. Histograms are
//! kept as recorded values so that results of several generators merge exactly.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The latencies measured, by name.
pub const MEASURES: [(&str, &str); 6] = [
    (
        "ack",
        "webhook acknowledged (from the text's intended send time)",
    ),
    (
        "text_to_offer",
        "customer's first text → offer on the agent's socket",
    ),
    (
        "offer_to_accept",
        "accept sent → accepted (the `reply` frame)",
    ),
    (
        "reply_to_handoff",
        "agent reply acknowledged → text at the provider",
    ),
    (
        "handoff_to_delivered",
        "text at the provider → `delivered` on the desktop",
    ),
    ("resume", "reconnect → replay complete (`resumed`)"),
];

/// One latency distribution.
pub struct Latency {
    histogram: hdrhistogram::Histogram<u64>,
}

impl Default for Latency {
    fn default() -> Self {
        Self {
            // 1 µs to 1 h, 3 significant figures.
            histogram: hdrhistogram::Histogram::new_with_bounds(1, 3_600_000_000, 3)
                .expect("valid histogram bounds"),
        }
    }
}

impl Latency {
    /// Records one latency (clamped into the histogram's range).
    pub fn record(&mut self, latency: Duration) {
        let micros = (latency.as_micros() as u64).clamp(1, 3_600_000_000);
        self.histogram.saturating_record(micros);
    }

    /// Records `count` latencies of `micros` (merging).
    fn record_n(&mut self, micros: u64, count: u64) {
        let _ = self
            .histogram
            .record_n(micros.clamp(1, 3_600_000_000), count);
    }

    /// How many were recorded.
    pub fn count(&self) -> u64 {
        self.histogram.len()
    }

    /// The figures, in milliseconds.
    pub fn figures(&self) -> Figures {
        let h = &self.histogram;
        let ms = |micros: u64| micros as f64 / 1000.0;
        let (empty, q) = (h.is_empty(), |q: f64| ms(h.value_at_quantile(q)));
        Figures {
            count: h.len(),
            mean: if empty { 0.0 } else { h.mean() / 1000.0 },
            p50: if empty { 0.0 } else { q(0.5) },
            p90: if empty { 0.0 } else { q(0.9) },
            p99: if empty { 0.0 } else { q(0.99) },
            p999: if empty { 0.0 } else { q(0.999) },
            max: if empty { 0.0 } else { ms(h.max()) },
            recorded: h
                .iter_recorded()
                .map(|v| (v.value_iterated_to(), v.count_at_value()))
                .collect(),
        }
    }
}

/// A distribution's figures, milliseconds; `recorded` holds the values (µs, count) to merge.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    /// How many.
    pub count: u64,
    /// Mean.
    pub mean: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// The slowest.
    pub max: f64,
    /// Recorded values: (microseconds, count).
    pub recorded: Vec<(u64, u64)>,
}

impl Figures {
    /// The figures of several distributions together.
    pub fn merge<'a>(all: impl IntoIterator<Item = &'a Figures>) -> Figures {
        let mut latency = Latency::default();
        for figures in all {
            for &(micros, count) in &figures.recorded {
                latency.record_n(micros, count);
            }
        }
        latency.figures()
    }

    /// A statistic by name (`p50`, `p90`, `p99`, `p999`, `max`, `mean`, `count`).
    pub fn stat(&self, name: &str) -> Option<f64> {
        Some(match name {
            "p50" => self.p50,
            "p90" => self.p90,
            "p99" => self.p99,
            "p999" | "p99.9" => self.p999,
            "max" => self.max,
            "mean" | "avg" => self.mean,
            "count" => self.count as f64,
            _ => return None,
        })
    }
}

/// Every measure and counter of a run.
#[derive(Default)]
pub struct Measures {
    latencies: Mutex<BTreeMap<&'static str, Latency>>,
    counters: Mutex<BTreeMap<String, u64>>,
}

impl Measures {
    /// Records a latency of `measure` (one of [`MEASURES`]).
    pub fn record(&self, measure: &'static str, latency: Duration) {
        if let Ok(mut latencies) = self.latencies.lock() {
            latencies.entry(measure).or_default().record(latency);
        }
    }

    /// Adds to a counter (`texts.sent`, `errors.ack.503`, ...).
    pub fn count(&self, counter: impl Into<String>, by: u64) {
        if let Ok(mut counters) = self.counters.lock() {
            *counters.entry(counter.into()).or_default() += by;
        }
    }

    /// A counter's value.
    pub fn counter(&self, name: &str) -> u64 {
        self.counters
            .lock()
            .map(|c| c.get(name).copied().unwrap_or(0))
            .unwrap_or(0)
    }

    /// Every counter.
    pub fn counters(&self) -> BTreeMap<String, u64> {
        self.counters.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// A measure's figures now.
    pub fn figures(&self, measure: &str) -> Figures {
        self.latencies
            .lock()
            .ok()
            .and_then(|l| l.get(measure).map(Latency::figures))
            .unwrap_or_default()
    }

    /// Every measure's figures now.
    pub fn all_figures(&self) -> BTreeMap<String, Figures> {
        MEASURES
            .iter()
            .map(|(name, _)| ((*name).to_owned(), self.figures(name)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_are_milliseconds_and_merge_exactly() {
        let measures = Measures::default();
        for ms in 1..=100 {
            measures.record("ack", Duration::from_millis(ms));
        }
        let f = measures.figures("ack");
        assert_eq!(f.count, 100);
        assert!((49.0..=51.0).contains(&f.p50), "{}", f.p50);
        assert!((99.0..=100.1).contains(&f.max), "{}", f.max);
        let merged = Figures::merge([&f, &f]);
        assert_eq!(merged.count, 200);
        assert_eq!(merged.p99, f.p99);
        assert_eq!(measures.figures("resume").count, 0);
    }
}
