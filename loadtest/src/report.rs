//! What a run says: its result (for people as a table, for machines as JSON or CSV, and for
//! merging several generators' results), a live progress line, and k6-style thresholds that
//! turn figures into an exit code.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::measure::{Figures, MEASURES};
use crate::verdict::Violation;

/// Everything a run found.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunResult {
    /// The scenario's name.
    pub scenario: String,
    /// The server driven.
    pub target: String,
    /// Which generators (`i/n`) made it; several after a merge.
    pub shards: Vec<String>,
    /// How long the stages lasted, seconds.
    pub duration_secs: f64,
    /// Texts the stages planned (all shards).
    pub planned_texts: f64,
    /// Texts sent.
    pub sent: u64,
    /// Texts acknowledged.
    pub acked: u64,
    /// Latencies, by measure.
    pub measures: BTreeMap<String, Figures>,
    /// Counters (texts, errors by status and code, agent actions, sockets).
    pub counters: BTreeMap<String, u64>,
    /// What must never happen and did.
    pub violations: Vec<Violation>,
    /// CPU seconds the generator used (user + system).
    pub generator_cpu_secs: f64,
}

impl RunResult {
    /// Texts per second offered (planned).
    pub fn offered_rate(&self) -> f64 {
        rate(self.planned_texts, self.duration_secs)
    }

    /// Texts per second acknowledged.
    pub fn achieved_rate(&self) -> f64 {
        rate(self.acked as f64, self.duration_secs)
    }

    /// Errors of every kind.
    pub fn errors(&self) -> u64 {
        self.counters
            .iter()
            .filter(|(k, _)| k.starts_with("errors."))
            .map(|(_, v)| v)
            .sum()
    }

    /// Generator CPU per 1,000 acknowledged texts per second: cores it would need.
    pub fn generator_cores_per_thousand(&self) -> f64 {
        let achieved = self.achieved_rate();
        if achieved <= 0.0 || self.duration_secs <= 0.0 {
            return 0.0;
        }
        self.generator_cpu_secs / self.duration_secs / achieved * 1000.0
    }

    /// Several generators' results as one: counts add, histograms merge, violations join.
    pub fn merge(results: &[RunResult]) -> RunResult {
        let mut merged = RunResult {
            scenario: results
                .first()
                .map(|r| r.scenario.clone())
                .unwrap_or_default(),
            target: results
                .first()
                .map(|r| r.target.clone())
                .unwrap_or_default(),
            ..RunResult::default()
        };
        for r in results {
            merged.shards.extend(r.shards.iter().cloned());
            merged.duration_secs = merged.duration_secs.max(r.duration_secs);
            merged.planned_texts = merged.planned_texts.max(r.planned_texts);
            merged.sent += r.sent;
            merged.acked += r.acked;
            merged.generator_cpu_secs += r.generator_cpu_secs;
            merged.violations.extend(r.violations.iter().cloned());
            for (k, v) in &r.counters {
                *merged.counters.entry(k.clone()).or_default() += v;
            }
        }
        for (name, _) in MEASURES {
            let all: Vec<&Figures> = results
                .iter()
                .filter_map(|r| r.measures.get(name))
                .collect();
            merged.measures.insert(name.to_owned(), Figures::merge(all));
        }
        merged
    }

    /// The end-of-run summary for people.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "\n{} against {} ({}), {:.0} s",
            self.scenario,
            self.target,
            self.shards.join(", "),
            self.duration_secs
        );
        let _ = writeln!(
            out,
            "texts: {} sent, {} acknowledged; offered {:.1}/s, achieved {:.1}/s",
            self.sent,
            self.acked,
            self.offered_rate(),
            self.achieved_rate()
        );
        let _ = writeln!(
            out,
            "\n{:<22} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9}",
            "latency (ms)", "count", "p50", "p90", "p99", "p99.9", "max"
        );
        for (name, what) in MEASURES {
            let f = self.measures.get(name).cloned().unwrap_or_default();
            let _ = writeln!(
                out,
                "{:<22} {:>8} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2}   {what}",
                name, f.count, f.p50, f.p90, f.p99, f.p999, f.max
            );
        }
        let errors: Vec<_> = self
            .counters
            .iter()
            .filter(|(k, _)| k.starts_with("errors."))
            .collect();
        let _ = writeln!(
            out,
            "\nerrors: {}",
            if errors.is_empty() {
                "none".into()
            } else {
                String::new()
            }
        );
        for (k, v) in errors {
            let _ = writeln!(out, "  {k:<50} {v}");
        }
        let _ = writeln!(
            out,
            "generator: {:.1} CPU s, {:.3} cores per 1,000 texts/s",
            self.generator_cpu_secs,
            self.generator_cores_per_thousand()
        );
        if self.violations.is_empty() {
            let _ = writeln!(
                out,
                "verdicts: nothing lost, duplicated, misrouted or sent after STOP"
            );
        } else {
            let _ = writeln!(out, "verdicts: {} VIOLATIONS", self.violations.len());
            for v in self.violations.iter().take(50) {
                let _ = writeln!(out, "  {:<22} {}", v.check, v.detail);
            }
            if self.violations.len() > 50 {
                let _ = writeln!(
                    out,
                    "  ... and {} more (see --out json)",
                    self.violations.len() - 50
                );
            }
        }
        out
    }

    /// One `metric,stat,value` row per figure and counter.
    pub fn csv(&self) -> String {
        let mut out = String::from("metric,stat,value\n");
        for (name, f) in &self.measures {
            for stat in ["count", "mean", "p50", "p90", "p99", "p999", "max"] {
                let _ = writeln!(out, "{name},{stat},{}", f.stat(stat).unwrap_or(0.0));
            }
        }
        for (k, v) in &self.counters {
            let _ = writeln!(out, "{k},count,{v}");
        }
        let _ = writeln!(out, "rate,offered,{}", self.offered_rate());
        let _ = writeln!(out, "rate,achieved,{}", self.achieved_rate());
        let _ = writeln!(out, "violations,count,{}", self.violations.len());
        out
    }

    /// The value a threshold names: `ack.p99` (ms), `lost` (violations of that check),
    /// `violations`, `errors`, `achieved_rate`, or any counter.
    pub fn value_of(&self, name: &str) -> Option<f64> {
        if let Some((measure, stat)) = name.split_once('.')
            && let Some(figures) = self.measures.get(measure)
        {
            return figures.stat(stat);
        }
        match name {
            "violations" => return Some(self.violations.len() as f64),
            "errors" => return Some(self.errors() as f64),
            "achieved_rate" => return Some(self.achieved_rate()),
            "offered_rate" => return Some(self.offered_rate()),
            _ => {}
        }
        if crate::VERDICT_CHECKS.contains(&name) {
            return Some(self.violations.iter().filter(|v| v.check == name).count() as f64);
        }
        self.counters.get(name).map(|v| *v as f64)
    }
}

fn rate(count: f64, secs: f64) -> f64 {
    if secs > 0.0 { count / secs } else { 0.0 }
}

/// A pass condition, as k6 writes them: `ack.p99<5ms`, `lost==0`, `achieved_rate>=990`.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    /// What it reads.
    pub name: String,
    /// `<`, `<=`, `>`, `>=`, `==`, `!=`.
    pub op: String,
    /// The bound (milliseconds for latencies).
    pub bound: f64,
    /// As written.
    pub text: String,
}

impl std::str::FromStr for Threshold {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let ops = ["<=", ">=", "==", "!=", "<", ">"];
        let (at, op) = ops
            .iter()
            .filter_map(|op| text.find(op).map(|i| (i, *op)))
            .min_by_key(|(i, op)| (*i, std::cmp::Reverse(op.len())))
            .ok_or_else(|| {
                format!("threshold {text:?}: expected NAME OP VALUE, e.g. ack.p99<5ms")
            })?;
        let name = text[..at].trim().to_owned();
        let raw = text[at + op.len()..].trim();
        let (number, scale) = if let Some(n) = raw.strip_suffix("ms") {
            (n, 1.0)
        } else if let Some(n) = raw.strip_suffix("us") {
            (n, 0.001)
        } else if let Some(n) = raw.strip_suffix('s') {
            (n, 1000.0)
        } else {
            (raw, 1.0)
        };
        let bound: f64 = number
            .trim()
            .parse()
            .map_err(|_| format!("threshold {text:?}: {raw:?} is not a number"))?;
        if name.is_empty() {
            return Err(format!("threshold {text:?}: no metric named"));
        }
        Ok(Self {
            name,
            op: op.to_owned(),
            bound: bound * scale,
            text: text.to_owned(),
        })
    }
}

impl Threshold {
    /// Whether `result` passes; `Err` when the metric does not exist.
    pub fn passes(&self, result: &RunResult) -> Result<bool, String> {
        let value = result
            .value_of(&self.name)
            .ok_or_else(|| format!("threshold {:?}: no metric {:?}", self.text, self.name))?;
        Ok(match self.op.as_str() {
            "<" => value < self.bound,
            "<=" => value <= self.bound,
            ">" => value > self.bound,
            ">=" => value >= self.bound,
            "==" => (value - self.bound).abs() < 1e-9,
            _ => (value - self.bound).abs() >= 1e-9,
        })
    }
}

/// How the run ends for the shell: 0 when every verdict holds and every threshold passes; 1
/// when a verdict failed (something was lost, duplicated, misrouted or sent after STOP); 99
/// when only thresholds were crossed (as k6 does); 2 when a threshold names no metric.
pub fn exit_code(result: &RunResult, thresholds: &[Threshold]) -> u8 {
    let mut crossed = false;
    for threshold in thresholds {
        match threshold.passes(result) {
            Ok(passed) => crossed |= !passed,
            Err(_) => return 2,
        }
    }
    if !result.violations.is_empty() {
        1
    } else if crossed {
        99
    } else {
        0
    }
}

/// One line per threshold: passed, crossed (with the value) or naming nothing.
pub fn threshold_lines(result: &RunResult, thresholds: &[Threshold]) -> Vec<String> {
    thresholds
        .iter()
        .map(|t| match t.passes(result) {
            Ok(true) => format!("threshold {:<30} ok", t.text),
            Ok(false) => format!(
                "threshold {:<30} CROSSED ({})",
                t.text,
                result.value_of(&t.name).unwrap_or(0.0)
            ),
            Err(e) => e,
        })
        .collect()
}

/// CPU seconds this process has used (user + system), from `/proc/self/stat`; 0 elsewhere.
pub fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name (which may hold spaces, inside parentheses).
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line: 12 and 13 after the command.
    (ticks(11) + ticks(12)) / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_read_like_k6_and_judge() {
        let t: Threshold = "ack.p99<5ms".parse().unwrap();
        assert_eq!(
            (t.name.as_str(), t.op.as_str(), t.bound),
            ("ack.p99", "<", 5.0)
        );
        let s: Threshold = "text_to_offer.max <= 2s".parse().unwrap();
        assert_eq!((s.op.as_str(), s.bound), ("<=", 2000.0));
        assert!("ack.p99".parse::<Threshold>().is_err());
        let mut result = RunResult::default();
        result.measures.insert(
            "ack".into(),
            Figures {
                p99: 3.0,
                ..Figures::default()
            },
        );
        assert_eq!(t.passes(&result), Ok(true));
        let lost: Threshold = "lost==0".parse().unwrap();
        assert_eq!(lost.passes(&result), Ok(true));
        result.violations.push(Violation {
            check: "lost".into(),
            detail: "x".into(),
        });
        assert_eq!(lost.passes(&result), Ok(false));
        assert!(
            "nothing>1"
                .parse::<Threshold>()
                .unwrap()
                .passes(&result)
                .is_err()
        );
    }

    #[test]
    fn results_merge_counts_and_histograms() {
        let mut a = RunResult {
            acked: 10,
            duration_secs: 10.0,
            shards: vec!["0/2".into()],
            ..RunResult::default()
        };
        a.counters.insert("errors.ack.503".into(), 2);
        let b = RunResult {
            acked: 30,
            duration_secs: 10.0,
            shards: vec!["1/2".into()],
            ..a.clone()
        };
        let merged = RunResult::merge(&[a, b]);
        assert_eq!(merged.acked, 40);
        assert_eq!(merged.errors(), 4);
        assert_eq!(merged.achieved_rate(), 4.0);
        assert_eq!(merged.shards, ["0/2", "1/2"]);
    }
}
