//! Prometheus metrics: every name is a constant here, `switchboard_<thing>_<unit>[_total]`,
//! with bounded labels (queue ids and fixed outcome and presence names — never a
//! conversation, agent or phone). The dashboards use only these.

use std::sync::LazyLock;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};

mod names;

pub use names::*;

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
    /// See [`AGENTS_AWAY`].
    pub agents_away: IntGaugeVec,
    /// See [`TEAM_LOAD`].
    pub team_load: IntGaugeVec,
    /// See [`TEAM_CAPACITY`].
    pub team_capacity: IntGaugeVec,
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
    /// See [`AUTH_FAILURES`].
    pub auth_failures: IntCounterVec,
    /// See [`WS_SESSIONS`].
    pub ws_sessions: prometheus::IntGauge,
    /// See [`WS_DROPPED`].
    pub ws_dropped: IntCounterVec,
    /// See [`HTTP_REQUESTS`].
    pub http_requests: IntCounterVec,
    /// See [`HTTP_REQUEST_DURATION`].
    pub http_request_duration: HistogramVec,
    /// See [`CONVERSATIONS_OPENED`].
    pub conversations_opened: IntCounterVec,
    /// See [`CONVERSATIONS_CLOSED`].
    pub conversations_closed: IntCounterVec,
    /// See [`CONVERSATIONS_ABANDONED`].
    pub conversations_abandoned: IntCounterVec,
    /// See [`SPEED_OF_ANSWER`].
    pub speed_of_answer: HistogramVec,
    /// See [`FIRST_RESPONSE`].
    pub first_response: HistogramVec,
    /// See [`RESPONSE`].
    pub response: HistogramVec,
    /// See [`HANDLE`].
    pub handle: HistogramVec,
    /// See [`DISPOSITIONS`].
    pub dispositions: IntCounterVec,
    /// See [`ALERTS_ACTIVE`].
    pub alerts_active: IntGaugeVec,
    /// See [`CONVERSATION_ACTORS`].
    pub conversation_actors: prometheus::IntGauge,
    /// See [`STORE_CALL`].
    pub store_call: HistogramVec,
    /// See [`STORE_ERRORS`].
    pub store_errors: IntCounterVec,
    /// See [`OUTBOUND_HANDOFF`].
    pub outbound_handoff: HistogramVec,
    /// See [`OUTBOUND_DELIVERY`].
    pub outbound_delivery: HistogramVec,
    /// See [`STORE_UP`].
    pub store_up: prometheus::IntGauge,
    /// See [`FEED_LAG`].
    pub feed_lag: prometheus::Histogram,
    /// See [`JOURNAL_EVENTS`].
    pub journal_events: prometheus::IntGauge,
    /// See [`QUEUE_INFO`].
    pub queue_info: IntGaugeVec,
    /// See [`QUEUE_ALERT_THRESHOLD`].
    pub queue_alert_threshold: IntGaugeVec,
    /// The team each queue's info series names, to move it when the queue changes team.
    queue_teams: std::sync::Mutex<std::collections::HashMap<String, String>>,
    /// See [`AGENT_HANDLED`].
    pub agent_handled: IntCounterVec,
    /// See [`AGENT_HANDLE_SECONDS`].
    pub agent_handle_seconds: prometheus::CounterVec,
    /// See [`AGENT_RESPONSES`].
    pub agent_responses: IntCounterVec,
    /// See [`AGENT_RESPONSE_SECONDS`].
    pub agent_response_seconds: prometheus::CounterVec,
    /// See [`AGENT_MISSED_OFFERS`].
    pub agent_missed_offers: IntCounterVec,
    /// See [`AGENT_PRESENCE_SECONDS`].
    pub agent_presence_seconds: prometheus::CounterVec,
    process: crate::process_metrics::ProcessMetrics,
}

/// Buckets for outbound hand-off and delivery: from 10 ms (a simulator) to 10 minutes (a
/// carrier's delivery receipt after retries).
const SMS_BUCKETS: [f64; 14] = [
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 600.0,
];

/// Buckets for contact-center times: from a tenth of a second (an agent ready when the text
/// arrives) to an hour, finest where service-level thresholds usually sit (20 s to 5 min).
const KPI_BUCKETS: [f64; 17] = [
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 45.0, 60.0, 120.0, 180.0, 300.0, 600.0,
    1800.0, 3600.0,
];

/// Offer outcomes, as `switchboard_offers_total` labels them.
pub const OFFER_OUTCOMES: [&str; 5] = ["created", "accepted", "rejected", "expired", "rescinded"];
/// Why the server ends websocket sessions, as `switchboard_ws_dropped_total` labels them (the
/// close frames' reasons).
pub const WS_DROP_REASONS: [&str; 7] = [
    "protocol error",
    "message too big",
    "server stopping",
    "no answer to pings",
    "too slow",
    "token no longer valid",
    "frames are JSON text; binary is not supported",
];
/// Every alert kind, for `switchboard_alerts_active`'s labels.
pub const ALERT_KINDS: [crate::conversation::AlertKind; 2] = [
    crate::conversation::AlertKind::Unclaimed,
    crate::conversation::AlertKind::AwaitingReply,
];
/// An alert kind's label (its wire name).
pub fn alert_label(kind: crate::conversation::AlertKind) -> &'static str {
    match kind {
        crate::conversation::AlertKind::Unclaimed => "unclaimed",
        crate::conversation::AlertKind::AwaitingReply => "awaiting_reply",
    }
}

/// Outbound outcomes, as `switchboard_outbound_sms_total` labels them.
pub const OUTBOUND_OUTCOMES: [&str; 6] = [
    "accepted",
    "retried",
    "failed",
    "sent",
    "delivered",
    "undelivered",
];

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
        let metrics = Self {
            queue_waiting: gauge(QUEUE_WAITING, "Conversations waiting in line", &["queue"]),
            queue_longest_wait: gauge(
                QUEUE_LONGEST_WAIT,
                "Seconds the longest-waiting conversation has waited",
                &["queue"],
            ),
            offers: counter(OFFERS, "Offers by outcome", &["queue", "outcome"]),
            agents: gauge(AGENTS, "Agents by team and presence", &["team", "presence"]),
            agents_away: gauge(
                AGENTS_AWAY,
                "Away agents by team and reason",
                &["team", "reason"],
            ),
            team_load: gauge(
                TEAM_LOAD,
                "Offered plus owned conversations of the team's agents not offline",
                &["team"],
            ),
            team_capacity: gauge(
                TEAM_CAPACITY,
                "Capacity of the team's agents not offline",
                &["team"],
            ),
            offer_wait: histogram(
                OFFER_WAIT,
                "Seconds from waiting_since to an offer",
                &["queue"],
                KPI_BUCKETS.to_vec(),
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
            auth_failures: counter(AUTH_FAILURES, "Failed authentications, by kind", &["kind"]),
            ws_dropped: counter(
                WS_DROPPED,
                "Websocket sessions ended by the server, by reason",
                &["reason"],
            ),
            http_requests: counter(
                HTTP_REQUESTS,
                "HTTP requests by route pattern, method and status class",
                &["route", "method", "status"],
            ),
            http_request_duration: histogram(
                HTTP_REQUEST_DURATION,
                "Seconds an HTTP request took, by route pattern and method",
                &["route", "method"],
                vec![
                    0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                    5.0, 10.0,
                ],
            ),
            conversations_opened: counter(CONVERSATIONS_OPENED, "Conversations opened", &["queue"]),
            conversations_closed: counter(CONVERSATIONS_CLOSED, "Conversations closed", &["queue"]),
            conversations_abandoned: counter(
                CONVERSATIONS_ABANDONED,
                "Conversations closed while still waiting in line",
                &["queue"],
            ),
            speed_of_answer: histogram(
                SPEED_OF_ANSWER,
                "Seconds a waiting conversation waited until an agent took it",
                &["queue"],
                KPI_BUCKETS.to_vec(),
            ),
            first_response: histogram(
                FIRST_RESPONSE,
                "Seconds from the customer's first text to the first agent text",
                &["queue"],
                KPI_BUCKETS.to_vec(),
            ),
            response: histogram(
                RESPONSE,
                "Seconds from the customer's oldest unanswered text to the agent text answering it",
                &["queue"],
                KPI_BUCKETS.to_vec(),
            ),
            handle: histogram(
                HANDLE,
                "Seconds from the last owner taking a conversation to its close",
                &["queue"],
                KPI_BUCKETS.to_vec(),
            ),
            dispositions: counter(
                DISPOSITIONS,
                "Disposition codes recorded",
                &["queue", "code"],
            ),
            alerts_active: gauge(
                ALERTS_ACTIVE,
                "Open conversations with an alert raised, by kind",
                &["kind"],
            ),
            conversation_actors: register(
                &registry,
                prometheus::IntGauge::new(CONVERSATION_ACTORS, "Conversation actors running")
                    .expect("valid metric"),
            ),
            store_call: histogram(
                STORE_CALL,
                "Seconds a Redis call took, by store operation",
                &["operation"],
                vec![
                    0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1,
                    0.25, 0.5, 1.0, 2.5,
                ],
            ),
            store_errors: counter(
                STORE_ERRORS,
                "Redis calls that failed, by store operation and error",
                &["operation", "error"],
            ),
            outbound_handoff: histogram(
                OUTBOUND_HANDOFF,
                "Seconds from entering the outbox to the provider's answer settling the hand-off",
                &["provider", "outcome"],
                SMS_BUCKETS.to_vec(),
            ),
            outbound_delivery: histogram(
                OUTBOUND_DELIVERY,
                "Seconds from entering the outbox to the provider's final report",
                &["provider", "outcome"],
                SMS_BUCKETS.to_vec(),
            ),
            store_up: register(
                &registry,
                prometheus::IntGauge::new(STORE_UP, "Whether the store answered its last call")
                    .expect("valid metric"),
            ),
            feed_lag: register(
                &registry,
                prometheus::Histogram::with_opts(
                    HistogramOpts::new(
                        FEED_LAG,
                        "Seconds from an event being journaled to the feed delivering it",
                    )
                    .buckets(vec![
                        0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                    ]),
                )
                .expect("valid metric"),
            ),
            journal_events: register(
                &registry,
                prometheus::IntGauge::new(JOURNAL_EVENTS, "Events the journal holds")
                    .expect("valid metric"),
            ),
            queue_info: gauge(
                QUEUE_INFO,
                "1 for each queue, labelled with its team",
                &["queue", "team"],
            ),
            queue_teams: std::sync::Mutex::default(),
            queue_alert_threshold: gauge(
                QUEUE_ALERT_THRESHOLD,
                "A queue's alert thresholds in seconds, by kind (0: off)",
                &["queue", "kind"],
            ),
            agent_handled: counter(
                AGENT_HANDLED,
                "Conversations an agent closed as their owner",
                &["agent"],
            ),
            agent_handle_seconds: register(
                &registry,
                prometheus::CounterVec::new(
                    Opts::new(
                        AGENT_HANDLE_SECONDS,
                        "Handle time of an agent's closed conversations",
                    ),
                    &["agent"],
                )
                .expect("valid metric"),
            ),
            agent_responses: counter(
                AGENT_RESPONSES,
                "An agent's texts answering the customer's oldest unanswered one",
                &["agent"],
            ),
            agent_response_seconds: register(
                &registry,
                prometheus::CounterVec::new(
                    Opts::new(AGENT_RESPONSE_SECONDS, "An agent's response times added up"),
                    &["agent"],
                )
                .expect("valid metric"),
            ),
            agent_missed_offers: counter(
                AGENT_MISSED_OFFERS,
                "Offers an agent let expire",
                &["agent"],
            ),
            agent_presence_seconds: register(
                &registry,
                prometheus::CounterVec::new(
                    Opts::new(
                        AGENT_PRESENCE_SECONDS,
                        "Seconds an agent spent in each presence",
                    ),
                    &["agent", "presence"],
                )
                .expect("valid metric"),
            ),
            process: crate::process_metrics::ProcessMetrics::register(&registry),
            registry,
        };
        // Up until a call says otherwise (the memory store never fails).
        metrics.store_up.set(1);
        // Families with fixed labels are there from start-up, at zero: a panel shows 0, not
        // "no data", before the first event.
        for direction in ["inbound", "outbound"] {
            metrics.messages.with_label_values(&[direction]);
        }
        for outcome in OUTBOUND_OUTCOMES {
            metrics.outbound_sms.with_label_values(&[outcome]);
        }
        for kind in ALERT_KINDS {
            metrics
                .alerts_active
                .with_label_values(&[alert_label(kind)]);
        }
        for reason in WS_DROP_REASONS {
            metrics.ws_dropped.with_label_values(&[reason]);
        }
        for kind in ["token", "webhook_signature"] {
            metrics.auth_failures.with_label_values(&[kind]);
        }
        for provider in ["twilio", "simulator"] {
            for outcome in ["accepted", "failed"] {
                metrics
                    .outbound_handoff
                    .with_label_values(&[provider, outcome]);
            }
            for outcome in ["delivered", "undelivered", "failed"] {
                metrics
                    .outbound_delivery
                    .with_label_values(&[provider, outcome]);
            }
        }
        metrics
    }

    /// Puts a queue's families on the page at zero (called when its actor starts), so that
    /// every known queue has every series before its first event.
    pub fn touch_queue(&self, queue: &str) {
        self.queue_waiting.with_label_values(&[queue]);
        self.queue_longest_wait.with_label_values(&[queue]);
        self.offer_wait.with_label_values(&[queue]);
        self.routing_decision.with_label_values(&[queue]);
        self.conversations_opened.with_label_values(&[queue]);
        self.conversations_closed.with_label_values(&[queue]);
        self.conversations_abandoned.with_label_values(&[queue]);
        self.speed_of_answer.with_label_values(&[queue]);
        self.first_response.with_label_values(&[queue]);
        self.response.with_label_values(&[queue]);
        self.handle.with_label_values(&[queue]);
        for outcome in OFFER_OUTCOMES {
            self.offers.with_label_values(&[queue, outcome]);
        }
    }

    /// Describes a queue: its team on its info series, and its alert thresholds.
    pub fn describe_queue(&self, queue: &crate::domain::Queue) {
        let id = queue.id.as_str();
        self.set_queue_team(id, queue.team_id.as_str());
        for (kind, secs) in [
            ("unclaimed", queue.alerts.unclaimed_secs.get()),
            ("awaiting_reply", queue.alerts.awaiting_reply_secs.get()),
        ] {
            self.queue_alert_threshold
                .with_label_values(&[id, kind])
                .set(i64::from(secs));
        }
    }

    /// Records `queue`'s team on its info series (moving it when the team changed).
    fn set_queue_team(&self, queue: &str, team: &str) {
        let Ok(mut teams) = self.queue_teams.lock() else {
            return;
        };
        if let Some(old) = teams.insert(queue.to_owned(), team.to_owned())
            && old != team
        {
            let _ = self.queue_info.remove_label_values(&[queue, &old]);
        }
        self.queue_info.with_label_values(&[queue, team]).set(1);
    }

    /// Puts an agent's families on the page at zero (when its actor starts).
    pub fn touch_agent(&self, agent: &str) {
        self.agent_handled.with_label_values(&[agent]);
        self.agent_handle_seconds.with_label_values(&[agent]);
        self.agent_responses.with_label_values(&[agent]);
        self.agent_response_seconds.with_label_values(&[agent]);
        self.agent_missed_offers.with_label_values(&[agent]);
        for presence in ["offline", "available", "away"] {
            self.agent_presence_seconds
                .with_label_values(&[agent, presence]);
        }
    }

    /// Puts a team's agent families on the page at zero (at recovery and when the team is
    /// created or changed), with a series for each of its away reasons.
    pub fn touch_team(&self, team: &crate::domain::Team) {
        let id = team.id.as_str();
        for presence in ["offline", "available", "away"] {
            self.agents.with_label_values(&[id, presence]);
        }
        for reason in crate::runtime::ENGINE_AWAY_REASONS {
            self.agents_away.with_label_values(&[id, reason]);
        }
        for reason in &team.away_reasons {
            self.agents_away.with_label_values(&[id, reason.as_str()]);
        }
        self.team_load.with_label_values(&[id]);
        self.team_capacity.with_label_values(&[id]);
    }

    /// Counts what a conversation's change in `queue` gave (see
    /// [`crate::conversation::advance`]).
    pub fn observe(&self, queue: &str, observations: &[crate::conversation::Observation]) {
        use crate::conversation::Observation;
        let seconds = |ms: i64| ms as f64 / 1000.0;
        for observation in observations {
            match observation {
                Observation::Opened => self.conversations_opened.with_label_values(&[queue]).inc(),
                Observation::Answered { waited } => self
                    .speed_of_answer
                    .with_label_values(&[queue])
                    .observe(seconds(*waited)),
                Observation::FirstResponse { after } => self
                    .first_response
                    .with_label_values(&[queue])
                    .observe(seconds(*after)),
                Observation::Response { after, by } => {
                    self.response
                        .with_label_values(&[queue])
                        .observe(seconds(*after));
                    if let Some(agent) = by {
                        self.agent_responses
                            .with_label_values(&[agent.as_str()])
                            .inc();
                        self.agent_response_seconds
                            .with_label_values(&[agent.as_str()])
                            .inc_by(seconds(*after));
                    }
                }
                Observation::Closed {
                    abandoned,
                    handled,
                    by,
                } => {
                    if let (Some(agent), Some(handled)) = (by, handled) {
                        self.agent_handled
                            .with_label_values(&[agent.as_str()])
                            .inc();
                        self.agent_handle_seconds
                            .with_label_values(&[agent.as_str()])
                            .inc_by(seconds(*handled));
                    }
                    self.conversations_closed.with_label_values(&[queue]).inc();
                    if *abandoned {
                        self.conversations_abandoned
                            .with_label_values(&[queue])
                            .inc();
                    }
                    if let Some(handled) = handled {
                        self.handle
                            .with_label_values(&[queue])
                            .observe(seconds(*handled));
                    }
                }
                Observation::Disposition { code } => self
                    .dispositions
                    .with_label_values(&[queue, code.as_str()])
                    .inc(),
            }
        }
    }

    /// Counts one Redis call of `operation` that took `elapsed` and failed with `error`.
    pub fn store_call(
        &self,
        operation: &str,
        elapsed: std::time::Duration,
        error: Option<&crate::store::StoreError>,
    ) {
        self.store_call
            .with_label_values(&[operation])
            .observe(elapsed.as_secs_f64());
        // A timeout is a slow store, not a missing one.
        let unavailable =
            matches!(error, Some(e) if !matches!(e, crate::store::StoreError::Timeout(_)));
        self.store_up.set(i64::from(!unavailable));
        if let Some(error) = error {
            let kind = match error {
                crate::store::StoreError::Timeout(_) => "timeout",
                _ => "unavailable",
            };
            self.store_errors
                .with_label_values(&[operation, kind])
                .inc();
        }
    }

    /// The metrics in Prometheus's text format.
    pub fn render(&self) -> String {
        self.process.refresh();
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

#[cfg(test)]
mod tests;
