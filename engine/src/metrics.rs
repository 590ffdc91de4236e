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
/// Agents by team and presence (`offline`, `available`, `away`) among those the engine has
/// loaded; an agent counts in each of its teams.
pub const AGENTS: &str = "switchboard_agents";
/// Away agents by team and reason (the team's `away_reasons`, `missed_offers`, `unspecified`).
pub const AGENTS_AWAY: &str = "switchboard_agents_away";
/// Offered plus owned conversations of a team's agents that are not offline.
pub const TEAM_LOAD: &str = "switchboard_team_load";
/// Capacity of a team's agents that are not offline (occupancy = load / capacity).
pub const TEAM_CAPACITY: &str = "switchboard_team_capacity";
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

/// Conversations opened, per queue.
pub const CONVERSATIONS_OPENED: &str = "switchboard_conversations_opened_total";
/// Conversations closed, per queue.
pub const CONVERSATIONS_CLOSED: &str = "switchboard_conversations_closed_total";
/// Conversations closed while still waiting in line, never taken, per queue.
pub const CONVERSATIONS_ABANDONED: &str = "switchboard_conversations_abandoned_total";
/// Seconds a waiting conversation waited until an agent took it (speed of answer), per queue.
pub const SPEED_OF_ANSWER: &str = "switchboard_speed_of_answer_seconds";
/// Seconds from the customer's first text to the first agent text, per queue.
pub const FIRST_RESPONSE: &str = "switchboard_first_response_seconds";
/// Seconds from the customer's oldest unanswered text to the agent text answering it.
pub const RESPONSE: &str = "switchboard_response_seconds";
/// Seconds from the last owner taking a conversation to its close, per queue.
pub const HANDLE: &str = "switchboard_handle_seconds";
/// Disposition codes recorded, per queue and code.
pub const DISPOSITIONS: &str = "switchboard_dispositions_total";

/// Open conversations with an alert raised, by kind (`unclaimed`, `awaiting_reply`).
pub const ALERTS_ACTIVE: &str = "switchboard_alerts_active";
/// Conversation actors running (conversations in memory; idle ones passivate).
pub const CONVERSATION_ACTORS: &str = "switchboard_conversation_actors";

/// Seconds a Redis call took, by store operation (`conversation_commit`, `config_get`, ...).
pub const STORE_CALL: &str = "switchboard_store_call_seconds";
/// Redis calls that failed, by store operation and error (`unavailable`, `timeout`).
pub const STORE_ERRORS: &str = "switchboard_store_errors_total";

/// HTTP requests by route pattern, method and status class (`2xx` ... `5xx`).
pub const HTTP_REQUESTS: &str = "switchboard_http_requests_total";
/// Seconds an HTTP request took, by route pattern and method (websocket upgrades excluded:
/// their "request" is the whole session).
pub const HTTP_REQUEST_DURATION: &str = "switchboard_http_request_duration_seconds";

/// Seconds from a text entering the outbox to the provider's answer that settled its
/// hand-off, by provider and outcome (`accepted`, `failed`): pacing and retries included.
pub const OUTBOUND_HANDOFF: &str = "switchboard_outbound_handoff_seconds";
/// Seconds from a text entering the outbox to the provider's final report, by provider and
/// outcome (`delivered`, `undelivered`, `failed`).
pub const OUTBOUND_DELIVERY: &str = "switchboard_outbound_delivery_seconds";
/// Whether the store answered its last call (1) or not (0).
pub const STORE_UP: &str = "switchboard_store_up";
/// Seconds from an event being journaled to the feed handing it to websocket sessions.
pub const FEED_LAG: &str = "switchboard_feed_lag_seconds";
/// Events the journal holds (it is capped; resuming reaches back this far).
pub const JOURNAL_EVENTS: &str = "switchboard_journal_events";
/// 1 for each queue, labelled with its team: joins per-queue series to teams in PromQL.
pub const QUEUE_INFO: &str = "switchboard_queue_info";
/// A queue's alert thresholds in seconds, by kind (`unclaimed`, `awaiting_reply`; 0: off).
pub const QUEUE_ALERT_THRESHOLD: &str = "switchboard_queue_alert_threshold_seconds";
/// Conversations an agent closed as their owner.
pub const AGENT_HANDLED: &str = "switchboard_agent_handled_total";
/// Handle time of those conversations, added up, in seconds.
pub const AGENT_HANDLE_SECONDS: &str = "switchboard_agent_handle_seconds_total";
/// An agent's texts that answered the customer's oldest unanswered one.
pub const AGENT_RESPONSES: &str = "switchboard_agent_responses_total";
/// Their response times, added up, in seconds.
pub const AGENT_RESPONSE_SECONDS: &str = "switchboard_agent_response_seconds_total";
/// Offers an agent let expire.
pub const AGENT_MISSED_OFFERS: &str = "switchboard_agent_missed_offers_total";
/// Seconds an agent spent in each presence (counted on each change and every 15 s).
pub const AGENT_PRESENCE_SECONDS: &str = "switchboard_agent_presence_seconds_total";

/// Failed authentications, by kind (`token`: a bearer token nobody issued;
/// `webhook_signature`: a provider webhook no account signed).
pub const AUTH_FAILURES: &str = "switchboard_auth_failures_total";

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

/// Every metric name, for the test that checks dashboards use only these.
pub const ALL: [&str; 42] = [
    AUTH_FAILURES,
    QUEUE_ALERT_THRESHOLD,
    OUTBOUND_HANDOFF,
    OUTBOUND_DELIVERY,
    STORE_UP,
    FEED_LAG,
    JOURNAL_EVENTS,
    QUEUE_INFO,
    AGENT_HANDLED,
    AGENT_HANDLE_SECONDS,
    AGENT_RESPONSES,
    AGENT_RESPONSE_SECONDS,
    AGENT_MISSED_OFFERS,
    AGENT_PRESENCE_SECONDS,
    AGENTS_AWAY,
    TEAM_LOAD,
    TEAM_CAPACITY,
    STORE_CALL,
    STORE_ERRORS,
    ALERTS_ACTIVE,
    CONVERSATION_ACTORS,
    CONVERSATIONS_OPENED,
    CONVERSATIONS_CLOSED,
    CONVERSATIONS_ABANDONED,
    SPEED_OF_ANSWER,
    FIRST_RESPONSE,
    RESPONSE,
    HANDLE,
    DISPOSITIONS,
    QUEUE_WAITING,
    QUEUE_LONGEST_WAIT,
    OFFERS,
    AGENTS,
    OFFER_WAIT,
    ROUTING_DECISION,
    MESSAGES,
    OUTBOUND_SMS,
    OUTBOX_WAITING,
    WS_SESSIONS,
    WS_DROPPED,
    HTTP_REQUESTS,
    HTTP_REQUEST_DURATION,
];

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    /// The families `docs/metrics.md` documents: name → (type, labels).
    fn documented() -> BTreeMap<String, (String, Vec<String>)> {
        let doc = include_str!("../../docs/metrics.md");
        doc.lines()
            .filter(|line| line.starts_with("| `"))
            .map(|line| {
                let cells: Vec<&str> = line.split('|').map(str::trim).collect();
                let name = cells[1].trim_matches('`').to_owned();
                let labels = cells[3]
                    .split(',')
                    .map(|l| l.trim().trim_matches('`').to_owned())
                    .filter(|l| !l.is_empty() && l != "—")
                    .collect();
                (name, (cells[2].to_owned(), labels))
            })
            .collect()
    }

    /// The dashboards and Prometheus rules the project ships, by file name.
    const DASHBOARDS_AND_RULES: [(&str, &str); 5] = [
        (
            "wallboard.json",
            include_str!("../../dashboards/wallboard.json"),
        ),
        ("agents.json", include_str!("../../dashboards/agents.json")),
        (
            "operations.json",
            include_str!("../../dashboards/operations.json"),
        ),
        (
            "prometheus/recording.yml",
            include_str!("../../dashboards/prometheus/recording.yml"),
        ),
        (
            "prometheus/alerts.yml",
            include_str!("../../dashboards/prometheus/alerts.yml"),
        ),
    ];

    /// The names in a PromQL-bearing text: runs of letters, digits, `_` and `:`.
    fn names(text: &str) -> impl Iterator<Item = &str> {
        text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
            .filter(|t| !t.is_empty())
    }

    /// The registry, `docs/metrics.md` and the dashboards and rules name the same families:
    /// every metric a panel or rule reads is exported and documented, every recording rule
    /// one reads is defined, and every documented family is read by a panel or a rule.
    #[test]
    fn dashboards_and_rules_use_exactly_the_documented_families() {
        let documented = documented();
        let recorded: std::collections::BTreeSet<&str> = DASHBOARDS_AND_RULES[3]
            .1
            .lines()
            .filter_map(|l| l.trim().strip_prefix("- record: "))
            .map(str::trim)
            .collect();
        assert!(!recorded.is_empty());
        let mut used = std::collections::BTreeSet::new();
        for (file, text) in DASHBOARDS_AND_RULES {
            for name in names(text) {
                if name.contains(':') {
                    // A recording rule (level:metric:operations).
                    if name.matches(':').count() == 2 && name.contains("switchboard") {
                        assert!(
                            recorded.contains(name),
                            "{file} reads {name}, never recorded"
                        );
                    }
                    continue;
                }
                if !(name.starts_with("switchboard_") || name.starts_with("process_")) {
                    continue;
                }
                let family = ["_bucket", "_sum", "_count"]
                    .iter()
                    .find_map(|suffix| {
                        let base = name.strip_suffix(suffix)?;
                        (documented.get(base)?.0 == "histogram").then_some(base)
                    })
                    .unwrap_or(name);
                assert!(
                    documented.contains_key(family),
                    "{file} reads {name}, which /metrics does not serve"
                );
                used.insert(family.to_owned());
            }
        }
        let unused: Vec<_> = documented.keys().filter(|n| !used.contains(*n)).collect();
        assert!(unused.is_empty(), "no dashboard or rule reads {unused:?}");
    }

    /// Every family on `/metrics` is documented with its type and labels, and every
    /// documented family is on `/metrics` from start-up (before any event).
    #[test]
    fn the_registry_and_docs_metrics_md_agree() {
        let metrics = super::Metrics::new();
        metrics.touch_queue("q1");
        metrics.touch_team(&crate::domain::Team {
            id: crate::domain::TeamId::parse("t1").unwrap(),
            name: crate::domain::Name::parse("name", "T").unwrap(),
            away_reasons: crate::domain::default_away_reasons(),
        });
        // The HTTP families' labels are route patterns, known once a request is counted
        // (the first scrape counts itself).
        metrics
            .http_requests
            .with_label_values(&["/metrics", "GET", "2xx"]);
        metrics
            .http_request_duration
            .with_label_values(&["/metrics", "GET"]);
        // Store operations are known once called.
        metrics.store_call("conversation_commit", std::time::Duration::ZERO, None);
        metrics
            .store_errors
            .with_label_values(&["conversation_commit", "timeout"]);
        metrics.set_queue_team("q1", "t1");
        metrics
            .queue_alert_threshold
            .with_label_values(&["q1", "unclaimed"]);
        metrics.touch_agent("ann");
        metrics
            .outbound_handoff
            .with_label_values(&["simulator", "accepted"]);
        metrics
            .outbound_delivery
            .with_label_values(&["simulator", "delivered"]);
        // Codes are known once recorded.
        metrics.dispositions.with_label_values(&["q1", "sale"]);
        let page = metrics.render();
        let mut served: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
        for family in metrics.registry.gather() {
            let kind = format!("{:?}", family.get_field_type()).to_lowercase();
            let labels = family
                .get_metric()
                .first()
                .map(|m| m.get_label().iter().map(|l| l.name().to_owned()).collect())
                .unwrap_or_default();
            served.insert(family.name().to_owned(), (kind, labels));
        }
        let documented = documented();
        assert_eq!(
            served.keys().collect::<Vec<_>>(),
            documented.keys().collect::<Vec<_>>(),
            "families served vs documented"
        );
        for (name, (kind, labels)) in &documented {
            let (served_kind, served_labels) = &served[name];
            assert_eq!(served_kind, kind, "{name}'s type");
            // A family whose labels no event has filled yet shows none; the ones at zero
            // from start-up show theirs.
            if !served_labels.is_empty() {
                let mut a = served_labels.clone();
                let mut b = labels.clone();
                a.sort();
                b.sort();
                assert_eq!(a, b, "{name}'s labels");
            }
        }
        for name in super::ALL {
            assert!(documented.contains_key(name), "{name} is not documented");
        }
        assert!(page.contains(r#"switchboard_offers_total{outcome="expired",queue="q1"} 0"#));
        assert!(page.contains(r#"switchboard_messages_total{direction="inbound"} 0"#));
    }
}
