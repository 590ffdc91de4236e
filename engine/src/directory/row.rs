//! A conversation's row in the directory, and the [`Summary`] a list hands out for it.
//!
//! Rows are kept compact because the directory holds every conversation a contact center
//! ever had, and closed ones outnumber open ones by far: a row keeps only what lists show
//! and filter on, values repeated across rows (queues, campaigns, agents, disposition codes)
//! as indexes into the directory's [`Symbols`], the customer's number as an integer and an
//! absent time as a sentinel — 120 bytes plus the id's and the preview's text, where the
//! whole conversation took about 1.3 KB (BENCHMARKS.md, "compact directory").

use std::borrow::Borrow;
use std::hash::{Hash, Hasher};

use crate::conversation::{AlertKind, Conversation, ConversationStatus, Direction, LastMessage};
use crate::domain::{AgentId, ConversationId, Name, PhoneNumber, QueueId, Slug};
use crate::fast_hash::FastMap;
use crate::routing::Millis;

/// A time that is not there (no close yet, not waiting, no message).
const NONE: Millis = Millis::MIN;
/// An owner that is not there.
const NOBODY: u32 = u32::MAX;

const PUBLIC: u8 = 1;
const UNCLAIMED: u8 = 1 << 1;
const AWAITING_REPLY: u8 = 1 << 2;
const HAS_MESSAGE: u8 = 1 << 3;
const OUTBOUND: u8 = 1 << 4;

/// One conversation as the directory keeps it.
#[derive(Debug)]
pub(super) struct Row {
    pub(super) id: ConversationId,
    /// The newest message's first characters (empty when there is none).
    preview: Box<str>,
    /// Subscribers' agent symbols, then disposition code symbols.
    people_then_codes: Box<[u32]>,
    /// [`PhoneNumber::e164_digits`].
    pub(super) customer: u64,
    created_at: Millis,
    closed_at: Millis,
    waiting_since: Millis,
    message_at: Millis,
    pub(super) unread: u32,
    pub(super) campaign: u32,
    pub(super) queue: u32,
    pub(super) owner: u32,
    /// How many of `people_then_codes` are subscribers.
    subscribers: u16,
    pub(super) status: ConversationStatus,
    flags: u8,
}

impl Row {
    /// The row of `c`, adding its values to `symbols`.
    pub(super) fn of(c: &Conversation, symbols: &mut Symbols) -> Self {
        let mut people_then_codes: Vec<u32> = c
            .subscribers()
            .iter()
            .map(|a| symbols.agents.intern(a))
            .collect();
        let subscribers = u16::try_from(people_then_codes.len()).unwrap_or(u16::MAX);
        people_then_codes.truncate(usize::from(subscribers));
        for d in c.dispositions() {
            let code = symbols.codes.intern(&d.code);
            if !people_then_codes[usize::from(subscribers)..].contains(&code) {
                people_then_codes.push(code);
            }
        }
        let mut flags = 0;
        if c.public() {
            flags |= PUBLIC;
        }
        for alert in c.alerts() {
            flags |= match alert {
                AlertKind::Unclaimed => UNCLAIMED,
                AlertKind::AwaitingReply => AWAITING_REPLY,
            };
        }
        let (preview, message_at) = match c.last_message() {
            Some(m) => {
                flags |= HAS_MESSAGE;
                if m.direction == Direction::Outbound {
                    flags |= OUTBOUND;
                }
                (m.preview.as_str().into(), m.at)
            }
            None => (Box::default(), NONE),
        };
        Self {
            id: c.id().clone(),
            preview,
            people_then_codes: people_then_codes.into_boxed_slice(),
            customer: c.customer().e164_digits(),
            created_at: c.created_at(),
            closed_at: c.closed_at().unwrap_or(NONE),
            waiting_since: c.waiting_since().unwrap_or(NONE),
            message_at,
            unread: c.unread(),
            campaign: symbols.campaigns.intern(c.campaign()),
            queue: symbols.queues.intern(c.queue_id()),
            owner: c
                .owner()
                .as_ref()
                .map_or(NOBODY, |a| symbols.agents.intern(a)),
            subscribers,
            status: c.status(),
            flags,
        }
    }

    /// When anything last happened, as [`Conversation::activity_at`] computes it.
    pub(super) fn activity_at(&self) -> Millis {
        let message = if self.message_at == NONE {
            0
        } else {
            self.message_at
        };
        message.max(self.created_at).max(self.closed_at.max(0))
    }

    /// When it opened.
    pub(super) fn created_at(&self) -> Millis {
        self.created_at
    }

    /// Whether it was open at some moment of `from..=to`: opened by `to`, and not closed
    /// before `from`.
    pub(super) fn alive_in(&self, from: Millis, to: Millis) -> bool {
        self.created_at <= to && (self.closed_at == NONE || self.closed_at >= from)
    }

    pub(super) fn is_open(&self) -> bool {
        self.status != ConversationStatus::Closed
    }

    pub(super) fn is_waiting(&self) -> bool {
        self.waiting_since != NONE
    }

    pub(super) fn has_owner(&self) -> bool {
        self.owner != NOBODY
    }

    /// Whether `agent` (a symbol) owns or subscribes to it.
    pub(super) fn involves(&self, agent: u32) -> bool {
        self.owner == agent || self.subscriber_symbols().contains(&agent)
    }

    pub(super) fn carries(&self, code: u32) -> bool {
        self.people_then_codes[usize::from(self.subscribers)..].contains(&code)
    }

    pub(super) fn preview(&self) -> Option<&str> {
        (self.flags & HAS_MESSAGE != 0).then_some(&*self.preview)
    }

    /// The owner's symbol (when there is one), then the subscribers'.
    pub(super) fn people(&self) -> impl Iterator<Item = u32> + '_ {
        self.has_owner()
            .then_some(self.owner)
            .into_iter()
            .chain(self.subscriber_symbols().iter().copied())
    }

    fn subscriber_symbols(&self) -> &[u32] {
        &self.people_then_codes[..usize::from(self.subscribers)]
    }

    /// The row spelled out for callers.
    pub(super) fn summary(&self, symbols: &Symbols) -> Summary {
        let time = |t: Millis| (t != NONE).then_some(t);
        let mut alerts = Vec::new();
        if self.flags & UNCLAIMED != 0 {
            alerts.push(AlertKind::Unclaimed);
        }
        if self.flags & AWAITING_REPLY != 0 {
            alerts.push(AlertKind::AwaitingReply);
        }
        Summary {
            id: self.id.clone(),
            customer: PhoneNumber::from_e164_digits(self.customer),
            campaign: symbols.campaigns.get(self.campaign).clone(),
            queue_id: symbols.queues.get(self.queue).clone(),
            status: self.status,
            owner: self
                .has_owner()
                .then(|| symbols.agents.get(self.owner).clone()),
            subscribers: self
                .subscriber_symbols()
                .iter()
                .map(|&a| symbols.agents.get(a).clone())
                .collect(),
            public: self.flags & PUBLIC != 0,
            last_message: self.preview().map(|preview| LastMessage {
                direction: if self.flags & OUTBOUND != 0 {
                    Direction::Outbound
                } else {
                    Direction::Inbound
                },
                preview: preview.to_owned(),
                at: self.message_at,
            }),
            unread: self.unread,
            alerts,
            dispositions: self.people_then_codes[usize::from(self.subscribers)..]
                .iter()
                .map(|&c| symbols.codes.get(c).clone())
                .collect(),
            waiting_since: time(self.waiting_since),
            created_at: self.created_at,
            closed_at: time(self.closed_at),
        }
    }
}

/// A row in the directory's set, found by its id's text.
#[derive(Debug)]
pub(super) struct Slot(pub(super) Box<Row>);

impl Borrow<str> for Slot {
    fn borrow(&self) -> &str {
        self.0.id.as_str()
    }
}

impl Hash for Slot {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.id.as_str().hash(state);
    }
}

impl PartialEq for Slot {
    fn eq(&self, other: &Self) -> bool {
        self.0.id == other.0.id
    }
}

impl Eq for Slot {}

/// A conversation as lists show it: what its directory row holds, spelled out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Its id.
    pub id: ConversationId,
    /// The customer's number.
    pub customer: PhoneNumber,
    /// The campaign it opened under.
    pub campaign: Name,
    /// The queue serving it.
    pub queue_id: QueueId,
    /// Where it is.
    pub status: ConversationStatus,
    /// Its owner.
    pub owner: Option<AgentId>,
    /// Agents who replied or owned it before.
    pub subscribers: Vec<AgentId>,
    /// Owned but back in the queue after public minutes.
    pub public: bool,
    /// The newest customer or agent message.
    pub last_message: Option<LastMessage>,
    /// Customer messages no agent has read.
    pub unread: u32,
    /// Alerts raised and not cleared.
    pub alerts: Vec<AlertKind>,
    /// The disposition codes recorded, each once.
    pub dispositions: Vec<Slug>,
    /// When the customer's oldest unanswered message arrived.
    pub waiting_since: Option<Millis>,
    /// When it opened.
    pub created_at: Millis,
    /// When it closed.
    pub closed_at: Option<Millis>,
}

impl Summary {
    /// When anything last happened (the lists' order).
    pub fn activity_at(&self) -> Millis {
        let message = self.last_message.as_ref().map_or(0, |m| m.at);
        message
            .max(self.created_at)
            .max(self.closed_at.unwrap_or(0))
    }
}

/// The values rows share, each kept once and named by its index.
#[derive(Debug, Default)]
pub(super) struct Symbols {
    pub(super) queues: Interner<QueueId>,
    pub(super) agents: Interner<AgentId>,
    pub(super) campaigns: Interner<Name>,
    pub(super) codes: Interner<Slug>,
}

/// One kind of shared value. Values are never dropped: there are as many as a contact
/// center has queues, agents, campaigns and codes, however many conversations name them.
#[derive(Debug)]
pub(super) struct Interner<T> {
    values: Vec<T>,
    index: FastMap<T, u32>,
}

impl<T> Default for Interner<T> {
    fn default() -> Self {
        Self {
            values: Vec::new(),
            index: FastMap::default(),
        }
    }
}

impl<T: Clone + Eq + Hash> Interner<T> {
    /// The symbol of `value`, added when new.
    pub(super) fn intern(&mut self, value: &T) -> u32 {
        if let Some(&symbol) = self.index.get(value) {
            return symbol;
        }
        let symbol = u32::try_from(self.values.len()).expect("fewer than 2^32 distinct values");
        self.values.push(value.clone());
        self.index.insert(value.clone(), symbol);
        symbol
    }

    /// The symbol of `value`, when some row has named it.
    pub(super) fn find(&self, value: &T) -> Option<u32> {
        self.index.get(value).copied()
    }

    /// The value of `symbol` (one this interner gave out).
    pub(super) fn get(&self, symbol: u32) -> &T {
        &self.values[symbol as usize]
    }

    /// Every value with its symbol.
    pub(super) fn iter(&self) -> impl Iterator<Item = (u32, &T)> {
        (0u32..).zip(&self.values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The layout the memory figure in BENCHMARKS.md rests on: a row is 120 bytes (the
    /// allocator's 128-byte class) before its id's and preview's text.
    #[test]
    fn a_row_stays_compact() {
        assert!(
            std::mem::size_of::<Row>() <= 120,
            "{}",
            std::mem::size_of::<Row>()
        );
        assert_eq!(std::mem::size_of::<Slot>(), 8);
    }
}
