//! An outbound text's delivery record: where it is on its way to the customer (in the
//! outbox, being handed over, accepted by the provider, sent, delivered or not), how often it
//! was tried, and what went wrong. Statuses only ever move forward: providers report out of
//! order, and a late `sent` must not hide a `delivered`.

use serde::{Deserialize, Serialize};

use crate::domain::{ConversationId, NumberId, PhoneNumber};
use crate::routing::Millis;

pub use ::protocol::vocabulary::DeliveryStatus;

/// One outbound text's delivery record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// The thread message's id.
    pub message_id: String,
    /// Its conversation.
    pub conversation_id: ConversationId,
    /// The business number it leaves from.
    pub number_id: NumberId,
    /// The customer.
    pub to: PhoneNumber,
    /// The text as the customer gets it (footer included).
    pub body: String,
    /// MMS media.
    #[serde(default)]
    pub media_urls: Vec<String>,
    /// Its segments: what the number's send rate is spent in.
    pub segments: u32,
    /// Where it is.
    pub status: DeliveryStatus,
    /// Hand-offs tried so far.
    #[serde(default)]
    pub attempts: u32,
    /// Not to be tried again before (ms since the epoch; 0: now).
    #[serde(default)]
    pub retry_at: Millis,
    /// When it was last handed to the provider (what a lookup after a lost answer searches
    /// from).
    #[serde(default)]
    pub handed_off_at: Millis,
    /// The provider that carries it (`twilio`, `simulator`).
    #[serde(default)]
    pub provider: Option<String>,
    /// The provider's id for it.
    #[serde(default)]
    pub provider_message_id: Option<String>,
    /// The provider's (or Switchboard's) error code, when it went wrong.
    #[serde(default)]
    pub error_code: Option<String>,
    /// What went wrong, for people.
    #[serde(default)]
    pub error_message: Option<String>,
    /// When it entered the outbox.
    pub created_at: Millis,
    /// When the status last changed.
    pub updated_at: Millis,
}

/// What a new text is: its message, conversation, sender and recipient, and content.
#[derive(Debug, Clone)]
pub struct NewText {
    /// The thread message's id.
    pub message_id: String,
    /// Its conversation.
    pub conversation_id: ConversationId,
    /// The business number it leaves from.
    pub number_id: NumberId,
    /// The customer.
    pub to: PhoneNumber,
    /// The text as the customer gets it.
    pub body: String,
    /// MMS media.
    pub media_urls: Vec<String>,
    /// Its segments.
    pub segments: u32,
}

impl Delivery {
    /// A text entering the outbox at `at`: not tried yet.
    pub fn new(text: NewText, at: Millis) -> Self {
        Self {
            message_id: text.message_id,
            conversation_id: text.conversation_id,
            number_id: text.number_id,
            to: text.to,
            body: text.body,
            media_urls: text.media_urls,
            segments: text.segments,
            status: DeliveryStatus::Outbox,
            attempts: 0,
            retry_at: 0,
            handed_off_at: 0,
            provider: None,
            provider_message_id: None,
            error_code: None,
            error_message: None,
            created_at: at,
            updated_at: at,
        }
    }

    /// Takes a provider's report: `true` when it moved the status forward (anything else is
    /// a late or repeated report and changes nothing).
    pub fn report(
        &mut self,
        status: DeliveryStatus,
        error_code: Option<String>,
        at: Millis,
    ) -> bool {
        if status.rank() <= self.status.rank() {
            return false;
        }
        self.status = status;
        if error_code.is_some() {
            self.error_code = error_code;
        }
        self.updated_at = at;
        true
    }

    /// Gives up on it: it never reaches the provider.
    pub fn fail(&mut self, code: &str, message: impl Into<String>, at: Millis) {
        self.status = DeliveryStatus::Failed;
        self.error_code = Some(code.to_owned());
        self.error_message = Some(message.into());
        self.updated_at = at;
    }

    /// Shows its progress on its thread entry.
    pub fn show_on(&self, entry: &mut ::protocol::thread::OutboundMessage) {
        entry.status = self.status;
        entry.attempts = Some(self.attempts);
        entry.provider = self.provider.clone();
        entry.provider_message_id = self.provider_message_id.clone();
        entry.error_code = self.error_code.clone();
        entry.error_message = self.error_message.clone();
        entry.status_at = Some(::protocol::time::from_millis(self.updated_at));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DeliveryStatus::*;

    fn delivery(status: DeliveryStatus) -> Delivery {
        let text = NewText {
            message_id: "m1".into(),
            conversation_id: ConversationId::generate(),
            number_id: NumberId::parse("n1").unwrap(),
            to: PhoneNumber::parse("to", "+15550001111").unwrap(),
            body: "hi".into(),
            media_urls: Vec::new(),
            segments: 1,
        };
        Delivery {
            status,
            ..Delivery::new(text, 0)
        }
    }

    #[test]
    fn reports_only_move_forward() {
        let all = [
            Outbox,
            Sending,
            Queued,
            Sent,
            Delivered,
            Undelivered,
            Failed,
        ];
        for from in all {
            for to in all {
                let mut d = delivery(from);
                let moved = d.report(to, None, 5);
                assert_eq!(moved, to.rank() > from.rank(), "{from:?} -> {to:?}");
                assert_eq!(d.status, if moved { to } else { from });
            }
        }
    }

    #[test]
    fn a_late_sent_never_hides_delivered() {
        let mut d = delivery(Queued);
        assert!(d.report(Delivered, None, 2));
        assert!(!d.report(Sent, None, 3));
        assert!(!d.report(Undelivered, Some("30003".into()), 4));
        assert_eq!(d.status, Delivered);
        assert_eq!(d.error_code, None);
        assert_eq!(d.updated_at, 2);
    }
}
