//! A list query turned into what rows hold — queue, agent, campaign and code symbols, the
//! customer's digits — so that matching a row during a scan compares integers, and the `q`
//! text search over number, contact name, campaign and preview.

use std::collections::{HashMap, HashSet};

use super::row::{Row, Symbols};
use super::{ListQuery, View};
use crate::domain::{PhoneNumber, QueueId};
use crate::routing::Millis;

/// The symbols of `queues` that some row names.
pub(super) fn queue_symbols(symbols: &Symbols, queues: &HashSet<QueueId>) -> HashSet<u32> {
    queues
        .iter()
        .filter_map(|q| symbols.queues.find(q))
        .collect()
}

/// The E.164 text of a row's customer digits, written into `buffer` (a scan would otherwise
/// allocate a string per row).
pub(super) fn e164_text(mut digits: u64, buffer: &mut [u8; 16]) -> &str {
    let mut start = buffer.len();
    loop {
        start -= 1;
        buffer[start] = b'0' + (digits % 10) as u8;
        digits /= 10;
        if digits == 0 || start == 1 {
            break;
        }
    }
    start -= 1;
    buffer[start] = b'+';
    std::str::from_utf8(&buffer[start..]).unwrap_or_default()
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

/// A list query with its values turned into the symbols rows hold, so that matching a row
/// compares integers.
pub(super) struct Filter<'a> {
    view: View,
    me: Option<u32>,
    visible_queues: Option<HashSet<u32>>,
    queue: Option<u32>,
    /// The symbols of the campaigns spelled like the query's (case differs).
    campaigns: Option<Vec<u32>>,
    agent: Option<u32>,
    tag: Option<u32>,
    unread: Option<bool>,
    from: Option<Millis>,
    to: Option<Millis>,
    customer: Option<u64>,
    search: Option<Search<'a>>,
}

/// The `q` text search.
struct Search<'a> {
    needle: String,
    /// The campaigns whose name contains the needle.
    campaigns: Vec<u32>,
    names: &'a HashMap<String, String>,
}

impl<'a> Filter<'a> {
    /// The filter for `query`, or `None` when it names a queue, agent or code no row has
    /// (so nothing can match).
    pub(super) fn of(
        query: &ListQuery,
        symbols: &Symbols,
        names: &'a HashMap<String, String>,
    ) -> Option<Self> {
        let me = match (&query.view, &query.me) {
            (View::Mine, Some(me)) => Some(symbols.agents.find(me)?),
            (View::Mine, None) => return None,
            _ => None,
        };
        let needle = query.q.as_ref().map(|q| q.to_lowercase());
        Some(Self {
            view: query.view,
            me,
            visible_queues: query
                .visible_queues
                .as_ref()
                .map(|v| queue_symbols(symbols, v)),
            queue: match &query.queue {
                Some(q) => Some(symbols.queues.find(q)?),
                None => None,
            },
            campaigns: query.campaign.as_ref().map(|k| {
                symbols
                    .campaigns
                    .iter()
                    .filter(|(_, name)| name.as_str().eq_ignore_ascii_case(k))
                    .map(|(symbol, _)| symbol)
                    .collect()
            }),
            agent: match &query.agent {
                Some(a) => Some(symbols.agents.find(a)?),
                None => None,
            },
            tag: match &query.tag {
                Some(t) => Some(symbols.codes.iter().find(|(_, code)| code.as_str() == t)?.0),
                None => None,
            },
            unread: query.unread,
            from: query.from,
            to: query.to,
            customer: query.customer.as_ref().map(PhoneNumber::e164_digits),
            search: needle.map(|needle| Search {
                campaigns: symbols
                    .campaigns
                    .iter()
                    .filter(|(_, name)| contains_ignoring_case(name.as_str(), &needle))
                    .map(|(symbol, _)| symbol)
                    .collect(),
                needle,
                names,
            }),
        })
    }

    pub(super) fn matches(&self, row: &Row, activity: Millis) -> bool {
        let in_view = match self.view {
            View::Open => row.is_open(),
            View::Waiting => row.is_open() && row.is_waiting(),
            View::Unassigned => row.is_open() && !row.has_owner(),
            View::Mine => row.is_open() && self.me == Some(row.owner),
            View::Closed => !row.is_open(),
            View::All => true,
        };
        in_view
            && self
                .visible_queues
                .as_ref()
                .is_none_or(|v| v.contains(&row.queue))
            && self.queue.is_none_or(|q| row.queue == q)
            && self
                .campaigns
                .as_ref()
                .is_none_or(|k| k.contains(&row.campaign))
            && self.agent.is_none_or(|a| row.involves(a))
            && self.tag.is_none_or(|t| row.carries(t))
            && self.unread.is_none_or(|u| (row.unread > 0) == u)
            && self.from.is_none_or(|f| activity >= f)
            && self.to.is_none_or(|t| activity < t)
            && self.customer.is_none_or(|p| row.customer == p)
            && self.search.as_ref().is_none_or(|s| s.finds(row))
    }
}

impl Search<'_> {
    fn finds(&self, row: &Row) -> bool {
        let mut buffer = [0u8; 16];
        let phone = e164_text(row.customer, &mut buffer);
        phone.contains(&self.needle)
            || self.campaigns.contains(&row.campaign)
            || (!self.names.is_empty()
                && self
                    .names
                    .get(phone)
                    .is_some_and(|name| name.contains(&self.needle)))
            || row
                .preview()
                .is_some_and(|p| contains_ignoring_case(p, &self.needle))
    }
}
