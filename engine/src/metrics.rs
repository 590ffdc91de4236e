//! Prometheus metrics: every name is a constant here, `switchboard_<thing>_<unit>[_total]`,
//! with bounded labels (queue ids and fixed outcome and presence names — never a
//! conversation, agent or phone). The dashboards use only these.

use std::sync::LazyLock;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};

/// Conversations waiting in line, per queue.
pub const QUEUE_WAITING: &str = "switchboard_queue_waiting";
/// Seconds the longest-waiting conversation has waited, per queue.
pub const QUEUE_LONGEST_WAIT: &str = "switchboard_queue_longest_wait_seconds";
/// Offers by queue and outcome (`created`, `accepted`, `rejected`, `expired`, `rescinded`).
pub const OFFERS: &str = "switchboard_offers_total";
/// Agents by presence (`offline`, `available`, `away`) among those the engine has loaded.
pub const AGENTS: &str = "switchboard_agents";
/// Seconds a conversation waited (from `waiting_since`) until an offer was made, per queue.
pub const OFFER_WAIT: &str = "switchboard_offer_wait_seconds";
/// Seconds one routing decision took inside a queue (handling one message).
pub const ROUTING_DECISION: &str = "switchboard_routing_decision_seconds";
/// Messages by direction (`inbound`, `outbound`).
pub const MESSAGES: &str = "switchboard_messages_total";
/// Outbound texts by outcome at the provider (`accepted`, `retried`, `failed`, and the
/// statuses reported later: `sent`, `delivered`, `undelivered`).
pub const OUTBOUND_SMS: &str = "switchboard_outbound_sms_total";
/// Outbound texts in the outbox: waiting for their turn, a retry, or in flight.
pub const OUTBOX_WAITING: &str = "switchboard_outbox_waiting";

/// Open websocket sessions.
pub const WS_SESSIONS: &str = "switchboard_ws_sessions";
/// Websocket sessions the server ended, by reason (`no answer to pings`, `too slow`, ...).
pub const WS_DROPPED: &str = "switchboard_ws_dropped_total";

/// The engine's metrics.
pub struct Metrics {
    registry: Registry,
    /// See [`QUEUE_WAITING`].
    pub queue_waiting: IntGaugeVec,
    /// See [`QUEUE_LONGEST_WAIT`].
    pub queue_longest_wait: IntGaugeVec,
    /// See [`OFFERS`].
    pub offers: IntCounterVec,
    /// See [`AGENTS`].
    pub agents: IntGaugeVec,
    /// See [`OFFER_WAIT`].
    pub offer_wait: HistogramVec,
    /// See [`ROUTING_DECISION`].
    pub routing_decision: HistogramVec,
    /// See [`MESSAGES`].
    pub messages: IntCounterVec,
    /// See [`OUTBOUND_SMS`].
    pub outbound_sms: IntCounterVec,
    /// See [`OUTBOX_WAITING`].
    pub outbox_waiting: prometheus::IntGauge,
    /// See [`WS_SESSIONS`].
    pub ws_sessions: prometheus::IntGauge,
    /// See [`WS_DROPPED`].
    pub ws_dropped: IntCounterVec,
}

fn register<C: prometheus::core::Collector + Clone + 'static>(
    registry: &Registry,
    collector: C,
) -> C {
    registry
        .register(Box::new(collector.clone()))
        .expect("metric names are unique constants");
    collector
}

impl Metrics {
    fn new() -> Self {
        let registry = Registry::new();
        let gauge = |name: &str, help: &str, labels: &[&str]| {
            register(
                &registry,
                IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric"),
            )
        };
        let counter = |name: &str, help: &str, labels: &[&str]| {
            register(
                &registry,
                IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric"),
            )
        };
        let histogram = |name: &str, help: &str, labels: &[&str], buckets: Vec<f64>| {
            register(
                &registry,
                HistogramVec::new(HistogramOpts::new(name, help).buckets(buckets), labels)
                    .expect("valid metric"),
            )
        };
        Self {
            queue_waiting: gauge(QUEUE_WAITING, "Conversations waiting in line", &["queue"]),
            queue_longest_wait: gauge(
                QUEUE_LONGEST_WAIT,
                "Seconds the longest-waiting conversation has waited",
                &["queue"],
            ),
            offers: counter(OFFERS, "Offers by outcome", &["queue", "outcome"]),
            agents: gauge(AGENTS, "Agents by presence", &["presence"]),
            offer_wait: histogram(
                OFFER_WAIT,
                "Seconds from waiting_since to an offer",
                &["queue"],
                vec![
                    1.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0,
                ],
            ),
            routing_decision: histogram(
                ROUTING_DECISION,
                "Seconds one routing decision took",
                &["queue"],
                vec![
                    0.000_005, 0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001,
                    0.005, 0.01,
                ],
            ),
            messages: counter(MESSAGES, "Messages by direction", &["direction"]),
            outbound_sms: counter(
                OUTBOUND_SMS,
                "Outbound texts by outcome at the provider",
                &["outcome"],
            ),
            outbox_waiting: register(
                &registry,
                prometheus::IntGauge::new(OUTBOX_WAITING, "Outbound texts in the outbox")
                    .expect("valid metric"),
            ),
            ws_sessions: register(
                &registry,
                prometheus::IntGauge::new(WS_SESSIONS, "Open websocket sessions")
                    .expect("valid metric"),
            ),
            ws_dropped: counter(
                WS_DROPPED,
                "Websocket sessions ended by the server, by reason",
                &["reason"],
            ),
            registry,
        }
    }

    /// The metrics in Prometheus's text format.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .expect("text encoding cannot fail");
        String::from_utf8(out).expect("the text format is UTF-8")
    }
}

/// The process's metrics (one engine per process).
pub fn metrics() -> &'static Metrics {
    static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);
    &METRICS
}

/// Every metric name, for the test that checks dashboards use only these.
pub const ALL: [&str; 7] = [
    QUEUE_WAITING,
    QUEUE_LONGEST_WAIT,
    OFFERS,
    AGENTS,
    OFFER_WAIT,
    ROUTING_DECISION,
    MESSAGES,
];
