//! What a conversation needs of the agent who takes it, and its moves between queues as it
//! waits: skills set at opening (by its number and the keywords of its first text) or later
//! by an agent or supervisor, and overflow to another queue when its queue's escalation says
//! so. The rest of its life is in `state`.

use std::sync::Arc;

use super::state::{Conversation, ConversationError, ConversationStatus, Followup};
use crate::domain::QueueId;
use crate::domain::skills::{SkillRequirement, to_requirement};
use crate::routing::skills::Needs;

impl Conversation {
    /// The skills it needs of its own (its queue adds its own).
    pub fn required_skills(&self) -> &[SkillRequirement] {
        &self.required_skills
    }

    /// What it brings to a queue besides its place: its skills, and the queues it must not
    /// overflow to.
    pub fn needs(&self) -> Needs {
        Needs {
            skills: to_requirement(&self.required_skills),
            no_overflow_to: Arc::from(self.no_overflow_to.as_slice()),
        }
    }

    /// Replaces the skills it needs. A waiting one takes its new place in its queue at once
    /// (keeping its waiting since).
    pub fn set_required_skills(
        &mut self,
        skills: Vec<SkillRequirement>,
    ) -> Result<Vec<Followup>, ConversationError> {
        if !self.is_open() {
            return Err(ConversationError::Closed);
        }
        self.required_skills = skills;
        Ok(self.requeue_in_place())
    }

    /// Its queue's overflow step came: a conversation waiting in `from` moves to `to`,
    /// keeping its waiting since; it never overflows back to `from` before it has an owner
    /// again. An owned one (public, waiting for a colleague) stays with its queue and never
    /// overflows to `to`. Anything else (claimed, moved or closed meanwhile) is left alone.
    /// Returns whether it moved, and what follows.
    pub fn overflow(&mut self, from: &QueueId, to: &QueueId) -> (bool, Vec<Followup>) {
        if self.queue_id != *from || !self.is_open() {
            return (false, Vec::new());
        }
        match (self.status, self.waiting_since) {
            (ConversationStatus::Queued, Some(since)) => {
                self.no_overflow_to.push(from.clone());
                self.queue_id = to.clone();
                (
                    true,
                    vec![Followup::Enqueue {
                        queue: to.clone(),
                        waiting_since: since,
                    }],
                )
            }
            _ => (false, self.stay_instead_of_overflow(to)),
        }
    }

    /// It stays in its queue instead of overflowing to `to`, and never overflows there
    /// before it has an owner again.
    pub fn stay_instead_of_overflow(&mut self, to: &QueueId) -> Vec<Followup> {
        if !self.no_overflow_to.contains(to) {
            self.no_overflow_to.push(to.clone());
        }
        self.requeue_in_place()
    }

    /// Puts a waiting conversation (queued, or public) back in its queue with its place.
    fn requeue_in_place(&self) -> Vec<Followup> {
        let waiting = self.status == ConversationStatus::Queued || self.public();
        match (waiting, self.waiting_since()) {
            (true, Some(since)) => vec![Followup::Enqueue {
                queue: self.queue_id.clone(),
                waiting_since: since,
            }],
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversation::fixtures::opened;
    use crate::domain::{SkillLevel, Slug};

    fn q(name: &str) -> QueueId {
        QueueId::parse(name).unwrap()
    }

    #[test]
    fn a_waiting_conversation_overflows_once_and_never_back() {
        let mut c = opened();
        let from = c.queue_id().clone();
        let (moved, out) = c.overflow(&from, &q("general"));
        assert!(moved);
        assert_eq!(c.queue_id(), &q("general"));
        assert!(matches!(&out[..], [Followup::Enqueue { queue, .. }] if *queue == q("general")));
        assert_eq!(&*c.needs().no_overflow_to, std::slice::from_ref(&from));
        // A late overflow from the queue it left is ignored.
        assert_eq!(c.overflow(&from, &q("other")), (false, Vec::new()));
    }

    #[test]
    fn new_skills_put_a_waiting_conversation_back_in_its_place() {
        let mut c = opened();
        let out = c
            .set_required_skills(vec![SkillRequirement {
                skill: Slug::parse("skill", "spanish").unwrap(),
                min_level: SkillLevel::new(2).unwrap(),
            }])
            .unwrap();
        assert!(matches!(&out[..], [Followup::Enqueue { .. }]));
        assert_eq!(c.needs().skills.to_string(), "spanish>=2");
    }
}
