//! The observer: one admin websocket that sees every event of the run's queues and agents, in
//! journal order, and checks as they come what must never happen — a conversation offered to
//! two agents at once or owned by two, an agent over its capacity — and, at the end, that
//! every conversation customers opened was offered (or closed by compliance first). A gap in
//! what it saw makes those verdicts incomplete, which is itself a failure.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use protocol::ServerFrame;
use protocol::event::{Assignment, Event, Update};
use protocol::frame::FrameBody;
use tokio_tungstenite::tungstenite::Message;

use crate::measure::Measures;
use crate::offer_clock::OfferClock;
use crate::records::Records;
use crate::verdict::Violation;
use protocol::vocabulary::DeliveryStatus;

#[derive(Default)]
struct Conversation {
    queue: String,
    pending_offer: Option<(String, String)>,
    owner: Option<String>,
    offered: bool,
    opened_by_customer: bool,
    closed: bool,
}

/// What the observer has seen.
#[derive(Default)]
pub struct Observed {
    conversations: HashMap<String, Conversation>,
    load: HashMap<String, HashSet<String>>,
    /// What must never happen, as it happened.
    pub violations: Vec<Violation>,
    /// Events seen.
    pub events: u64,
    /// Message ids Switchboard failed because the customer had opted out.
    pub opted_out_failures: HashSet<String>,
}

/// The observer's checks, fed one event at a time (pure: tested without a server).
pub struct Checks {
    queues: HashSet<String>,
    agents: HashSet<String>,
    capacity: usize,
    /// What was seen.
    pub seen: Observed,
}

impl Checks {
    /// Checks for the run's queues and agents.
    pub fn new(queues: &[String], agents: &[String], capacity: u32) -> Self {
        Self {
            queues: queues.iter().cloned().collect(),
            agents: agents.iter().cloned().collect(),
            capacity: capacity as usize,
            seen: Observed::default(),
        }
    }

    fn ours(&self, event: &Event) -> bool {
        match event.queue_id() {
            Some(queue) => self.queues.contains(queue),
            None => event.agents().iter().any(|a| self.agents.contains(*a)),
        }
    }

    fn violation(&mut self, check: &'static str, detail: String) {
        self.seen.violations.push(Violation {
            check: check.into(),
            detail,
        });
    }

    fn release(&mut self, conversation: &str) {
        let owner = self
            .seen
            .conversations
            .get_mut(conversation)
            .and_then(|c| c.owner.take());
        if let Some(owner) = owner
            && let Some(load) = self.seen.load.get_mut(&owner)
        {
            load.remove(conversation);
        }
    }

    /// Takes the next event (journal order).
    pub fn event(&mut self, id: u64, event: &Event) {
        if !self.ours(event) {
            return;
        }
        self.seen.events += 1;
        let Some(conversation) = event.conversation_id().map(str::to_owned) else {
            return;
        };
        let c = self
            .seen
            .conversations
            .entry(conversation.clone())
            .or_default();
        if let Some(queue) = event.queue_id() {
            c.queue = queue.to_owned();
        }
        match event {
            Event::ConversationCreated(created) => c.opened_by_customer = !created.outbound,
            Event::OfferCreated(offer) => {
                c.offered = true;
                let previous = c
                    .pending_offer
                    .replace((offer.offer_id.clone(), offer.agent_id.clone()));
                if let Some((other, agent)) = previous {
                    self.violation(
                        "offered_twice_at_once",
                        format!("event {id}: {conversation} offered to {} ({}) while still offered to {agent} ({other})", offer.agent_id, offer.offer_id),
                    );
                }
            }
            Event::OfferRejected(ended) | Event::OfferExpired(ended)
                if c.pending_offer
                    .as_ref()
                    .is_some_and(|(o, _)| *o == ended.offer_id) =>
            {
                c.pending_offer = None;
            }
            Event::OfferRescinded(ended)
                if c.pending_offer
                    .as_ref()
                    .is_some_and(|(o, _)| *o == ended.offer_id) =>
            {
                c.pending_offer = None;
            }
            Event::ConversationAssigned(assigned) => {
                if let Assignment::Offer { offer_id } = &assigned.how
                    && c.pending_offer.as_ref().is_some_and(|(o, _)| o == offer_id)
                {
                    c.pending_offer = None;
                }
                let previous = c.owner.replace(assigned.agent_id.clone());
                if let Some(previous) = previous.filter(|p| *p != assigned.agent_id) {
                    self.violation(
                        "owned_by_two",
                        format!(
                            "event {id}: {conversation} assigned to {} while {previous} owned it",
                            assigned.agent_id
                        ),
                    );
                    if let Some(load) = self.seen.load.get_mut(&previous) {
                        load.remove(&conversation);
                    }
                }
                let load = self.seen.load.entry(assigned.agent_id.clone()).or_default();
                load.insert(conversation.clone());
                if load.len() > self.capacity {
                    let detail = format!(
                        "event {id}: {} owns {} conversations, capacity {}",
                        assigned.agent_id,
                        load.len(),
                        self.capacity
                    );
                    self.violation("over_capacity", detail);
                }
            }
            Event::ConversationUpdated(updated) => match &updated.change {
                Update::Transferred { transferred } if transferred.to.queue_id.is_some() => {
                    self.release(&conversation);
                }
                Update::Snoozed { .. } | Update::Woken { .. } => self.release(&conversation),
                _ => {}
            },
            Event::ConversationClosed(_) => {
                c.closed = true;
                c.pending_offer = None;
                self.release(&conversation);
            }
            Event::MessageStatus(status)
                if status.error_code.as_deref() == Some("recipient_opted_out") =>
            {
                self.seen
                    .opted_out_failures
                    .insert(status.message_id.clone());
            }
            _ => {}
        }
    }

    /// The conversations customers opened that were never offered nor closed (by an
    /// opt-out) before they could be, with their queues, in id order. Whether that is a fault
    /// depends on whether an agent was free meanwhile: see [`crate::run`].
    pub fn never_offered(&self) -> Vec<(String, String)> {
        let mut never: Vec<(String, String)> = self
            .seen
            .conversations
            .iter()
            .filter(|(_, c)| c.opened_by_customer && !c.offered && !c.closed)
            .map(|(id, c)| (id.clone(), c.queue.clone()))
            .collect();
        never.sort();
        never
    }
}

/// What the observer keeps for the rest of the run besides its checks.
pub struct Sinks {
    /// Text → first offer: the observer gives the opening side.
    pub offers: Arc<OfferClock>,
    /// The customers' texts' intended send times.
    pub records: Arc<Records>,
    /// Outbound texts whose hand-off is over.
    pub settled: Arc<Mutex<HashSet<String>>>,
}

impl Sinks {
    fn event(&self, event: &Event, measures: &Measures) {
        match event {
            Event::MessageReceived(received) => {
                let sid = received.message.provider_message_id.as_deref();
                let sid = sid.map(|id| id.trim_start_matches("twilio:"));
                let due = sid.and_then(|sid| {
                    self.records
                        .intended
                        .lock()
                        .ok()
                        .and_then(|i| i.get(sid).copied())
                });
                if let Some(due) = due {
                    self.offers.opened(&received.conversation_id, due, measures);
                }
            }
            Event::MessageStatus(status)
                if status.status.rank() >= DeliveryStatus::Queued.rank() =>
            {
                if let Ok(mut settled) = self.settled.lock() {
                    settled.insert(status.message_id.clone());
                }
            }
            _ => {}
        }
    }
}

/// Follows the admin websocket until `stop`, feeding `checks` and `sinks`.
pub async fn observe(
    target: String,
    admin_token: String,
    checks: Arc<Mutex<Checks>>,
    sinks: Sinks,
    measures: Arc<Measures>,
    mut stop: tokio::sync::watch::Receiver<bool>,
    ready: tokio::sync::oneshot::Sender<()>,
) {
    let mut last: Option<u64> = None;
    let mut ready = Some(ready);
    loop {
        let url = format!(
            "{}/v1/ws?token={admin_token}{}",
            target.replacen("http", "ws", 1),
            last.map(|id| format!("&after={id}")).unwrap_or_default()
        );
        let Ok((socket, _)) = tokio_tungstenite::connect_async_with_config(&url, None, true).await
        else {
            measures.count("errors.observer.connect", 1);
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            continue;
        };
        let (_sink, mut stream) = socket.split();
        loop {
            let message = tokio::select! {
                m = stream.next() => m,
                _ = stop.changed() => return,
            };
            let Some(Ok(Message::Text(text))) = message else {
                if matches!(message, Some(Ok(_))) {
                    continue;
                }
                measures.count("observer.reconnects", 1);
                break;
            };
            let Ok(frame) = ServerFrame::parse(&text) else {
                measures.count("errors.observer.frame_outside_contract", 1);
                continue;
            };
            match frame.body {
                FrameBody::Hello(hello) => {
                    last.get_or_insert(hello.last_event_id);
                    if let Some(ready) = ready.take() {
                        let _ = ready.send(());
                    }
                }
                FrameBody::ResumeGap(gap) => {
                    if let Ok(mut checks) = checks.lock() {
                        checks.violation(
                            "observer_missed_events",
                            format!("events {}..={} were gone before the observer read them: verdicts are incomplete", gap.missed_from, gap.missed_to),
                        );
                    }
                }
                FrameBody::Event(event) => {
                    if let Some(id) = frame.id {
                        last = Some(id);
                        if let Ok(mut checks) = checks.lock() {
                            checks.event(id, &event);
                        }
                        sinks.event(&event, &measures);
                    }
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: &str, data: serde_json::Value) -> Event {
        Event::from_value(kind, data).unwrap()
    }

    fn offer(conversation: &str, offer: &str, agent: &str) -> Event {
        event(
            "offer.created",
            serde_json::json!({"offer_id": offer, "conversation_id": conversation,
            "queue_id": "q", "agent_id": agent, "expires_at": "2026-12-01T10:00:00.000Z"}),
        )
    }

    fn assigned(conversation: &str, offer: &str, agent: &str) -> Event {
        event(
            "conversation.assigned",
            serde_json::json!({"conversation_id": conversation,
            "queue_id": "q", "agent_id": agent, "offer_id": offer}),
        )
    }

    #[test]
    fn catches_double_offers_double_owners_and_overload() {
        let mut checks = Checks::new(&["q".into()], &["ann".into(), "bob".into()], 1);
        checks.event(1, &offer("c1", "o1", "ann"));
        checks.event(2, &offer("c1", "o2", "bob"));
        checks.event(3, &assigned("c1", "o1", "ann"));
        checks.event(4, &assigned("c1", "o2", "bob"));
        checks.event(5, &assigned("c2", "o3", "bob"));
        let found: Vec<&str> = checks
            .seen
            .violations
            .iter()
            .map(|v| v.check.as_str())
            .collect();
        assert_eq!(
            found,
            ["offered_twice_at_once", "owned_by_two", "over_capacity"]
        );
    }

    #[test]
    fn a_clean_life_passes_and_an_unoffered_conversation_fails() {
        let mut checks = Checks::new(&["q".into()], &["ann".into()], 1);
        let created = |c: &str| {
            event(
                "conversation.created",
                serde_json::json!({"conversation_id": c,
            "queue_id": "q", "number_id": "n", "campaign": "x"}),
            )
        };
        checks.event(1, &created("c1"));
        checks.event(2, &offer("c1", "o1", "ann"));
        checks.event(3, &assigned("c1", "o1", "ann"));
        checks.event(
            4,
            &event(
                "conversation.closed",
                serde_json::json!({"conversation_id": "c1", "queue_id": "q", "agent_id": "ann"}),
            ),
        );
        checks.event(5, &offer("c9", "o9", "ann"));
        checks.event(6, &assigned("c9", "o9", "ann"));
        checks.event(7, &created("c2"));
        checks.event(
            8,
            &event(
                "conversation.created",
                serde_json::json!({"conversation_id": "c3",
            "queue_id": "not-ours", "number_id": "n", "campaign": "x"}),
            ),
        );
        assert!(checks.seen.violations.is_empty());
        assert_eq!(checks.never_offered(), [("c2".to_owned(), "q".to_owned())]);
    }
}
