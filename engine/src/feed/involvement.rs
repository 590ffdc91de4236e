//! Who works on a conversation — its owner and its subscribers — as the feed reads each of
//! its events, so that a desktop following only its own work (`?follow=own`) receives the
//! events of the conversations it owns or follows and no others.
//!
//! The conversation directory says who is involved *now*; the event being read may be the
//! one that changed it (a supervisor gives the conversation to someone else), and the
//! directory may be updated just before or just after the feed reads it. So an event's
//! involved agents are those known at the conversation's previous event together with those
//! the directory (and the event itself) name now: the agent a conversation was taken from
//! still receives the event that took it.

use std::collections::HashMap;
use std::sync::Mutex;

use ::protocol::Event;
use ::protocol::event::Update;

use crate::directory::Directory;
use crate::domain::{AgentId, ConversationId};

/// Conversations remembered before the memory starts over (then only the directory answers
/// until each conversation's next event).
const REMEMBERED_CAP: usize = 1_000_000;

/// The tracker. One per feed.
#[derive(Debug, Default)]
pub struct Involvement {
    directory: Option<Directory>,
    /// The agents involved at each open conversation's latest event.
    last_known: Mutex<HashMap<String, Vec<AgentId>>>,
}

impl Involvement {
    /// A tracker asking `directory` who works on each conversation.
    pub fn with_directory(directory: Directory) -> Self {
        Self {
            directory: Some(directory),
            last_known: Mutex::default(),
        }
    }

    /// The agents involved in `event`'s conversation before or after it (none for an event
    /// about no conversation), remembering who is involved after it.
    pub fn of(&self, event: &Event) -> Vec<AgentId> {
        self.read(event, true)
    }

    /// [`Involvement::of`] for an event read again from the journal (a desktop resuming from
    /// further back than the feed's memory): who is involved now, remembering nothing.
    pub fn of_replayed(&self, event: &Event) -> Vec<AgentId> {
        self.read(event, false)
    }

    fn read(&self, event: &Event, live: bool) -> Vec<AgentId> {
        let Some(conversation) = event.conversation_id() else {
            return Vec::new();
        };
        let Ok(mut last_known) = self.last_known.lock() else {
            return Vec::new();
        };
        let before = last_known.get(conversation).cloned().unwrap_or_default();
        // The directory's row when it has one; else what the events said so far.
        let mut now = self
            .in_directory(conversation)
            .unwrap_or_else(|| before.clone());
        match event {
            Event::ConversationAssigned(e) => add(&mut now, &e.agent_id),
            Event::ConversationUpdated(e) => {
                if let Update::Subscription {
                    agent_id,
                    subscribed,
                    ..
                } = &e.change
                {
                    if *subscribed {
                        add(&mut now, agent_id);
                    } else {
                        now.retain(|agent| agent.as_str() != agent_id);
                    }
                }
            }
            _ => {}
        }
        if !live {
            return now;
        }
        if matches!(event, Event::ConversationClosed(_)) {
            last_known.remove(conversation);
        } else {
            if last_known.len() >= REMEMBERED_CAP {
                last_known.clear();
            }
            last_known.insert(conversation.to_owned(), now.clone());
        }
        let mut involved = now;
        for agent in before {
            if !involved.contains(&agent) {
                involved.push(agent);
            }
        }
        involved
    }

    /// Who the directory says works on the conversation, when it has its row.
    fn in_directory(&self, conversation: &str) -> Option<Vec<AgentId>> {
        let id = ConversationId::parse(conversation).ok()?;
        self.directory.as_ref()?.involved(&id)
    }
}

fn add(agents: &mut Vec<AgentId>, agent: &str) {
    if let Ok(agent) = AgentId::parse(agent)
        && !agents.contains(&agent)
    {
        agents.push(agent);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(kind: &str, data: serde_json::Value) -> Event {
        Event::from_value(kind, data).unwrap()
    }
    fn assigned(conversation: &str, agent: &str) -> Event {
        event(
            "conversation.assigned",
            json!({"conversation_id": conversation, "queue_id": "q", "agent_id": agent,
                   "offer_id": "of_1"}),
        )
    }
    fn received(conversation: &str) -> Event {
        event(
            "message.received",
            json!({"conversation_id": conversation, "queue_id": "q", "owner": null, "message": {
                "id": "m1", "direction": "inbound", "body": "hi", "media_urls": [],
                "at": "2026-12-01T10:00:00.000Z", "segments": 1, "encoding": "gsm7"}}),
        )
    }
    fn names(agents: Vec<AgentId>) -> Vec<String> {
        let mut names: Vec<String> = agents.iter().map(ToString::to_string).collect();
        names.sort();
        names
    }

    #[test]
    fn an_assignment_involves_the_new_owner_and_the_one_it_was_taken_from() {
        let tracker = Involvement::default();
        assert!(tracker.of(&received("c1")).is_empty());
        assert_eq!(names(tracker.of(&assigned("c1", "ann"))), ["ann"]);
        assert_eq!(names(tracker.of(&received("c1"))), ["ann"]);
        // Given to bob: ann still receives the event that took it from her. Without a
        // directory, what the events said is all the tracker knows: it cannot tell the owner
        // from a subscriber, so ann stays (a directory's row would say she left).
        assert_eq!(names(tracker.of(&assigned("c1", "bob"))), ["ann", "bob"]);
        assert_eq!(names(tracker.of(&received("c1"))), ["ann", "bob"]);
        // Replays remember nothing.
        assert_eq!(
            names(tracker.of_replayed(&assigned("c1", "cat"))),
            ["ann", "bob", "cat"]
        );
        assert_eq!(names(tracker.of(&received("c1"))), ["ann", "bob"]);
    }

    #[test]
    fn the_directory_says_who_works_on_it_now_and_the_events_who_did_before() {
        use crate::conversation::{Conversation, Opening};
        use crate::domain::{Name, NumberId, PhoneNumber, QueueId};
        let id = "cv_01jd8x4k6m2n3p4q5r6s7t8v9w";
        let owned_by = |agent: &str| {
            let (mut row, _) = Conversation::open(
                Opening {
                    id: ConversationId::parse(id).unwrap(),
                    customer: PhoneNumber::parse("phone", "+15550001111").unwrap(),
                    number_id: NumberId::parse("n1").unwrap(),
                    campaign: Name::parse("campaign", "Spring").unwrap(),
                    queue_id: QueueId::parse("q").unwrap(),
                    priority: 0,
                    public_minutes: 20,
                    required_skills: Vec::new(),
                },
                1_000,
            );
            row.assign(&AgentId::parse(agent).unwrap()).unwrap();
            row
        };
        let directory = Directory::new();
        let tracker = Involvement::with_directory(directory.clone());
        directory.upsert(&owned_by("ann"));
        assert_eq!(names(tracker.of(&received(id))), ["ann"]);
        // The directory has moved on to bob before the feed reads the event that moved it.
        directory.upsert(&owned_by("bob"));
        assert_eq!(names(tracker.of(&assigned(id, "bob"))), ["ann", "bob"]);
        // From then on only bob: the directory knows ann left.
        assert_eq!(names(tracker.of(&received(id))), ["bob"]);
    }

    #[test]
    fn closing_forgets_the_conversation_after_its_last_event() {
        let tracker = Involvement::default();
        tracker.of(&assigned("c1", "ann"));
        let closed = event(
            "conversation.closed",
            json!({"conversation_id": "c1", "queue_id": "q", "by": "agent", "agent_id": "ann"}),
        );
        assert_eq!(names(tracker.of(&closed)), ["ann"]);
        assert!(tracker.last_known.lock().unwrap().is_empty());
    }

    #[test]
    fn events_about_no_conversation_involve_nobody() {
        let tracker = Involvement::default();
        let presence = event(
            "agent.updated",
            json!({"agent_id": "ann", "presence": "away", "logins": [], "reason": null}),
        );
        assert!(tracker.of(&presence).is_empty());
    }
}
