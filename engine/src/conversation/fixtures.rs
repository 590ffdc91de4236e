//! What the conversation tests open conversations with.

use super::Opening;
use crate::domain::{ConversationId, Name, NumberId, PhoneNumber, QueueId};

/// A customer's first text to number `n1`, served by queue `q1`, with `public_minutes`.
pub fn opening(public_minutes: u32) -> Opening {
    Opening {
        id: ConversationId::parse("cv1").unwrap(),
        customer: PhoneNumber::parse("from", "+15550001111").unwrap(),
        number_id: NumberId::parse("n1").unwrap(),
        campaign: Name::parse("campaign", "Spring").unwrap(),
        queue_id: QueueId::parse("q1").unwrap(),
        priority: 0,
        public_minutes,
        required_skills: Vec::new(),
    }
}

/// A conversation opened by [`opening`] at time 1,000, waiting in `q1`.
pub fn opened() -> super::Conversation {
    super::Conversation::open(opening(20), 1_000).0
}
