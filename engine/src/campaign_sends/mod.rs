//! Bulk sends of a campaign: a list of recipients checked up front ([`recipients`]), then
//! texted one by one at the campaign's rate, each inside its recipient's quiet hours
//! ([`window`]), pausable, resumable and cancellable, exactly once through a crash.
//!
//! What is stored (runtime state, see `docs/decisions/026-campaign-bulk-sends.md`):
//! - the [`SendJob`]: its campaign, template, state and counts (`campaign_send`);
//! - its rows, accepted and refused, written once (`campaign_send_rows`);
//! - each row's outcome once known, in chunks of [`OUTCOME_CHUNK`] rows
//!   (`campaign_send_outcomes`), written at most a second behind the sends.
//!
//! A row's text is committed with the row's own id as its dedupe key, so a send resumed after
//! a crash that re-sends rows whose outcome was not written yet stores nothing new for them:
//! the outcomes may lag, the texts never double.

pub mod recipients;
pub mod window;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::domain::{CampaignId, Name, NumberId, QueueId};
use crate::routing::Millis;
use recipients::{AcceptedRow, RefusedRow};

/// The runtime-state kind a send's job is stored under.
pub const JOB_KIND: &str = "campaign_send";
/// The runtime-state kind a send's rows are stored under.
pub const ROWS_KIND: &str = "campaign_send_rows";
/// The runtime-state kind a send's row outcomes are stored under (`<send>:<chunk>`).
pub const OUTCOMES_KIND: &str = "campaign_send_outcomes";
/// Rows per stored chunk of outcomes.
pub const OUTCOME_CHUNK: u32 = 1000;

/// Where a send stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SendState {
    /// Sending (or waiting for quiet hours to end).
    Running,
    /// Stopped until resumed.
    Paused,
    /// Stopped for good; what was not sent never will be.
    Cancelled,
    /// Every row has its outcome.
    Done,
}

impl SendState {
    /// The state as the API names it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Paused => "paused",
            Self::Cancelled => "cancelled",
            Self::Done => "done",
        }
    }

    /// Whether nothing more will be sent.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Cancelled | Self::Done)
    }
}

/// What happened to one accepted row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum RowOutcome {
    /// Texted (in the outbox; its delivery is the message's own status).
    Sent {
        /// The conversation it went into.
        conversation_id: String,
        /// The thread message (absent when the text was stored before a restart).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message_id: Option<String>,
        /// When.
        at: Millis,
    },
    /// Not sent: the customer opted out after the send was made.
    OptedOut {
        /// When it was due.
        at: Millis,
    },
    /// Not sent: the store or the number refused it.
    Failed {
        /// Why.
        error: String,
        /// When.
        at: Millis,
    },
    /// Not sent: the send was cancelled first.
    Cancelled {
        /// When.
        at: Millis,
    },
}

/// Counts of a send's rows by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// Texted.
    pub sent: u32,
    /// Opted out meanwhile.
    pub opted_out: u32,
    /// Could not be sent.
    pub failed: u32,
    /// Cancelled.
    pub cancelled: u32,
}

impl Progress {
    /// Counts `outcomes`.
    pub fn of<'a>(outcomes: impl IntoIterator<Item = &'a RowOutcome>) -> Self {
        let mut progress = Self::default();
        for outcome in outcomes {
            match outcome {
                RowOutcome::Sent { .. } => progress.sent += 1,
                RowOutcome::OptedOut { .. } => progress.opted_out += 1,
                RowOutcome::Failed { .. } => progress.failed += 1,
                RowOutcome::Cancelled { .. } => progress.cancelled += 1,
            }
        }
        progress
    }

    /// Rows with an outcome.
    pub fn finished(&self) -> u32 {
        self.sent + self.opted_out + self.failed + self.cancelled
    }
}

/// One bulk send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendJob {
    /// Its id, `snd_<ulid>`.
    pub id: String,
    /// Its campaign.
    pub campaign_id: CampaignId,
    /// The campaign's name (its conversations' label).
    pub campaign: Name,
    /// The queue replies are served in.
    pub queue_id: QueueId,
    /// The numbers it texts from (each customer always from the same one).
    pub number_ids: Vec<NumberId>,
    /// The template as given (each row's text is stored filled in).
    pub template: String,
    /// The template resource it came from, if any.
    pub template_id: Option<String>,
    /// Where it stands.
    pub state: SendState,
    /// When it was made.
    pub created_at: Millis,
    /// When it was cancelled or finished.
    pub finished_at: Option<Millis>,
    /// Rows given.
    pub total: u32,
    /// Rows refused up front.
    pub refused: u32,
    /// Rows accepted.
    pub accepted: u32,
    /// Outcomes so far.
    pub progress: Progress,
    /// When the next text may go, when it waits for quiet hours.
    pub next_at: Option<Millis>,
    /// When its last text went (the rate holds across a pause or a restart).
    #[serde(default)]
    pub last_sent_at: Option<Millis>,
}

impl SendJob {
    /// Accepted rows still without an outcome.
    pub fn pending(&self) -> u32 {
        self.accepted.saturating_sub(self.progress.finished())
    }

    /// The `campaign_send.updated` event of its state now.
    pub fn event(&self) -> protocol::event::CampaignSendUpdated {
        protocol::event::CampaignSendUpdated {
            send_id: self.id.clone(),
            campaign_id: self.campaign_id.to_string(),
            queue_id: self.queue_id.to_string(),
            state: self.state.as_str().to_owned(),
            total: self.total,
            refused: self.refused,
            sent: self.progress.sent,
            opted_out: self.progress.opted_out,
            failed: self.progress.failed,
            cancelled: self.progress.cancelled,
            pending: self.pending(),
            next_at: self.next_at.map(protocol::time::from_millis),
        }
    }
}

/// A send's rows, as stored once at its making.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredRows {
    /// Rows to send, in order.
    pub accepted: Vec<AcceptedRow>,
    /// Rows refused, in order.
    pub refused: Vec<RefusedRow>,
}

/// The outcomes of one chunk of rows, by row number.
pub type OutcomeChunk = BTreeMap<u32, RowOutcome>;

/// The chunk holding `row`'s outcome.
pub fn chunk_of(row: u32) -> u32 {
    row / OUTCOME_CHUNK
}

/// The id of a send's chunk of outcomes.
pub fn chunk_id(send: &str, chunk: u32) -> String {
    format!("{send}:{chunk:05}")
}

/// The dedupe key of a row's text: committing it twice stores it once.
pub fn row_key(send: &str, row: u32) -> String {
    format!("campaign:{send}:{row}")
}

/// The number a customer is texted from, among `numbers`: always the same for the same
/// customer (so replies come back to the number that wrote), spread across the numbers.
pub fn number_for<'a>(numbers: &'a [NumberId], customer: &str) -> Option<&'a NumberId> {
    if numbers.is_empty() {
        return None;
    }
    // FNV-1a: stable across processes and releases, unlike the standard hasher.
    let hash = customer.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    numbers.get(usize::try_from(hash % numbers.len() as u64).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_customer_is_always_texted_from_the_same_number() {
        let numbers: Vec<NumberId> = ["n1", "n2", "n3"]
            .iter()
            .map(|n| NumberId::parse(*n).unwrap())
            .collect();
        let first = number_for(&numbers, "+15550001111").unwrap();
        for _ in 0..3 {
            assert_eq!(number_for(&numbers, "+15550001111").unwrap(), first);
        }
        let used: std::collections::BTreeSet<&NumberId> = (0..100)
            .map(|i| number_for(&numbers, &format!("+1555000{i:04}")).unwrap())
            .collect();
        assert_eq!(used.len(), 3, "customers spread over every number");
        assert_eq!(number_for(&[], "+15550001111"), None);
    }

    #[test]
    fn progress_counts_outcomes_and_pending_is_the_rest() {
        let outcomes = [
            RowOutcome::Sent {
                conversation_id: "cv1".into(),
                message_id: None,
                at: 1,
            },
            RowOutcome::OptedOut { at: 2 },
            RowOutcome::Cancelled { at: 3 },
        ];
        let progress = Progress::of(&outcomes);
        assert_eq!(
            (progress.sent, progress.opted_out, progress.cancelled),
            (1, 1, 1)
        );
        assert_eq!(progress.finished(), 3);
        assert_eq!(chunk_id("snd_1", chunk_of(2500)), "snd_1:00002");
    }
}
