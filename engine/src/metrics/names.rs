//! Every metric's name, one constant each, with what it counts: the one list the registry,
//! `docs/metrics.md`, the dashboards and the rules are held to.

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
