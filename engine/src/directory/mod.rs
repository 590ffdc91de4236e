//! The conversation directory: every conversation, open and closed, kept in memory for the
//! lists desktops show (the Message Center's views, filters and search) and for contacts'
//! histories.
//!
//! It is a read model: the conversation actors are the writers and replace a conversation's
//! row after every commit; a restart reloads it from the store. A row is a compact copy of
//! what lists show ([`row`]), so a million closed conversations fit in a few hundred
//! megabytes. Lists are answered by a scan of the rows with every filter turned into integer
//! comparisons first — a contact center holds thousands to a million conversations, which
//! scan in milliseconds (see BENCHMARKS.md); per-view indexes can come when that stops being
//! true.

mod filter;
mod row;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use crate::conversation::Conversation;
use crate::domain::{AgentId, ConversationId, PhoneNumber, QueueId};
use crate::routing::Millis;
use filter::{Filter, queue_symbols};
pub use row::Summary;
use row::{Row, Slot, Symbols};

/// Which conversations a list shows (the Message Center's filters); `?view=` on the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = ViewName)]
pub enum View {
    /// Not closed (the default).
    #[default]
    Open,
    /// The customer waits for an answer.
    Waiting,
    /// Open with no owner.
    Unassigned,
    /// Owned by the caller.
    Mine,
    /// Closed.
    Closed,
    /// Everything.
    All,
}

/// Where a page ends: the activity time and id of its last row. Lists run newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// The row's [`Conversation::activity_at`].
    pub at: Millis,
    /// The row's id.
    pub id: ConversationId,
}

impl Position {
    /// The cursor text: `<at>.<id>`.
    pub fn encode(&self) -> String {
        format!("{}.{}", self.at, self.id)
    }

    /// Reads a cursor text; `None` when it is not one.
    pub fn decode(text: &str) -> Option<Self> {
        let (at, id) = text.split_once('.')?;
        Some(Self {
            at: at.parse().ok()?,
            id: ConversationId::parse(id).ok()?,
        })
    }
}

/// A list request.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// Which conversations.
    pub view: View,
    /// The caller, for [`View::Mine`].
    pub me: Option<AgentId>,
    /// Only these queues (the caller's teams'); `None` for all.
    pub visible_queues: Option<HashSet<QueueId>>,
    /// One queue.
    pub queue: Option<QueueId>,
    /// One campaign (case-insensitive).
    pub campaign: Option<String>,
    /// Handled by this agent: its owner or a subscriber.
    pub agent: Option<AgentId>,
    /// Carrying this disposition code.
    pub tag: Option<String>,
    /// With (`true`) or without (`false`) unread customer messages.
    pub unread: Option<bool>,
    /// Active at or after (ms).
    pub from: Option<Millis>,
    /// Active before (ms).
    pub to: Option<Millis>,
    /// Text to find (case-insensitive) in the customer's number, contact name, campaign or
    /// last message.
    pub q: Option<String>,
    /// One customer.
    pub customer: Option<PhoneNumber>,
    /// Continue after this row.
    pub after: Option<Position>,
    /// Rows per page.
    pub limit: usize,
}

/// A page of rows, newest activity first.
#[derive(Debug, Clone)]
pub struct Page {
    /// The rows.
    pub items: Vec<Summary>,
    /// Where the next page starts, when there is one.
    pub next: Option<Position>,
}

/// The rows and the values they share.
#[derive(Debug, Default)]
struct Table {
    rows: HashSet<Slot, foldhash::fast::RandomState>,
    symbols: Symbols,
}

/// Which conversations of a window [`Directory::select`] picks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    /// Opened in it (reports).
    Opened,
    /// Open at some moment of it (statistics: anything that happened in it).
    Alive,
}

/// Whose conversations [`Directory::select`] picks.
#[derive(Debug, Clone, Copy)]
pub enum Involving<'a> {
    /// Those of these queues.
    Queues(&'a HashSet<QueueId>),
    /// Those the agent owns or owned, or replied to.
    Agent(&'a AgentId),
}

/// The directory. Cloning shares it.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    table: Arc<RwLock<Table>>,
    contact_names: Arc<RwLock<HashMap<String, String>>>,
    /// Whether every stored conversation has its row. After a restart the open ones are
    /// there once routing is back; the closed ones load after, while the server already
    /// routes.
    complete: Arc<AtomicBool>,
}

impl Directory {
    /// An empty directory.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether every stored conversation has its row (open ones always do).
    pub fn is_complete(&self) -> bool {
        self.complete.load(Ordering::Acquire)
    }

    /// Records that every stored conversation has its row.
    pub(crate) fn mark_complete(&self) {
        self.complete.store(true, Ordering::Release);
    }

    /// Whether the answer to `view` may lack conversations while closed ones still load.
    pub fn needs_complete(view: View) -> bool {
        matches!(view, View::Closed | View::All)
    }

    /// Replaces a conversation's row.
    pub fn upsert(&self, conversation: &Conversation) {
        if let Ok(mut table) = self.table.write() {
            let row = Row::of(conversation, &mut table.symbols);
            table.rows.replace(Slot(Box::new(row)));
        }
    }

    /// Whether it has a row for conversation `id` (as the store spells it).
    pub fn contains(&self, id: &str) -> bool {
        self.table.read().is_ok_and(|t| t.rows.contains(id))
    }

    /// A conversation's row.
    pub fn get(&self, id: &ConversationId) -> Option<Summary> {
        let table = self.table.read().ok()?;
        let slot = table.rows.get(id.as_str())?;
        Some(slot.0.summary(&table.symbols))
    }

    /// The queue serving conversation `id`.
    pub fn queue_of(&self, id: &ConversationId) -> Option<QueueId> {
        let table = self.table.read().ok()?;
        let slot = table.rows.get(id.as_str())?;
        Some(table.symbols.queues.get(slot.0.queue).clone())
    }

    /// Who works on conversation `id`: its owner, then its subscribers.
    pub fn involved(&self, id: &ConversationId) -> Option<Vec<AgentId>> {
        let table = self.table.read().ok()?;
        let slot = table.rows.get(id.as_str())?;
        Some(
            slot.0
                .people()
                .map(|a| table.symbols.agents.get(a).clone())
                .collect(),
        )
    }

    /// Adds a conversation read from the store unless its row is there already (a row
    /// written by its actor meanwhile is newer).
    pub fn load(&self, conversation: &Conversation) {
        if let Ok(mut table) = self.table.write()
            && !table.rows.contains(conversation.id().as_str())
        {
            let row = Row::of(conversation, &mut table.symbols);
            table.rows.insert(Slot(Box::new(row)));
        }
    }

    /// Sets (or, with `None`, clears) the name searched for a customer's number.
    pub fn set_contact_name(&self, phone: &str, name: Option<&str>) {
        if let Ok(mut names) = self.contact_names.write() {
            match name {
                Some(name) => names.insert(phone.to_owned(), name.to_lowercase()),
                None => names.remove(phone),
            };
        }
    }

    /// How many conversations it holds.
    pub fn len(&self) -> usize {
        self.table.read().map_or(0, |t| t.rows.len())
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `customer` has any conversation in `visible_queues` (`None`: any queue).
    pub fn customer_seen_in(
        &self,
        customer: &PhoneNumber,
        visible_queues: Option<&HashSet<QueueId>>,
    ) -> bool {
        let Ok(table) = self.table.read() else {
            return false;
        };
        let digits = customer.e164_digits();
        let queues = visible_queues.map(|v| queue_symbols(&table.symbols, v));
        table.rows.iter().any(|Slot(row)| {
            row.customer == digits && queues.as_ref().is_none_or(|q| q.contains(&row.queue))
        })
    }

    /// How many open conversations of `queues` are in each status now (queued ones include
    /// those being offered).
    pub fn open_by_status(
        &self,
        queues: &HashSet<QueueId>,
    ) -> HashMap<crate::conversation::ConversationStatus, u64> {
        let mut counts = HashMap::new();
        let Ok(table) = self.table.read() else {
            return counts;
        };
        let queues = queue_symbols(&table.symbols, queues);
        for Slot(row) in &table.rows {
            if row.is_open() && queues.contains(&row.queue) {
                *counts.entry(row.status).or_default() += 1;
            }
        }
        counts
    }

    /// The conversations of `scope` that `span` picks in `from..=to`, oldest first (ties by
    /// id), with when each opened: what window statistics and reports read from the store.
    /// Call it once the directory [`is_complete`](Self::is_complete), or closed
    /// conversations are missing.
    pub fn select(
        &self,
        scope: &Involving<'_>,
        span: Span,
        from: Millis,
        to: Millis,
    ) -> Vec<(Millis, ConversationId)> {
        let Ok(table) = self.table.read() else {
            return Vec::new();
        };
        let queues = match scope {
            Involving::Queues(queues) => Some(queue_symbols(&table.symbols, queues)),
            _ => None,
        };
        let agent = match scope {
            Involving::Agent(agent) => match table.symbols.agents.find(agent) {
                Some(agent) => Some(agent),
                None => return Vec::new(),
            },
            _ => None,
        };
        let mut out: Vec<(Millis, ConversationId)> = table
            .rows
            .iter()
            .filter(|Slot(row)| {
                let in_span = match span {
                    Span::Opened => (from..=to).contains(&row.created_at()),
                    Span::Alive => row.alive_in(from, to),
                };
                in_span
                    && queues.as_ref().is_none_or(|q| q.contains(&row.queue))
                    && agent.is_none_or(|a| row.involves(a))
            })
            .map(|Slot(row)| (row.created_at(), row.id.clone()))
            .collect();
        out.sort_unstable_by(|a, b| (a.0, a.1.as_str()).cmp(&(b.0, b.1.as_str())));
        out
    }

    /// A page of the conversations `query` selects.
    pub fn list(&self, query: &ListQuery) -> Page {
        let limit = query.limit.max(1);
        let (Ok(table), Ok(names)) = (self.table.read(), self.contact_names.read()) else {
            return Page {
                items: Vec::new(),
                next: None,
            };
        };
        let Some(filter) = Filter::of(query, &table.symbols, &names) else {
            // It names a queue, agent or code no conversation has: nothing matches.
            return Page {
                items: Vec::new(),
                next: None,
            };
        };
        // Only the newest `limit + 1` matches are needed (one more tells whether a page
        // follows): a bounded heap keeps them in O(n log limit) instead of sorting every match.
        let mut newest: BinaryHeap<Reverse<Ranked>> = BinaryHeap::with_capacity(limit + 2);
        for Slot(row) in &table.rows {
            let at = row.activity_at();
            if let Some(p) = &query.after
                && (at, &row.id) >= (p.at, &p.id)
            {
                continue;
            }
            if newest.len() > limit
                && newest
                    .peek()
                    .is_some_and(|Reverse(lowest)| (at, &row.id) <= (lowest.0, &lowest.1.id))
            {
                continue;
            }
            if !filter.matches(row, at) {
                continue;
            }
            newest.push(Reverse(Ranked(at, row)));
            if newest.len() > limit + 1 {
                newest.pop();
            }
        }
        let mut hits: Vec<Ranked> = newest.into_iter().map(|Reverse(r)| r).collect();
        hits.sort_unstable_by(|a, b| b.cmp(a));
        let next = (hits.len() > limit).then(|| {
            let last = &hits[limit - 1];
            Position {
                at: last.0,
                id: last.1.id.clone(),
            }
        });
        hits.truncate(limit);
        Page {
            items: hits
                .into_iter()
                .map(|r| r.1.summary(&table.symbols))
                .collect(),
            next,
        }
    }
}

/// A row with its place in the list: activity time, then id.
struct Ranked<'a>(Millis, &'a Row);

impl PartialEq for Ranked<'_> {
    fn eq(&self, other: &Self) -> bool {
        (self.0, &self.1.id) == (other.0, &other.1.id)
    }
}

impl Eq for Ranked<'_> {}

impl PartialOrd for Ranked<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Ranked<'_> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.0, &self.1.id).cmp(&(other.0, &other.1.id))
    }
}

#[cfg(test)]
mod tests {
    use super::filter::e164_text;
    use super::*;
    use crate::conversation::{Direction, DispositionEntry, Opening};
    use crate::domain::{Name, NumberId, Slug};

    fn conversation(id: &str, customer: &str, queue: &str, at: Millis) -> Conversation {
        let (mut c, _) = Conversation::open(
            Opening {
                id: ConversationId::parse(id).unwrap(),
                customer: PhoneNumber::parse("phone", customer).unwrap(),
                number_id: NumberId::parse("n1").unwrap(),
                campaign: Name::parse("campaign", "Spring").unwrap(),
                queue_id: QueueId::parse(queue).unwrap(),
                priority: 0,
                public_minutes: 20,
                required_skills: Vec::new(),
            },
            at,
        );
        c.record_message(Direction::Inbound, "Where is my order?", at);
        c
    }

    fn ids(page: &Page) -> Vec<&str> {
        page.items.iter().map(|c| c.id.as_str()).collect()
    }

    fn query(view: View) -> ListQuery {
        ListQuery {
            view,
            limit: 50,
            ..ListQuery::default()
        }
    }

    /// c1 waiting in q1 (oldest), c2 owned by ann in q1 and answered, c3 closed in q2 with a
    /// disposition, c4 waiting in q2 (newest).
    fn floor() -> Directory {
        let d = Directory::new();
        let ann = AgentId::parse("ann").unwrap();
        d.upsert(&conversation("cv_1", "+15550000001", "q1", 1_000));
        let mut c2 = conversation("cv_2", "+15550000002", "q1", 2_000);
        c2.assign(&ann).unwrap();
        c2.agent_reply(&ann, 2_500).unwrap();
        c2.record_message(Direction::Outbound, "On it", 2_500);
        d.upsert(&c2);
        let mut c3 = conversation("cv_3", "+15550000003", "q2", 3_000);
        c3.assign(&ann).unwrap();
        c3.add_disposition(DispositionEntry {
            code: Slug::parse("code", "sale").unwrap(),
            note: None,
            agent: ann.clone(),
            at: 3_100,
        })
        .unwrap();
        c3.complete(&ann, false, 3_200).unwrap();
        d.upsert(&c3);
        d.upsert(&conversation("cv_4", "+15550000004", "q2", 4_000));
        d
    }

    #[test]
    fn views_select_like_the_message_center() {
        let d = floor();
        let mut mine = query(View::Mine);
        mine.me = Some(AgentId::parse("ann").unwrap());
        let cases = [
            (query(View::Open), vec!["cv_4", "cv_2", "cv_1"]),
            (query(View::Waiting), vec!["cv_4", "cv_1"]),
            (query(View::Unassigned), vec!["cv_4", "cv_1"]),
            (mine, vec!["cv_2"]),
            (query(View::Mine), vec![]),
            (query(View::Closed), vec!["cv_3"]),
            (query(View::All), vec!["cv_4", "cv_3", "cv_2", "cv_1"]),
        ];
        for (q, expected) in cases {
            assert_eq!(ids(&d.list(&q)), expected, "{:?}", q.view);
        }
    }

    #[test]
    fn filters_narrow_the_view() {
        let d = floor();
        let with = |f: &dyn Fn(&mut ListQuery)| {
            let mut q = query(View::All);
            f(&mut q);
            ids(&d.list(&q))
                .into_iter()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            with(&|q| q.queue = Some(QueueId::parse("q2").unwrap())),
            ["cv_4", "cv_3"]
        );
        assert_eq!(
            with(&|q| q.visible_queues = Some([QueueId::parse("q1").unwrap()].into())),
            ["cv_2", "cv_1"]
        );
        assert_eq!(
            with(&|q| q.agent = Some(AgentId::parse("ann").unwrap())),
            ["cv_3", "cv_2"]
        );
        assert_eq!(with(&|q| q.tag = Some("sale".into())), ["cv_3"]);
        assert_eq!(with(&|q| q.unread = Some(false)), ["cv_2"]);
        assert_eq!(with(&|q| q.unread = Some(true)).len(), 3);
        assert_eq!(with(&|q| q.from = Some(2_500)), ["cv_4", "cv_3", "cv_2"]);
        assert_eq!(with(&|q| q.to = Some(2_500)), ["cv_1"]);
        assert_eq!(with(&|q| q.campaign = Some("spring".into())).len(), 4);
        assert_eq!(with(&|q| q.campaign = Some("Fall".into())).len(), 0);
        assert_eq!(with(&|q| q.q = Some("0000003".into())), ["cv_3"]);
        assert_eq!(with(&|q| q.q = Some("ON IT".into())), ["cv_2"]);
        d.set_contact_name("+15550000001", Some("Maria Lopez"));
        assert_eq!(with(&|q| q.q = Some("maria".into())), ["cv_1"]);
        assert_eq!(
            with(&|q| q.customer = Some(PhoneNumber::parse("phone", "+15550000004").unwrap())),
            ["cv_4"]
        );
    }

    #[test]
    fn pages_follow_each_other_without_gaps_or_repeats() {
        let d = floor();
        let mut q = query(View::All);
        q.limit = 3;
        let first = d.list(&q);
        assert_eq!(ids(&first), ["cv_4", "cv_3", "cv_2"]);
        let next = first.next.expect("more");
        assert_eq!(Position::decode(&next.encode()), Some(next.clone()));
        q.after = Some(next);
        let second = d.list(&q);
        assert_eq!(ids(&second), ["cv_1"]);
        assert!(second.next.is_none());
        assert!(Position::decode("x").is_none());
        assert!(Position::decode("12.").is_none());
    }

    #[test]
    fn a_summary_spells_out_what_the_conversation_holds() {
        let ann = AgentId::parse("ann").unwrap();
        let mut c = conversation("cv_9", "+447700900123", "q1", 1_000);
        c.assign(&ann).unwrap();
        c.agent_reply(&ann, 1_500).unwrap();
        c.record_message(Direction::Outbound, "Sorted — anything else?", 1_500);
        for code in ["sale", "sale", "upsell"] {
            c.add_disposition(DispositionEntry {
                code: Slug::parse("code", code).unwrap(),
                note: Some("a note the list never shows".into()),
                agent: ann.clone(),
                at: 1_600,
            })
            .unwrap();
        }
        c.complete(&ann, false, 1_700).unwrap();
        let d = Directory::new();
        d.upsert(&c);
        let s = d.get(c.id()).unwrap();
        assert_eq!(s.id, *c.id());
        assert_eq!(s.customer, *c.customer());
        assert_eq!(s.campaign, *c.campaign());
        assert_eq!(s.queue_id, *c.queue_id());
        assert_eq!(s.status, c.status());
        assert_eq!(s.owner, *c.owner());
        assert_eq!(
            s.subscribers,
            c.subscribers().iter().cloned().collect::<Vec<_>>()
        );
        assert_eq!(s.public, c.public());
        assert_eq!(s.last_message, *c.last_message());
        assert_eq!(s.unread, c.unread());
        assert_eq!(s.alerts, c.alerts().iter().copied().collect::<Vec<_>>());
        assert_eq!(
            s.dispositions.iter().map(Slug::as_str).collect::<Vec<_>>(),
            ["sale", "upsell"]
        );
        assert_eq!(s.waiting_since, c.waiting_since());
        assert_eq!(s.created_at, c.created_at());
        assert_eq!(s.closed_at, c.closed_at());
        assert_eq!(s.activity_at(), c.activity_at());
        let open = conversation("cv_8", "+15550000001", "q1", 2_000);
        d.upsert(&open);
        let s = d.get(open.id()).unwrap();
        assert_eq!(
            (s.waiting_since, s.closed_at, s.owner),
            (Some(2_000), None, None)
        );
    }

    #[test]
    fn names_no_row_has_select_nothing() {
        let d = floor();
        let mut q = query(View::All);
        q.queue = Some(QueueId::parse("q9").unwrap());
        assert!(d.list(&q).items.is_empty());
        let mut q = query(View::All);
        q.agent = Some(AgentId::parse("zed").unwrap());
        assert!(d.list(&q).items.is_empty());
        let mut q = query(View::Mine);
        q.me = Some(AgentId::parse("zed").unwrap());
        assert!(d.list(&q).items.is_empty());
        let mut q = query(View::All);
        q.tag = Some("nope".into());
        assert!(d.list(&q).items.is_empty());
    }

    #[test]
    fn customer_digits_print_as_e164() {
        let mut buffer = [0u8; 16];
        assert_eq!(e164_text(15550000001, &mut buffer), "+15550000001");
        assert_eq!(
            e164_text(999_999_999_999_999, &mut buffer),
            "+999999999999999"
        );
        assert_eq!(e164_text(1234567, &mut buffer), "+1234567");
    }

    #[test]
    fn a_newer_version_replaces_the_row() {
        let d = floor();
        let mut c1 = conversation("cv_1", "+15550000001", "q1", 1_000);
        c1.record_message(Direction::Inbound, "hello again", 5_000);
        d.upsert(&c1);
        assert_eq!(d.len(), 4);
        assert_eq!(ids(&d.list(&query(View::Open)))[0], "cv_1");
        assert_eq!(d.list(&query(View::Open)).items[0].unread, 2);
    }

    proptest::proptest! {
        /// Paging with any page size walks exactly the matching rows, newest activity first,
        /// as sorting them all would.
        #[test]
        fn pages_equal_a_full_sort(
            times in proptest::collection::vec(0i64..50, 1..60),
            limit in 1usize..7,
        ) {
            let d = Directory::new();
            for (i, at) in times.iter().enumerate() {
                d.upsert(&conversation(&format!("cv_{i:03}"), "+15550000001", "q1", *at));
            }
            let mut expected: Vec<(Millis, String)> = times
                .iter()
                .enumerate()
                .map(|(i, at)| (*at, format!("cv_{i:03}")))
                .collect();
            expected.sort_by(|a, b| b.cmp(a));
            let mut walked = Vec::new();
            let mut q = query(View::All);
            q.limit = limit;
            loop {
                let page = d.list(&q);
                proptest::prop_assert!(page.items.len() <= limit);
                walked.extend(page.items.iter().map(|c| (c.activity_at(), c.id.to_string())));
                match page.next {
                    Some(next) => q.after = Some(next),
                    None => break,
                }
            }
            proptest::prop_assert_eq!(walked, expected);
        }
    }
}
