//! What the store keeps for conversations: their documents, messages, the event journal and
//! the durable timers.

/// A stored conversation document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationDoc {
    /// Its id.
    pub id: String,
    /// The serialised conversation, opaque to the store.
    pub body: String,
}

/// An event to append to the journal; the store gives it its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// Its type, e.g. `message.received`.
    pub kind: String,
    /// When it happened, milliseconds since the Unix epoch.
    pub at: i64,
    /// Its payload, JSON.
    pub data: String,
}

impl NewEvent {
    /// `event` as the journal keeps it: its type and its data apart.
    pub fn of(event: &::protocol::Event, at: i64) -> Self {
        Self {
            kind: event.kind().to_owned(),
            at,
            data: serde_json::to_string(&event.data()).expect("events serialise"),
        }
    }
}

/// An event as journaled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// Grows by one with every event, across the whole deployment.
    pub id: u64,
    /// Its type.
    pub kind: String,
    /// When it happened.
    pub at: i64,
    /// Its payload, JSON.
    pub data: String,
}

/// A change to a conversation's durable timers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimerChange {
    /// Arm (or move) the timer of this kind to `at`.
    Arm {
        /// The timer's kind, e.g. `public_minutes`.
        kind: String,
        /// When it is due.
        at: i64,
    },
    /// Disarm the timer of this kind, if armed.
    Disarm {
        /// The timer's kind.
        kind: String,
    },
}

/// A due (or armed) timer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueTimer {
    /// The conversation.
    pub conversation: String,
    /// The timer's kind.
    pub kind: String,
    /// When it is due.
    pub at: i64,
}

/// How many routing decisions a conversation's history keeps (the newest).
pub const ROUTING_HISTORY_CAP: usize = 50;

/// One atomic change of a conversation: its new document, optionally a new message (with the
/// provider's id for deduplication), the events it caused, and its timer changes. Either all
/// of it is stored or none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationCommit {
    /// The conversation's id.
    pub id: String,
    /// Its business number and customer, which key its open-conversation index entry.
    pub number_id: String,
    /// The customer's number.
    pub customer: String,
    /// The new document, or `None` when the change leaves it as it is (an offer made or
    /// ended journals an event and counts it, and rewrites nothing): then `closed` is not
    /// looked at and the conversation's indexes stay as they are.
    pub body: Option<String>,
    /// Whether the conversation is closed now (its index entry goes, so the customer's next
    /// text opens a new one).
    pub closed: bool,
    /// A message to append to its thread.
    pub message: Option<String>,
    /// A routing decision to append to its routing history (which keeps the newest
    /// [`ROUTING_HISTORY_CAP`]).
    pub routing: Option<String>,
    /// The provider's id for that message: a second commit with the same id is refused as a
    /// duplicate and changes nothing.
    pub provider_message_id: Option<String>,
    /// The events, journaled in order.
    pub events: Vec<NewEvent>,
    /// Timer changes.
    pub timers: Vec<TimerChange>,
    /// An outbound text to put in the outbox with the message (see [`OutboxItem`]).
    pub outbox: Option<OutboxItem>,
    /// Daily counters to add one to, with the events that they count (see [`CounterBump`]).
    pub counters: Option<CounterBump>,
    /// What the customer's open-conversation index entry must say for the commit to be
    /// stored (see [`OpenGuard`]).
    pub guard: OpenGuard,
}

/// What a commit requires of the open-conversation index entry of its number and customer —
/// checked, with the rest of the commit, in one atomic step. This is how a customer's text
/// reaches its conversation in one round trip: the engine guesses the conversation from
/// memory (or proposes a new id) and the commit itself proves the guess; a wrong guess stores
/// nothing and answers [`CommitOutcome::Taken`] with the right conversation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OpenGuard {
    /// No requirement (every change but a customer's text).
    #[default]
    None,
    /// A new conversation: the customer has no open conversation with the number (or it is
    /// this one). Storing it opens it, so of two processes claiming at once one wins.
    Claim,
    /// The customer's open conversation with the number is this one.
    Holds,
}

impl OpenGuard {
    /// The guard's name in the Redis script's arguments.
    pub(crate) fn as_arg(self) -> &'static str {
        match self {
            Self::None => "",
            Self::Claim => "claim",
            Self::Holds => "holds",
        }
    }

    /// Whether a customer whose open conversation is `holder` passes the guard of a commit
    /// to conversation `id`.
    pub fn admits(self, id: &str, holder: Option<&str>) -> bool {
        match (self, holder) {
            (Self::None, _) | (Self::Claim, None) => true,
            (Self::Claim | Self::Holds, Some(holder)) => holder == id,
            (Self::Holds, None) => false,
        }
    }
}

/// Daily figures counted with the commit that records what they count, so that they survive
/// a restart and never disagree with the journal: each field of the hash for `scope` and `day`
/// grows by one. Kept 40 days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterBump {
    /// Whose figures, e.g. `queue:<queue id>`.
    pub scope: String,
    /// The UTC day, `YYYY-MM-DD`.
    pub day: String,
    /// The fields to add one to (a field named twice grows by two).
    pub fields: Vec<String>,
}

/// An outbound text entering the outbox: its delivery record, stored with the commit that
/// adds the message to the thread, so a send the API acknowledged is never lost. The outbox
/// keeps the order items entered it in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxItem {
    /// The thread message's id.
    pub message_id: String,
    /// Its delivery record (JSON, opaque to the store).
    pub record: String,
}

/// A change to a delivery record, with the events it causes, stored atomically.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryWrite {
    /// The thread message's id.
    pub message_id: String,
    /// The new record.
    pub record: String,
    /// Whether the message has left the outbox for good (handed to the provider, or failed).
    pub settled: bool,
    /// The provider's id for the message, to find it by when the provider reports on it.
    pub provider_message_id: Option<String>,
    /// The events, journaled in order.
    pub events: Vec<NewEvent>,
}

/// What a commit did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommitOutcome {
    /// Stored; the events got these ids.
    Stored {
        /// One id per event, in order.
        event_ids: Vec<u64>,
        /// The catalog's version when it was stored, where the store shares its catalog with
        /// other processes (Redis): a higher one than last seen means another process changed
        /// the configuration.
        catalog_version: Option<u64>,
    },
    /// The provider message id was seen before: nothing was stored. `original` is the
    /// conversation the message was stored in (`None` only for a record from before stores
    /// kept it), which need not be the one this commit was for: a retry may arrive after
    /// that conversation closed.
    Duplicate {
        /// The conversation holding the message.
        original: Option<String>,
    },
    /// The commit's [`OpenGuard`] did not hold: nothing was stored. The customer's open
    /// conversation with the number is `holder` (none when `None`).
    Taken {
        /// The open conversation's id.
        holder: Option<String>,
    },
}
