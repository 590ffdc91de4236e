//! An outbound text's delivery record: where it is on its way to the customer (in the
//! outbox, being handed over, accepted by the provider, sent, delivered or not), how often it
//! was tried, and what went wrong. Statuses only ever move forward: providers report out of
//! order, and a late `sent` must not hide a `delivered`.

use serde::{Deserialize, Serialize};

use crate::domain::{ConversationId, NumberId, PhoneNumber};
use crate::routing::Millis;

/// Where an outbound text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Durable in Switchboard, waiting for its turn (or for a retry).
    Outbox,
    /// Being handed to the provider now.
    Sending,
    /// The provider accepted it.
    Queued,
    /// The provider passed it to the carrier: one checkmark.
    Sent,
    /// The carrier delivered it: two checkmarks.
    Delivered,
    /// The carrier could not deliver it.
    Undelivered,
    /// It never left: refused by the provider, opted out, or out of retries.
    Failed,
}

impl DeliveryStatus {
    /// How far along the way it is; a report may only raise it.
    pub fn rank(self) -> u8 {
        match self {
            Self::Outbox => 0,
            Self::Sending => 1,
            Self::Queued => 2,
            Self::Sent => 3,
            Self::Delivered | Self::Undelivered | Self::Failed => 4,
        }
    }

    /// This status, or `floor` when that is further along.
    pub fn at_least(self, floor: Self) -> Self {
        if self.rank() < floor.rank() {
            floor
        } else {
            self
        }
    }

    /// Whether nothing more will happen to it.
    pub fn is_final(self) -> bool {
        self.rank() == 4
    }

    /// The status a Twilio `MessageStatus` stands for (`None` for inbound ones).
    pub fn from_twilio(status: &str) -> Option<Self> {
        Some(match status {
            "accepted" | "scheduled" | "queued" | "sending" => Self::Queued,
            "sent" => Self::Sent,
            "delivered" | "read" => Self::Delivered,
            "undelivered" => Self::Undelivered,
            "failed" | "canceled" => Self::Failed,
            _ => return None,
        })
    }

    /// Its wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Outbox => "outbox",
            Self::Sending => "sending",
            Self::Queued => "queued",
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Undelivered => "undelivered",
            Self::Failed => "failed",
        }
    }
}

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

    /// The fields a thread entry shows of it.
    pub fn summary(&self) -> serde_json::Value {
        serde_json::json!({
            "status": self.status,
            "attempts": self.attempts,
            "provider": self.provider,
            "provider_message_id": self.provider_message_id,
            "error_code": self.error_code,
            "error_message": self.error_message,
            "status_at": self.updated_at,
        })
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

    #[test]
    fn twilio_statuses_map() {
        assert_eq!(DeliveryStatus::from_twilio("queued"), Some(Queued));
        assert_eq!(DeliveryStatus::from_twilio("sent"), Some(Sent));
        assert_eq!(DeliveryStatus::from_twilio("delivered"), Some(Delivered));
        assert_eq!(
            DeliveryStatus::from_twilio("undelivered"),
            Some(Undelivered)
        );
        assert_eq!(DeliveryStatus::from_twilio("failed"), Some(Failed));
        assert_eq!(DeliveryStatus::from_twilio("received"), None);
    }
}
