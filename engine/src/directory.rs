//! The conversation directory: every conversation, open and closed, kept in memory for the
//! lists desktops show (the Message Center's views, filters and search) and for contacts'
//! histories.
//!
//! It is a read model: the conversation actors are the writers and replace a conversation's
//! row after every commit; a restart reloads it from the store. Lists are answered by a scan
//! of the rows — the filters are cheap and a contact center holds thousands to hundreds of
//! thousands of conversations, which scan in milliseconds (see BENCHMARKS.md); per-view
//! indexes can come when that stops being true.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::sync::{Arc, RwLock};

use crate::conversation::{Conversation, ConversationStatus};
use crate::domain::{AgentId, ConversationId, PhoneNumber, QueueId};
use crate::fast_hash::FastMap;
use crate::routing::Millis;

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
    pub items: Vec<Arc<Conversation>>,
    /// Where the next page starts, when there is one.
    pub next: Option<Position>,
}

/// The directory. Cloning shares it.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    rows: Arc<RwLock<FastMap<ConversationId, Arc<Conversation>>>>,
    contact_names: Arc<RwLock<HashMap<String, String>>>,
}

impl Directory {
    /// An empty directory.
    pub fn new() -> Self {
        Self::default()
    }

    /// Replaces a conversation's row.
    pub fn upsert(&self, conversation: &Conversation) {
        if let Ok(mut rows) = self.rows.write() {
            rows.insert(conversation.id().clone(), Arc::new(conversation.clone()));
        }
    }

    /// Whether it has a row for conversation `id` (as the store spells it).
    pub fn contains(&self, id: &str) -> bool {
        let Ok(id) = ConversationId::parse(id) else {
            return false;
        };
        self.rows.read().is_ok_and(|rows| rows.contains_key(&id))
    }

    /// A conversation's row.
    pub fn get(&self, id: &ConversationId) -> Option<Arc<Conversation>> {
        self.rows.read().ok()?.get(id).cloned()
    }

    /// Adds a conversation read from the store unless its row is there already (a row
    /// written by its actor meanwhile is newer).
    pub fn load(&self, conversation: Arc<Conversation>) {
        if let Ok(mut rows) = self.rows.write() {
            rows.entry(conversation.id().clone())
                .or_insert(conversation);
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
        self.rows.read().map_or(0, |r| r.len())
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
        self.rows.read().is_ok_and(|rows| {
            rows.values().any(|c| {
                c.customer() == customer && visible_queues.is_none_or(|v| v.contains(c.queue_id()))
            })
        })
    }

    /// A page of the conversations `query` selects.
    pub fn list(&self, query: &ListQuery) -> Page {
        let limit = query.limit.max(1);
        let needle = query.q.as_ref().map(|q| q.to_lowercase());
        let (Ok(rows), Ok(names)) = (self.rows.read(), self.contact_names.read()) else {
            return Page {
                items: Vec::new(),
                next: None,
            };
        };
        // Only the newest `limit + 1` matches are needed (one more tells whether a page
        // follows): a bounded heap keeps them in O(n log limit) instead of sorting every match.
        let mut newest: BinaryHeap<Reverse<Ranked>> = BinaryHeap::with_capacity(limit + 2);
        for c in rows.values() {
            let at = c.activity_at();
            if let Some(p) = &query.after
                && (at, c.id()) >= (p.at, &p.id)
            {
                continue;
            }
            if newest.len() > limit
                && newest
                    .peek()
                    .is_some_and(|Reverse(lowest)| (at, c.id()) <= (lowest.0, &lowest.1))
            {
                continue;
            }
            if !matches(c, query, needle.as_deref(), &names) {
                continue;
            }
            newest.push(Reverse(Ranked(at, c.id().clone(), c.clone())));
            if newest.len() > limit + 1 {
                newest.pop();
            }
        }
        let mut hits: Vec<Ranked> = newest.into_iter().map(|Reverse(r)| r).collect();
        hits.sort_unstable_by(|a, b| (b.0, &b.1).cmp(&(a.0, &a.1)));
        let next = (hits.len() > limit).then(|| {
            let last = &hits[limit - 1];
            Position {
                at: last.0,
                id: last.1.clone(),
            }
        });
        hits.truncate(limit);
        Page {
            items: hits.into_iter().map(|r| r.2).collect(),
            next,
        }
    }
}

/// A row with its place in the list: activity time, then id.
struct Ranked(Millis, ConversationId, Arc<Conversation>);

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        (self.0, &self.1) == (other.0, &other.1)
    }
}

impl Eq for Ranked {}

impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.0, &self.1).cmp(&(other.0, &other.1))
    }
}

/// Whether `haystack` contains `needle` (already lowercase), ignoring case, without
/// allocating for ASCII text.
fn contains_ignoring_case(haystack: &str, needle: &str) -> bool {
    if haystack.is_ascii() && needle.is_ascii() {
        let (h, n) = (haystack.as_bytes(), needle.as_bytes());
        n.is_empty() || h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
    } else {
        haystack.to_lowercase().contains(needle)
    }
}

fn matches(
    c: &Conversation,
    query: &ListQuery,
    needle: Option<&str>,
    names: &HashMap<String, String>,
) -> bool {
    let in_view = match query.view {
        View::Open => c.is_open(),
        View::Waiting => c.is_open() && c.waiting_since().is_some(),
        View::Unassigned => c.is_open() && c.owner().is_none(),
        View::Mine => {
            c.status() != ConversationStatus::Closed && query.me.is_some() && *c.owner() == query.me
        }
        View::Closed => !c.is_open(),
        View::All => true,
    };
    let activity = c.activity_at();
    in_view
        && query
            .visible_queues
            .as_ref()
            .is_none_or(|v| v.contains(c.queue_id()))
        && query.queue.as_ref().is_none_or(|q| c.queue_id() == q)
        && query
            .campaign
            .as_ref()
            .is_none_or(|k| c.campaign().as_str().eq_ignore_ascii_case(k))
        && query
            .agent
            .as_ref()
            .is_none_or(|a| c.owner().as_ref() == Some(a) || c.subscribers().contains(a))
        && query
            .tag
            .as_ref()
            .is_none_or(|t| c.dispositions().iter().any(|d| d.code.as_str() == t))
        && query.unread.is_none_or(|u| (c.unread() > 0) == u)
        && query.from.is_none_or(|f| activity >= f)
        && query.to.is_none_or(|t| activity < t)
        && query.customer.as_ref().is_none_or(|p| c.customer() == p)
        && needle.is_none_or(|n| {
            c.customer().as_str().contains(n)
                || contains_ignoring_case(c.campaign().as_str(), n)
                || names
                    .get(c.customer().as_str())
                    .is_some_and(|name| name.contains(n))
                || c.last_message()
                    .as_ref()
                    .is_some_and(|m| contains_ignoring_case(&m.preview, n))
        })
}

#[cfg(test)]
mod tests {
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
            },
            at,
        );
        c.record_message(Direction::Inbound, "Where is my order?", at);
        c
    }

    fn ids(page: &Page) -> Vec<&str> {
        page.items.iter().map(|c| c.id().as_str()).collect()
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
    fn a_newer_version_replaces_the_row() {
        let d = floor();
        let mut c1 = conversation("cv_1", "+15550000001", "q1", 1_000);
        c1.record_message(Direction::Inbound, "hello again", 5_000);
        d.upsert(&c1);
        assert_eq!(d.len(), 4);
        assert_eq!(ids(&d.list(&query(View::Open)))[0], "cv_1");
        assert_eq!(d.list(&query(View::Open)).items[0].unread(), 2);
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
                walked.extend(page.items.iter().map(|c| (c.activity_at(), c.id().to_string())));
                match page.next {
                    Some(next) => q.after = Some(next),
                    None => break,
                }
            }
            proptest::prop_assert_eq!(walked, expected);
        }
    }
}
