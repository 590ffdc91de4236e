//! What the generator did and saw, kept for the verdicts: every customer text and whether it
//! was acknowledged, every STOP and START acknowledged, every agent reply acknowledged, every
//! text the provider took. Times are offsets from the run's start.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

/// A customer text sent to Switchboard.
#[derive(Debug, Clone)]
pub struct SentText {
    /// Its `MessageSid` (the provider's id Switchboard deduplicates on).
    pub sid: String,
    /// The customer.
    pub customer: String,
    /// The business number texted.
    pub number: String,
    /// Whether Switchboard acknowledged it (2xx).
    pub acked: bool,
}

/// A compliance keyword Switchboard acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keyword {
    /// `STOP`, noted when acknowledged (the server's promise binds from then), with when it
    /// was sent (a START in flight at the same time may be applied after it).
    Stop {
        /// When it was sent.
        sent: std::time::Duration,
    },
    /// `START`, noted when sent (it may take effect any time from then), with when it was
    /// answered (`None`: never — a timeout, a dropped connection, an error).
    Start {
        /// When its acknowledgement arrived.
        answered: Option<std::time::Duration>,
    },
}

/// An agent's reply Switchboard acknowledged (201).
#[derive(Debug, Clone)]
pub struct SentReply {
    /// The conversation.
    pub conversation_id: String,
    /// The thread entry's id (the delivery's message id).
    pub message_id: String,
    /// The customer.
    pub customer: String,
    /// The business number the conversation is on.
    pub number: String,
    /// The text as the thread has it (with a footer when Switchboard added one).
    pub body: String,
    /// When the agent posted it.
    pub posted: Duration,
    /// When the answer came.
    pub acked: Duration,
}

/// A send the provider received.
#[derive(Debug, Clone)]
pub struct Receipt {
    /// `To`.
    pub to: String,
    /// `From`.
    pub from: String,
    /// `Body`.
    pub body: String,
    /// When it arrived.
    pub at: Duration,
    /// What the provider answered.
    pub answered: u16,
}

/// Everything kept.
#[derive(Default)]
pub struct Records {
    /// Customer texts, in send order.
    pub texts: Mutex<Vec<SentText>>,
    /// Keywords acknowledged, per customer, in order.
    pub keywords: Mutex<BTreeMap<String, Vec<(Keyword, Duration)>>>,
    /// Agent replies acknowledged.
    pub replies: Mutex<Vec<SentReply>>,
    /// Provider receipts, in arrival order.
    pub receipts: Mutex<Vec<Receipt>>,
    /// Outbound texts Switchboard failed because the customer opted out (message ids).
    pub opted_out_failures: Mutex<Vec<String>>,
    /// Each customer text's intended send time, by SID (noted before it leaves).
    pub intended: Mutex<std::collections::HashMap<String, std::time::Instant>>,
}

impl Records {
    /// Notes a text as sent (acknowledged or not).
    pub fn text(&self, text: SentText) {
        if let Ok(mut texts) = self.texts.lock() {
            texts.push(text);
        }
    }

    /// Notes an acknowledged keyword.
    pub fn keyword(&self, customer: &str, keyword: Keyword, at: Duration) {
        if let Ok(mut keywords) = self.keywords.lock() {
            keywords
                .entry(customer.to_owned())
                .or_default()
                .push((keyword, at));
        }
    }

    /// Notes an acknowledged reply.
    pub fn reply(&self, reply: SentReply) {
        if let Ok(mut replies) = self.replies.lock() {
            replies.push(reply);
        }
    }

    /// Notes a provider receipt.
    pub fn receipt(&self, receipt: Receipt) {
        if let Ok(mut receipts) = self.receipts.lock() {
            receipts.push(receipt);
        }
    }
}
